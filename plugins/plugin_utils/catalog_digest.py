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


def check_fields(name: str, entry: Any, known: frozenset[str], required: frozenset[str]) -> None:
    """Refuse a non-mapping, an unknown field or a missing required one (``name``: the filter)."""
    if not isinstance(entry, Mapping):
        raise TypeError(f"{name}: expected a mapping, got {type(entry).__name__}")
    unknown = sorted(str(k) for k in set(entry) - known)
    missing = sorted(required - set(entry))
    if unknown or missing:
        problems = [
            f"unknown fields {unknown}" if unknown else "",
            f"missing fields {missing}" if missing else "",
        ]
        raise ValueError(
            f"{name}: " + "; ".join(p for p in problems if p) + f" (known fields: {sorted(known)})"
        )


def role_names(name: str, roles: Any) -> list[str]:
    """Role names, sorted, without repeats; a string or a non-list is an error."""
    if isinstance(roles, (str, bytes)) or not isinstance(roles, (list, tuple)):
        raise TypeError(f"{name}: roles must be a list, got {roles!r}")
    return sorted({str(r) for r in roles})


def sha256_of(canonical: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a canonical form, as sorted compact JSON."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(entry: Mapping[str, Any]) -> dict[str, Any]:
    check_fields(
        "service_catalog_digest",
        entry,
        _FIELDS,
        frozenset(("service_name", "service_type", "endpoints", "state")),
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
    canonical["roles"] = role_names("service_catalog_digest", entry.get("roles") or [])
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
    return sha256_of(_canonical(entry))
