"""Table tests of plugins/plugin_utils/galera.py (cases.yml) and its filters."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.filter.galera_primary_members import FilterModule
from ansible_collections.nimbus.cloud.plugins.plugin_utils.galera import (
    GaleraStateError,
    parse_position,
    primary_members,
    recovery_source,
)

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))
FILTERS = FilterModule().filters()


def _source(case: dict[str, Any]) -> dict[str, Any]:
    host, position = recovery_source(case["outputs"])
    return {"host": host, **dataclasses.asdict(position)}


CALLS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "parse_position": lambda c: dataclasses.asdict(parse_position(c["text"])),
    "recovery_source": _source,
    "primary_members": lambda c: primary_members(c["status"], c["active"]),
}
ROWS = [
    pytest.param(table, case, id=f"{table}: {case['name']}")
    for table in CALLS
    for case in CASES[table]
]


@pytest.mark.parametrize(("table", "case"), ROWS)
def test_case(table: str, case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(GaleraStateError) as raised:
            CALLS[table](case)
        for fragment in case["error"]:
            assert fragment in str(raised.value)
    else:
        assert CALLS[table](case) == case["want"]


def test_filters_read_registered_results() -> None:
    status = [
        {"item": "infra1", "global_status": {"wsrep_cluster_status": "Primary"}},
        {"item": "infra2", "failed": True, "msg": "unable to connect"},
        {"item": "infra3", "global_status": {}},
    ]
    assert FILTERS["galera_wsrep_status"](status) == {
        "infra1": "Primary",
        "infra2": None,
        "infra3": None,
    }
    units = [
        {"item": "infra2", "status": {"ActiveState": "inactive"}},
        {"item": "infra3", "status": {"ActiveState": "failed"}},
    ]
    assert FILTERS["galera_primary_members"](status, units) == ["infra1"]
    units[0]["status"]["ActiveState"] = "active"
    with pytest.raises(AnsibleFilterError, match=r"galera_server: .*infra2 \(mariadb active\)"):
        FILTERS["galera_primary_members"](status, units)


def test_recovery_source_filter() -> None:
    position = "--wsrep_start_position=4a1e2c9d-0b6f-11f0-9a61-3b0a2f1c5e7d:{},0-1-{}"
    results = [
        {"item": "infra1", "rc": 0, "stdout": position.format(1234, 1230)},
        {"item": "infra2", "rc": 0, "stdout": position.format(1300, 1290)},
    ]
    assert FILTERS["galera_recovery_source"](results) == {
        "host": "infra2",
        "uuid": "4a1e2c9d-0b6f-11f0-9a61-3b0a2f1c5e7d",
        "seqno": 1300,
    }
    results[0] = {"item": "infra1", "rc": 1, "failed": True, "stderr": "boom"}
    with pytest.raises(AnsibleFilterError, match="galera_recovery failed on infra1"):
        FILTERS["galera_recovery_source"](results)
    results[0] = {"item": "infra1", "rc": 0, "stdout": "nothing"}
    with pytest.raises(AnsibleFilterError, match="cannot choose a member to bootstrap from"):
        FILTERS["galera_recovery_source"](results)
