"""Table tests of plugins/plugin_utils/haproxy.py: one row per case in the YAML files here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.haproxy import (
    declarations,
    down_backends,
    problems,
)

HERE = Path(__file__).parent


def table(name: str) -> dict[str, Any]:
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8"))


DECL = table("declarations.yml")
PROB = table("problems.yml")
DOWN = table("down_backends.yml")


@pytest.mark.parametrize("case", DECL["cases"], ids=[c["id"] for c in DECL["cases"]])
def test_declarations(case: dict[str, Any]) -> None:
    result = declarations(
        [case["input"]],
        case.get("defaults", DECL["defaults"]),
        case.get("groups", DECL["groups"]),
        case.get("external_vip", DECL["external_vip"]),
    )
    if "select" in case:
        result = [{key: item[key] for key in case["select"]} for item in result]
    assert result == case["expected"]


@pytest.mark.parametrize("case", PROB["cases"], ids=[c["id"] for c in PROB["cases"]])
def test_problems(case: dict[str, Any]) -> None:
    translated = declarations(case["input"], DECL["defaults"], DECL["groups"], DECL["external_vip"])
    assert problems(translated, PROB["all_hosts"], case.get("stats_port")) == case["expected"]


@pytest.mark.parametrize("case", DOWN["cases"], ids=[c["id"] for c in DOWN["cases"]])
def test_down_backends(case: dict[str, Any]) -> None:
    assert down_backends(case["stats"], case["services"]) == case["expected"]
