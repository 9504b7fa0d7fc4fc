"""lab.py: create, destroy and show LXC lab scenarios (the side-effecting edge)."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import system
from .lxcconf import (
    Caches,
    container_config,
    host_files,
    network_lines,
    parent_dirs,
    rootfs_spec,
    writable_dir,
)
from .model import (
    MGMT,
    NETWORKS_BY_BRIDGE,
    Host,
    LabError,
    Scenario,
    claim_conflicts,
    claims,
    load_scenario,
    scenario_path,
)
from .network import (
    Rule,
    default_uplink,
    dnsmasq_command,
    hosts_text,
    interface_conflicts,
    nat_rules,
    route_collisions,
)
from .osaconfig import (
    MARKER,
    Nic,
    generated_files,
    host_nics,
    known_hosts_line,
    plan_config_files,
)
from .rootfs import (
    DEFAULT_MIRROR,
    DEFAULT_SECURITY_MIRROR,
    MASKED_UNITS,
    base_files,
    build_command,
    recipe,
    recipe_key,
)
from .state import StateFile, all_claims, all_dns_entries

REPO = Path(__file__).resolve().parents[3]
SCENARIOS_DIR = REPO / "tests" / "lab" / "scenarios"
HOST_PACKAGES = [
    "lxc",
    "mmdebstrap",
    "debian-archive-keyring",
    "iproute2",
    "iptables",
    "dnsmasq-base",
    "openssh-client",
]
COMMON_CONF = "/usr/share/lxc/config/common.conf"
CA_DIR = Path("/usr/local/share/ca-certificates")


@dataclass
class Settings:
    """Where the lab keeps things; environment variables override for tests and CI."""

    state_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("NIMBUS_LAB_STATE_DIR", "/var/lib/nimbus-lab"))
    )
    cache_dir: Path = field(
        default_factory=lambda: Path(
            os.environ.get("NIMBUS_LAB_CACHE_DIR", "/var/cache/nimbus-lab")
        )
    )
    run_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("NIMBUS_LAB_RUN_DIR", "/run/nimbus-lab"))
    )
    mirror: str = field(default_factory=lambda: os.environ.get("NIMBUS_LAB_MIRROR", DEFAULT_MIRROR))
    security_mirror: str = field(
        default_factory=lambda: os.environ.get(
            "NIMBUS_LAB_SECURITY_MIRROR", DEFAULT_SECURITY_MIRROR
        )
    )
    clone: str = field(default_factory=lambda: os.environ.get("NIMBUS_LAB_CLONE", ""))
    boot_timeout: float = field(
        default_factory=lambda: float(os.environ.get("NIMBUS_LAB_BOOT_TIMEOUT", "180"))
    )

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def hosts_file(self) -> Path:
        return self.state_dir / "hosts"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "dnsmasq.pid"

    @property
    def ssh_dir(self) -> Path:
        return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh"


class Report:
    """What a command changed and what the person should know."""

    def __init__(self) -> None:
        self.changes: list[str] = []
        self.notes: list[str] = []

    def changed(self, message: str) -> None:
        self.changes.append(message)
        print(f"lab: {message}", flush=True)

    def note(self, message: str) -> None:
        self.notes.append(message)
        print(f"lab: note: {message}", flush=True)


# --- create -----------------------------------------------------------------------------


def ensure_packages(report: Report) -> None:
    missing = system.missing_packages(HOST_PACKAGES)
    if missing:
        started = time.monotonic()
        system.apt_install(missing)
        report.changed(f"installed {' '.join(missing)} ({time.monotonic() - started:.0f}s)")


def ensure_network(st: StateFile, bridges: list[str], cfg: Settings, report: Report) -> None:
    """Bridges, NAT and forwarding rules, IP forwarding and the DNS forwarder (shared)."""
    shared = st.data["shared"]
    dev = default_uplink(system.ip_json(["-4", "route", "show", "default"]))
    own = set(shared["bridges"])
    wanted = [NETWORKS_BY_BRIDGE[b] for b in dict.fromkeys([MGMT.bridge, *own, *bridges])]
    links = system.link_names()
    missing = [n for n in wanted if n.bridge not in links]
    problems = interface_conflicts(wanted, links, own)
    problems += route_collisions(
        missing, system.ip_json(["-4", "route", "show", "table", "all"]), own
    )
    if problems:
        raise LabError("refusing to create the lab network:\n  " + "\n  ".join(problems))
    for network in wanted:
        address = f"{network.gateway}/{network.cidr.prefixlen}"
        shared["bridges"][network.bridge] = address
        st.save()
        if system.ensure_bridge(network.bridge, address):
            report.changed(f"bridge {network.bridge} {address}")

    rules = nat_rules(wanted, dev)
    recorded = [Rule.from_json(r) for r in shared["rules"]]
    for rule in recorded:
        if rule not in rules:  # e.g. the default route moved to another interface
            system.delete_rule(rule)
            shared["rules"].remove(rule.to_json())
            st.save()
            report.changed(f"removed outdated rule {' '.join(rule.args)}")
    for rule in rules:
        if rule.to_json() not in shared["rules"]:
            shared["rules"].append(rule.to_json())
            st.save()
        if not system.rule_present(rule):
            system.add_rule(rule)
            report.changed(f"iptables -t {rule.table} {rule.chain} {' '.join(rule.args)}")
    shared["uplink"] = dev

    if system.ip_forward() != "1":
        if shared["ip_forward_before"] is None:
            shared["ip_forward_before"] = system.ip_forward()
            st.save()
        system.set_ip_forward("1")
        report.changed("enabled IPv4 forwarding")

    ensure_dns(st, cfg, report)


def ensure_dns(st: StateFile, cfg: Settings, report: Report) -> None:
    """Keep the lab names file current and the lab's dnsmasq running (reload on change)."""
    shared = st.data["shared"]
    text = hosts_text(all_dns_entries(st.data))
    names_changed = not cfg.hosts_file.exists() or cfg.hosts_file.read_text() != text
    if names_changed:
        system.write_file(cfg.hosts_file, text, 0o644)
    info = shared.get("dnsmasq")
    if info and system.process_is_our_dnsmasq(info["pid"], info["pid_file"]):
        if names_changed:
            system.signal_pid(info["pid"], signal.SIGHUP)
        return
    command = dnsmasq_command(MGMT.gateway, str(cfg.pid_file), str(cfg.hosts_file))
    pid = system.start_dnsmasq(command, cfg.pid_file)
    shared["dnsmasq"] = {
        "pid": pid,
        "pid_file": str(cfg.pid_file),
        "hosts_file": str(cfg.hosts_file),
    }
    st.save()
    report.changed(f"DNS forwarder dnsmasq on {MGMT.gateway} (pid {pid})")


def ca_certificates() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(CA_DIR.glob("*.crt")) if p.is_file()}


def ensure_base(cfg: Settings, report: Report) -> Path:
    """The cached base root fs for the current recipe; built with mmdebstrap when missing.

    Builds take their own lock (not the lab state's), so a build never blocks lab.py runs
    that only use an existing base.
    """
    certs = ca_certificates()
    data = recipe(cfg.mirror, cfg.security_mirror, certs)
    key = recipe_key(data)
    root = cfg.cache_dir / "rootfs"
    base = root / key
    marker = base / "etc" / "nimbus-lab-base.json"
    if marker.exists():
        return base
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".build.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another lab.py run built it while this one waited
            return base
        started = time.monotonic()
        build = root / f".build-{key}"
        system.remove_tree(build)
        build.mkdir(parents=True)
        log = root / f"{key}.log"
        print(f"lab: building the {key} base root fs with mmdebstrap (log: {log}) ...", flush=True)
        with log.open("w") as out:
            result = subprocess.run(
                build_command(str(build), cfg.mirror),
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=1200,
            )
        if result.returncode != 0:
            tail = "\n    ".join(log.read_text(errors="replace").splitlines()[-8:])
            system.remove_tree(build)
            raise LabError(
                f"mmdebstrap failed (exit {result.returncode}); last lines of {log}:\n    {tail}"
            )
        tailor_base(build, cfg, certs)
        system.write_file(
            build / marker.relative_to(base), json.dumps(data, indent=2, sort_keys=True) + "\n"
        )
        build.rename(base)
    report.changed(f"built base root fs {base} ({time.monotonic() - started:.0f}s)")
    return base


def tailor_base(rootfs: Path, cfg: Settings, certs: dict[str, bytes]) -> None:
    for rel, content in base_files(cfg.mirror, cfg.security_mirror, str(MGMT.gateway)).items():
        target = rootfs / rel
        if target.is_symlink():
            target.unlink()
        system.write_file(target, content, 0o644)
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    for name, data in certs.items():
        (rootfs / "usr/local/share/ca-certificates" / name).write_bytes(data)
    system.run(["chroot", str(rootfs), "update-ca-certificates"], timeout=300)
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    for unit in MASKED_UNITS:
        link = rootfs / "etc/systemd/system" / unit
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to("/dev/null")
    (rootfs / "etc/dpkg/dpkg.cfg.d/99mmdebstrap").unlink(missing_ok=True)
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def prune_bases(st: StateFile, root: Path, keep: Path) -> None:
    """Remove cached bases that no lab host uses any more (never the current one)."""
    used = {
        info.get("base")
        for scenario in st.data["scenarios"].values()
        for info in scenario.get("hosts", {}).values()
    }
    for path in root.iterdir():
        if (
            path.is_dir()
            and not path.name.startswith(".")
            and path != keep
            and str(path) not in used
        ):
            system.remove_tree(path)
            (root / f"{path.name}.log").unlink(missing_ok=True)


def ensure_deploy_key(cfg: Settings, report: Report) -> str:
    key = cfg.ssh_dir / "id_ed25519"
    public = cfg.ssh_dir / "id_ed25519.pub"
    if not key.exists():
        cfg.ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        system.ssh_keygen(key, f"nimbus-deploy@{socket.gethostname()}")
        report.changed(f"created the deployment host's SSH key {key}")
    if not public.exists():
        public.write_text(system.run(["ssh-keygen", "-y", "-f", str(key)]).stdout)
    return public.read_text().strip()


# Appends the key to root's authorized_keys unless it is there; prints "added" when it did.
_AUTHORIZE_KEY = (
    'f=/root/.ssh/authorized_keys; grep -qxF -- "$1" "$f" 2>/dev/null && exit 0;'
    ' umask 077; mkdir -p /root/.ssh && printf "%s\\n" "$1" >> "$f" && echo added'
)


def ensure_authorized_key(name: str, public_key: str, report: Report) -> None:
    """Let this deployment host's key log in to an existing lab host.

    A lab host made by another user or checkout (another HOME, so another key) would
    otherwise refuse the deploy.
    """
    done = system.lxc_attach(name, ["sh", "-c", _AUTHORIZE_KEY, "sh", public_key])
    if done.returncode != 0:
        raise LabError(f"could not authorize the deploy key on {name}: {done.stderr.strip()}")
    if done.stdout.strip() == "added":
        report.changed(f"authorized {public_key.rsplit(maxsplit=1)[-1]} on {name}")


def clone_method(cfg: Settings) -> str:
    if cfg.clone:
        return cfg.clone
    filesystems = Path("/proc/filesystems").read_text()
    return "overlay" if "overlay" in filesystems.split() else "copy"


def _mkdirs_like(writable: Path, base: Path, rel: str) -> None:
    """Create REL's parents in the host's own layer with the base's owner and mode."""
    for parent in parent_dirs(rel):
        target = writable / parent
        if target.exists():
            continue
        source = base / parent
        if source.is_dir():
            info = source.stat()
            target.mkdir()
            os.chmod(target, stat.S_IMODE(info.st_mode))
            os.chown(target, info.st_uid, info.st_gid)
        else:
            target.mkdir(mode=0o700 if parent.endswith(".ssh") else 0o755)


def make_container(
    st: StateFile,
    scenario: Scenario,
    *,
    host: Host,
    nics: list[Nic],
    base: Path,
    public_key: str,
    caches: Caches | None,
    cfg: Settings,
) -> None:
    method = clone_method(cfg)
    lxc_dir = system.lxc_path() / host.name
    record = st.data["scenarios"][scenario.name]["hosts"]
    record[host.name] = {
        "lxc_dir": str(lxc_dir),
        "base": str(base),
        "method": method,
        "mgmt_address": str(host.mgmt_address),
    }
    st.save()
    system.remove_tree(lxc_dir)
    lxc_dir.mkdir(parents=True, mode=0o750)
    writable = Path(writable_dir(str(lxc_dir), method))
    if method == "copy":
        system.run(["cp", "-a", "--reflink=auto", str(base), str(writable)], timeout=600)
    else:
        writable.mkdir(mode=0o755)
    for rel, (content, mode) in host_files(host, public_key, secrets.token_hex(16)).items():
        _mkdirs_like(writable, base, rel)
        system.write_file(writable / rel, content, mode)
    _mkdirs_like(writable, base, "etc/ssh/ssh_host_ed25519_key")
    system.ssh_keygen(writable / "etc/ssh/ssh_host_ed25519_key", f"root@{host.name}")
    if caches is not None:
        (Path(caches.apt_archives) / host.name).mkdir(parents=True, exist_ok=True)
        Path(caches.pip).mkdir(parents=True, exist_ok=True)
    text = container_config(
        host,
        nics,
        scenario.name,
        rootfs_spec(str(base), str(lxc_dir), method),
        caches=caches,
        common_conf=COMMON_CONF,
    )
    system.write_file(lxc_dir / "config", text, 0o640)


def host_public_key(info: dict[str, Any]) -> str:
    writable = Path(writable_dir(info["lxc_dir"], info.get("method", "overlay")))
    path = writable / "etc/ssh/ssh_host_ed25519_key.pub"
    try:
        return path.read_text()
    except OSError:
        raise LabError(
            f"{path} is missing, so the host key cannot be recorded; re-create the host"
        ) from None


def ensure_known_host(cfg: Settings, name: str, address: str, line: str, report: Report) -> None:
    known = cfg.ssh_dir / "known_hosts"
    current = known.read_text().splitlines() if known.exists() else []
    if line in current:
        return
    for target in (name, address):
        found = system.run(["ssh-keygen", "-F", target, "-f", str(known)], check=False)
        if known.exists() and found.returncode == 0 and found.stdout.strip():
            system.run(["ssh-keygen", "-R", target, "-f", str(known)])
            report.note(f"replaced a stale known_hosts entry for {target}")
    cfg.ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with known.open("a") as handle:
        handle.write(line + "\n")
    os.chmod(known, 0o644 if not current else stat.S_IMODE(known.stat().st_mode))
    report.changed(f"known_hosts: {name}, {address}")


def remove_known_host(cfg: Settings, line: str) -> None:
    known = cfg.ssh_dir / "known_hosts"
    if not known.exists() or not line:
        return
    lines = known.read_text().splitlines()
    kept = [entry for entry in lines if entry != line]
    if kept != lines:
        mode = stat.S_IMODE(known.stat().st_mode)
        system.write_file(known, "".join(f"{entry}\n" for entry in kept), mode)


def check_networks(
    host: Host, lxc_dir: Path, nics: list[Nic], scenario: str, report: Report
) -> None:
    """Say so when a running host's interfaces are not the ones the inventory now wants."""
    try:
        text = (lxc_dir / "config").read_text()
    except OSError:
        return
    have = [line for line in text.splitlines() if line.startswith("lxc.net.")]
    if have != network_lines(nics):
        report.note(
            f"{host.name} has other interfaces or addresses than the inventory gives it now;"
            f" apply them with: lab.py destroy {scenario} && lab.py create {scenario}"
        )


def ensure_hosts(
    st: StateFile,
    scenario: Scenario,
    *,
    nics: dict[str, list[Nic]],
    cfg: Settings,
    use_cache: bool,
    report: Report,
) -> None:
    record = st.data["scenarios"][scenario.name]
    hosts = record.setdefault("hosts", {})
    wanted = {h.name for h in scenario.hosts}
    for name in [n for n in hosts if n not in wanted]:
        destroy_host(st, scenario.name, name, cfg)
        report.changed(f"removed {name}: no longer in {scenario.source}")
    to_create: list[Host] = []
    to_start: list[Host] = []
    for host in scenario.hosts:
        state = system.lxc_state(host.name)
        if host.name in hosts and state is not None:
            check_networks(
                host, Path(hosts[host.name]["lxc_dir"]), nics[host.name], scenario.name, report
            )
            if state != "RUNNING":
                to_start.append(host)
            continue
        if state is not None:
            raise LabError(
                f"an LXC container named {host.name} exists that the lab did not create; remove it"
                f" (lxc-destroy -n {host.name}) or rename the host in {scenario.source}"
            )
        hosts.pop(host.name, None)
        to_create.append(host)
    if to_create:
        base = ensure_base(cfg, report)
        prune_bases(st, cfg.cache_dir / "rootfs", keep=base)
        public_key = ensure_deploy_key(cfg, report)
        caches = (
            Caches(str(cfg.cache_dir / "apt-archives"), str(cfg.cache_dir / "pip"))
            if use_cache
            else None
        )
        for host in to_create:
            make_container(
                st,
                scenario,
                host=host,
                nics=nics[host.name],
                base=base,
                public_key=public_key,
                caches=caches,
                cfg=cfg,
            )
            to_start.append(host)
        ensure_dns(st, cfg, report)  # the new names resolve before the hosts boot
    for host in to_start:
        system.lxc_start(host.name, Path(hosts[host.name]["lxc_dir"]) / "lxc.log")
    if to_start:
        started = time.monotonic()
        states = system.wait_ready(
            {h.name: str(h.mgmt_address) for h in to_start}, cfg.boot_timeout
        )
        for host in to_start:
            verb = "created" if host in to_create else "started"
            report.changed(
                f"{verb} {host.name} ({host.mgmt_address}), systemd {states[host.name]}"
                f" after {time.monotonic() - started:.1f}s"
            )
            if states[host.name] != "running":
                failed = system.lxc_attach(host.name, ["systemctl", "--failed", "--no-legend"])
                report.note(f"{host.name} booted degraded: {failed.stdout.strip()}")
    trust_hosts(st, scenario, made=to_create, cfg=cfg, report=report)


def trust_hosts(
    st: StateFile, scenario: Scenario, *, made: list[Host], cfg: Settings, report: Report
) -> None:
    """Each way: the deploy key logs in to every host, every host key is known."""
    hosts = st.data["scenarios"][scenario.name]["hosts"]
    public_key = ensure_deploy_key(cfg, report)
    for host in scenario.hosts:
        if host not in made:
            ensure_authorized_key(host.name, public_key, report)
        info = hosts[host.name]
        line = known_hosts_line(host.name, str(host.mgmt_address), host_public_key(info))
        info["known_hosts"] = line
        st.save()
        ensure_known_host(cfg, host.name, str(host.mgmt_address), line, report)


def read_marker(config_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((config_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def plan_config(scenario: Scenario, config_dir: Path, force: bool) -> tuple[dict, list, dict]:
    wanted = generated_files(scenario)
    current = {
        name: (config_dir / name).read_text() if (config_dir / name).is_file() else None
        for name in wanted
    }
    try:
        return plan_config_files(wanted, current, read_marker(config_dir), scenario.name, force)
    except FileExistsError as exc:
        raise LabError(f"{config_dir}: {exc}") from None


def write_config(config_dir: Path, plan: tuple[dict, list, dict], report: Report) -> None:
    to_write, notes, marker = plan
    config_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    for name, text in to_write.items():
        system.write_file(config_dir / name, text, 0o644)
        report.changed(f"wrote {config_dir / name}")
    for message in notes:
        report.note(message)
    if read_marker(config_dir) != marker:
        system.write_file(config_dir / MARKER, json.dumps(marker, indent=2) + "\n", 0o644)
    secrets_file = config_dir / "user_secrets.yml"
    template = REPO / "etc/openstack_deploy/user_secrets.yml"
    generator = REPO / "scripts/pw-token-gen.py"
    if secrets_file.exists():
        return
    if not template.is_file() or not generator.is_file():
        report.note(f"no user_secrets.yml written: {template} or {generator} is missing")
        return
    shutil.copyfile(template, secrets_file)
    os.chmod(secrets_file, 0o600)
    system.run([sys.executable, str(generator), "--file", str(secrets_file)])
    report.changed(f"wrote {secrets_file} (secrets generated)")


def inventory_nics(scenario: Scenario, config_dir: Path) -> dict[str, list[Nic]]:
    """Run the collection's inventory (its pure code) on the written configuration and turn
    what it allocated into each host's interfaces: the lab configures the inventory's
    addresses, it never decides them (the state is recorded in openstack_inventory.json)."""
    plugin_utils = str(REPO / "plugins" / "plugin_utils")
    if plugin_utils not in sys.path:
        sys.path.insert(0, plugin_utils)
    from inventory import InventoryError, StateError, generate  # noqa: PLC0415

    path = config_dir / "openstack_user_config.yml"
    try:
        config = yaml.safe_load(path.read_text()) or {}
        export = generate(config_dir, write=True).export()
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"{path}: cannot read it: {exc}") from None
    except (InventoryError, StateError) as exc:
        raise LabError(f"{config_dir}: the inventory refuses the configuration:\n{exc}") from None
    return host_nics(scenario, config, export)


def cmd_create(args: argparse.Namespace, cfg: Settings) -> None:
    started = time.monotonic()
    scenario = load_scenario(scenario_path(args.scenario, SCENARIOS_DIR))
    config_dir = Path(args.config_dir or f"/etc/nimbus-lab/{scenario.name}")
    use_cache = not args.no_cache
    report = Report()
    ensure_packages(report)
    if any(system.lxc_state(host.name) is None for host in scenario.hosts):
        ensure_base(cfg, report)  # before taking the state lock: builds take a minute
    with StateFile(cfg.state_file).locked() as st:
        problems = claim_conflicts(scenario.name, claims(scenario), all_claims(st.data))
        if problems:
            raise LabError("refusing to create the scenario:\n  " + "\n  ".join(problems))
        recorded = st.data["scenarios"].get(scenario.name, {}).get("hosts", {})
        for host in scenario.hosts:
            if host.name not in recorded and system.lxc_state(host.name) is not None:
                raise LabError(
                    f"an LXC container named {host.name} exists that the lab did not create for"
                    f" scenario {scenario.name}; remove it (lxc-destroy -n {host.name}) or rename"
                    f" the host in {scenario.source}"
                )
        plan = plan_config(scenario, config_dir, args.force_config)
        ensure_network(st, list(scenario.bridges), cfg, report)
        record = st.data["scenarios"].setdefault(scenario.name, {"hosts": {}})
        record["claims"] = claims(scenario)
        record["config_dir"] = str(config_dir)
        st.save()
        write_config(config_dir, plan, report)
        nics = inventory_nics(scenario, config_dir)
        ensure_hosts(st, scenario, nics=nics, cfg=cfg, use_cache=use_cache, report=report)
    took = time.monotonic() - started
    names = ", ".join(f"{h.name} {h.mgmt_address}" for h in scenario.hosts)
    if report.changes:
        print(f"lab: scenario {scenario.name} ready in {took:.1f}s: {names}")
    else:
        print(f"lab: scenario {scenario.name}: everything in place, nothing changed ({took:.1f}s)")
    print(f"lab: configuration: {config_dir}")
    print(f"lab: try: ansible -i {config_dir}/lab-inventory.ini all -m ansible.builtin.ping")


# --- destroy ----------------------------------------------------------------------------


def destroy_host(st: StateFile, scenario: str, name: str, cfg: Settings) -> None:
    info = st.data["scenarios"][scenario]["hosts"][name]
    lxc_dir = Path(info["lxc_dir"])
    if (lxc_dir / "config").exists():
        system.lxc_stop(name)
    system.remove_tree(lxc_dir)
    remove_known_host(cfg, info.get("known_hosts", ""))
    del st.data["scenarios"][scenario]["hosts"][name]
    st.save()


def destroy_scenario(st: StateFile, scenario: str, cfg: Settings, report: Report) -> None:
    for name in list(st.data["scenarios"][scenario].get("hosts", {})):
        destroy_host(st, scenario, name, cfg)
        report.changed(f"destroyed {name}")
    del st.data["scenarios"][scenario]
    st.save()


def destroy_shared(st: StateFile, cfg: Settings, report: Report) -> None:
    shared = st.data["shared"]
    info = shared.get("dnsmasq")
    if info:
        if system.process_is_our_dnsmasq(info["pid"], info["pid_file"]):
            system.stop_pid(info["pid"])
            report.changed(f"stopped the DNS forwarder (pid {info['pid']})")
        Path(info["pid_file"]).unlink(missing_ok=True)
        Path(info.get("hosts_file", cfg.hosts_file)).unlink(missing_ok=True)
        shared["dnsmasq"] = None
        st.save()
    for data in list(shared["rules"]):
        rule = Rule.from_json(data)
        system.delete_rule(rule)
        shared["rules"].remove(data)
        st.save()
        report.changed(f"removed rule {rule.table} {rule.chain} {' '.join(rule.args)}")
    if shared["ip_forward_before"] is not None:
        system.set_ip_forward(shared["ip_forward_before"])
        report.changed(f"IPv4 forwarding back to {shared['ip_forward_before']}")
        shared["ip_forward_before"] = None
        st.save()
    for bridge in list(shared["bridges"]):
        system.delete_bridge(bridge)
        del shared["bridges"][bridge]
        st.save()
        report.changed(f"removed bridge {bridge}")
    if cfg.run_dir.is_dir() and not any(cfg.run_dir.iterdir()):
        cfg.run_dir.rmdir()


def cmd_destroy(args: argparse.Namespace, cfg: Settings) -> None:
    started = time.monotonic()
    report = Report()
    if not cfg.state_file.exists():
        print("lab: nothing to destroy (no lab state)")
        return
    with StateFile(cfg.state_file).locked() as st:
        if args.scenario:
            if args.scenario not in st.data["scenarios"]:
                print(f"lab: scenario {args.scenario} is not created; nothing to destroy")
                return
            destroy_scenario(st, args.scenario, cfg, report)
            if st.data["shared"].get("dnsmasq"):
                ensure_dns(st, cfg, report)
        else:
            for name in list(st.data["scenarios"]):
                destroy_scenario(st, name, cfg, report)
            destroy_shared(st, cfg, report)
    print(f"lab: destroyed in {time.monotonic() - started:.1f}s")


# --- status -----------------------------------------------------------------------------


def cmd_status(_args: argparse.Namespace, cfg: Settings) -> None:
    if not cfg.state_file.exists():
        print("lab: no lab on this machine")
        return
    with StateFile(cfg.state_file).locked(exclusive=False) as st:
        shared = st.data["shared"]
        links = system.link_names()
        for bridge, address in shared["bridges"].items():
            there = "up" if bridge in links else "MISSING (run create again)"
            print(f"bridge   {bridge:<10} {address:<18} {there}")
        dns = shared.get("dnsmasq")
        alive = bool(dns) and system.process_is_our_dnsmasq(dns["pid"], dns["pid_file"])
        print(f"dns      {MGMT.gateway}  {'pid ' + str(dns['pid']) if alive else 'NOT RUNNING'}")
        print(f"nat      {len(shared['rules'])} rules, uplink {shared.get('uplink', '?')}")
        for name, scenario in sorted(st.data["scenarios"].items()):
            print(f"scenario {name}  config {scenario.get('config_dir')}")
            for host, info in scenario.get("hosts", {}).items():
                state = system.lxc_state(host) or "MISSING"
                print(f"  {host:<12} {info['mgmt_address']:<16} {state}")
        bases = sorted((cfg.cache_dir / "rootfs").glob("trixie-*/etc/nimbus-lab-base.json"))
        for marker in bases:
            print(f"cache    {marker.parents[1]}")


# --- entry ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="lab.py", description="LXC test lab: Debian 13 system containers as target hosts."
    )
    sub = top.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create (or complete) a scenario; idempotent")
    create.add_argument("scenario", help="a file name under tests/lab/scenarios, without .yml")
    create.add_argument(
        "--config-dir", help="where to write the configuration (default /etc/nimbus-lab/NAME)"
    )
    create.add_argument(
        "--force-config",
        action="store_true",
        help="overwrite a configuration the lab did not write",
    )
    create.add_argument(
        "--no-cache",
        action="store_true",
        help="no machine-side apt/pip caches in new hosts (they are optional)",
    )
    destroy = sub.add_parser("destroy", help="remove a scenario, or without one the whole lab")
    destroy.add_argument("scenario", nargs="?")
    sub.add_parser("status", help="show what the lab has created")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if os.geteuid() != 0:
        print(
            "lab: run as root (the lab creates bridges, NAT rules and containers)", file=sys.stderr
        )
        return 2
    cfg = Settings()
    commands = {"create": cmd_create, "destroy": cmd_destroy, "status": cmd_status}
    try:
        commands[args.command](args, cfg)
    except LabError as exc:
        print(f"lab: ERROR: {exc}", file=sys.stderr)
        return 1
    return 0
