# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""What a host must already have for the networks the inventory gives it.

Pure Python, no Ansible imports; the filters nimbus.cloud.host_bridge_problems and
nimbus.cloud.ovn_chassis_problems are thin wrappers. Both return one message per problem
(empty: nothing wrong), read only what the inventory and the host's facts say, and run in the
prechecks, before any host changes.

- Every network the inventory gives a host an address on (``container_networks``: the
  ``<name>_address`` entries with an ``address``) names the host bridge that address lives on
  (``container_bridge`` of its provider network). Nimbus does not make those bridges: the
  operator does, as with OSA on metal. A bridge the host lacks would only show when a service
  cannot bind its address.
- An OVN chassis plugs each of its flat/vlan provider networks' NIC (``network_interface``)
  into an OVS bridge, and sends GENEVE traffic from ``ovn_encap_ip``, which must be one of the
  host's addresses on the tunnel network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

USER_CONFIG = "openstack_user_config.yml"


def _listing(interfaces: Sequence[str]) -> str:
    names = sorted(str(name) for name in interfaces)
    return ", ".join(names) if names else "no interfaces"


def host_bridge_problems(container_networks: Any, interfaces: Sequence[str]) -> list[str]:
    """Bridges of the host's addressed networks that are not network devices of the host."""
    if not isinstance(container_networks, Mapping):
        return []
    present = {str(name) for name in interfaces}
    problems = []
    for key in sorted(container_networks):
        entry = container_networks[key]
        if not isinstance(entry, Mapping) or not entry.get("address"):
            continue
        bridge = entry.get("bridge")
        if not isinstance(bridge, str) or not bridge or bridge in present:
            continue
        problems.append(
            f"{key} {entry['address']} is on bridge {bridge!r} (container_bridge of its "
            f"provider network in {USER_CONFIG}), which this host does not have (it has "
            f"{_listing(interfaces)}). Create {bridge} on the host (Nimbus does not create host "
            "bridges), or set container_bridge to the bridge the host has for that network."
        )
    return problems


def _tunnel_network(tunnel: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(tunnel, Mapping) or not tunnel.get("address"):
        return None
    prefix = tunnel.get("prefix") or tunnel.get("netmask")
    if prefix in (None, ""):
        return None
    try:
        return ipaddress.ip_interface(f"{tunnel['address']}/{prefix}").network
    except ValueError:
        return None


def ovn_chassis_problems(
    bridges: Sequence[Mapping[str, str]],
    interfaces: Sequence[str],
    encap_ip: Any,
    tunnel: Any,
) -> list[str]:
    """Missing provider NICs, and an ``ovn_encap_ip`` outside the host's tunnel network.

    ``bridges`` is nimbus.cloud.ovn_provider_bridges' answer for the host, ``tunnel`` its
    ``container_networks.tunnel_address`` (address and prefix or netmask), if any.
    """
    problems = []
    present = {str(name) for name in interfaces}
    for entry in bridges:
        nic = entry.get("interface")
        if nic and nic not in present:
            problems.append(
                f"network_interface {nic!r} of physical network {entry.get('physnet')!r} "
                f"(provider_networks in {USER_CONFIG}) is not a network device of this host (it "
                f"has {_listing(interfaces)}). Name the host's NIC for that physical network, "
                "or bind the entry to groups this host is not in."
            )
    network = _tunnel_network(tunnel)
    text = "" if encap_ip is None else str(encap_ip).strip()
    fix = (
        "Give the tunnel network (cidr_networks.tunnel and a provider network with ip_from_q: "
        f"tunnel bound to neutron_ovn_controller) in {USER_CONFIG}, or set ovn_encap_ip to the "
        "host's tunnel address in user_variables.yml."
    )
    if network is None:
        problems.append(
            f"ovn_encap_ip is {text!r}, but the inventory gives this host no address on a tunnel "
            f"network. {fix}"
        )
        return problems
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        problems.append(f"ovn_encap_ip {text!r} is not an IP address. {fix}")
        return problems
    if address not in network:
        problems.append(
            f"ovn_encap_ip {address} is outside the host's tunnel network {network} (its tunnel "
            f"address is {tunnel['address']}): GENEVE packets from it would not reach the other "
            f"chassis. Set ovn_encap_ip to {tunnel['address']} (the default), or remove it from "
            "user_variables.yml."
        )
    return problems
