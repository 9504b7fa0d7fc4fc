# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.swift_ring_plan (logic in plugins/plugin_utils/swift_rings.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: swift_ring_plan
short_description: The Swift rings the inventory asks for, and every problem of its swift input
version_added: "0.1.0"
author: Nimbus developers
description:
  - Reads OpenStack-Ansible's C(swift) section of C(global_overrides) and the C(swift_vars) and
    addresses of every swift host and returns, per ring (C(account), C(container), C(object),
    C(object-<index>) per storage policy), its partition power, replica count, minimum part hours
    and devices (region, zone, address and port on the storage network, replication address,
    device name, weight, host), sorted, so that the same inventory gives the same plan.
  - Fails with one line per problem, every problem at once, each naming the key and the fix
    (a drive listed twice, more replicas than zones, a host without a storage address, a
    partition power out of range, unknown keys with the closest known one, ...).
options:
  _input:
    description: The C(swift) section (C(global_overrides.swift) of openstack_user_config.yml).
    type: dict
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The swift storage hosts (C(groups['swift_hosts'])).
    type: list
    elements: str
    required: true
  source:
    description: Where the input came from, for the messages.
    type: str
    default: ""
"""

EXAMPLES = r"""
swift_rings: "{{ swift | nimbus.cloud.swift_ring_plan(hostvars, groups['swift_hosts']) }}"
"""

RETURN = r"""
_value:
  description: C(rings) (list of C(name), C(part_power), C(replicas), C(min_part_hours),
    C(devices)) and C(policies) (C(name), C(index), C(default)).
  type: dict
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.swift_rings import (
    SwiftRingError,
    inventory_ring_plan,
)


def swift_ring_plan(swift: Any, hostvars: Any, hosts: Any, source: str = "") -> dict[str, Any]:
    try:
        return inventory_ring_plan(swift, hostvars, list(hosts or []), source)
    except SwiftRingError as err:
        raise AnsibleFilterError(str(err)) from err


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"swift_ring_plan": swift_ring_plan}
