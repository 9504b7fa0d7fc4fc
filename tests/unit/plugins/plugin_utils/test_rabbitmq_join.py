"""Data-driven tests of plugins/plugin_utils/rabbitmq_join.py (cases in rabbitmq_join_cases.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils import rabbitmq_join as sut

CASES = yaml.safe_load((Path(__file__).parent / "rabbitmq_join_cases.yml").read_text())


def node(spec: dict[str, Any]) -> sut.Node:
    return sut.Node(
        host=spec["host"],
        nodename=f"rabbit@{spec['host']}",
        running=spec.get("running", True),
        cluster=frozenset(f"rabbit@{h}" for h in spec.get("cluster", [])),
        users=frozenset(spec.get("users", ["guest"])),
        vhosts=frozenset(spec.get("vhosts", ["/"])),
        queues=spec.get("queues", 0),
        data_known=spec.get("data_known", True),
    )


@pytest.mark.parametrize("case", CASES["plans"], ids=[c["id"] for c in CASES["plans"]])
def test_plan(case: dict[str, Any]) -> None:
    nodes = [node(n) for n in case["nodes"]]
    if "error" in case:
        with pytest.raises(sut.JoinPlanError) as error:
            sut.plan(nodes, case["primary"])
        for piece in case["error"]:
            assert piece in str(error.value)
        return
    joins = sut.plan(nodes, case["primary"])
    assert [
        {"host": j.host, "via": j.via_host, **({"forget": True} if j.forget else {})} for j in joins
    ] == case["joins"]
    by_host = {n.host: n for n in nodes}
    for join in joins:
        # The safety rule itself: only a node that is alone and empty is ever reset.
        assert by_host[join.host].alone
        assert not by_host[join.host].data
        assert join.via == f"rabbit@{join.via_host}"


def test_node_from_rabbitmqctl_reports() -> None:
    status = {"disk_nodes": ["rabbit@infra1", "rabbit@infra2"], "running_nodes": ["rabbit@infra1"]}
    built = sut.node_from_reports(
        "infra1",
        "rabbit@infra1",
        status,
        users=[{"user": "guest", "tags": ["administrator"]}, {"user": "monitoring"}],
        vhosts=[{"name": "/"}],
        queues=[{"name": "q1"}],
    )
    assert built.cluster == {"rabbit@infra1", "rabbit@infra2"}
    assert not built.alone
    assert built.data == ["users monitoring", "1 queue(s)"]
    assert built.data_known
    assert sut.node_from_reports("infra2", "rabbit@infra2", None).running is False
    unread = sut.node_from_reports("infra3", "rabbit@infra3", {"disk_nodes": ["rabbit@infra3"]})
    assert unread.alone
    assert not unread.data_known
