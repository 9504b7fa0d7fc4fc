"""Table tests of plugins/plugin_utils/catalog_digest.py: one row per case in cases.yml."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.nimbus.cloud.plugins.plugin_utils.catalog_digest import (
    digest,
    password_fingerprint,
)
from ansible_collections.nimbus.cloud.tests.unit.plugins.plugin_utils import digest_table

CASES = digest_table.load(__file__)
BASE = CASES["base"]


@digest_table.params(CASES["digest"])
def test_digest(case: dict[str, Any]) -> None:
    digest_table.check(digest, BASE, case)


def test_password_never_in_clear() -> None:
    entry = copy.deepcopy(BASE)
    assert BASE["password"] not in digest(entry)
    assert digest(entry) == digest(copy.deepcopy(BASE))


@pytest.mark.parametrize("case", CASES["fingerprint"], ids=[c["id"] for c in CASES["fingerprint"]])
def test_fingerprint(case: dict[str, Any]) -> None:
    got = password_fingerprint(case["password"], case["domain"], case["user"])
    if "expected" in case:
        assert got == case["expected"]
    other = case.get("differs_from")
    if other:
        assert got != password_fingerprint(other["password"], other["domain"], other["user"])
        assert case["password"] not in got
