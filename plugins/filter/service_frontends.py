# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.service_frontends (logic in plugins/plugin_utils/inventory/services.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: service_frontends
short_description: The HAProxy declarations to render, given the service descriptors
version_added: "0.1.0"
author: Nimbus developers
description:
  - Takes every haproxy_<name>_service variable (name to declaration) and the service
    descriptors (nimbus_services). A declaration a descriptor lists under C(haproxy) is
    kept while the service is deployed and becomes C(state=absent) otherwise; the others are
    kept as they are. The result is in variable-name order.
  - A descriptor that names an undefined variable, or a malformed descriptor, fails with a
    message naming the service, the key and the fix.
positional: services
options:
  _input:
    description: Variable name to declaration.
    type: dict
    required: true
  services:
    description: The service descriptors (nimbus_services).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Declarations to render
  ansible.builtin.debug:
    msg: >-
      {{ dict(names | zip(query('ansible.builtin.vars', *names)))
         | nimbus.cloud.service_frontends(nimbus_services) }}
  vars:
    names: "{{ query('ansible.builtin.varnames', '^haproxy_[a-z0-9_]+_service$') }}"
"""

RETURN = r"""
_value:
  description: The declarations, those of services that are not deployed with state absent.
  type: list
  elements: raw
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory.services import (
    ServiceError,
    frontends,
)


def service_frontends(declarations: dict[str, Any], services: dict[str, Any]) -> list[Any]:
    try:
        return frontends(declarations, services)
    except ServiceError as exc:
        raise AnsibleFilterError(f"group_vars/all/services.yml: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"service_frontends": service_frontends}
