"""Table tests of plugins/plugin_utils/schema_stamp.py: one row per case in cases.yml."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.schema_stamp import stamp

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))
BASE = CASES["base"]


def _entry(case: dict[str, Any]) -> dict[str, Any]:
    entry = copy.deepcopy(BASE)
    entry.update(copy.deepcopy(case.get("set", {})))
    for key in case.get("unset", []):
        entry.pop(key)
    return entry


@pytest.mark.parametrize("case", CASES["stamp"], ids=[c["id"] for c in CASES["stamp"]])
def test_stamp(case: dict[str, Any]) -> None:
    entry = _entry(case)
    if case["expect"] == "error":
        with pytest.raises((TypeError, ValueError), match=re.escape(case["error"])):
            stamp(entry)
        return
    got = stamp(entry)
    assert re.fullmatch(r"[0-9a-f]{64}", got)
    assert (got == stamp(copy.deepcopy(BASE))) is (case["expect"] == "same")


def test_databases_are_told_apart() -> None:
    # The same revisions under two databases are not the same as all of them under one.
    split = {"code": "c", "databases": {"nova": ["a"], "nova_api": ["b"]}}
    merged = {"code": "c", "databases": {"nova": ["a", "b"], "nova_api": []}}
    assert stamp(split) != stamp(merged)
