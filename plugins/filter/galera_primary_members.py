# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filters nimbus.cloud.galera_wsrep_status, galera_primary_members and galera_recovery_source:
the Galera role's registered results in, decisions out. The decisions are
plugins/plugin_utils/galera.py.

Documentation: galera_wsrep_status.yml, galera_primary_members.yml and
galera_recovery_source.yml next to this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.galera import (
    GaleraStateError,
    primary_members,
    recovery_source,
)


def galera_wsrep_status(status_results: list[Mapping[str, Any]]) -> dict[str, str | None]:
    """Member -> wsrep_cluster_status from a looped community.mysql.mysql_info (None when the
    status could not be read)."""
    status: dict[str, str | None] = {}
    for result in status_results:
        value = (result.get("global_status") or {}).get("wsrep_cluster_status")
        status[str(result["item"])] = None if result.get("failed") or value is None else str(value)
    return status


def galera_primary_members(
    status_results: list[Mapping[str, Any]], unit_results: list[Mapping[str, Any]] | None = None
) -> list[str]:
    """Members running a Primary component; an error when a member without a readable status is
    not verifiably stopped (UNIT_RESULTS: a looped ansible.builtin.systemd_service over them)."""
    active = {
        str(r["item"]): (r.get("status") or {}).get("ActiveState")
        for r in unit_results or []
        if not r.get("skipped")
    }
    try:
        return primary_members(galera_wsrep_status(status_results), active)
    except GaleraStateError as err:
        raise AnsibleFilterError(f"galera_server: {err}") from err


def galera_recovery_source(position_results: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The member to bootstrap from after a full stop, from a looped galera_recovery."""
    outputs = {}
    for result in position_results:
        host = str(result["item"])
        if result.get("failed") or result.get("rc", 0) != 0:
            raise AnsibleFilterError(
                f"galera_server: galera_recovery failed on {host} (exit {result.get('rc')}): "
                f"{str(result.get('stderr') or result.get('msg') or '')[-300:]}; see the MariaDB "
                f"log on {host} (journalctl -u mariadb)"
            )
        outputs[host] = str(result.get("stdout", ""))
    try:
        host, position = recovery_source(outputs)
    except GaleraStateError as err:
        raise AnsibleFilterError(
            f"galera_server: cannot choose a member to bootstrap from: {err}. Inspect "
            "grastate.dat and the MariaDB logs on each member."
        ) from err
    return {"host": host, "uuid": position.uuid, "seqno": position.seqno}


class FilterModule:
    """nimbus.cloud.galera_wsrep_status, galera_primary_members, galera_recovery_source"""

    def filters(self) -> dict[str, Any]:
        return {
            "galera_wsrep_status": galera_wsrep_status,
            "galera_primary_members": galera_primary_members,
            "galera_recovery_source": galera_recovery_source,
        }
