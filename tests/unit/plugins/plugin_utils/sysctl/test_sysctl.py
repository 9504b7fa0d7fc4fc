"""Table tests of plugins/plugin_utils/sysctl.py: one row per case in cases.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.sysctl import mismatches, settings

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["settings"], ids=[c["id"] for c in CASES["settings"]])
def test_settings(case: dict[str, Any]) -> None:
    assert settings(case["text"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["mismatches"], ids=[c["id"] for c in CASES["mismatches"]])
def test_mismatches(case: dict[str, Any]) -> None:
    assert mismatches(case["wanted"], case["current"]) == case["expected"]
