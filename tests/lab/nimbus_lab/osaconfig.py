"""Pure generation of a scenario's configuration directory (OSA formats) and lab inventory."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Any

import yaml

from .model import (
    GATEWAY_RANGE,
    LAB_RANGE,
    MGMT,
    NETWORKS,
    NETWORKS_BY_BRIDGE,
    LabError,
    LabNetwork,
    Scenario,
)

# OSA provider network settings per lab bridge.
_PROVIDER_NETWORKS: dict[str, dict[str, Any]] = {
    "br-mgmt": {
        "container_bridge": "br-mgmt",
        "container_type": "veth",
        "container_interface": "eth1",
        "ip_from_q": "container",
        "type": "raw",
        "group_binds": ["all_containers", "hosts"],
        "is_management_address": True,
    },
    "br-vxlan": {
        "container_bridge": "br-vxlan",
        "container_type": "veth",
        "container_interface": "eth10",
        "ip_from_q": "tunnel",
        "type": "geneve",
        "range": "1:1000",
        "net_name": "geneve",
        "group_binds": ["neutron_ovn_controller"],
    },
    "br-storage": {
        "container_bridge": "br-storage",
        "container_type": "veth",
        "container_interface": "eth2",
        "ip_from_q": "storage",
        "type": "raw",
        "group_binds": [
            "glance_api",
            "cinder_api",
            "cinder_volume",
            "nova_compute",
            "swift_proxy",
            "swift_acc",
            "swift_cont",
            "swift_obj",
        ],
    },
    # Neutron's provider network, as OSA's AIO: untagged (flat) and VLANs 101-200, 301-400 of
    # physnet1 on the machine's br-vlan, whose address 172.29.248.1 is their gateway (NAT out).
    # In a host, eth12 is the NIC on it, plugged into the OVS bridge br-vlan by the OVN roles.
    "br-vlan": {
        "container_bridge": "br-vlan",
        "container_type": "veth",
        "network_interface": "eth12",
        "type": "vlan",
        "range": "101:200,301:400",
        "net_name": "physnet1",
        "group_binds": ["neutron_ovn_controller"],
    },
}

GENERATED_FILES = ("openstack_user_config.yml", "user_variables.yml", "lab-inventory.ini")
MARKER = ".nimbus-lab.json"


def _range(bridge: str, span: tuple[int, int]) -> str:
    base = NETWORKS_BY_BRIDGE[bridge].cidr.network_address
    return f"{base + span[0]},{base + span[1]}"


def _interval_text(first: ipaddress.IPv4Address, last: ipaddress.IPv4Address) -> str:
    return str(first) if first == last else f"{first},{last}"


def slot_reservations(network: LabNetwork, slots: list[int]) -> list[str]:
    """used_ips that leave the inventory only the scenario's host slots of NETWORK to give.

    Other scenarios run on the same bridges with their own configuration directory, so each
    scenario's inventory may allocate only its own hosts' slots: every usable address of the
    network but network address + slot is reserved.
    """
    first = int(network.cidr.network_address) + 1
    last = int(network.cidr.broadcast_address) - 1
    reserved: list[str] = []
    for slot in sorted(set(slots)):
        address = int(network.cidr.network_address) + slot
        if address > first:
            reserved.append(
                _interval_text(ipaddress.IPv4Address(first), ipaddress.IPv4Address(address - 1))
            )
        first = address + 1
    if first <= last:
        reserved.append(_interval_text(ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)))
    return reserved


def user_config(scenario: Scenario) -> dict[str, Any]:
    """openstack_user_config.yml as data: networks, used_ips, VIPs, provider networks, groups."""
    bridges = scenario.bridges
    addressed = [b for b in bridges if NETWORKS_BY_BRIDGE[b].queue is not None]
    slots = [host.slot for host in scenario.hosts]
    used_ips = [_range(MGMT.bridge, GATEWAY_RANGE), _range(MGMT.bridge, LAB_RANGE)]
    for bridge in addressed:
        if bridge != MGMT.bridge:
            used_ips += slot_reservations(NETWORKS_BY_BRIDGE[bridge], slots)
    config: dict[str, Any] = {
        "cidr_networks": {
            NETWORKS_BY_BRIDGE[b].queue: str(NETWORKS_BY_BRIDGE[b].cidr) for b in addressed
        },
        # br-mgmt: the gateway range and the range where every lab scenario places hosts and
        # VIPs. Other networks: everything but this scenario's host slots (slot_reservations).
        "used_ips": used_ips,
        "global_overrides": {
            "internal_lb_vip_address": str(scenario.vips["internal"]),
            "external_lb_vip_address": str(scenario.vips["external"]),
            "management_bridge": "br-mgmt",
            "provider_networks": [{"network": dict(_PROVIDER_NETWORKS[b])} for b in bridges],
        },
    }
    if scenario.swift:
        config["global_overrides"]["swift"] = dict(scenario.swift)
    groups: dict[str, dict[str, Any]] = {}
    for host in scenario.hosts:
        for group in host.groups:
            entry: dict[str, Any] = {"ip": str(host.mgmt_address)}
            if group == "swift_hosts" and host.swift_vars:
                entry["container_vars"] = {"swift_vars": dict(host.swift_vars)}
            groups.setdefault(group, {})[host.name] = entry
    config.update(groups)
    return config


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def user_config_text(scenario: Scenario) -> str:
    header = (
        "---\n"
        f"# Lab scenario {scenario.name!r}: {scenario.description}\n"
        f"# Written by tests/lab/lab.py from {scenario.name}.yml; the hosts are LXC containers\n"
        "# on this machine. Edit freely: the lab keeps an edited file and says so.\n"
    )
    return header + _dump(user_config(scenario))


def user_variables_text(scenario: Scenario) -> str:
    lines = [
        "---",
        "# Lab facts: settings this machine's lab needs, not production defaults.",
        "# Lab hosts are LXC containers on a kernel without the openvswitch module (OVS runs",
        "# its userspace 'netdev' datapath) whose nested KVM only offers the kvm64 CPU model.",
    ]
    lines += [f"#   - {name}" for name in scenario.user_variables]
    text = "\n".join(lines) + "\n"
    # An empty mapping when the scenario has none: Ansible refuses an empty extra-vars file.
    return text + (_dump(scenario.user_variables) if scenario.user_variables else "{}\n")


def inventory_text(scenario: Scenario) -> str:
    """A static Ansible inventory of the lab hosts, for smoke tests (not the deployment one)."""
    group = scenario.name.replace("-", "_")
    lines = [
        f"# Lab scenario {scenario.name}: its hosts, for smoke tests (written by lab.py).",
        f"[{group}]",
    ]
    lines += [f"{h.name} ansible_host={h.mgmt_address} ansible_user=root" for h in scenario.hosts]
    lines += ["", f"[{group}:vars]", "ansible_python_interpreter=/usr/bin/python3"]
    return "\n".join(lines) + "\n"


def generated_files(scenario: Scenario) -> dict[str, str]:
    return {
        "openstack_user_config.yml": user_config_text(scenario),
        "user_variables.yml": user_variables_text(scenario),
        "lab-inventory.ini": inventory_text(scenario),
    }


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_config_files(
    wanted: dict[str, str],
    current: dict[str, str | None],
    marker: dict[str, Any] | None,
    scenario: str,
    force: bool,
) -> tuple[dict[str, str], list[str], dict[str, Any]]:
    """Decide which generated files to write in a configuration directory.

    CURRENT maps file name -> its text (None when absent); MARKER is the lab's record of what
    it last wrote there (None when the lab never wrote there). Returns (files to write, notes,
    the new marker). A directory whose files the lab did not write for this scenario is
    refused unless FORCE; a file the user edited since the lab wrote it is kept, with a note,
    unless FORCE.
    """
    ours = marker is not None and marker.get("scenario") == scenario
    if not ours and not force:
        foreign = [n for n, text in wanted.items() if current.get(n) not in (None, text)]
        if foreign:
            raise FileExistsError(
                f"it already holds {', '.join(foreign)} that the lab did not write for this"
                " scenario; pass --force-config to overwrite, or choose another --config-dir"
            )
    written: dict[str, str] = dict((marker or {}).get("files", {})) if ours else {}
    to_write: dict[str, str] = {}
    notes: list[str] = []
    for name, text in wanted.items():
        have = current.get(name)
        if have == text:
            written[name] = digest(text)
            continue
        if ours and have is not None and written.get(name) != digest(have) and not force:
            notes.append(f"kept {name}: it was edited (pass --force-config to rewrite it)")
            continue
        to_write[name] = text
        written[name] = digest(text)
    return to_write, notes, {"scenario": scenario, "files": written}


@dataclass(frozen=True)
class Nic:
    """One interface of a lab host on a lab bridge, as the inventory says it must be."""

    bridge: str
    name: str  # inside the host
    address: ipaddress.IPv4Address | None  # None: no address (a provider network's NIC)
    slot_address: ipaddress.IPv4Address  # network address + host slot: names its veth and MAC


def _bound(network: dict[str, Any], groups: dict[str, Any], host: str) -> bool:
    binds = network.get("group_binds") or []
    return any(host in (groups.get(g) or {}).get("hosts", []) for g in binds)


def host_nics(
    scenario: Scenario, config: dict[str, Any], export: dict[str, Any]
) -> dict[str, list[Nic]]:
    """Each lab host's interfaces, from the inventory's export of the scenario's configuration.

    br-mgmt always; a network with addresses (tunnel, storage) when the inventory gave the host
    an address on it, which must be one of the scenario's slots there (else the configuration
    no longer confines the inventory: LabError); a provider network without addresses (br-vlan) when
    the host is in one of its group_binds. Interfaces carry the bridge's name, as on an OSA
    metal host, except a provider network's NIC, named by its network_interface.
    """
    hostvars = export.get("_meta", {}).get("hostvars", {})
    overrides = config.get("global_overrides") or {}
    providers = [
        item["network"]
        for item in overrides.get("provider_networks") or []
        if isinstance(item, dict)
        and isinstance(item.get("network"), dict)
        and item["network"].get("container_bridge") in NETWORKS_BY_BRIDGE
    ]
    slots = {host.slot for host in scenario.hosts}
    result: dict[str, list[Nic]] = {}
    for host in scenario.hosts:
        networks = hostvars.get(host.name, {}).get("container_networks", {})
        by_bridge = {
            entry.get("bridge"): entry for entry in networks.values() if entry.get("address")
        }
        nics: list[Nic] = []
        for network in NETWORKS:
            slot_address = network.cidr.network_address + host.slot
            if network is MGMT:
                nics.append(Nic(MGMT.bridge, MGMT.bridge, host.mgmt_address, host.mgmt_address))
            elif network.queue is not None and network.bridge in by_bridge:
                address = ipaddress.IPv4Address(by_bridge[network.bridge]["address"])
                if int(address) - int(network.cidr.network_address) not in slots:
                    raise LabError(
                        f"the inventory gave {host.name} {address} on {network.bridge}, outside"
                        f" the slots of scenario {scenario.name} there: openstack_user_config.yml"
                        " no longer reserves the other addresses (edited used_ips?); rewrite it"
                        " with lab.py create --force-config"
                    )
                nics.append(Nic(network.bridge, network.bridge, address, address))
            elif network.queue is None:
                for provider in providers:
                    if provider["container_bridge"] == network.bridge and _bound(
                        provider, export, host.name
                    ):
                        name = provider.get("network_interface") or network.bridge
                        nics.append(Nic(network.bridge, name, None, slot_address))
                        break
        result[host.name] = nics
    return result


def known_hosts_line(name: str, address: str, public_key: str) -> str:
    """A known_hosts entry for both the name and the address of a lab host."""
    key_type, key = public_key.split()[:2]
    return f"{name},{address} {key_type} {key}"
