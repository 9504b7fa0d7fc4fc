"""The filters nimbus.cloud.rabbitmq_join_plan and rabbitmq_lone_nodes: registered rabbitmqctl
results in, joins out, errors as AnsibleFilterError (the decision table itself is in
tests/unit/plugins/plugin_utils/test_rabbitmq_join.py)."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.filter.rabbitmq_join_plan import FilterModule

FILTERS = FilterModule().filters()
join_plan = FILTERS["rabbitmq_join_plan"]
lone_nodes = FILTERS["rabbitmq_lone_nodes"]
HOSTS = ("infra0", "infra1", "infra2")
NODENAMES = {h: f"rabbit@{h}" for h in HOSTS}


def status(host: str, *peers: str) -> dict:
    view = {"disk_nodes": [f"rabbit@{h}" for h in (host, *peers)], "running_nodes": []}
    return {"item": host, "rc": 0, "stdout": json.dumps(view)}


def data(host: str, users: tuple[str, ...] = ("guest",), queues: int = 0) -> list[dict]:
    return [
        {"item": [host, "list_users"], "stdout": json.dumps([{"user": u} for u in users])},
        {"item": [host, "list_vhosts name"], "stdout": json.dumps([{"name": "/"}])},
        {
            "item": [host, "list_queues --vhost / name"],
            "stdout": json.dumps([{"name": f"q{i}"} for i in range(queues)]),
        },
    ]


CLUSTER_WITH_NEW_FIRST_HOST = [
    status("infra0"),
    status("infra1", "infra2"),
    status("infra2", "infra1"),
]


def test_lone_nodes() -> None:
    assert lone_nodes(CLUSTER_WITH_NEW_FIRST_HOST, NODENAMES) == ["infra0"]
    assert lone_nodes([status("infra0")], NODENAMES) == []


def test_new_host_joins_the_existing_cluster() -> None:
    assert join_plan(CLUSTER_WITH_NEW_FIRST_HOST, "infra0", NODENAMES, data("infra0")) == [
        {
            "host": "infra0",
            "nodename": "rabbit@infra0",
            "via_host": "infra1",
            "via": "rabbit@infra1",
            "forget": False,
        }
    ]


def test_formed_cluster_needs_no_data() -> None:
    results = [status("infra1", "infra2"), status("infra2", "infra1")]
    assert join_plan(results, "infra1", NODENAMES) == []


def test_lone_node_with_data_stops_the_run() -> None:
    with pytest.raises(AnsibleFilterError, match="infra0 runs alone but holds 1 queue"):
        join_plan(CLUSTER_WITH_NEW_FIRST_HOST, "infra0", NODENAMES, data("infra0", queues=1))


def test_lone_node_whose_data_was_not_read_is_not_reset() -> None:
    with pytest.raises(AnsibleFilterError, match=r"what infra0 hold\(s\) was not read"):
        join_plan(CLUSTER_WITH_NEW_FIRST_HOST, "infra0", NODENAMES, data("infra0")[:2])


def test_unreadable_report_names_the_host() -> None:
    broken = [{"item": "infra1", "rc": 0, "stdout": "Error: unable to perform an operation"}]
    with pytest.raises(AnsibleFilterError, match="cluster_status report of infra1 is not JSON"):
        join_plan(broken, "infra1", NODENAMES)
