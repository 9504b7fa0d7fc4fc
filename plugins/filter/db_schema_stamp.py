# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.db_schema_stamp (logic in plugins/plugin_utils/schema_stamp.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: db_schema_stamp
short_description: The stamp of a database schema verified by a given code
version_added: "0.1.0"
author: Nimbus developers
description:
  - Returns the SHA-256 (hex) of a canonical form of the code that verified a schema (the
    venv's digest) and the alembic revisions of each of its databases.
  - The role db_setup (entry points C(schema_read) and C(schema_record)) records it after a
    service's schema is up to date; while the same code finds the same revisions, the
    service's own schema check is skipped.
options:
  _input:
    description:
      - Mapping with C(code) (non-empty string) and C(databases) (mapping of database name to
        a list of revisions, strings or rows with C(version_num)). Other keys are an error.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the stamp of keystone's schema
  ansible.builtin.debug:
    msg: >-
      {{ {'code': python_venv_digest, 'databases': {'keystone': ['27e647c0fad4', 'e25ffa003242']}}
         | nimbus.cloud.db_schema_stamp }}
"""

RETURN = r"""
_value:
  description: 64 hex characters.
  type: str
"""

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.schema_stamp import stamp


def db_schema_stamp(entry: Any) -> str:
    try:
        return stamp(entry)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"db_schema_stamp": db_schema_stamp}
