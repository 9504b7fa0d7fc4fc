"""Table tests of plugins/plugin_utils/ovn.py: one row per case in cases.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.ovn import (
    OvnSettingsError,
    cluster_plan,
    cluster_status,
    db_states,
    map_changes,
    ml2_types,
    ovs_map,
    provider_bridges,
    tunnel_endpoint,
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


ADDRESSES = {"infra0": "10.0.0.0", "infra1": "10.0.0.1", "infra2": "10.0.0.2",
             "infra3": "10.0.0.3", "aio1": "10.0.0.100"}


@pytest.mark.parametrize("case", CASES["cluster_plan"], ids=_ids("cluster_plan"))
def test_cluster_plan(case: dict[str, Any]) -> None:
    def run() -> Any:
        return cluster_plan(case["hosts"], case["states"], ADDRESSES)

    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            run()
    else:
        assert run() == case["expected"]


@pytest.mark.parametrize("case", CASES["db_states"], ids=_ids("db_states"))
def test_db_states(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            db_states(case["files"], case["checks"])
    else:
        assert db_states(case["files"], case["checks"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["cluster_status"], ids=_ids("cluster_status"))
def test_cluster_status(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            cluster_status(case["text"])
    else:
        assert cluster_status(case["text"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["tunnel_endpoint"], ids=_ids("tunnel_endpoint"))
def test_tunnel_endpoint(case: dict[str, Any]) -> None:
    def run() -> Any:
        return tunnel_endpoint(case["facts"], "172.29.240.111", "br-tunnel")

    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            run()
    else:
        assert run() == case["expected"]
