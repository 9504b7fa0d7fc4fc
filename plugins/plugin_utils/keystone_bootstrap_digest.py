# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""The digest of Keystone's bootstrap (role keystone, tasks/bootstrap.yml).

The bootstrap (`keystone-manage bootstrap`, then the service project and the standard roles
through the Identity API) is recorded as this digest on the setup host once it succeeded; while
the digest a run would record is the same, the role makes neither the bootstrap nor the API
calls. Pure Python, no Ansible imports; the filter nimbus.cloud.keystone_bootstrap_digest is a
thin wrapper.

The admin password enters only as the salted, slow fingerprint of
plugins/plugin_utils/catalog_digest.py (salted with the admin's domain and name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.catalog_digest import (
    check_fields,
    password_fingerprint,
    role_names,
    sha256_of,
)

# Bump when the canonical form changes: every recorded digest then differs once.
FORMAT = "nimbus-keystone-bootstrap-v1"

# Every field is required: a missing one would silently never change the digest.
_STRINGS = (
    "version",
    "admin_user",
    "admin_project",
    "admin_role",
    "domain",
    "region",
    "service_project",
)
_FIELDS = frozenset((*_STRINGS, "endpoints", "roles", "password"))
_INTERFACES = frozenset(("public", "internal", "admin"))


def _canonical(entry: Mapping[str, Any]) -> dict[str, Any]:
    check_fields("keystone_bootstrap_digest", entry, _FIELDS, _FIELDS)
    canonical: dict[str, Any] = {"format": FORMAT}
    for key in _STRINGS:
        value = entry[key]
        if value is None or str(value) == "":
            raise ValueError(f"keystone_bootstrap_digest: {key} is empty")
        canonical[key] = str(value)
    endpoints = entry["endpoints"]
    if not isinstance(endpoints, Mapping):
        raise TypeError(
            f"keystone_bootstrap_digest: endpoints must be a mapping, got {endpoints!r}"
        )
    if set(endpoints) != _INTERFACES:
        raise ValueError(
            f"keystone_bootstrap_digest: endpoints must have exactly {sorted(_INTERFACES)}, "
            f"got {sorted(str(k) for k in endpoints)}"
        )
    canonical["endpoints"] = {str(k): str(v) for k, v in endpoints.items()}
    canonical["roles"] = role_names("keystone_bootstrap_digest", entry["roles"])
    password = entry["password"]
    if password is None or str(password) == "":
        raise ValueError("keystone_bootstrap_digest: password is empty")
    canonical["password"] = password_fingerprint(
        str(password), canonical["domain"], canonical["admin_user"]
    )
    return canonical


def digest(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical form of one Keystone bootstrap.

    ``entry`` has exactly: ``version`` (of the Keystone code: an upgrade bootstraps again),
    ``admin_user``, ``admin_project``, ``admin_role``, ``domain``, ``region``,
    ``service_project``, ``endpoints`` (public, internal and admin URL), ``roles`` (order and
    repeats do not matter) and ``password`` (the admin's). A missing, empty or unknown field
    is an error.
    """
    return sha256_of(_canonical(entry))
