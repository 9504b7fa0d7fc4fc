"""Report ``systemd-analyze security`` for every service unit the deployment runs on its hosts,
so that hardening work can be measured before and after.

On each host, over SSH (as the deployment host's Ansible reaches it: key only, a new host key
trusted once and a changed one refused):

1. ``systemctl list-units --type=service --state=running`` lists the running services;
2. the deployment's own units are kept: those matching ``DEFAULT_PATTERNS`` (the OpenStack
   services, the infrastructure Nimbus deploys: MariaDB, RabbitMQ, Memcached, HAProxy, OVN,
   libvirt, chrony...), or every running service with ``--all``;
3. ``systemd-analyze security`` analyses them in one call, and the exposure (0.0 best to 10.0
   worst) and rating (PERFECT, SAFE, OK, MEDIUM, EXPOSED, UNSAFE, DANGEROUS) of each unit are
   read from its summary table (``UNIT EXPOSURE PREDICATE HAPPY``) or, for a single unit, from
   its "Overall exposure level" line. Instances of a template unit are reported once, under
   the template's name (the cluster check runs one instance per connection).

It prints one row per host and unit, the most exposed first; then one row per unit across the
hosts (on how many hosts, lowest and highest exposure); then the totals (rows, units, mean
exposure, rows per rating). ``--json FILE`` keeps the rows (a list of {host, unit, exposure,
rating}); ``--compare BEFORE.json`` shows, for every host and unit in both, the exposure
before and now and the difference: save a report before a hardening change, compare after.

Usage (as root, on the deployment host of a deployed lab; nothing is changed on the hosts):

    python3 benchmarks/unit_security_report.py [--config-dir /etc/nimbus-lab/aio]
        [--inventory FILE | --host NAME=ADDR ...] [--all] [--json FILE]
        [--compare BEFORE.json]

Hosts come from ``--host`` (repeated), else from ``--inventory`` (an INI inventory of lines
``name ansible_host=ADDR ansible_user=root``), by default ``CONFIG_DIR/lab-inventory.ini``
(written by the lab for each scenario). A host that does not answer is named on stderr and in
the report, the others are still reported; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import shlex
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

SSH = (
    "ssh",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "StrictHostKeyChecking=accept-new",
)
LIST_UNITS = "systemctl list-units --type=service --state=running --no-legend --plain"
ANALYZE = "systemd-analyze security --no-pager"
SSH_TIMEOUT = 300

# Unit names (without .service) of what Nimbus deploys, from the roles: the *_service_name
# defaults, the unit lists of nova and swift, and the packaged services the roles run.
DEFAULT_PATTERNS = (
    # OpenStack: uWSGI APIs, daemons, workers and agents (keystone-uwsgi, nova-conductor,
    # neutron-ovn-metadata-agent, swift-object-server...).
    "keystone*",
    "glance*",
    "nova*",
    "neutron*",
    "placement*",
    "horizon*",
    "swift*",
    # Database (and the per-connection instances of galera-clustercheck@.service).
    "mariadb",
    "galera*",
    # Messaging and caching.
    "rabbitmq-server",
    "epmd",
    "memcached",
    # Load balancing and the VIPs.
    "haproxy",
    "keepalived",
    # OVN and Open vSwitch.
    "ovn-*",
    "ovsdb-server",
    "ovs-vswitchd",
    "openvswitch*",
    # Compute: libvirt (monolithic or modular daemons) and the container hosts' /dev/kvm unit.
    "libvirtd",
    "virtlogd",
    "virtlockd",
    "virtqemud",
    "nimbus-*",
    # Hosts: time, Swift's replication, the repo server, a web server if one is present.
    "chrony",
    "rsync",
    "nginx",
    "apache2",
)

# systemd's ratings, from the least exposed to the most.
RATINGS = ("PERFECT", "SAFE", "OK", "MEDIUM", "EXPOSED", "UNSAFE", "DANGEROUS")

_SUMMARY_HEADER = re.compile(r"^UNIT\s+EXPOSURE\s+PREDICATE\b")
_SUMMARY_ROW = re.compile(
    r"^(?P<unit>\S+)\s+(?P<exposure>\d+(?:\.\d+)?)\s+(?P<rating>[A-Z]+)(?:\s+\S+)?\s*$"
)
_OVERALL = re.compile(
    r"Overall exposure level for (?P<unit>\S+): (?P<exposure>\d+(?:\.\d+)?) (?P<rating>[A-Z]+)"
)


class Host(NamedTuple):
    name: str
    address: str
    user: str = "root"


class Result(NamedTuple):
    host: str
    unit: str
    exposure: float
    rating: str


class UnitSummary(NamedTuple):
    unit: str
    hosts: tuple[str, ...]
    low: float
    high: float


class Totals(NamedTuple):
    rows: int
    hosts: int
    units: int
    mean: float
    ratings: dict[str, int]


class Change(NamedTuple):
    host: str
    unit: str
    before: float
    after: float

    @property
    def diff(self) -> float:
        return round(self.after - self.before, 1)


class HostError(Exception):
    """A host that did not answer, or whose analysis failed."""


def parse_inventory(text: str) -> list[Host]:
    """The hosts of an INI inventory (each once, in order), with their ansible_host (else the
    name) and ansible_user (else root); [group:vars] and [group:children] sections skipped."""
    hosts: dict[str, Host] = {}
    in_hosts = True
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            in_hosts = not section.endswith((":vars", ":children"))
            continue
        if not in_hosts:
            continue
        name, *pairs = shlex.split(line, comments=True)
        options = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        hosts.setdefault(
            name,
            Host(name, options.get("ansible_host", name), options.get("ansible_user", "root")),
        )
    return list(hosts.values())


def parse_host_option(value: str) -> Host:
    """A ``--host NAME=ADDR`` option."""
    name, sep, address = value.partition("=")
    if not (sep and name and address):
        raise argparse.ArgumentTypeError(f"expected NAME=ADDR, got {value!r}")
    return Host(name, address)


def running_services(text: str) -> list[str]:
    """The unit names in ``systemctl list-units --no-legend --plain`` output."""
    units = []
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0].endswith(".service"):
            units.append(fields[0])
    return units


def keep_units(units: list[str], patterns: tuple[str, ...] | None) -> list[str]:
    """The units whose name (without .service) matches one of the patterns, sorted; every unit
    when PATTERNS is None."""
    if patterns is None:
        return sorted(units)
    return sorted(
        unit
        for unit in units
        if any(fnmatch.fnmatchcase(unit.removesuffix(".service"), p) for p in patterns)
    )


def parse_security(text: str) -> dict[str, tuple[float, str]]:
    """Exposure and rating per unit in ``systemd-analyze security`` output: its summary table
    (several units) and its "Overall exposure level" lines (also printed for a single unit)."""
    found: dict[str, tuple[float, str]] = {}
    in_summary = False
    for raw in text.splitlines():
        line = raw.strip()
        overall = _OVERALL.search(line)
        if overall:
            found[overall["unit"]] = (float(overall["exposure"]), overall["rating"])
            continue
        if _SUMMARY_HEADER.match(line):
            in_summary = True
            continue
        row = _SUMMARY_ROW.match(line) if in_summary else None
        if row:
            found[row["unit"]] = (float(row["exposure"]), row["rating"])
    return found


def template_name(unit: str) -> str:
    """The template of an instance unit (galera-clustercheck@3-10.0.0.1:9200-...service, one
    per cluster check connection, is reported as galera-clustercheck@.service), else the unit."""
    prefix, at, _instance = unit.partition("@")
    return f"{prefix}@.service" if at and unit.endswith(".service") else unit


def by_template(found: dict[str, tuple[float, str]]) -> dict[str, tuple[float, str]]:
    """Exposure and rating per unit, instances reported once under their template (the most
    exposed instance), so that reports of different times compare."""
    merged: dict[str, tuple[float, str]] = {}
    for unit, (exposure, rating) in found.items():
        name = template_name(unit)
        if name not in merged or exposure > merged[name][0]:
            merged[name] = (exposure, rating)
    return merged


def sort_results(results: list[Result]) -> list[Result]:
    """The most exposed first, then by host and unit."""
    return sorted(results, key=lambda r: (-r.exposure, r.host, r.unit))


def summarize(results: list[Result]) -> list[UnitSummary]:
    """One row per unit across the hosts, the most exposed (highest) first."""
    by_unit: dict[str, list[Result]] = {}
    for result in results:
        by_unit.setdefault(result.unit, []).append(result)
    summaries = [
        UnitSummary(
            unit,
            tuple(sorted(r.host for r in rows)),
            min(r.exposure for r in rows),
            max(r.exposure for r in rows),
        )
        for unit, rows in by_unit.items()
    ]
    return sorted(summaries, key=lambda s: (-s.high, -s.low, s.unit))


def rating_key(rating: str) -> tuple[int, str]:
    """Order of systemd's ratings, unknown ones last."""
    return (RATINGS.index(rating) if rating in RATINGS else len(RATINGS), rating)


def totals(results: list[Result]) -> Totals:
    """Rows (host and unit), hosts, distinct units, mean exposure and rows per rating (least
    exposed first)."""
    counts = Counter(r.rating for r in results)
    mean = sum(r.exposure for r in results) / len(results) if results else 0.0
    return Totals(
        len(results),
        len({r.host for r in results}),
        len({r.unit for r in results}),
        mean,
        {rating: counts[rating] for rating in sorted(counts, key=rating_key)},
    )


def compare(before: list[Result], after: list[Result]) -> list[Change]:
    """Before and after exposure of each (host, unit) in both; the largest reductions first."""
    earlier = {(r.host, r.unit): r.exposure for r in before}
    changes = [
        Change(r.host, r.unit, earlier[(r.host, r.unit)], r.exposure)
        for r in after
        if (r.host, r.unit) in earlier
    ]
    return sorted(changes, key=lambda c: (c.diff, c.host, c.unit))


def load_results(data: object) -> list[Result]:
    """Rows read back from a ``--json`` file."""
    if not isinstance(data, list):
        raise ValueError("expected a list of {host, unit, exposure, rating}")
    return [
        Result(str(row["host"]), str(row["unit"]), float(row["exposure"]), str(row["rating"]))
        for row in data
    ]


def format_table(
    headers: tuple[str, ...], rows: list[tuple[str, ...]], right: tuple[int, ...] = ()
) -> list[str]:
    """Aligned columns (those in RIGHT right-aligned), two spaces apart, no trailing blanks."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = []
    for row in (headers, *rows):
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def report_lines(results: list[Result]) -> list[str]:
    """The per-host table, the per-unit summary and the totals."""
    lines = format_table(
        ("HOST", "UNIT", "EXPOSURE", "RATING"),
        [(r.host, r.unit, f"{r.exposure:.1f}", r.rating) for r in sort_results(results)],
        right=(2,),
    )
    lines += ["", "Per unit:"]
    lines += format_table(
        ("UNIT", "HOSTS", "MIN", "MAX", "ON"),
        [
            (s.unit, str(len(s.hosts)), f"{s.low:.1f}", f"{s.high:.1f}", ",".join(s.hosts))
            for s in summarize(results)
        ],
        right=(1, 2, 3),
    )
    total = totals(results)
    ratings = ", ".join(f"{rating} {count}" for rating, count in total.ratings.items())
    lines += [
        "",
        f"Totals: {total.rows} units on {total.hosts} host{'s' * (total.hosts != 1)} "
        f"({total.units} distinct), "
        f"mean exposure {total.mean:.2f}; {ratings or 'no ratings'}",
    ]
    return lines


def compare_lines(before: list[Result], after: list[Result], source: str) -> list[str]:
    """Before and after exposure per (host, unit), the differences and the mean change."""
    changes = compare(before, after)
    common = {(c.host, c.unit) for c in changes}
    only_before = sum((r.host, r.unit) not in common for r in before)
    only_after = sum((r.host, r.unit) not in common for r in after)
    lines = [
        f"Compared with {source}: {len(changes)} units in both, {only_before} only before, "
        f"{only_after} only now"
    ]
    lines += format_table(
        ("HOST", "UNIT", "BEFORE", "AFTER", "CHANGE"),
        [(c.host, c.unit, f"{c.before:.1f}", f"{c.after:.1f}", f"{c.diff:+.1f}") for c in changes],
        right=(2, 3, 4),
    )
    if changes:
        mean_before = sum(c.before for c in changes) / len(changes)
        mean_after = sum(c.after for c in changes) / len(changes)
        lines.append(
            f"Mean exposure of these units: {mean_before:.2f} -> {mean_after:.2f} "
            f"({mean_after - mean_before:+.2f})"
        )
    return lines


def ssh(host: Host, command: str) -> subprocess.CompletedProcess[str]:
    """Run COMMAND on HOST; a host that does not answer raises HostError."""
    try:
        done = subprocess.run(
            [*SSH, f"{host.user}@{host.address}", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SSH_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise HostError(f"no answer within {SSH_TIMEOUT}s") from error
    if done.returncode == 255:  # noqa: PLR2004 - ssh's own failure
        message = done.stderr.strip().splitlines()
        raise HostError(f"ssh failed: {message[-1] if message else 'exit 255'}")
    return done


def analyze_host(host: Host, patterns: tuple[str, ...] | None) -> list[Result]:
    """The exposure of the kept running services of HOST."""
    listed = ssh(host, LIST_UNITS)
    if listed.returncode != 0:
        raise HostError(f"systemctl list-units exited {listed.returncode}")
    units = keep_units(running_services(listed.stdout), patterns)
    if not units:
        return []
    analyzed = ssh(host, f"{ANALYZE} {shlex.join(units)}")
    found = parse_security(analyzed.stdout)
    if analyzed.returncode != 0 and not found:
        last = analyzed.stderr.strip().splitlines()
        raise HostError(
            f"systemd-analyze security exited {analyzed.returncode}"
            + (f": {last[-1]}" if last else "")
        )
    # Instances may end between the two calls (one per cluster check connection).
    missing = [unit for unit in units if unit not in found and "@" not in unit]
    if missing:
        print(f"{host.name}: no exposure for {', '.join(missing)}", file=sys.stderr)
    return [Result(host.name, unit, *value) for unit, value in sorted(by_template(found).items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--config-dir", default="/etc/nimbus-lab/aio")
    parser.add_argument("--inventory", type=Path, default=None, help="INI inventory of hosts")
    parser.add_argument(
        "--host", type=parse_host_option, action="append", default=None, help="NAME=ADDR"
    )
    parser.add_argument("--all", action="store_true", help="every running service")
    parser.add_argument("--json", type=Path, default=None, help="write the rows as JSON")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier --json file")
    args = parser.parse_args(argv)

    hosts = args.host
    if not hosts:
        inventory = args.inventory or Path(args.config_dir, "lab-inventory.ini")
        if not inventory.is_file():
            print(f"unit_security_report: no inventory {inventory}", file=sys.stderr)
            return 2
        hosts = parse_inventory(inventory.read_text())
    if not hosts:
        print("unit_security_report: no hosts", file=sys.stderr)
        return 2
    before = None
    if args.compare:
        try:
            before = load_results(json.loads(args.compare.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as error:
            print(f"unit_security_report: cannot read {args.compare}: {error}", file=sys.stderr)
            return 2

    patterns = None if args.all else DEFAULT_PATTERNS
    results: list[Result] = []
    failed: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(len(hosts), 10)) as pool:
        futures = [(host, pool.submit(analyze_host, host, patterns)) for host in hosts]
        for host, future in futures:
            try:
                results += future.result()
            except HostError as error:
                failed[host.name] = str(error)
                print(f"{host.name} ({host.address}): {error}", file=sys.stderr)

    print("\n".join(report_lines(results)))
    if failed:
        print(f"Hosts not reported: {', '.join(f'{n} ({e})' for n, e in failed.items())}")
    if args.json:
        rows = [r._asdict() for r in sort_results(results)]
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if before is not None:
        print()
        print("\n".join(compare_lines(before, results, str(args.compare))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
