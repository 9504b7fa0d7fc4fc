# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filters nimbus.cloud.rabbitmq_join_plan and nimbus.cloud.rabbitmq_lone_nodes: which RabbitMQ
nodes to reset and join, and how. They read the registered results of the role's rabbitmqctl
tasks; the decision is plugins/plugin_utils/rabbitmq_join.py.

Documentation: rabbitmq_join_plan.yml and rabbitmq_lone_nodes.yml next to this file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.rabbitmq_join import (
    JoinPlanError,
    Node,
    node_from_reports,
    plan,
)

DATA_COMMANDS = {"list_users": "users", "list_vhosts": "vhosts", "list_queues": "queues"}


def _json(text: Any, what: str, host: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as err:
        raise AnsibleFilterError(
            f"RabbitMQ: the {what} report of {host} is not JSON ({err}): {str(text)[:200]!r}"
        ) from err


def _nodes(
    cluster_results: list[Mapping[str, Any]],
    nodenames: Mapping[str, str],
    data_results: list[Mapping[str, Any]] | None = None,
) -> list[Node]:
    data: dict[str, dict[str, Any]] = {}
    for result in data_results or []:
        if result.get("skipped"):
            continue
        host, command = result["item"]
        key = DATA_COMMANDS[str(command).split()[0]]
        data.setdefault(str(host), {})[key] = _json(result.get("stdout"), key, str(host))
    nodes = []
    for result in cluster_results:
        host = str(result["item"])
        status = None
        if not result.get("failed") and result.get("rc", 0) == 0:
            status = _json(result.get("stdout"), "cluster_status", host)
        nodes.append(node_from_reports(host, nodenames[host], status, **data.get(host, {})))
    return nodes


def rabbitmq_lone_nodes(
    cluster_results: list[Mapping[str, Any]], nodenames: Mapping[str, str]
) -> list[str]:
    """Members whose cluster_status lists no other node, when there is more than one member."""
    if len(cluster_results) <= 1:  # a single node is its own cluster
        return []
    return [n.host for n in _nodes(cluster_results, nodenames) if n.running and n.alone]


def rabbitmq_join_plan(
    cluster_results: list[Mapping[str, Any]],
    primary_host: str,
    nodenames: Mapping[str, str],
    data_results: list[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    nodes = _nodes(cluster_results, nodenames, data_results)
    try:
        joins = plan(nodes, primary_host)
    except JoinPlanError as err:
        raise AnsibleFilterError(f"RabbitMQ: no node is joined or reset: {err}") from err
    return [
        {
            "host": j.host,
            "nodename": j.nodename,
            "via_host": j.via_host,
            "via": j.via,
            "forget": j.forget,
        }
        for j in joins
    ]


class FilterModule:
    """nimbus.cloud.rabbitmq_join_plan, nimbus.cloud.rabbitmq_lone_nodes"""

    def filters(self) -> dict[str, Any]:
        return {
            "rabbitmq_join_plan": rabbitmq_join_plan,
            "rabbitmq_lone_nodes": rabbitmq_lone_nodes,
        }
