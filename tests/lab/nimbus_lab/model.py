"""Lab networks and scenarios: a scenario YAML file -> a validated ``Scenario``.

A scenario is data only (``tests/lab/scenarios/<name>.yml``)::

    description: One host runs every service.
    vips: {internal: 172.29.236.101, external: 172.29.236.102}
    hosts:
      aio1:
        addresses: {br-mgmt: 172.29.236.100}   # tunnel/storage: the inventory's
        devices: [kvm, tun]
        groups: [shared-infra_hosts, identity_hosts]
        lxc_config: []            # optional extra raw LXC config lines
    user_variables: {ovn_ovs_datapath_type: netdev}
    user_variables_files: [common/day-one.yml]   # optional, under the scenario's directory

``user_variables_files`` add their variables, in order, after the scenario's own
``user_variables``, which win over them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class LabError(Exception):
    """A problem the person running the lab can act on; the message says what to do."""


class ScenarioError(LabError):
    """A scenario file is invalid."""


@dataclass(frozen=True)
class LabNetwork:
    """One lab bridge on the machine and the OSA network queue it carries (None: no host
    addresses, a provider network for Neutron)."""

    bridge: str
    queue: str | None
    cidr: ipaddress.IPv4Network

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        """The machine's own address on the bridge (gateway and DNS for lab hosts)."""
        return self.cidr.network_address + 1


# The lab's networks (docs/architecture.md, "The lab"). Fixed: every scenario shares them.
# A scenario gives each host its br-mgmt address; the inventory allocates the tunnel and
# storage addresses (osaconfig.py confines it to the host slots of the scenario); br-vlan
# carries Neutron's provider networks (floating IPs), the machine being their gateway.
NETWORKS: tuple[LabNetwork, ...] = (
    LabNetwork("br-mgmt", "container", ipaddress.IPv4Network("172.29.236.0/22")),
    LabNetwork("br-vxlan", "tunnel", ipaddress.IPv4Network("172.29.240.0/22")),
    LabNetwork("br-storage", "storage", ipaddress.IPv4Network("172.29.244.0/22")),
    LabNetwork("br-vlan", None, ipaddress.IPv4Network("172.29.248.0/22")),
)
MGMT = NETWORKS[0]
NETWORKS_BY_BRIDGE: dict[str, LabNetwork] = {n.bridge: n for n in NETWORKS}

# Offsets from the network address: .1-.50 is the gateway range (never handed out by the
# inventory), .100-.254 is where lab scenarios place hosts and VIPs.
GATEWAY_RANGE = (1, 50)
LAB_RANGE = (100, 254)

DEVICES: dict[str, tuple[str, int, int]] = {
    # name: (path on the machine, major, minor)
    "kvm": ("/dev/kvm", 10, 232),
    "tun": ("/dev/net/tun", 10, 200),
}

_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*_hosts$")
_SCENARIO_KEYS = {"description", "vips", "hosts", "user_variables", "swift"}
_HOST_KEYS = {"addresses", "devices", "groups", "lxc_config", "swift_vars"}


@dataclass(frozen=True)
class Host:
    """One lab host: an LXC system container with static addresses."""

    name: str
    addresses: dict[str, ipaddress.IPv4Address]  # bridge -> address, br-mgmt always present
    devices: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    lxc_config: tuple[str, ...] = ()
    # OSA's per-host swift settings (zone, region, weight, drives), under swift_hosts.
    swift_vars: dict[str, Any] = field(default_factory=dict)

    @property
    def mgmt_address(self) -> ipaddress.IPv4Address:
        """The address Ansible reaches the host on."""
        return self.addresses[MGMT.bridge]

    @property
    def slot(self) -> int:
        """The host's offset in the lab networks: its address on each of them, if it has one,
        is the network address + slot (so scenarios never collide on a shared bridge)."""
        return int(self.mgmt_address) - int(MGMT.cidr.network_address)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: hosts, VIPs and the lab facts for user_variables.yml."""

    name: str
    description: str
    hosts: tuple[Host, ...]
    vips: dict[str, ipaddress.IPv4Address]
    user_variables: dict[str, Any] = field(default_factory=dict)
    source: str = "<scenario>"
    # global_overrides.swift of openstack_user_config.yml (OSA's swift section); empty: none.
    swift: dict[str, Any] = field(default_factory=dict)

    @property
    def bridges(self) -> tuple[str, ...]:
        """The lab bridges of this scenario's networks, in lab order (all of them)."""
        return tuple(n.bridge for n in NETWORKS)


def _fail(source: str, key: str, problem: str, fix: str) -> ScenarioError:
    return ScenarioError(f"{source}: {key}: {problem}. {fix}")


def _in_lab_range(network: LabNetwork, address: ipaddress.IPv4Address) -> bool:
    offset = int(address) - int(network.cidr.network_address)
    return LAB_RANGE[0] <= offset <= LAB_RANGE[1]


def _address(source: str, key: str, value: Any, network: LabNetwork) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.IPv4Address(str(value))
    except ValueError:
        raise _fail(
            source, key, f"{value!r} is not an IPv4 address", "Write a dotted quad."
        ) from None
    if address not in network.cidr or not _in_lab_range(network, address):
        first = network.cidr.network_address + LAB_RANGE[0]
        last = network.cidr.network_address + LAB_RANGE[1]
        raise _fail(
            source,
            key,
            f"{address} is outside the lab host range of {network.bridge} ({first}-{last})",
            "Pick a free address in that range.",
        )
    return address


def _string_list(source: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(source, key, f"expected a list of strings, got {value!r}", "Write a YAML list.")
    return tuple(value)


def _parse_addresses(source: str, key: str, raw: Any) -> dict[str, ipaddress.IPv4Address]:
    """A host's addresses: its br-mgmt one only (the inventory allocates the others)."""
    raw_addresses = raw
    if not isinstance(raw_addresses, dict) or MGMT.bridge not in raw_addresses:
        raise _fail(
            source,
            f"{key}.addresses",
            f"missing the {MGMT.bridge} address",
            f"Give at least {{{MGMT.bridge}: <address in {MGMT.cidr}>}}.",
        )
    addresses: dict[str, ipaddress.IPv4Address] = {}
    for bridge, value in raw_addresses.items():
        if bridge in NETWORKS_BY_BRIDGE and bridge != MGMT.bridge:
            raise _fail(
                source,
                f"{key}.addresses.{bridge}",
                "the inventory allocates this address (one source of truth: the lab configures"
                " what openstack_inventory.json records)",
                f"Remove it; give only {MGMT.bridge}.",
            )
        if bridge not in NETWORKS_BY_BRIDGE:
            raise _fail(
                source,
                f"{key}.addresses.{bridge}",
                "unknown lab bridge",
                f"Give only {MGMT.bridge}.",
            )
        addresses[bridge] = _address(
            source, f"{key}.addresses.{bridge}", value, NETWORKS_BY_BRIDGE[bridge]
        )
    return addresses


def _parse_host(source: str, name: Any, data: Any) -> Host:
    key = f"hosts.{name}"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise _fail(
            source,
            key,
            f"{name!r} is not a valid host name",
            "Use lower-case letters, digits and '-', at most 63 characters.",
        )
    if not isinstance(data, dict):
        raise _fail(source, key, "expected a mapping", "Give addresses, devices and groups.")
    unknown = sorted(set(data) - _HOST_KEYS)
    if unknown:
        raise _fail(
            source,
            f"{key}.{unknown[0]}",
            "unknown key",
            f"Known keys: {', '.join(sorted(_HOST_KEYS))}.",
        )
    addresses = _parse_addresses(source, key, data.get("addresses"))
    devices = _string_list(source, f"{key}.devices", data.get("devices"))
    for device in devices:
        if device not in DEVICES:
            raise _fail(
                source, f"{key}.devices", f"unknown device {device!r}", f"Use {', '.join(DEVICES)}."
            )
    groups = _string_list(source, f"{key}.groups", data.get("groups"))
    if not groups:
        raise _fail(
            source, f"{key}.groups", "no host groups", "List the groups, e.g. [shared-infra_hosts]."
        )
    for group in groups:
        if not _GROUP_RE.match(group):
            raise _fail(
                source,
                f"{key}.groups",
                f"{group!r} is not a host group name",
                "Host groups end in '_hosts', as in openstack_user_config.yml.",
            )
    if len(set(groups)) != len(groups):
        raise _fail(source, f"{key}.groups", "a group is listed twice", "List each group once.")
    lxc_config = _string_list(source, f"{key}.lxc_config", data.get("lxc_config"))
    swift_vars = data.get("swift_vars") or {}
    if not isinstance(swift_vars, dict):
        raise _fail(source, f"{key}.swift_vars", "expected a mapping", "Write e.g. {zone: 1}.")
    return Host(name, addresses, tuple(dict.fromkeys(devices)), groups, lxc_config, swift_vars)


def parse_scenario(name: str, data: Any, source: str) -> Scenario:
    """Validate the parsed YAML of one scenario file; raise ScenarioError naming key and fix."""
    if not _NAME_RE.match(name):
        raise _fail(source, "(file name)", f"{name!r} is not a valid scenario name", "Rename it.")
    if not isinstance(data, dict):
        raise _fail(source, "(top level)", "expected a mapping", "See tests/lab/scenarios/aio.yml.")
    unknown = sorted(set(data) - _SCENARIO_KEYS)
    if unknown:
        raise _fail(
            source, unknown[0], "unknown key", f"Known keys: {', '.join(sorted(_SCENARIO_KEYS))}."
        )
    raw_hosts = data.get("hosts")
    if not isinstance(raw_hosts, dict) or not raw_hosts:
        raise _fail(source, "hosts", "no hosts", "Give a mapping of host name -> settings.")
    hosts = tuple(_parse_host(source, host_name, value) for host_name, value in raw_hosts.items())

    raw_vips = data.get("vips")
    if not isinstance(raw_vips, dict) or set(raw_vips) != {"internal", "external"}:
        raise _fail(
            source,
            "vips",
            "expected exactly the keys internal and external",
            f"Give two free addresses of {MGMT.cidr}.",
        )
    vips = {k: _address(source, f"vips.{k}", raw_vips[k], MGMT) for k in ("internal", "external")}

    seen: dict[ipaddress.IPv4Address, str] = {}
    for host in hosts:
        for bridge, address in host.addresses.items():
            _claim(seen, address, f"hosts.{host.name}.addresses.{bridge}", source)
    for key, address in vips.items():
        if vips["internal"] == vips["external"] and key == "external":
            continue  # one VIP for both is allowed, as in OSA
        _claim(seen, address, f"vips.{key}", source)

    user_variables = data.get("user_variables") or {}
    if not isinstance(user_variables, dict):
        raise _fail(source, "user_variables", "expected a mapping", "Write variable: value pairs.")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise _fail(source, "description", "expected a string", "Write one sentence.")
    swift = data.get("swift") or {}
    if not isinstance(swift, dict):
        raise _fail(
            source,
            "swift",
            "expected a mapping",
            "Write OSA's swift section (part_power, drives, ...).",
        )
    return Scenario(
        name, description.strip(), hosts, vips, dict(user_variables), source, dict(swift)
    )


def _claim(seen: dict[ipaddress.IPv4Address, str], address: Any, key: str, source: str) -> None:
    if address in seen:
        raise _fail(source, key, f"{address} is also used by {seen[address]}", "Use another one.")
    seen[address] = key


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{path}:{where}: not valid YAML: {exc}. Fix the syntax.") from None
    if isinstance(data, dict) and "user_variables_files" in data:
        data = dict(data)
        files = data.pop("user_variables_files")
        own = data.get("user_variables") or {}
        if isinstance(own, dict):  # else parse_scenario names the problem
            shared = _shared_user_variables(files, path)
            data["user_variables"] = {**own, **{k: v for k, v in shared.items() if k not in own}}
    return parse_scenario(path.stem, data, str(path))


def _shared_user_variables(files: Any, scenario: Path) -> dict[str, Any]:
    """The variables of the files a scenario names (relative to its directory), in order."""
    key = "user_variables_files"
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise _fail(str(scenario), key, "expected a list of file names", "Write [common/x.yml].")
    merged: dict[str, Any] = {}
    for name in files:
        path = scenario.parent / name
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise _fail(str(scenario), key, f"cannot read {path}: {exc}", "Fix the name.") from None
        if not isinstance(data, dict):
            raise _fail(str(scenario), key, f"{path} is not a mapping", "Write name: value pairs.")
        merged.update(data)
    return merged


def scenario_path(name: str, scenarios_dir: Path) -> Path:
    """The file of scenario NAME; an unknown name lists the known ones."""
    path = scenarios_dir / f"{name}.yml"
    if not _NAME_RE.match(name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in scenarios_dir.glob("*.yml"))) or "none"
        raise ScenarioError(
            f"no lab scenario named {name!r} in {scenarios_dir}; known scenarios: {known}"
        )
    return path


def claims(scenario: Scenario) -> dict[str, list[str]]:
    """What a scenario occupies on the shared lab: host names and addresses (with VIPs)."""
    addresses = [str(a) for host in scenario.hosts for a in host.addresses.values()]
    addresses += [str(a) for a in dict.fromkeys(scenario.vips.values())]
    return {"names": [h.name for h in scenario.hosts], "addresses": addresses}


def claim_conflicts(
    scenario: str, wanted: dict[str, list[str]], existing: dict[str, dict[str, list[str]]]
) -> list[str]:
    """Host names or addresses of SCENARIO that another created scenario already uses."""
    problems = []
    for other, used in sorted(existing.items()):
        if other == scenario:
            continue
        for kind in ("names", "addresses"):
            for value in wanted.get(kind, []):
                if value in used.get(kind, []):
                    what = "host name" if kind == "names" else "address"
                    problems.append(
                        f"{what} {value} of scenario {scenario!r} is in use by the running"
                        f" scenario {other!r}; destroy that one (lab.py destroy {other}) or change"
                        f" tests/lab/scenarios/{scenario}.yml"
                    )
    return problems
