# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.sysctl_settings (logic in plugins/plugin_utils/sysctl.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: sysctl_settings
short_description: The key = value settings of a sysctl.d file
version_added: "0.1.0"
author: Nimbus developers
description:
  - Returns the settings of a sysctl.d file as a dict in file order; blank lines, C(#)
    comments and lines without C(=) are skipped, keys and values stripped.
options:
  _input:
    description: The text of the file.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Show what a sysctl file sets
  ansible.builtin.debug:
    msg: >-
      {{ lookup('ansible.builtin.file', '/etc/sysctl.d/60-example.conf')
         | nimbus.cloud.sysctl_settings }}
"""

RETURN = r"""
_value:
  description: Key to value.
  type: dict
"""

from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.sysctl import settings


def sysctl_settings(text: str) -> dict[str, str]:
    return settings(str(text))


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"sysctl_settings": sysctl_settings}
