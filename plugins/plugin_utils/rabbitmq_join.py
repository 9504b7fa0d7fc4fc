"""Decide which RabbitMQ nodes may be reset and joined to the cluster, and through which member.

Only a node that is provably alone may be reset: its own ``cluster_status`` lists no other
node, and it holds no data (no user but ``guest``, no vhost but ``/``, no queue). A node with
peers is never reset, and neither is a lone node holding data: those are errors that name the
node and what it holds, for an operator to decide. The cluster to join is the one the members
already form, whichever host sorts first; only when no member has peers does a new cluster
form, around the single lone node holding data or, on a fresh deployment, the primary host.

Pure logic: no Ansible imports; the filter ``nimbus.cloud.rabbitmq_join_plan`` feeds it what
``rabbitmqctl`` reported on every member.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

FRESH_USERS = frozenset({"guest"})
FRESH_VHOSTS = frozenset({"/"})


class JoinPlanError(Exception):
    """The members are in a state where no node can be joined safely (the message says why)."""


@dataclasses.dataclass(frozen=True)
class Node:
    """What one member reported: its cluster view and the data it holds."""

    host: str
    nodename: str
    running: bool = True
    cluster: frozenset[str] = frozenset()
    users: frozenset[str] = FRESH_USERS
    vhosts: frozenset[str] = FRESH_VHOSTS
    queues: int = 0
    # False when users, vhosts and queues were not read: such a node is never judged empty.
    data_known: bool = True

    @property
    def alone(self) -> bool:
        return self.cluster <= {self.nodename}

    @property
    def data(self) -> list[str]:
        """What this node holds beyond a fresh install (empty: nothing)."""
        held = []
        if self.users - FRESH_USERS:
            held.append("users " + ", ".join(sorted(self.users - FRESH_USERS)))
        if self.vhosts - FRESH_VHOSTS:
            held.append("vhosts " + ", ".join(sorted(self.vhosts - FRESH_VHOSTS)))
        if self.queues:
            held.append(f"{self.queues} queue(s)")
        return held


@dataclasses.dataclass(frozen=True)
class Join:
    """Reset HOST and join it to the cluster through the running member VIA.

    ``forget``: the cluster still lists HOST's node name (a rebuilt host); VIA forgets that
    old identity first.
    """

    host: str
    nodename: str
    via_host: str
    via: str
    forget: bool = False


def node_from_reports(
    host: str,
    nodename: str,
    cluster_status: Mapping[str, Any] | None,
    *,
    users: Iterable[Any] | None = None,
    vhosts: Iterable[Any] | None = None,
    queues: Iterable[Any] | None = None,
) -> Node:
    """A Node from rabbitmqctl's JSON reports (None for cluster_status: could not be read; None
    for users, vhosts or queues: not read, so the node is never judged empty)."""

    def names(rows: Iterable[Any], key: str) -> frozenset[str]:
        return frozenset(str(r[key]) if isinstance(r, Mapping) else str(r) for r in rows)

    if cluster_status is None:
        return Node(host=host, nodename=nodename, running=False)
    return Node(
        host=host,
        nodename=nodename,
        cluster=frozenset(str(n) for n in cluster_status.get("disk_nodes", []))
        | frozenset(str(n) for n in cluster_status.get("ram_nodes", [])),
        users=names(users or [], "user"),
        vhosts=names(vhosts or [], "name"),
        queues=len(list(queues or [])),
        data_known=users is not None and vhosts is not None and queues is not None,
    )


def _clusters(nodes: list[Node]) -> list[list[Node]]:
    """Nodes with peers, grouped by overlapping cluster views (one group per cluster)."""
    groups: list[tuple[set[str], list[Node]]] = []
    for node in nodes:
        if node.alone:
            continue
        view = set(node.cluster | {node.nodename})
        merged = [g for g in groups if g[0] & view]
        for group in merged:
            groups.remove(group)
            view |= group[0]
        groups.append((view, [n for g in merged for n in g[1]] + [node]))
    return [sorted(g[1], key=nodes.index) for g in groups]


def plan(nodes: list[Node], primary_host: str) -> list[Join]:
    """The joins to make, in member order; raises JoinPlanError when none is safe."""
    problems = [
        f"{n.host}: cannot read its cluster status (is RabbitMQ running there?); a node whose "
        "state is unknown is never reset or joined"
        for n in nodes
        if not n.running
    ]
    if problems:
        raise JoinPlanError("; ".join(problems))
    clusters = _clusters(nodes)
    if len(clusters) > 1:
        described = " and ".join("{" + ", ".join(n.host for n in c) + "}" for c in clusters)
        raise JoinPlanError(
            f"the members form {len(clusters)} separate clusters: {described}; Nimbus never "
            "resets a node that has peers, so merge them by hand (export the definitions of "
            "one, reset its nodes, join them to the other, import)"
        )
    lone = [n for n in nodes if n.alone]
    unread = [n.host for n in lone if not n.data_known]
    if len(nodes) > 1 and unread:
        raise JoinPlanError(
            f"what {', '.join(unread)} hold(s) was not read (users, vhosts, queues); a node "
            "is reset only when it is known to be empty"
        )
    if clusters:
        seed_group = clusters[0]
        known = set().union(*(n.cluster for n in seed_group))
    else:
        holding = [n for n in lone if n.data]
        if len(holding) > 1:
            raise JoinPlanError(
                "no cluster exists and several members hold data: "
                + "; ".join(f"{n.host} ({', '.join(n.data)})" for n in holding)
                + "; Nimbus will not choose which to reset: reset all but one by hand"
            )
        by_host = {n.host: n for n in nodes}
        seed = holding[0] if holding else by_host.get(primary_host, nodes[0] if nodes else None)
        if seed is None:
            return []
        seed_group = [seed]
        known = {seed.nodename}
    via = seed_group[0]
    joins = []
    refused = []
    for node in lone:
        if node in seed_group:
            continue
        if node.data:
            refused.append(
                f"{node.host} runs alone but holds {', '.join(node.data)}: it is not reset; "
                f"to add it to the cluster of {via.host}, move what it holds away and run "
                f"'rabbitmqctl stop_app && rabbitmqctl reset' on it by hand"
            )
            continue
        joins.append(
            Join(
                host=node.host,
                nodename=node.nodename,
                via_host=via.host,
                via=via.nodename,
                forget=node.nodename in known,
            )
        )
    if refused:
        raise JoinPlanError("; ".join(refused))
    return joins
