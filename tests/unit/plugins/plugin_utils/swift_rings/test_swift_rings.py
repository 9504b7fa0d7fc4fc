"""Table tests of plugins/plugin_utils/swift_rings.py: one row per case in cases.yml."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.module_utils.swift_ring_changes import ring_changes
from ansible_collections.nimbus.cloud.plugins.plugin_utils import inventory
from ansible_collections.nimbus.cloud.plugins.plugin_utils.swift_rings import (
    SwiftRingError,
    inventory_ring_plan,
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


def test_the_multi_node_example_gives_three_zones_of_two_drives(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[5] / "etc" / "openstack_deploy"
    shutil.copy(
        examples / "openstack_user_config.yml.example", tmp_path / "openstack_user_config.yml"
    )
    result = inventory.generate(tmp_path)
    plan = inventory_ring_plan(
        result.all_vars["swift"], result.hostvars, result.groups["swift_hosts"]["hosts"]
    )
    rings = {ring["name"]: ring for ring in plan["rings"]}
    assert sorted(rings) == ["account", "container", "object"]
    devices = rings["object"]["devices"]
    assert [(d["meta"], d["device"], d["zone"], d["weight"]) for d in devices] == [
        ("infra1", "sdb", 1, 100.0),
        ("infra1", "sdc", 1, 200.0),
        ("infra2", "sdb", 2, 100.0),
        ("infra2", "sdc", 2, 200.0),
        ("infra3", "sdb", 3, 100.0),
        ("infra3", "sdc", 3, 200.0),
    ]
    assert {d["ip"] for d in devices} == {
        result.hostvars[host]["storage_address"] for host in ("infra1", "infra2", "infra3")
    }
