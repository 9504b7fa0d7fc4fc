# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.keystone_bootstrap_digest (logic: plugin_utils/keystone_bootstrap_digest)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: keystone_bootstrap_digest
short_description: The digest of Keystone's bootstrap
version_added: "0.1.0"
author: Nimbus developers
description:
  - Returns the SHA-256 (hex) of a canonical form of what Keystone's bootstrap sets up (the
    Keystone version, the admin user, project and role, the domain, the region, the three
    endpoints, the service project, the standard roles, and a salted PBKDF2 fingerprint of the
    admin password, never the password itself).
  - The role keystone records it on its setup host and skips the bootstrap and its Identity
    API calls while it is unchanged.
options:
  _input:
    description:
      - Mapping with exactly C(version), C(admin_user), C(admin_project), C(admin_role),
        C(domain), C(region), C(service_project), C(endpoints) (C(public), C(internal),
        C(admin)), C(roles) and C(password). A missing, empty or unknown key is an error.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the digest of a bootstrap
  ansible.builtin.debug:
    msg: >-
      {{ {'version': '30.0.0', 'admin_user': 'admin', 'admin_project': 'admin',
          'admin_role': 'admin', 'domain': 'Default', 'region': 'RegionOne',
          'service_project': 'service', 'roles': ['admin', 'member', 'reader', 'service'],
          'password': 'example',
          'endpoints': {'public': 'https://203.0.113.10:5000',
                        'internal': 'https://172.29.236.9:5000',
                        'admin': 'https://172.29.236.9:5000'}}
         | nimbus.cloud.keystone_bootstrap_digest }}
"""

RETURN = r"""
_value:
  description: 64 hex characters.
  type: str
"""

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.keystone_bootstrap_digest import digest


def keystone_bootstrap_digest(entry: Mapping[str, Any]) -> str:
    try:
        return digest(entry)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"keystone_bootstrap_digest": keystone_bootstrap_digest}
