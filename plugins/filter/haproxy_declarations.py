# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.haproxy_declarations (logic in plugins/plugin_utils/haproxy.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: haproxy_declarations
short_description: HAProxy service declarations in the native form of the haproxy_server role
version_added: "0.1.0"
author: Nimbus developers
description:
  - Translates the keys of OpenStack-Ansible's haproxy_*_service dicts into the native keys of
    the nimbus.cloud.haproxy_server role, fills in the defaults and adds two computed keys,
    C(_backends) (the inventory hosts behind the service) and C(_unknown_keys).
  - A declaration that is not a dict keeps only its name and is reported by
    nimbus.cloud.haproxy_problems.
positional: defaults, groups, external_vip
options:
  _input:
    description: Service declarations (native or OpenStack-Ansible keys).
    type: list
    elements: raw
    required: true
  defaults:
    description: Values for the keys a declaration does not set (haproxy_server_service_defaults).
    type: dict
    required: true
  groups:
    description: The inventory groups (the magic variable C(groups)).
    type: dict
    required: true
  external_vip:
    description: The external VIP address (decides OpenStack-Ansible's haproxy_bind).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Translate the declarations
  ansible.builtin.debug:
    msg: >-
      {{ haproxy_server_services
         | nimbus.cloud.haproxy_declarations(haproxy_server_service_defaults, groups,
                                             '203.0.113.10') }}
"""

RETURN = r"""
_value:
  description: One dict per declaration, native keys plus C(_backends) and C(_unknown_keys).
  type: list
  elements: dict
"""

from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.haproxy import declarations


def haproxy_declarations(
    services: list[Any], defaults: dict[str, Any], groups: dict[str, Any], external_vip: str
) -> list[dict[str, Any]]:
    return declarations(services, defaults, groups, str(external_vip))


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"haproxy_declarations": haproxy_declarations}
