# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filter nimbus.cloud.rabbitmq_join_plan: which RabbitMQ nodes to reset and join, and how.

Documentation: rabbitmq_join_plan.yml next to this file. The logic is
plugins/plugin_utils/rabbitmq_join.py.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.rabbitmq_join import (
    JoinPlanError,
    node_from_reports,
    plan,
)


def _json(value: Any, what: str, host: str) -> Any:
    if value is None or isinstance(value, (list, dict)):
        return value
    try:
        return json.loads(value)
    except ValueError as err:
        raise AnsibleFilterError(
            f"rabbitmq_join_plan: the {what} report of {host} is not JSON ({err}): {value[:200]!r}"
        ) from err


def rabbitmq_join_plan(reports: list[dict[str, Any]], primary_host: str) -> list[dict[str, Any]]:
    nodes = []
    for report in reports:
        host = str(report["host"])
        nodes.append(
            node_from_reports(
                host,
                str(report["nodename"]),
                _json(report.get("cluster_status"), "cluster_status", host),
                users=_json(report.get("users"), "list_users", host) or [],
                vhosts=_json(report.get("vhosts"), "list_vhosts", host) or [],
                queues=_json(report.get("queues"), "list_queues", host) or [],
            )
        )
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
    """nimbus.cloud.rabbitmq_join_plan"""

    def filters(self) -> dict[str, Any]:
        return {"rabbitmq_join_plan": rabbitmq_join_plan}
