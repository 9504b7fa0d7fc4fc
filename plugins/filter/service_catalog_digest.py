# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.service_catalog_digest (logic in plugins/plugin_utils/catalog_digest.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: service_catalog_digest
short_description: The digest of one service's catalog registration
version_added: "0.1.0"
author: Nimbus developers
description:
  - Returns the SHA-256 (hex) of a canonical form of a catalog registration (service, type,
    description, region, state, endpoints, service user, its domain, project and roles, and a
    salted PBKDF2 fingerprint of the user's password, never the password itself).
  - The role service_catalog records it on its setup host and skips the Identity API calls
    while it is unchanged.
options:
  _input:
    description:
      - Mapping with C(service_name), C(service_type), C(endpoints), C(state), and optionally
        C(description), C(region), C(user_name), C(user_domain), C(project),
        C(project_domain), C(roles), C(password). Other keys are an error.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the digest of a registration
  ansible.builtin.debug:
    msg: >-
      {{ {'service_name': 'glance', 'service_type': 'image', 'state': 'present',
          'endpoints': {'public': 'https://203.0.113.10:9292'}}
         | nimbus.cloud.service_catalog_digest }}
"""

RETURN = r"""
_value:
  description: 64 hex characters.
  type: str
"""

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.catalog_digest import digest


def service_catalog_digest(entry: Mapping[str, Any]) -> str:
    try:
        return digest(entry)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"service_catalog_digest": service_catalog_digest}
