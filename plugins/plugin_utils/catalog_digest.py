# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""The digest of one service's catalog registration (role service_catalog).

The role records this digest on its setup host after a successful registration and skips the
Identity API calls while the digest it would record is the same. Pure Python, no Ansible
imports; the filter nimbus.cloud.service_catalog_digest is a thin wrapper.

The service user's password never enters the digest in clear: it is replaced by a salted,
slow fingerprint (PBKDF2-HMAC-SHA256, salted with the user's domain and name) first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# Bump when the canonical form changes: every recorded digest then differs once.
FORMAT = "nimbus-service-catalog-v1"
PASSWORD_ITERATIONS = 100_000

_STRINGS = (
    "service_name",
    "service_type",
    "description",
    "region",
    "state",
    "user_name",
    "user_domain",
    "project",
    "project_domain",
)
_FIELDS = frozenset((*_STRINGS, "endpoints", "roles", "password"))
_INTERFACES = frozenset(("public", "internal", "admin"))


def password_fingerprint(password: str, user_domain: str, user_name: str) -> str:
    """A salted, slow fingerprint of ``password``; "" for no password."""
    if not password:
        return ""
    salt = f"{FORMAT}:{user_domain}:{user_name}".encode()
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PASSWORD_ITERATIONS).hex()


def _canonical(entry: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise TypeError(f"service_catalog_digest: expected a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - _FIELDS)
    missing = sorted({"service_name", "service_type", "endpoints", "state"} - set(entry))
    if unknown or missing:
        raise ValueError(
            "service_catalog_digest: "
            + "; ".join(
                part
                for part in (
                    f"unknown fields {unknown}" if unknown else "",
                    f"missing fields {missing}" if missing else "",
                )
                if part
            )
            + f" (known fields: {sorted(_FIELDS)})"
        )
    canonical: dict[str, Any] = {"format": FORMAT}
    for key in _STRINGS:
        value = entry.get(key)
        canonical[key] = "" if value is None else str(value)
    endpoints = entry["endpoints"]
    if not isinstance(endpoints, Mapping):
        raise TypeError(f"service_catalog_digest: endpoints must be a mapping, got {endpoints!r}")
    bad = sorted(str(k) for k in endpoints if k not in _INTERFACES)
    if bad:
        raise ValueError(
            f"service_catalog_digest: unknown endpoint interfaces {bad}; use {sorted(_INTERFACES)}"
        )
    canonical["endpoints"] = {str(k): str(v) for k, v in endpoints.items()}
    roles = entry.get("roles") or []
    if isinstance(roles, (str, bytes)) or not isinstance(roles, (list, tuple)):
        raise TypeError(f"service_catalog_digest: roles must be a list, got {roles!r}")
    canonical["roles"] = sorted({str(r) for r in roles})
    password = entry.get("password")
    canonical["password"] = password_fingerprint(
        "" if password is None else str(password), canonical["user_domain"], canonical["user_name"]
    )
    return canonical


def digest(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical form of one catalog registration.

    ``entry`` has ``service_name``, ``service_type``, ``endpoints`` (interface -> URL) and
    ``state``, and optionally ``description``, ``region``, ``user_name``, ``user_domain``,
    ``project``, ``project_domain``, ``roles`` (order and repeats do not matter) and
    ``password``. Any other key is an error (a typo would otherwise never change the digest).
    """
    text = json.dumps(_canonical(entry), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
