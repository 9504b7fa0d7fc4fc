"""Table tests of plugins/plugin_utils/ovn.py: one row per case in cases.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.ovn import (
    OvnSettingsError,
    map_changes,
    ml2_types,
    ovs_map,
    provider_bridges,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))


def _ids(name: str) -> list[str]:
    return [c["id"] for c in CASES[name]]


@pytest.mark.parametrize("case", CASES["provider_bridges"], ids=_ids("provider_bridges"))
def test_provider_bridges(case: dict[str, Any]) -> None:
    def run() -> Any:
        return provider_bridges(case["networks"], case["groups"], case.get("names"))

    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            run()
    else:
        assert run() == case["expected"]


@pytest.mark.parametrize("case", CASES["ml2_types"], ids=_ids("ml2_types"))
def test_ml2_types(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            ml2_types(case["networks"])
    else:
        assert ml2_types(case["networks"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["map_changes"], ids=_ids("map_changes"))
def test_map_changes(case: dict[str, Any]) -> None:
    def run() -> Any:
        current = ovs_map(case["listing"], case.get("column", "external_ids"))
        return map_changes(current, case["wanted"])

    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            run()
    else:
        assert run() == case["expected"]
