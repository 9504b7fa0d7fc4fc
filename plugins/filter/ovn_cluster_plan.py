# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filters nimbus.cloud.ovn_cluster_plan, nimbus.cloud.ovn_db_states,
nimbus.cloud.ovn_cluster_status, nimbus.cloud.ovn_protocol_changes and
nimbus.cloud.ovn_tunnel_endpoint (logic in plugins/plugin_utils/ovn.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ovn_cluster_plan
short_description: Which member each OVN central host joins its RAFT clusters through
version_added: "0.1.0"
author: Nimbus developers
description:
  - For the OVN central hosts (in order) and what each one's NB and SB database files are
    (C(absent), C(standalone) or C(clustered)), returns per host and database the address of
    the member to join through, or C('') where the cluster is created.
  - Never plans a second cluster. Once any member holds a clustered file, every host without
    one joins through it. With no cluster yet, a host holding a standalone file (a one-host
    deployment of an earlier release) creates the cluster from it.
options:
  _input:
    description: The OVN central hosts, in inventory order.
    type: list
    elements: str
    required: true
  states:
    description: Host -> {nb, sb} -> C(absent), C(standalone) or C(clustered).
    type: dict
    required: true
  addresses:
    description: Host -> the address its cluster members reach it on.
    type: dict
    required: true
"""

EXAMPLES = r"""
plan: "{{ ovn_northd_hosts | nimbus.cloud.ovn_cluster_plan(states, addresses) }}"
"""

RETURN = r"""
_value:
  description: Host -> {nb, sb} -> address to join through, or '' to create the cluster.
  type: dict
"""

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.ovn import (
    OvnSettingsError,
    cluster_plan,
    cluster_status,
    db_states,
    protocol_changes,
    tunnel_endpoint,
)


def ovn_cluster_plan(
    hosts: Sequence[str],
    states: Mapping[str, Mapping[str, str]],
    addresses: Mapping[str, str],
) -> dict[str, dict[str, str]]:
    try:
        return cluster_plan(hosts, states, addresses)
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"ovn: no OVN database cluster is planned: {err}") from err


def ovn_db_states(
    file_results: Sequence[Mapping[str, Any]], check_results: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    try:
        return db_states(file_results, check_results)
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"ovn: the OVN database files were not read: {err}") from err


def ovn_cluster_status(text: str) -> dict[str, Any]:
    try:
        return cluster_status(text)
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"ovn_cluster_status: {err}") from err


def ovn_protocol_changes(
    hosts: Sequence[str],
    states: Mapping[str, Mapping[str, str]],
    status_results: Mapping[str, Sequence[Mapping[str, Any]]],
    protocol: str,
    ports: Mapping[str, Any],
) -> dict[str, dict[str, str]]:
    try:
        return protocol_changes(hosts, states, status_results, protocol, ports)
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"ovn: the OVN clusters cannot change protocol: {err}") from err


def ovn_tunnel_endpoint(facts: Mapping[str, Any], address: str, bridge: str) -> dict[str, Any]:
    try:
        return tunnel_endpoint(facts, address, bridge)
    except OvnSettingsError as err:
        raise AnsibleFilterError(f"ovn: {err}") from err


class FilterModule:
    """nimbus.cloud.ovn_cluster_plan, nimbus.cloud.ovn_db_states, nimbus.cloud.ovn_cluster_status,
    nimbus.cloud.ovn_protocol_changes, nimbus.cloud.ovn_tunnel_endpoint"""

    def filters(self) -> dict[str, Any]:
        return {
            "ovn_cluster_plan": ovn_cluster_plan,
            "ovn_db_states": ovn_db_states,
            "ovn_cluster_status": ovn_cluster_status,
            "ovn_protocol_changes": ovn_protocol_changes,
            "ovn_tunnel_endpoint": ovn_tunnel_endpoint,
        }
