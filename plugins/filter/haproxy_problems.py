# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.haproxy_problems (logic in plugins/plugin_utils/haproxy.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: haproxy_problems
short_description: Every problem of translated HAProxy service declarations
version_added: "0.1.0"
author: Nimbus developers
description:
  - Checks the output of nimbus.cloud.haproxy_declarations and lists every problem by service
    and key (unknown keys, bad names, ports and choices, unknown hosts, a name or a port used
    twice); an empty list means the declarations are good.
positional: all_hosts, stats_port
options:
  _input:
    description: Declarations from nimbus.cloud.haproxy_declarations.
    type: list
    elements: dict
    required: true
  all_hosts:
    description: Every inventory host (C(groups['all'])).
    type: list
    elements: str
    required: true
  stats_port:
    description: Port of the statistics page, or null when it is off.
    type: int
"""

EXAMPLES = r"""
- name: Stop on bad declarations
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join('; ') }}"
  vars:
    _problems: "{{ _declarations | nimbus.cloud.haproxy_problems(groups['all'], 1936) }}"
"""

RETURN = r"""
_value:
  description: One message per problem, naming the service and the key.
  type: list
  elements: str
"""

from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.haproxy import problems


def haproxy_problems(
    services: list[dict[str, Any]], all_hosts: list[str], stats_port: Any = None
) -> list[str]:
    return problems(services, list(all_hosts), stats_port)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"haproxy_problems": haproxy_problems}
