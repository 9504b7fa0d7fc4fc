"""Table tests of plugins/plugin_utils/swift_rings.py: one row per case in cases.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.module_utils.swift_ring_changes import ring_changes
from ansible_collections.nimbus.cloud.plugins.plugin_utils.swift_rings import (
    SwiftRingError,
    ring_plan,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))


def _ids(name: str) -> list[str]:
    return [c["id"] for c in CASES[name]]


def _device(d: dict[str, Any]) -> str:
    where = f"{d['meta']}/{d['device']}@r{d['region']}z{d['zone']}"
    return f"{where} {d['weight']} {d['ip']}:{d['port']}"


def _summary(plan: dict[str, Any]) -> dict[str, Any]:
    return {
        ring["name"]: [
            ring["replicas"],
            ring["part_power"],
            ring["min_part_hours"],
            [_device(d) for d in ring["devices"]],
        ]
        for ring in plan["rings"]
    }


@pytest.mark.parametrize("case", CASES["ring_plan"], ids=_ids("ring_plan"))
def test_ring_plan(case: dict[str, Any]) -> None:
    if "errors" in case:
        with pytest.raises(SwiftRingError) as caught:
            ring_plan(case["swift"], case["hosts"], "openstack_user_config.yml")
        problems = [str(p) for p in caught.value.problems]
        assert len(problems) == len(case["errors"]), "\n".join(problems)
        for fragment, problem in zip(case["errors"], problems, strict=True):
            assert fragment in problem
        assert "openstack_user_config.yml" in str(caught.value)
    else:
        assert _summary(ring_plan(case["swift"], case["hosts"])) == case["expected"]


def test_same_inventory_same_plan() -> None:
    case = CASES["ring_plan"][0]
    reordered = dict(reversed(list(case["hosts"].items())))
    assert ring_plan(case["swift"], case["hosts"]) == ring_plan(case["swift"], reordered)


@pytest.mark.parametrize("case", CASES["ring_changes"], ids=_ids("ring_changes"))
def test_ring_changes(case: dict[str, Any]) -> None:
    found = ring_changes(case["current"], case["wanted"])
    labels = {
        kind: [f"{d['ip']}:{d['port']}/{d['device']}" for d in devices]
        for kind, devices in found.items()
    }
    assert labels == case["expected"]
