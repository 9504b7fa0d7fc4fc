# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.systemd_directives (logic in plugins/plugin_utils/systemd_units.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_directives
short_description: The Key=value lines of a systemd unit section
version_added: "0.1.0"
author: Nimbus developers
description:
  - Writes a mapping of options as systemd unit-file lines, each ending in a newline, after
    applying O(overrides).
  - A null value leaves the option out, a list writes the option once per item, a boolean
    reads C(true) or C(false).
  - Fails on a key systemd would not accept or a value with a line break.
options:
  _input:
    description: The options, in the order to write them.
    type: dict
    required: true
  overrides:
    description: Changes to the options; a null value removes one.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Write a unit drop-in
  ansible.builtin.copy:
    content: |
      [Service]
      {{ {'NoNewPrivileges': true, 'ProtectHome': 'true'}
         | nimbus.cloud.systemd_directives({'ProtectHome': none}) }}
    dest: /etc/systemd/system/example.service.d/sandbox.conf
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The lines, each ending in a newline; empty when no option is left.
  type: str
"""

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.systemd_units import (
    DirectiveError,
    directives,
)


def systemd_directives(
    options: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> str:
    try:
        return directives(options, overrides)
    except DirectiveError as err:
        raise AnsibleFilterError(f"systemd_directives: {err}") from err


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"systemd_directives": systemd_directives}
