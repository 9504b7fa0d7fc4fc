# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.systemd_units (logic in plugins/plugin_utils/systemd_units.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_units
short_description: The units nimbus.cloud.systemd_service handles, each with every option
version_added: "0.1.0"
author: Nimbus developers
description:
  - Completes each unit (a mapping of the role's option names without the C(systemd_service_)
    prefix) with O(defaults), and adds C(kinds) (the socket or timer beside the service),
    C(extra_units) (their file names) and C(plain) (neither).
  - A unit that sets C(user) but not C(group) gets the user's group; an empty
    C(description) is the name.
  - No units (an empty list), the one unit O(defaults) describe.
  - Fails with every problem of the units, each naming the variable or the unit and its key,
    such as an unknown key, a name that is not a unit name or carries a suffix, no C(exec_start), an
    option that must be a mapping or a list and is not, an option systemd would not accept,
    a relative writable path, a socket and a timer together, a name given twice, a
    C(restart), C(defer_restart) or C(enabled) that is not a boolean.
options:
  _input:
    description: The units.
    type: list
    elements: dict
    required: true
  defaults:
    description: The value of every option a unit does not set.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the units and settle them for this pass
  ansible.builtin.set_fact:
    _units: >-
      {{ [{'name': 'nova-conductor', 'exec_start': '/venv/bin/nova-conductor'}]
         | nimbus.cloud.systemd_units({'user': 'nova', 'restart': false, 'defer_restart': false,
                                       'enabled': true}) }}
"""

RETURN = r"""
_value:
  description: The units, completed.
  type: list
  elements: dict
"""

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.systemd_units import (
    complete_units,
    unit_problems,
)


def systemd_units(units: Any, defaults: Mapping[str, Any]) -> list[dict[str, Any]]:
    problems = unit_problems(units, defaults)
    if problems:
        raise AnsibleFilterError(
            f"systemd_service: check the units' variables: {'; '.join(problems)}"
        )
    return complete_units(units, defaults)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"systemd_units": systemd_units}
