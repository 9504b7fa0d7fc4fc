"""Table tests of plugins/plugin_utils/host_networks.py: one row per case in cases.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.host_networks import (
    host_bridge_problems,
    ovn_chassis_problems,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))


def _ids(name: str) -> list[str]:
    return [c["id"] for c in CASES[name]]


@pytest.mark.parametrize("case", CASES["host_bridge_problems"], ids=_ids("host_bridge_problems"))
def test_host_bridge_problems(case: dict[str, Any]) -> None:
    assert host_bridge_problems(case["networks"], case["interfaces"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["ovn_chassis_problems"], ids=_ids("ovn_chassis_problems"))
def test_ovn_chassis_problems(case: dict[str, Any]) -> None:
    problems = ovn_chassis_problems(
        case["bridges"], case["interfaces"], case["encap_ip"], case["tunnel"]
    )
    assert problems == case["expected"]
