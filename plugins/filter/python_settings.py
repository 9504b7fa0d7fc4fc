# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.python_settings (logic in plugins/plugin_utils/python_settings.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: python_settings
short_description: Django settings as Python source (NAME = literal lines)
version_added: "0.1.0"
author: Nimbus developers
description:
  - Renders a mapping of Django setting names to YAML values as the lines of a Python settings
    file, one C(NAME = literal) line per setting, in the mapping's order. Strings, numbers,
    booleans, null, lists and mappings become their Python literals; nothing is evaluated.
  - A name that is not a Django setting name (upper case letters, digits, C(_)) or a value
    that has no literal fails with a message naming it.
options:
  _input:
    description: Setting name -> value.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Render settings
  ansible.builtin.debug:
    msg: >-
      {{ {'DEBUG': false, 'ALLOWED_HOSTS': ['dashboard.example.com']}
         | nimbus.cloud.python_settings }}
"""

RETURN = r"""
_value:
  description: The lines, each ending in a newline.
  type: str
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.python_settings import (
    SettingsError,
    render,
)


def python_settings(settings: Any) -> str:
    try:
        return render(settings)
    except SettingsError as exc:
        raise AnsibleFilterError(f"python_settings: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"python_settings": python_settings}
