# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.sysctl_mismatches (logic in plugins/plugin_utils/sysctl.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: sysctl_mismatches
short_description: Kernel parameters whose running value differs from the wanted one
version_added: "0.1.0"
author: Nimbus developers
description:
  - Compares wanted settings (nimbus.cloud.sysctl_settings) with the output of
    C(sysctl -n KEY...) for the same keys in the same order; runs of white space count as one
    space.
positional: current
options:
  _input:
    description: Wanted settings, key to value.
    type: dict
    required: true
  current:
    description: Lines of C(sysctl -n) for the keys of the input, in order.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Show the differences
  ansible.builtin.debug:
    msg: "{{ wanted | nimbus.cloud.sysctl_mismatches(sysctl_now.stdout_lines) }}"
"""

RETURN = r"""
_value:
  description: C(key=current (want value)) for each difference; a missing line reads C(?).
  type: list
  elements: str
"""

from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.sysctl import mismatches


def sysctl_mismatches(wanted: dict[str, Any], current: list[str]) -> list[str]:
    return mismatches({str(k): str(v) for k, v in wanted.items()}, [str(x) for x in current])


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"sysctl_mismatches": sysctl_mismatches}
