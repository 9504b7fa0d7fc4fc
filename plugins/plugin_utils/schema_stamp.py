# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""The stamp of a verified database schema (role db_setup, entry points schema_read/record).

A service role checks its schema with its own code (``keystone-manage db_sync --check``,
``glance-manage db check``, ...), which imports the whole service and is the slowest task of a
run that changes nothing. Once the schema is up to date, the role records a stamp: the code
that verified it (the venv's digest) and the alembic revisions each database then had. While
the same code finds the same revisions, the check would give the same answer and is skipped;
any other revision (a restore, a manual migration, a new database) or new code runs it again.

Pure Python, no Ansible imports; the filter nimbus.cloud.db_schema_stamp is a thin wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.catalog_digest import (
    check_fields,
    sha256_of,
)

# Bump when the canonical form changes: every recorded stamp then differs once.
FORMAT = "nimbus-db-schema-v1"
_FIELDS = frozenset(("code", "databases"))


def _revisions(database: str, rows: Any) -> list[str]:
    """Revisions of one database: strings, or rows of one column (``version_num``)."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, (list, tuple)):
        raise TypeError(
            f"db_schema_stamp: the revisions of database {database!r} must be a list, got {rows!r}"
        )
    revisions = set()
    for row in rows:
        value = row
        if isinstance(row, Mapping):
            value = next(iter(row.values())) if len(row) == 1 else None
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"db_schema_stamp: database {database!r} has a revision that is not a "
                f"non-empty string (or a row of one such column): {row!r}"
            )
        revisions.add(value)
    return sorted(revisions)


def stamp(entry: Any) -> str:
    """SHA-256 (hex) of the code and the alembic revisions of each of its databases.

    ``entry``: ``{"code": "<venv digest>", "databases": {"<name>": [revision or row, ...]}}``.
    A name may also label another one-column query whose rows the code relies on (nova's
    cell names). The order of databases and revisions does not matter; repeated revisions
    count once.
    """
    check_fields("db_schema_stamp", entry, _FIELDS, _FIELDS)
    code = entry["code"]
    if not isinstance(code, str) or not code.strip():
        raise ValueError("db_schema_stamp: code must be a non-empty string (the venv's digest)")
    databases = entry["databases"]
    if not isinstance(databases, Mapping) or not databases:
        raise ValueError(
            "db_schema_stamp: databases must be a non-empty mapping of database name to its "
            f"revisions, got {databases!r}"
        )
    canonical = {
        "format": FORMAT,
        "code": code.strip(),
        "databases": {str(name): _revisions(str(name), rows) for name, rows in databases.items()},
    }
    return sha256_of(canonical)
