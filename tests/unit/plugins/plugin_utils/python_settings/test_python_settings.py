"""Table tests of plugins/plugin_utils/python_settings.py: one row per case in cases.yml."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.python_settings import (
    SettingsError,
    literal,
    render,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["render"], ids=[c["id"] for c in CASES["render"]])
def test_render(case: dict[str, Any]) -> None:
    text = render(case["settings"])
    assert text == case["expected"]
    # What Python reads back is the value given, nothing more.
    namespace: dict[str, Any] = {}
    for node in ast.parse(text).body:
        assert isinstance(node, ast.Assign)
        namespace[node.targets[0].id] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
    assert namespace == case["settings"]


@pytest.mark.parametrize("case", CASES["errors"], ids=[c["id"] for c in CASES["errors"]])
def test_errors(case: dict[str, Any]) -> None:
    with pytest.raises(SettingsError) as err:
        render(case["settings"])
    assert case["error"] in str(err.value)


def test_value_without_literal_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"CACHES\.default: set is not a YAML value"):
        literal({"default": {1, 2}}, "CACHES")
