# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.neutron_ml2_types (logic in plugins/plugin_utils/ovn.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: neutron_ml2_types
short_description: ML2 type driver settings from provider_networks
version_added: "0.1.0"
author: Nimbus developers
description:
  - Reads OSA's C(provider_networks) and returns the values of C(ml2_conf.ini) that derive from
    it. C(flat_networks) lists the physical network of every C(flat) and C(vlan) entry
    (untagged traffic on a VLAN trunk is a flat network); C(network_vlan_ranges) gives
    C(<net_name>:<first>:<last>) for every item of a C(vlan) entry's C(range) (the bare name
    without one); C(vni_ranges) gives the C(first:last) items of the C(geneve) entries.
options:
  _input:
    description: C(provider_networks) (global_overrides of openstack_user_config.yml).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
vni_ranges: "{{ (provider_networks | nimbus.cloud.neutron_ml2_types).vni_ranges | join(',') }}"
"""

RETURN = r"""
_value:
  description: Keys flat_networks, network_vlan_ranges and vni_ranges, each a list of strings.
  type: dict
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.ovn import OvnSettingsError, ml2_types


def neutron_ml2_types(provider_networks: Any) -> dict[str, list[str]]:
    try:
        return ml2_types(provider_networks)
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"neutron_ml2_types: {err}") from err


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"neutron_ml2_types": neutron_ml2_types}
