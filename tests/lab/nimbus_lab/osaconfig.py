"""Pure generation of a scenario's configuration directory (OSA formats) and lab inventory."""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from .model import GATEWAY_RANGE, LAB_RANGE, NETWORKS_BY_BRIDGE, Scenario

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
        "group_binds": ["glance_api", "cinder_api", "cinder_volume", "nova_compute"],
    },
}

GENERATED_FILES = ("openstack_user_config.yml", "user_variables.yml", "lab-inventory.ini")
MARKER = ".nimbus-lab.json"


def _range(bridge: str, span: tuple[int, int]) -> str:
    base = NETWORKS_BY_BRIDGE[bridge].cidr.network_address
    return f"{base + span[0]},{base + span[1]}"


def user_config(scenario: Scenario) -> dict[str, Any]:
    """openstack_user_config.yml as data: networks, used_ips, VIPs, provider networks, groups."""
    bridges = scenario.bridges
    config: dict[str, Any] = {
        "cidr_networks": {
            NETWORKS_BY_BRIDGE[b].queue: str(NETWORKS_BY_BRIDGE[b].cidr) for b in bridges
        },
        # The gateway range, and the range where every lab scenario places hosts and VIPs
        # (other scenarios may run on the same bridges at the same time).
        "used_ips": [_range(b, GATEWAY_RANGE) for b in bridges]
        + [_range(b, LAB_RANGE) for b in bridges],
        "global_overrides": {
            "internal_lb_vip_address": str(scenario.vips["internal"]),
            "external_lb_vip_address": str(scenario.vips["external"]),
            "management_bridge": "br-mgmt",
            "provider_networks": [{"network": dict(_PROVIDER_NETWORKS[b])} for b in bridges],
        },
    }
    groups: dict[str, dict[str, Any]] = {}
    for host in scenario.hosts:
        for group in host.groups:
            groups.setdefault(group, {})[host.name] = {"ip": str(host.mgmt_address)}
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
    if scenario.user_variables:
        text += _dump(scenario.user_variables)
    return text


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


def known_hosts_line(name: str, address: str, public_key: str) -> str:
    """A known_hosts entry for both the name and the address of a lab host."""
    key_type, key = public_key.split()[:2]
    return f"{name},{address} {key_type} {key}"
