"""Table tests of plugins/plugin_utils/systemd_units.py: one row per case in cases.yml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.systemd_units import (
    UNIT_KEYS,
    DirectiveError,
    complete_units,
    directives,
    unit_problems,
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


# The role's variables for one unit (vars/main.yml, _systemd_service_unit_defaults).
DEFAULTS: dict[str, Any] = {
    "name": "single",
    "exec_start": "/bin/single",
    "description": "",
    "type": "simple",
    "user": "root",
    "group": "root",
    "environment": {},
    "exec_start_pre": [],
    "after": ["network-online.target"],
    "wants": ["network-online.target"],
    "read_write_paths": [],
    "hardening": {"ProtectSystem": "strict"},
    "hardening_overrides": {},
    "unit_options": {},
    "service_options": {},
    "socket": {},
    "timer": {},
    "restart": False,
    "defer_restart": False,
    "enabled": "true",
}


@pytest.mark.parametrize(
    "case", CASES["unit_problems"], ids=[c["id"] for c in CASES["unit_problems"]]
)
def test_unit_problems(case: dict[str, Any]) -> None:
    problems = unit_problems(case["units"], {**DEFAULTS, **case.get("defaults", {})})
    assert len(problems) == len(case["problems"]), problems
    for problem, fragment in zip(problems, case["problems"], strict=True):
        assert fragment in problem


@pytest.mark.parametrize("case", CASES["units"], ids=[c["id"] for c in CASES["units"]])
def test_complete_units(case: dict[str, Any]) -> None:
    assert unit_problems(case["units"], DEFAULTS) == []
    units = complete_units(case["units"], DEFAULTS)
    assert len(units) == len(case["expected"])
    for unit, expected in zip(units, case["expected"], strict=True):
        assert set(UNIT_KEYS) <= set(unit)
        assert {key: unit[key] for key in expected} == expected


def test_units_do_not_share_what_they_are_given() -> None:
    given = [{"name": "a", "exec_start": "/bin/a"}, {"name": "b", "exec_start": "/bin/b"}]
    units = complete_units(given, DEFAULTS)
    units[0]["after"].append("x.service")
    assert given == [{"name": "a", "exec_start": "/bin/a"}, {"name": "b", "exec_start": "/bin/b"}]
    assert DEFAULTS["after"] == ["network-online.target"]
