"""Table tests of plugins/plugin_utils/schema_stamp.py: one row per case in cases.yml."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.schema_stamp import stamp
from ansible_collections.nimbus.cloud.tests.unit.plugins.plugin_utils import digest_table

CASES = digest_table.load(__file__)
BASE = CASES["base"]


@digest_table.params(CASES["stamp"])
def test_stamp(case: dict[str, Any]) -> None:
    digest_table.check(stamp, BASE, case)


def test_databases_are_told_apart() -> None:
    # The same revisions under two databases are not the same as all of them under one.
    split = {"code": "c", "databases": {"nova": ["a"], "nova_api": ["b"]}}
    merged = {"code": "c", "databases": {"nova": ["a", "b"], "nova_api": []}}
    assert stamp(split) != stamp(merged)
