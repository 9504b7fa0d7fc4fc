"""Table tests of plugins/plugin_utils/openstack_resources.py.

Cases in openstack_resources_cases.yml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils import openstack_resources as sut

DATA = yaml.safe_load((Path(__file__).parent / "openstack_resources_cases.yml").read_text())
ALL_SERVICES = ("identity", "compute", "image", "network")


def problems_of(case: dict[str, Any]) -> list[str]:
    files = set(case.get("files", ["/cache/nimbus-test-image.qcow2"]))
    return sut.check(
        case["values"],
        file_exists=files.__contains__,
        services=case.get("services", ALL_SERVICES),
        fix=lambda variable: f"fix {variable} in user_variables.yml",
    )


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["id"] for c in DATA["cases"]])
def test_check(case: dict[str, Any]) -> None:
    found = problems_of(case)
    expected = case["problems"]
    assert len(found) == len(expected), "\n".join(found)
    for text in expected:
        assert any(text in line for line in found), f"{text!r} not in:\n" + "\n".join(found)


def test_every_line_names_the_fix() -> None:
    case = next(c for c in DATA["cases"] if c["id"] == "non-positive RAM and vCPUs")
    assert all(
        line.endswith("fix openstack_user_compute in user_variables.yml")
        for line in problems_of(case)
    )


def test_plan_orders_and_fills() -> None:
    values = {
        "openstack_user_identity": DATA["good"]["openstack_user_identity"],
        "openstack_user_network": {
            **DATA["good"]["openstack_user_network"],
            "networks": [
                *DATA["good"]["openstack_user_network"]["networks"],
                {"name": "old-net", "state": "absent", "subnets": [{"name": "old-subnet"}]},
            ],
        },
        "openstack_user_compute": {"flavors": [{"name": "m1.old", "state": "absent"}]},
    }
    result = sut.plan(values)
    present, absent = result["present"], result["absent"]
    assert [s["name"] for s in present["subnets"]] == ["public-subnet", "demo-subnet"]
    assert present["subnets"][1]["network"] == "demo-net"
    assert present["subnets"][1]["project"] == "demo"
    assert present["subnets"][1]["enable_dhcp"] is True
    assert "subnets" not in present["networks"][0]
    assert [s["name"] for s in absent["subnets"]] == ["old-subnet"]
    assert [n["name"] for n in absent["networks"]] == ["old-net"]
    assert [f["name"] for f in absent["flavors"]] == ["m1.old"]
    assert present["grants"] == [
        {"user": "demo", "domain": "Default", "project": "demo", "role": "member"}
    ]
    assert present["security_groups"][0]["rules"][0]["direction"] == "ingress"
    assert "password" not in present["users"][0]
    assert result["absent_order"].index("routers") < result["absent_order"].index("networks")


def test_plan_of_nothing() -> None:
    result = sut.plan({})
    assert all(entries == [] for entries in result["present"].values())
    assert all(entries == [] for entries in result["absent"].values())
