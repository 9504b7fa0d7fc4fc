# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.service_wheel_groups (logic: plugins/plugin_utils/inventory/services.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: service_wheel_groups
short_description: The wheel sets of the deployed services and the groups that use them
version_added: "0.1.0"
author: Nimbus developers
description:
  - From the service descriptors (nimbus_services), the requirement list name
    (requirements/services/<name>.txt) and inventory group of every deployed service; services
    that are not deployed get no wheels.
options:
  _input:
    description: The service descriptors (nimbus_services).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Wheel sets to build
  ansible.builtin.debug:
    msg: "{{ nimbus_services | nimbus.cloud.service_wheel_groups }}"
"""

RETURN = r"""
_value:
  description: Requirement list name to inventory group.
  type: dict
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory.services import (
    ServiceError,
    wheel_groups,
)


def service_wheel_groups(services: dict[str, Any]) -> dict[str, str]:
    try:
        return wheel_groups(services)
    except ServiceError as exc:
        raise AnsibleFilterError(f"group_vars/all/services.yml: {exc}") from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"service_wheel_groups": service_wheel_groups}
