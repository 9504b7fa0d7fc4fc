# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filters nimbus.cloud.host_bridge_problems and nimbus.cloud.ovn_chassis_problems.

The logic is in plugins/plugin_utils/host_networks.py. Documentation of ovn_chassis_problems:
ovn_chassis_problems.yml next to this file.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: host_bridge_problems
short_description: Bridges of a host's networks that the host does not have
version_added: "0.1.0"
author: Nimbus developers
description:
  - For every entry of the host's C(container_networks) with an address, the bridge it names
    (C(container_bridge) of its provider network) must be one of the host's network devices.
  - Returns one message per missing bridge, naming the network, the bridge, the devices the
    host has and the fix; an empty list when nothing is missing.
options:
  _input:
    description: The host's C(container_networks).
    type: dict
    required: true
  interfaces:
    description: The host's network devices (C(ansible_facts.interfaces)).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
problems: >-
  {{ container_networks | nimbus.cloud.host_bridge_problems(ansible_facts['interfaces']) }}
"""

RETURN = r"""
_value:
  description: One message per problem.
  type: list
  elements: str
"""

from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.host_networks import (
    host_bridge_problems,
    ovn_chassis_problems,
)


def _host_bridge_problems(container_networks: Any, interfaces: list[str]) -> list[str]:
    return host_bridge_problems(container_networks, list(interfaces or []))


def _ovn_chassis_problems(
    bridges: Any, interfaces: list[str], encap_ip: Any, tunnel: Any = None
) -> list[str]:
    return ovn_chassis_problems(list(bridges or []), list(interfaces or []), encap_ip, tunnel)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "host_bridge_problems": _host_bridge_problems,
            "ovn_chassis_problems": _ovn_chassis_problems,
        }
