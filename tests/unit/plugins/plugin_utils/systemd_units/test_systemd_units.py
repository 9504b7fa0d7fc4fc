"""Table tests of plugins/plugin_utils/systemd_units.py: one row per case in cases.yml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.systemd_units import (
    DirectiveError,
    directives,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["directives"], ids=[c["id"] for c in CASES["directives"]])
def test_directives(case: dict[str, Any]) -> None:
    assert directives(case["options"], case.get("overrides")) == case["expected"]


@pytest.mark.parametrize("case", CASES["errors"], ids=[c["id"] for c in CASES["errors"]])
def test_refused(case: dict[str, Any]) -> None:
    with pytest.raises(DirectiveError, match=re.escape(case["match"])):
        directives(case["options"], case.get("overrides"))


def test_inputs_are_not_changed() -> None:
    options = {"A": "1", "B": "2"}
    overrides = {"A": None}
    directives(options, overrides)
    assert options == {"A": "1", "B": "2"}
    assert overrides == {"A": None}
