"""The nimbus.cloud.openstack_resources_plan action: which services count as deployed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.action.openstack_resources_plan import deployed_types

SERVICES = yaml.safe_load(
    (Path(__file__).resolve().parents[4] / "group_vars" / "all" / "services.yml").read_text()
)["nimbus_services"]


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ({}, set()),
        ({"keystone_all": ["aio1"]}, {"identity"}),
        ({"keystone_all": ["aio1"], "glance_all": ["aio1"]}, {"identity", "image"}),
        # A service whose group has no hosts is not deployed, whatever the descriptor says.
        ({"keystone_all": [], "glance_all": ["aio1"]}, {"image"}),
    ],
)
def test_deployed_types(groups: dict, expected: set) -> None:
    assert deployed_types(SERVICES, groups) == expected


def test_a_held_back_service_is_not_deployed() -> None:
    services = {"nova": {"deployed": False, "group": "nova_all", "catalog": [{"type": "compute"}]}}
    assert deployed_types(services, {"nova_all": ["aio1"]}) == set()
