"""Table tests of plugins/plugin_utils/ovn.py: one row per case in cases.yml."""

from __future__ import annotations

from collections.abc import Callable
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
    protocol_changes,
    provider_bridges,
    tunnel_endpoint,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))

ADDRESSES = {
    "infra0": "10.0.0.0",
    "infra1": "10.0.0.1",
    "infra2": "10.0.0.2",
    "infra3": "10.0.0.3",
    "aio1": "10.0.0.100",
}

OVN_NAMES = {"nb": "OVN_Northbound", "sb": "OVN_Southbound"}


def status_results(dbs: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Looped cluster/status results for DBS: database -> [own address, other servers...]."""
    results = []
    for db, addresses in dbs.items():
        servers = "".join(
            f"    {n:04x} ({n:04x} at {address})\n" for n, address in enumerate(addresses)
        )
        text = (
            f"Name: {OVN_NAMES[db]}\nCluster ID: 2a8c (2a8c1f7e-0d7e-4f43-9a43-3f2f1c7a9b10)\n"
            f"Server ID: 0000 (0000)\nAddress: {addresses[0]}\nStatus: cluster member\n"
            f"Leader: self\nServers:\n{servers}"
        )
        results.append({"item": {"db": db}, "rc": 0, "stdout": text})
    return results


# Per table: how a row's inputs reach the function under test.
CALLS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "provider_bridges": lambda c: provider_bridges(c["networks"], c["groups"], c.get("names")),
    "ml2_types": lambda c: ml2_types(c["networks"]),
    "map_changes": lambda c: map_changes(
        ovs_map(c["listing"], c.get("column", "external_ids")), c["wanted"]
    ),
    "cluster_plan": lambda c: cluster_plan(c["hosts"], c["states"], ADDRESSES),
    "db_states": lambda c: db_states(c["files"], c["checks"]),
    "cluster_status": lambda c: cluster_status(c["text"]),
    "protocol_changes": lambda c: protocol_changes(
        c["hosts"],
        c.get("states", {}),
        {host: status_results(dbs) for host, dbs in c["status"].items()},
        c["protocol"],
        {"nb": 6641, "sb": 6642},
    ),
    "tunnel_endpoint": lambda c: tunnel_endpoint(c["facts"], "172.29.240.111", "br-tunnel"),
}

ROWS = [
    pytest.param(table, case, id=f"{table}-{case['id']}")
    for table in CALLS
    for case in CASES[table]
]


def test_every_table_is_run() -> None:
    assert {name for name in CASES if not name.startswith("_")} == set(CALLS)


@pytest.mark.parametrize(("table", "case"), ROWS)
def test_row(table: str, case: dict[str, Any]) -> None:
    """A row either names the error (a regex of its message) or gives the expected result."""
    if "error" in case:
        with pytest.raises(OvnSettingsError, match=case["error"]):
            CALLS[table](case)
    else:
        assert CALLS[table](case) == case["expected"]
