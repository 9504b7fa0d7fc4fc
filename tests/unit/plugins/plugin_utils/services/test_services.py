"""Table tests of the service descriptors (plugins/plugin_utils/inventory/services.py), and
consistency of the shipped group_vars/all/services.yml with the rest of the collection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory.services import (
    ServiceError,
    check,
    frontends,
    load,
    wheel_groups,
)
from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory.skeleton import load_skeleton

HERE = Path(__file__).parent
REPO = HERE.parents[4]
CASES = yaml.safe_load((HERE / "cases.yml").read_text(encoding="utf-8"))


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


@pytest.mark.parametrize("case", CASES["check"], ids=ids(CASES["check"]))
def test_check(case: dict[str, Any]) -> None:
    found = [[list(path), message] for path, message, _fix in check(case["services"])]
    assert found == case["expected"]


@pytest.mark.parametrize("case", CASES["frontends"], ids=ids(CASES["frontends"]))
def test_frontends(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ServiceError) as caught:
            frontends(case["declarations"], case["services"])
        for part in case["error"]:
            assert part in str(caught.value)
    else:
        assert frontends(case["declarations"], case["services"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["wheel_groups"], ids=ids(CASES["wheel_groups"]))
def test_wheel_groups(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ServiceError) as caught:
            wheel_groups(case["services"])
        for part in case["error"]:
            assert part in str(caught.value)
    else:
        assert wheel_groups(case["services"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["load"], ids=ids(CASES["load"]))
def test_load(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "services.yml"
    path.write_text(yaml.safe_dump({"nimbus_services": case["services"]}, sort_keys=False))
    for role in case["roles"]:
        (tmp_path / "roles" / role / "tasks").mkdir(parents=True)
    deployment, _loaded, problems = load(path, tmp_path / "roles")
    assert deployment.components == case["components"]
    assert len(problems) == len(case["problems"])
    for problem, part in zip(problems, case["problems"], strict=True):
        assert part in str(problem)


# The shipped descriptors agree with the collection.
SHIPPED = yaml.safe_load((REPO / "group_vars/all/services.yml").read_text())["nimbus_services"]
HAPROXY_VARS: dict[str, Any] = {}
for group_vars in sorted((REPO / "group_vars/all").glob("*.yml")):
    HAPROXY_VARS.update(yaml.safe_load(group_vars.read_text()) or {})


def test_shipped_descriptors_are_valid() -> None:
    assert check(SHIPPED) == []


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_descriptor_matches_the_collection(name: str) -> None:
    entry = SHIPPED[name]
    has_role = (REPO / "roles" / entry["role"] / "tasks").is_dir()
    if entry.get("held_back"):  # a role that exists but is not switched on yet, and why
        assert has_role and not entry["deployed"]
    else:
        assert entry["deployed"] == has_role, "deployed must be true when the role exists"
    wheels = entry.get("wheels", name)
    if wheels is not None:
        assert (REPO / "requirements/services" / f"{wheels}.txt").is_file()
    for variable in entry.get("haproxy", []):
        assert variable in HAPROXY_VARS, f"{variable} is not defined in group_vars/all"
    skeleton, problems = load_skeleton(None)
    assert problems == []
    assert skeleton is not None
    for component in entry["components"]:
        assert skeleton.components[component]["nimbus_deployed"] is entry["deployed"]
