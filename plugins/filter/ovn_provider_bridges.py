# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.ovn_provider_bridges (logic in plugins/plugin_utils/ovn.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ovn_provider_bridges
short_description: The physical networks a host plugs into Open vSwitch, from provider_networks
version_added: "0.1.0"
author: Nimbus developers
description:
  - Reads OSA's C(provider_networks) and returns, for every C(flat) or C(vlan) entry whose
    C(group_binds) contains one of the host's groups, its physical network (C(net_name)), the
    OVS bridge it maps to and the host NIC to plug into it (C(network_interface); empty when
    the entry names none).
  - The first physical network's bridge is C(br-provider), the others C(br-<net_name>), unless
    C(names) names it. A physical network listed twice with two NICs, a bridge name longer
    than 15 characters, or a name in C(names) that no physical network has, is an error.
options:
  _input:
    description: C(provider_networks) (global_overrides of openstack_user_config.yml).
    type: list
    elements: dict
    required: true
  group_names:
    description: The host's groups.
    type: list
    elements: str
    required: true
  names:
    description: Physical network -> OVS bridge, for bridges not named by the default rule.
    type: dict
    default: {}
"""

EXAMPLES = r"""
ovn_bridge_mappings: >-
  {{ provider_networks | nimbus.cloud.ovn_provider_bridges(group_names)
     | map(attribute='physnet') | list }}
"""

RETURN = r"""
_value:
  description: One dict per physical network of the host, with keys physnet, bridge, interface.
  type: list
  elements: dict
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.ovn import (
    OvnSettingsError,
    provider_bridges,
)


def ovn_provider_bridges(
    provider_networks: Any, group_names: list[str], names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    try:
        return provider_bridges(provider_networks, list(group_names), names or {})
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"ovn_provider_bridges: {err}") from err


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"ovn_provider_bridges": ovn_provider_bridges}
