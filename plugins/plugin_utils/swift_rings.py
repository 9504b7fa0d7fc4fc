# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Swift rings from the inventory: what each ring must hold, and every problem of the input.

Pure Python, no Ansible imports and no Swift imports. The filter nimbus.cloud.swift_ring_plan
is the thin wrapper the prechecks and the swift role use; the module nimbus.cloud.swift_ring
makes the builder files match the plan with Swift's own ring builder.

Input, in OpenStack-Ansible's format:

- ``swift``: the ``swift`` section of ``global_overrides`` (``part_power``, ``repl_number``,
  ``min_part_hours``, ``mount_point``, ``storage_network``, ``replication_network``,
  ``drives``, ``storage_policies``, ``region``, ``zone``, ``weight``, ports);
- ``hosts``: swift_hosts host name -> ``{"swift_vars": {...}, "networks": {name: address}}``,
  where ``networks`` maps each network of the host, by bridge (``br-storage``) and by its
  ``cidr_networks`` name (``storage``), to the host's address on it, and ``swift_vars`` are
  the host's own settings (``zone``, ``region``, ``weight``, ``drives``, ``mount_point``, ...).

Output: one entry per ring (``account``, ``container``, ``object`` for policy 0,
``object-<index>`` for the other policies) with its partition power, replica count, minimum
part hours and devices, sorted so that the same inventory always gives the same plan.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PART_POWER_MIN = 1
PART_POWER_MAX = 32  # Swift keeps partitions in 32-bit arrays
TOP = "global_overrides.swift"
DEFAULT_PORTS = {"account": 6202, "container": 6201, "object": 6200}
DEVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

SECTION_KEYS = {
    "part_power",
    "repl_number",
    "min_part_hours",
    "mount_point",
    "storage_network",
    "replication_network",
    "drives",
    "storage_policies",
    "region",
    "zone",
    "weight",
    "account",
    "container",
    "object",
}
HOST_KEYS = {
    "region",
    "zone",
    "weight",
    "drives",
    "mount_point",
    "storage_network",
    "replication_network",
    "groups",
}
DRIVE_KEYS = {"name", "weight", "region", "zone", "groups", "ip", "repl_ip"}
POLICY_KEYS = {"name", "index", "default", "deprecated", "repl_number", "aliases", "policy_type"}
SERVICE_KEYS = {"port", "repl_number", "min_part_hours"}


@dataclass(frozen=True)
class SwiftProblem:
    """One thing wrong with the swift input: the key, what is wrong, and the fix."""

    key: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message} Fix: {self.fix}"


class SwiftRingError(ValueError):
    """The swift input cannot give rings; carries every problem found."""

    def __init__(self, problems: Sequence[SwiftProblem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        where = f" ({self.source})" if self.source else ""
        head = f"{len(self.problems)} problem(s) in the swift configuration{where}:"
        return "\n".join([head, *(f"- {problem}" for problem in self.problems)])


def _suggest(key: Any, known: set[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


class _Problems:
    def __init__(self) -> None:
        self.items: list[SwiftProblem] = []

    def add(self, key: str, message: str, fix: str) -> None:
        self.items.append(SwiftProblem(key, message, fix))

    def unknown_keys(self, key: str, value: Mapping[str, Any], known: set[str]) -> None:
        for name in value:
            if name not in known:
                self.add(
                    f"{key}.{name}",
                    f"is not a swift setting{_suggest(name, known)}.",
                    f"use one of {', '.join(sorted(known))}, or remove it",
                )


def _int(
    problems: _Problems, key: str, value: Any, *, low: int, high: int | None = None, what: str
) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        else:
            problems.add(key, f"is {value!r}, not a whole number.", f"set {key} to {what}")
            return None
    if value < low or (high is not None and value > high):
        allowed = f"{low} to {high}" if high is not None else f"at least {low}"
        problems.add(key, f"is {value}: allowed is {allowed}.", f"set {key} to {what}")
        return None
    return value


def _weight(problems: _Problems, key: str, value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.add(
            key, f"is {value!r}, not a number.", f"set {key} to a positive number, e.g. 100"
        )
        return None
    if value <= 0:
        problems.add(
            key,
            f"is {value}: a device's weight must be above 0.",
            "set a positive weight (remove the drive or host to take it out of the ring)",
        )
        return None
    return float(value)


def _policies(problems: _Problems, swift: Mapping[str, Any]) -> list[dict[str, Any]]:
    key = "global_overrides.swift.storage_policies"
    raw = swift.get("storage_policies")
    if raw is None:
        return [{"name": "default", "index": 0, "default": True, "repl_number": None}]
    if not isinstance(raw, list) or not raw:
        problems.add(
            key,
            f"is {raw!r}, not a list of policies.",
            "write it as a list of {policy: {name: NAME, index: N}} entries, one default",
        )
        return []
    found: list[dict[str, Any]] = []
    names: set[str] = set()
    indexes: set[int] = set()
    for position, item in enumerate(raw):
        here = f"{key}[{position}]"
        policy = item.get("policy") if isinstance(item, Mapping) else None
        if not isinstance(policy, Mapping):
            problems.add(here, f"is {item!r}.", "write it as {policy: {name: NAME, index: N}}")
            continue
        problems.unknown_keys(f"{here}.policy", policy, POLICY_KEYS)
        name = policy.get("name")
        index = _int(
            problems, f"{here}.policy.index", policy.get("index"), low=0, what="0, 1, 2 ..."
        )
        if not isinstance(name, str) or not name.strip():
            problems.add(f"{here}.policy.name", "is missing.", "give the policy a name, e.g. gold")
            continue
        if name.lower() in names:
            problems.add(
                f"{here}.policy.name",
                f"{name!r} is listed twice.",
                "give every policy its own name",
            )
        if index is not None and index in indexes:
            problems.add(
                f"{here}.policy.index",
                f"{index} is listed twice.",
                "give every policy its own index",
            )
        if policy.get("policy_type", "replication") != "replication":
            problems.add(
                f"{here}.policy.policy_type",
                f"is {policy.get('policy_type')!r}: Nimbus builds replication rings only.",
                "remove policy_type (erasure-coded policies are not supported yet)",
            )
        repl = policy.get("repl_number")
        if repl is not None:
            repl = _int(
                problems,
                f"{here}.policy.repl_number",
                repl,
                low=1,
                what="the replica count, e.g. 3",
            )
        names.add(name.lower())
        if index is not None:
            indexes.add(index)
            found.append(
                {
                    "name": name,
                    "index": index,
                    "default": bool(policy.get("default", False)),
                    "repl_number": repl,
                }
            )
    if found and 0 not in indexes:
        problems.add(
            key, "has no policy with index 0.", "add a policy with index: 0 (Swift's policy 0)"
        )
    defaults = [p["name"] for p in found if p["default"]]
    if found and len(defaults) != 1:
        problems.add(
            key,
            f"has {len(defaults)} default policies ({', '.join(defaults) or 'none'}).",
            "mark exactly one policy with default: true",
        )
    return sorted(found, key=lambda p: p["index"])


def _network_address(
    problems: _Problems,
    host: str,
    networks: Mapping[str, Any],
    network: Any,
    setting: str,
) -> str | None:
    address = networks.get(network) if isinstance(network, str) else None
    if address:
        return str(address)
    known = ", ".join(sorted(str(n) for n in networks)) or "none"
    problems.add(
        f"swift_hosts.{host}",
        f"has no address on the swift {setting} {network!r} (its networks: {known}).",
        f"bind the network of {network!r} to the swift groups (group_binds of its entry in "
        f"provider_networks: swift_proxy, swift_acc, swift_cont, swift_obj), or set {setting} "
        "under global_overrides.swift to a network the host has",
    )
    return None


def _drives(problems: _Problems, key: str, raw: Any) -> list[Mapping[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(
            key, f"is {raw!r}, not a list.", "write drives as a list of {name: sdb} entries"
        )
        return []
    found = []
    for position, item in enumerate(raw):
        drive = {"name": item} if isinstance(item, str) else item
        if not isinstance(drive, Mapping) or not isinstance(drive.get("name"), str):
            problems.add(f"{key}[{position}]", f"is {drive!r}.", "write each drive as {name: sdb}")
            continue
        problems.unknown_keys(f"{key}[{position}]", drive, DRIVE_KEYS)
        if not DEVICE_NAME.match(drive["name"]):
            problems.add(
                f"{key}[{position}].name",
                f"{drive['name']!r} is not a device name (a directory name under the mount point).",
                "use letters, digits, '.', '_' or '-', e.g. sdb or disk1",
            )
            continue
        found.append(drive)
    return found


@dataclass
class _Settings:
    """The section's ring settings, checked (None where the input was wrong)."""

    part_power: int | None
    services: dict[str, dict[str, Any]]
    policies: list[dict[str, Any]]
    drives: list[Mapping[str, Any]]
    storage_network: str | None
    ring_names: dict[str, str]  # account, container, policy name (lower case) -> ring


def _section_settings(problems: _Problems, swift: Mapping[str, Any]) -> _Settings:
    top = TOP
    problems.unknown_keys(top, swift, SECTION_KEYS)
    part_power = _int(
        problems,
        f"{top}.part_power",
        swift.get("part_power"),
        low=PART_POWER_MIN,
        high=PART_POWER_MAX,
        what=f"{PART_POWER_MIN}-{PART_POWER_MAX} (log2 of the partitions; it cannot change later)",
    )
    repl = _int(problems, f"{top}.repl_number", swift.get("repl_number", 3), low=1, what="e.g. 3")
    hours = _int(
        problems, f"{top}.min_part_hours", swift.get("min_part_hours", 1), low=0, what="e.g. 1"
    )
    services: dict[str, dict[str, Any]] = {}
    for service, port in DEFAULT_PORTS.items():
        here = f"{top}.{service}"
        settings = swift.get(service) or {}
        if not isinstance(settings, Mapping):
            problems.add(here, f"is {settings!r}.", "write it as {port: N, repl_number: N}")
            settings = {}
        problems.unknown_keys(here, settings, SERVICE_KEYS)
        services[service] = {
            "port": _int(
                problems,
                f"{here}.port",
                settings.get("port", port),
                low=1,
                high=65535,
                what="a port",
            ),
            "repl_number": _int(
                problems,
                f"{here}.repl_number",
                settings.get("repl_number", repl or 3),
                low=1,
                what="e.g. 3",
            ),
            "min_part_hours": _int(
                problems,
                f"{here}.min_part_hours",
                settings.get("min_part_hours", hours or 0),
                low=0,
                what="e.g. 1",
            ),
        }
    policies = _policies(problems, swift)
    network = swift.get("storage_network")
    if not isinstance(network, str) or not network:
        problems.add(
            f"{top}.storage_network",
            "is missing.",
            "name the network the swift servers listen on, e.g. storage_network: br-storage",
        )
        network = None
    ring_names = {"account": "account", "container": "container"}
    for policy in policies:
        index = policy["index"]
        ring_names[policy["name"].lower()] = "object" if index == 0 else f"object-{index}"
    return _Settings(
        part_power,
        services,
        policies,
        _drives(problems, f"{top}.drives", swift.get("drives")),
        network,
        ring_names,
    )


@dataclass
class _HostPlace:
    """Where one host's devices are: addresses, region, zone, weight (None: input wrong)."""

    address: str | None
    replication: str | None
    region: int | None
    zone: int | None
    weight: Any


def _host_place(
    problems: _Problems,
    host: str,
    info: Mapping[str, Any],
    swift: Mapping[str, Any],
    cfg: _Settings,
) -> tuple[_HostPlace, Mapping[str, Any]]:
    here = f"swift_hosts.{host}.container_vars.swift_vars"
    local = info.get("swift_vars") or {}
    if not isinstance(local, Mapping):
        problems.add(here, f"is {local!r}.", "write swift_vars as a mapping (zone: 1, ...)")
        local = {}
    problems.unknown_keys(here, local, HOST_KEYS)
    networks = info.get("networks") or {}
    network = local.get("storage_network", cfg.storage_network)
    replication = local.get("replication_network", swift.get("replication_network", network))
    address = None
    if network:
        address = _network_address(problems, host, networks, network, "storage_network")
    repl_address = address
    if replication and replication != network:
        repl_address = _network_address(
            problems, host, networks, replication, "replication_network"
        )
    place = _HostPlace(
        address,
        repl_address,
        _int(
            problems,
            f"{here}.region",
            local.get("region", swift.get("region", 1)),
            low=1,
            what="1, 2 ...",
        ),
        _int(
            problems,
            f"{here}.zone",
            local.get("zone", swift.get("zone", 0)),
            low=0,
            what="0, 1, 2 ...",
        ),
        local.get("weight", swift.get("weight", 100)),
    )
    return place, local


def _drive_rings(problems: _Problems, dkey: str, groups: Any, cfg: _Settings) -> list[str]:
    if groups is None:
        groups = ["account", "container", *(p["name"] for p in cfg.policies if p["default"])]
    if not isinstance(groups, list):
        problems.add(
            f"{dkey}.groups",
            f"is {groups!r}.",
            "list ring names: account, container, a policy name",
        )
        return []
    rings = []
    for group in groups:
        ring = cfg.ring_names.get(str(group).lower())
        if ring is None:
            problems.add(
                f"{dkey}.groups",
                f"names {group!r}, which is neither account, container nor a storage policy"
                f"{_suggest(group, set(cfg.ring_names))}.",
                f"use {', '.join(sorted(cfg.ring_names))}",
            )
            continue
        rings.append(ring)
    return rings


def _host_devices(
    problems: _Problems,
    host: str,
    info: Mapping[str, Any],
    swift: Mapping[str, Any],
    cfg: _Settings,
) -> list[tuple[str, dict[str, Any] | None]]:
    """(ring, device) for every drive of the host; device None where the input was wrong."""
    place, local = _host_place(problems, host, info, swift, cfg)
    here = f"swift_hosts.{host}.container_vars.swift_vars"
    own = "drives" in local
    drives = _drives(problems, f"{here}.drives", local["drives"]) if own else cfg.drives
    if not drives:
        problems.add(
            f"{here}.drives",
            "no drives: the host would hold nothing.",
            "list drives under global_overrides.swift.drives or the host's swift_vars.drives",
        )
    found: list[tuple[str, dict[str, Any] | None]] = []
    seen: set[str] = set()
    for position, drive in enumerate(drives):
        name = drive["name"]
        dkey = f"{here}.drives[{position}]" if own else f"{TOP}.drives[{position}]"
        if name in seen:
            problems.add(
                f"{dkey}.name",
                f"drive {name!r} of host {host} is listed twice.",
                "list each drive once (a drive belongs to several rings through its groups)",
            )
            continue
        seen.add(name)
        weight = _weight(problems, f"{dkey}.weight", drive.get("weight", place.weight))
        zone, region = place.zone, place.region
        if "zone" in drive:
            zone = _int(problems, f"{dkey}.zone", drive["zone"], low=0, what="0, 1, 2 ...")
        if "region" in drive:
            region = _int(problems, f"{dkey}.region", drive["region"], low=1, what="1, 2 ...")
        complete = None not in (place.address, place.replication, weight, zone, region)
        for ring in _drive_rings(problems, dkey, drive.get("groups", local.get("groups")), cfg):
            if not complete:
                found.append((ring, None))
                continue
            service = "object" if ring.startswith("object") else ring
            port = cfg.services[service]["port"]
            device = {
                "region": region,
                "zone": zone,
                "ip": str(drive.get("ip", place.address)),
                "port": port,
                "replication_ip": str(drive.get("repl_ip", place.replication)),
                "replication_port": port,
                "device": name,
                "weight": weight,
                "meta": host,
            }
            found.append((ring, device))
    return found


def _ring(
    problems: _Problems,
    ring: str,
    policy_name: str,
    devices: list[dict[str, Any]],
    cfg: _Settings,
) -> dict[str, Any]:
    service = "object" if ring.startswith("object") else ring
    replicas = cfg.services[service]["repl_number"]
    policy = next((p for p in cfg.policies if cfg.ring_names[p["name"].lower()] == ring), None)
    own_replicas = policy is not None and policy["repl_number"] is not None
    if own_replicas:
        replicas = policy["repl_number"]  # type: ignore[index]
    devices = sorted(devices, key=lambda d: (d["meta"], d["device"]))
    zones = {(d["region"], d["zone"]) for d in devices}
    if replicas is not None and devices and replicas > len(zones):
        problems.add(
            "global_overrides.swift.storage_policies" if own_replicas else f"{TOP}.repl_number",
            f"the {ring} ring ({policy_name}) keeps {replicas} replicas but its devices are in "
            f"only {len(zones)} zone(s) ({', '.join(f'r{r}z{z}' for r, z in sorted(zones))}): "
            "two replicas would share a zone.",
            "lower repl_number to the number of zones, or put hosts in more zones "
            "(swift_vars.zone)",
        )
    return {
        "name": ring,
        "part_power": cfg.part_power,
        "replicas": replicas,
        "min_part_hours": cfg.services[service]["min_part_hours"],
        "devices": devices,
    }


def ring_plan(
    swift: Any, hosts: Mapping[str, Mapping[str, Any]], source: str = ""
) -> dict[str, Any]:
    """The rings the inventory asks for; raises SwiftRingError naming every problem."""
    problems = _Problems()
    if not isinstance(swift, Mapping):
        problems.add(
            TOP,
            "is missing: swift hosts are listed but there is no swift section.",
            "add global_overrides.swift with part_power, repl_number, storage_network and drives",
        )
        raise SwiftRingError(problems.items, source)
    cfg = _section_settings(problems, swift)
    if not hosts:
        problems.add(
            "swift_hosts",
            "has no hosts.",
            "list the storage hosts under swift_hosts in openstack_user_config.yml",
        )
    devices: dict[str, list[dict[str, Any]]] = {name: [] for name in cfg.ring_names.values()}
    named: set[str] = set()  # rings some drive is meant for (even when its host has a problem)
    for host in sorted(hosts):
        for ring, device in _host_devices(problems, host, hosts[host] or {}, swift, cfg):
            named.add(ring)
            if device is not None:
                devices[ring].append(device)
    rings = []
    for policy_name, ring in sorted(cfg.ring_names.items(), key=lambda item: item[1]):
        if ring not in named and hosts:
            problems.add(
                f"{TOP}.drives",
                f"no drive is in the {ring} ring ({policy_name}).",
                f"add {policy_name} to the groups of some drives",
            )
        rings.append(_ring(problems, ring, policy_name, devices[ring], cfg))
    if problems.items:
        raise SwiftRingError(problems.items, source)
    return {"rings": rings, "policies": cfg.policies}


def host_networks(container_networks: Any) -> dict[str, str]:
    """A host's addresses by bridge (``br-storage``) and by network name (``storage``).

    ``container_networks`` is the inventory's host variable: ``<name>_address`` ->
    ``{address, bridge, ...}``; the management network is ``container``.
    """
    found: dict[str, str] = {}
    if not isinstance(container_networks, Mapping):
        return found
    for key, net in sorted(container_networks.items()):
        if not isinstance(net, Mapping) or not net.get("address"):
            continue
        address = str(net["address"])
        name = str(key).removesuffix("_address")
        found[name] = address
        if net.get("bridge"):
            found[str(net["bridge"])] = address
    return found


def inventory_ring_plan(
    swift: Any, hostvars: Mapping[str, Mapping[str, Any]], hosts: Sequence[str], source: str = ""
) -> dict[str, Any]:
    """ring_plan() from Ansible's view: the ``swift`` variable and the swift hosts' hostvars."""
    found = {}
    for host in hosts:
        variables = hostvars.get(host) or {}
        found[str(host)] = {
            "swift_vars": variables.get("swift_vars") or {},
            "networks": host_networks(variables.get("container_networks")),
        }
    return ring_plan(swift, found, source)
