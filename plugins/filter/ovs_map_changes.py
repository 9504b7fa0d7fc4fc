# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.ovs_map_changes (logic in plugins/plugin_utils/ovn.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ovs_map_changes
short_description: The keys of an Open vSwitch map column that differ from what is wanted
version_added: "0.1.0"
author: Nimbus developers
description:
  - Reads the output of C(ovs-vsctl --format=json --columns=<column> list <table> <record>)
    (one row) and returns the keys of C(wanted) whose value the column does not hold, with the
    wanted value as a string (booleans as C(true)/C(false)). Keys the column has and C(wanted)
    does not are left alone.
options:
  _input:
    description: The JSON printed by ovs-vsctl.
    type: str
    required: true
  wanted:
    description: Key -> value the column must hold.
    type: dict
    required: true
  column:
    description: The map column.
    type: str
    default: external_ids
"""

EXAMPLES = r"""
changes: "{{ _listing.stdout | nimbus.cloud.ovs_map_changes({'ovn-encap-type': 'geneve'}) }}"
"""

RETURN = r"""
_value:
  description: Key -> value to set.
  type: dict
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.ovn import (
    OvnSettingsError,
    map_changes,
    ovs_map,
)


def ovs_map_changes(
    list_json: str, wanted: dict[str, Any], column: str = "external_ids"
) -> dict[str, str]:
    try:
        return map_changes(ovs_map(str(list_json), column), wanted)
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"ovs_map_changes: {err}") from err


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"ovs_map_changes": ovs_map_changes}
