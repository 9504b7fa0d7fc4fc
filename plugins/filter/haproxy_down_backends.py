# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.haproxy_down_backends (logic in plugins/plugin_utils/haproxy.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: haproxy_down_backends
short_description: Servers HAProxy's statistics report DOWN, for the given services
version_added: "0.1.0"
author: Nimbus developers
description:
  - Reads HAProxy's statistics in CSV form (the statistics page with C(;csv)) and reports
    every server of the backend C(<service>-back) of the given services whose status is DOWN,
    and every given service that has no backend at all.
positional: services
options:
  _input:
    description: The CSV text of the statistics page.
    type: str
    required: true
  services:
    description: Names of the services to check (the C(name) of their declarations).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Fail when a backend is down
  ansible.builtin.assert:
    that: _down | length == 0
    fail_msg: "{{ _down | join('; ') }}"
  vars:
    _down: "{{ stats.content | nimbus.cloud.haproxy_down_backends(['keystone', 'galera']) }}"
"""

RETURN = r"""
_value:
  description: One message per problem, naming the service and the server.
  type: list
  elements: str
"""

from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.haproxy import down_backends


def haproxy_down_backends(stats_csv: str, services: list[str]) -> list[str]:
    return down_backends(str(stats_csv), [str(name) for name in services])


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"haproxy_down_backends": haproxy_down_backends}
