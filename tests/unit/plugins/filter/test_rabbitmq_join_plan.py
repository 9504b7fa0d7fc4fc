"""The filter nimbus.cloud.rabbitmq_join_plan: rabbitmqctl JSON in, joins out, errors as
AnsibleFilterError (the decision table itself is in test_rabbitmq_join.py)."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.filter.rabbitmq_join_plan import FilterModule

join_plan = FilterModule().filters()["rabbitmq_join_plan"]


def status(*hosts: str) -> str:
    return json.dumps({"disk_nodes": [f"rabbit@{h}" for h in hosts], "running_nodes": []})


def report(host: str, cluster: str | None, **data: str) -> dict:
    return {"host": host, "nodename": f"rabbit@{host}", "cluster_status": cluster, **data}


def test_new_host_joins_the_existing_cluster() -> None:
    reports = [
        report("infra0", status("infra0"), users='[{"user": "guest"}]', vhosts='[{"name": "/"}]'),
        report("infra1", status("infra1", "infra2")),
        report("infra2", status("infra1", "infra2")),
    ]
    assert join_plan(reports, "infra0") == [
        {
            "host": "infra0",
            "nodename": "rabbit@infra0",
            "via_host": "infra1",
            "via": "rabbit@infra1",
            "forget": False,
        }
    ]


def test_lone_node_with_data_stops_the_run() -> None:
    reports = [
        report("infra1", status("infra1", "infra2")),
        report("infra2", status("infra1", "infra2")),
        report("infra3", status("infra3"), queues='[{"name": "q"}]'),
    ]
    with pytest.raises(AnsibleFilterError, match="infra3 runs alone but holds 1 queue"):
        join_plan(reports, "infra1")


def test_unreadable_report_names_the_host() -> None:
    with pytest.raises(AnsibleFilterError, match="cluster_status report of infra1 is not JSON"):
        join_plan([report("infra1", "Error: unable to perform an operation")], "infra1")
