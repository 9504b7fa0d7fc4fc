"""Table tests of plugin_utils/keystone_bootstrap_digest.py: one row per case in cases.yml."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.keystone_bootstrap_digest import (
    digest,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))
BASE = CASES["base"]


def _entry(case: dict[str, Any]) -> dict[str, Any]:
    entry = copy.deepcopy(BASE)
    entry.update(copy.deepcopy(case.get("set", {})))
    for key in case.get("unset", []):
        entry.pop(key)
    return entry


@pytest.mark.parametrize("case", CASES["digest"], ids=[c["id"] for c in CASES["digest"]])
def test_digest(case: dict[str, Any]) -> None:
    entry = _entry(case)
    if case["expect"] == "error":
        with pytest.raises((TypeError, ValueError), match=re.escape(case["error"])):
            digest(entry)
        return
    got = digest(entry)
    assert re.fullmatch(r"[0-9a-f]{64}", got)
    assert (got == digest(BASE)) is (case["expect"] == "same")


def test_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="expected a mapping, got list"):
        digest([])  # type: ignore[arg-type]


def test_password_never_in_clear() -> None:
    assert BASE["password"] not in digest(copy.deepcopy(BASE))
