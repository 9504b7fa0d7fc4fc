# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.nova_cell_updates (logic in plugins/plugin_utils/nova_cells.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: nova_cell_updates
short_description: The nova cells whose mapping points at other URLs than nova.conf's
version_added: "0.1.0"
author: Nimbus developers
description:
  - Reads the table of C(nova-manage cell_v2 list_cells --verbose) and returns the cells of
    O(wanted) whose transport URL or database connection differs from the wanted one, each
    with its uuid and the wanted URLs (for C(nova-manage cell_v2 update_cell)).
  - A cell the listing lacks is not returned (it is created first); cells not in O(wanted)
    are left alone. Error messages never quote a URL (URLs carry passwords).
options:
  _input:
    description: The standard output of C(nova-manage cell_v2 list_cells --verbose).
    type: str
    required: true
  wanted:
    description: Cell name -> {transport_url, database_connection}.
    type: dict
    required: true
"""

EXAMPLES = r"""
updates: "{{ listing.stdout | nimbus.cloud.nova_cell_updates(wanted) }}"
"""

RETURN = r"""
_value:
  description: List of {name, uuid, transport_url, database_connection}.
  type: list
  elements: dict
"""

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.nova_cells import (
    NovaCellsError,
    cell_updates,
)


def nova_cell_updates(listing: str, wanted: Mapping[str, Any]) -> list[dict[str, str]]:
    if not isinstance(listing, str) or not isinstance(wanted, Mapping):
        raise AnsibleFilterError(
            "nova_cell_updates: give the listing (a string) and wanted (a mapping)"
        )
    try:
        return cell_updates(listing, wanted)
    except NovaCellsError as err:
        raise AnsibleFilterError(f"nova_cell_updates: {err}") from err


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"nova_cell_updates": nova_cell_updates}
