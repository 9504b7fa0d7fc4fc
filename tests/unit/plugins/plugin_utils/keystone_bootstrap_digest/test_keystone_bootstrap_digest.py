"""Table tests of plugin_utils/keystone_bootstrap_digest.py: one row per case in cases.yml."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.nimbus.cloud.plugins.plugin_utils.keystone_bootstrap_digest import (
    digest,
)
from ansible_collections.nimbus.cloud.tests.unit.plugins.plugin_utils import digest_table

CASES = digest_table.load(__file__)
BASE = CASES["base"]


@digest_table.params(CASES["digest"])
def test_digest(case: dict[str, Any]) -> None:
    digest_table.check(digest, BASE, case)


def test_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="expected a mapping, got list"):
        digest([])  # type: ignore[arg-type]


def test_password_never_in_clear() -> None:
    assert BASE["password"] not in digest(copy.deepcopy(BASE))
