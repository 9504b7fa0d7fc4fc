# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Neutron ML2/OVN settings derived from OSA's ``provider_networks``, and Open vSwitch maps.

Pure Python, no Ansible imports; the filters nimbus.cloud.ovn_provider_bridges,
nimbus.cloud.neutron_ml2_types and nimbus.cloud.ovs_map_changes are thin wrappers.

- A ``flat`` or ``vlan`` provider network names a physical network (``net_name``); a host in
  one of its ``group_binds`` plugs its NIC (``network_interface``) into an OVS bridge mapped to
  that physical network. The first physical network's bridge is ``br-provider``, the others
  ``br-<net_name>``, unless the operator names the bridge.
- ML2: every such physical network takes flat networks and, for ``vlan`` entries, the VLAN
  ranges of its ``range``; a ``geneve`` entry's ``range`` gives the VNI ranges.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory.segments import parse_ranges

PHYSICAL_TYPES = ("flat", "vlan")
MAX_IFNAME = 15  # IFNAMSIZ - 1: a bridge is a network device of the host


class OvnSettingsError(ValueError):
    """The provider networks or the OVS answer cannot give the settings."""


def _networks(provider_networks: Any) -> list[dict[str, Any]]:
    if provider_networks is None:
        return []
    if not isinstance(provider_networks, Sequence) or isinstance(provider_networks, str):
        raise OvnSettingsError(
            "provider_networks must be a list of {network: {...}} entries, got "
            f"{provider_networks!r}"
        )
    found = []
    for position, item in enumerate(provider_networks):
        net = item.get("network") if isinstance(item, Mapping) else None
        if not isinstance(net, Mapping):
            raise OvnSettingsError(
                f"provider_networks[{position}] must be {{network: {{...}}}}, got {item!r}"
            )
        found.append({**net, "_position": position})
    return found


def _physnets(provider_networks: Any) -> list[dict[str, Any]]:
    found = []
    for net in _networks(provider_networks):
        if net.get("type") not in PHYSICAL_TYPES:
            continue
        name = net.get("net_name")
        if not isinstance(name, str) or not name.strip():
            raise OvnSettingsError(
                f"provider_networks[{net['_position']}] (type {net['type']}) has no net_name: "
                "name its physical network, e.g. net_name: physnet1"
            )
        found.append(net)
    return found


def bridge_names(provider_networks: Any, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Physical network -> OVS bridge: ``names`` first, else br-provider for the first one."""
    result: dict[str, str] = {}
    for net in _physnets(provider_networks):
        physnet = net["net_name"]
        if physnet in result:
            continue
        default = "br-provider" if not result else f"br-{physnet}"
        bridge = str((names or {}).get(physnet) or default)
        if len(bridge) > MAX_IFNAME:
            raise OvnSettingsError(
                f"the OVS bridge {bridge!r} of physical network {physnet!r} is longer than "
                f"{MAX_IFNAME} characters: name it in ovn_provider_bridge_names"
            )
        result[physnet] = bridge
    if names:
        unknown = sorted(set(names) - set(result))
        if unknown:
            raise OvnSettingsError(
                f"ovn_provider_bridge_names names {', '.join(unknown)}, which no flat or vlan "
                f"provider network has as net_name (known: {', '.join(result) or 'none'})"
            )
    return result


def provider_bridges(
    provider_networks: Any,
    group_names: Sequence[str],
    names: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """The physical networks of a host (in group_names): physnet, bridge and NIC ('' if none)."""
    bridges = bridge_names(provider_networks, names)
    groups = set(group_names)
    found: dict[str, dict[str, str]] = {}
    for net in _physnets(provider_networks):
        if not groups.intersection(net.get("group_binds") or []):
            continue
        physnet = net["net_name"]
        interface = str(net.get("network_interface") or "")
        entry = found.setdefault(
            physnet, {"physnet": physnet, "bridge": bridges[physnet], "interface": interface}
        )
        if interface and entry["interface"] and entry["interface"] != interface:
            raise OvnSettingsError(
                f"physical network {physnet!r} names two NICs for one host: "
                f"{entry['interface']!r} and {interface!r} (provider_networks[{net['_position']}]"
                "); give each physical network one network_interface"
            )
        entry["interface"] = entry["interface"] or interface
    return list(found.values())


def ml2_types(provider_networks: Any) -> dict[str, list[str]]:
    """flat_networks, network_vlan_ranges and (geneve) vni_ranges for ml2_conf.ini."""
    flat: list[str] = []
    vlan: list[str] = []
    vni: list[str] = []
    for net in _networks(provider_networks):
        kind = net.get("type")
        if kind in PHYSICAL_TYPES:
            physnet = _physnets([{"network": net}])[0]["net_name"]
            if physnet not in flat:
                flat.append(physnet)
            if kind == "vlan":
                ranges = _ranges(net, "vlan")
                vlan.extend(f"{physnet}:{first}:{last}" for first, last in ranges)
                if not ranges and physnet not in vlan:
                    vlan.append(physnet)
        elif kind == "geneve":
            vni.extend(f"{first}:{last}" for first, last in _ranges(net, "geneve"))
    return {"flat_networks": flat, "network_vlan_ranges": vlan, "vni_ranges": vni}


def _ranges(net: Mapping[str, Any], kind: str) -> list[tuple[int, int]]:
    if net.get("range") in (None, ""):
        return []
    ranges, problem = parse_ranges(net["range"], kind)
    if problem:
        raise OvnSettingsError(f"provider_networks[{net['_position']}] range: {problem}")
    return ranges


def ovs_map(list_json: str, column: str = "external_ids") -> dict[str, str]:
    """One map column of ``ovs-vsctl --format=json --columns=<column> list <table>`` (one row)."""
    try:
        report = json.loads(list_json)
        index = report["headings"].index(column)
        kind, pairs = report["data"][0][index]
    except (TypeError, ValueError, KeyError, IndexError) as err:
        raise OvnSettingsError(
            f"not an ovs-vsctl JSON listing of one row with the map column {column!r}: "
            f"{str(list_json)[:200]!r}"
        ) from err
    if kind != "map":
        raise OvnSettingsError(f"column {column!r} is a {kind!r}, not a map")
    return {str(key): str(value) for key, value in pairs}


def map_changes(current: Mapping[str, str], wanted: Mapping[str, Any]) -> dict[str, str]:
    """Keys of ``wanted`` whose value ``current`` lacks (as strings), in ``wanted``'s order."""
    return {
        str(key): _text(value)
        for key, value in wanted.items()
        if current.get(str(key)) != _text(value)
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


DB_STATES = ("absent", "standalone", "clustered")


def cluster_plan(
    hosts: Sequence[str],
    states: Mapping[str, Mapping[str, str]],
    addresses: Mapping[str, str],
    databases: Sequence[str] = ("nb", "sb"),
) -> dict[str, dict[str, str]]:
    """Which member each OVN central host joins, per database: host -> {db: address or ''}.

    ``states`` gives, per host and database, what its database file is: ``absent``,
    ``standalone`` or ``clustered``. '' means "create the cluster here" (ovn-ctl then creates
    it, or converts a standalone file in place); an address means "join through that member"
    (ovn-ctl joins only when the file is absent, and keeps a backup of a standalone file).

    - A cluster exists (some member's file is clustered): hosts without a clustered file join
      through the first member that has one. Hosts with a clustered file keep the steady
      layout: the first host creates, the others name it (ovn-ctl never acts on a clustered
      file, so this only keeps the configuration stable).
    - No cluster yet: the first host with a standalone file creates it from that file (its data
      is kept: a one-host deployment of an earlier release), else the first host; the others
      join through it.
    """
    hosts = list(hosts)
    if not hosts:
        return {}
    problems = []
    for host in hosts:
        if not addresses.get(host):
            problems.append(f"{host} has no address")
        for db in databases:
            state = (states.get(host) or {}).get(db)
            if state not in DB_STATES:
                problems.append(
                    f"the {db.upper()} database of {host} is {state!r}, not one of "
                    f"{', '.join(DB_STATES)} (is the host in this run?)"
                )
    if problems:
        raise OvnSettingsError("; ".join(problems))
    plan: dict[str, dict[str, str]] = {host: {} for host in hosts}
    for db in databases:
        clustered = [h for h in hosts if states[h][db] == "clustered"]
        if clustered:
            anchor = clustered[0]
            for host in hosts:
                if host in clustered:
                    plan[host][db] = "" if host == hosts[0] else addresses[hosts[0]]
                else:
                    plan[host][db] = addresses[anchor]
            continue
        standalone = [h for h in hosts if states[h][db] == "standalone"]
        creator = standalone[0] if standalone else hosts[0]
        for host in hosts:
            plan[host][db] = "" if host == creator else addresses[creator]
    return plan


def db_states(
    file_results: Sequence[Mapping[str, Any]], check_results: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """Database -> absent, standalone or clustered, from a looped stat and ovsdb-tool check.

    ``file_results``: one ``ansible.builtin.stat`` result per database (``item`` the database);
    ``check_results``: one ``ovsdb-tool db-is-clustered`` result per existing file (``item``
    that file's stat result; exit 0 means clustered).
    """
    states: dict[str, str | None] = {}
    for result in file_results:
        exists = bool((result.get("stat") or {}).get("exists"))
        states[str(result.get("item"))] = None if exists else "absent"
    for result in check_results:
        if result.get("skipped"):
            continue
        db = str((result.get("item") or {}).get("item"))
        if db not in states:
            raise OvnSettingsError(f"ovsdb-tool checked {db!r}, which was not looked for")
        states[db] = "clustered" if result.get("rc") == 0 else "standalone"
    unread = sorted(db for db, state in states.items() if state is None)
    if unread:
        raise OvnSettingsError(
            f"the {', '.join(unread)} database file exists but was not checked with ovsdb-tool"
        )
    return {db: str(state) for db, state in states.items()}


def cluster_status(text: str) -> dict[str, Any]:
    """What ``ovs-appctl -t <db ctl> cluster/status <database>`` says of a RAFT member.

    Returns ``name`` (the database), ``cluster_id`` (the full UUID), ``server_id`` (the
    member's short ID), ``address``, ``status`` (e.g. ``cluster member``), ``leader`` (``self``,
    a server ID or ``unknown``),
    ``servers`` (the configuration's members: ``id`` and ``address``) and ``stale``: the IDs of
    other members at this member's own address (an earlier life of this host, e.g. before its
    database was rebuilt, which the cluster would otherwise count forever).
    """
    found: dict[str, Any] = {
        "name": "",
        "cluster_id": "",
        "server_id": "",
        "address": "",
        "status": "",
        "leader": "",
        "servers": [],
    }
    in_servers = False
    for line in str(text).splitlines():
        if in_servers:
            match = re.match(r"\s+(\S+) \(\S+ at (\S+?)\)", line)
            if match:
                found["servers"].append({"id": match.group(1), "address": match.group(2)})
                continue
            in_servers = False
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Name":
            found["name"] = value
        elif key == "Cluster ID":
            match = re.search(r"\(([0-9a-f-]{36})\)", value)
            found["cluster_id"] = match.group(1) if match else value
        elif key == "Server ID":
            found["server_id"] = value.split()[0] if value else ""
        elif key == "Address":
            found["address"] = value
        elif key == "Status":
            found["status"] = value
        elif key == "Leader":
            found["leader"] = value
        elif key == "Servers":
            in_servers = True
    if not found["status"]:
        raise OvnSettingsError(f"not the output of cluster/status: {str(text)[:200]!r}")
    found["stale"] = [
        server["id"]
        for server in found["servers"]
        if server["address"] == found["address"] and server["id"] != found["server_id"]
    ]
    return found


RAFT_PROTOCOLS = ("ssl", "tcp")


def _split_remote(remote: str) -> tuple[str, str, str]:
    """``ssl:10.0.0.1:6643`` or ``tcp:[fd00::1]:6643`` -> (protocol, address, port)."""
    protocol, rest = [*str(remote).split(":", 1), ""][:2]
    address, port = rest.rsplit(":", 1) if ":" in rest else ["", rest]
    if protocol not in RAFT_PROTOCOLS or not address or not port.isdigit():
        raise OvnSettingsError(f"not an OVSDB remote <ssl|tcp>:<address>:<port>: {remote!r}")
    return protocol, address, port


def protocol_changes(
    hosts: Sequence[str],
    states: Mapping[str, Mapping[str, str]],
    status_results: Mapping[str, Sequence[Mapping[str, Any]]],
    protocol: str,
    ports: Mapping[str, Any],
) -> dict[str, dict[str, str]]:
    """The databases whose RAFT cluster must move to ``protocol`` (``ssl`` or ``tcp``): database
    -> ``remotes``, the client remotes to copy its data from (``<protocol>:<address>:<port>,...``),
    and ``host``, the first host with a running member (it takes the copy and makes the new
    cluster from it).

    ``status_results``: host -> the looped results of ``ovs-appctl ... cluster/status``, one per
    database (``item.db``, ``rc``, ``stdout``); a member that did not answer is not running.
    ``states``: host -> database -> ``absent``, ``standalone`` or ``clustered`` (its file).
    ``ports``: database -> the client port.

    A cluster moves when a running member lists a server (itself included) in another protocol:
    members keep the address they were created with, so the only way to another protocol is a
    new cluster holding the old one's data. The copy is read from the leader through the running
    members' client ports, each in the protocol of its cluster address (the role sets the client
    and cluster protocols together). Every host whose file is clustered must be running:
    otherwise its file would stay a member of the old cluster.
    """
    if protocol not in RAFT_PROTOCOLS:
        raise OvnSettingsError(
            f"the OVN protocol must be one of {', '.join(RAFT_PROTOCOLS)}, got {protocol!r}"
        )
    changes: dict[str, dict[str, str]] = {}
    for db in ("nb", "sb"):
        members: dict[str, dict[str, Any]] = {}
        for host in hosts:
            for result in status_results.get(host) or []:
                if str((result.get("item") or {}).get("db")) == db and result.get("rc") == 0:
                    members[host] = cluster_status(str(result.get("stdout", "")))
        listed = {
            _split_remote(server["address"])[0]
            for member in members.values()
            for server in [{"address": member["address"]}, *member["servers"]]
        }
        if not listed - {protocol}:
            continue
        stopped = [
            host
            for host in hosts
            if host not in members and (states.get(host) or {}).get(db) == "clustered"
        ]
        if stopped:
            raise OvnSettingsError(
                f"the {db.upper()} cluster moves to {protocol}, but the {db.upper()} database "
                f"server of {', '.join(stopped)} is not running: start ovn-ovsdb-server-{db} "
                "there and run again (a host being rebuilt: move its database file away first)"
            )
        remotes = []
        for member in members.values():
            member_protocol, address = _split_remote(member["address"])[:2]
            remotes.append(f"{member_protocol}:{address}:{ports[db]}")
        changes[db] = {"remotes": ",".join(remotes), "host": next(iter(members))}
    return changes


def tunnel_endpoint(facts: Mapping[str, Any], address: str, bridge: str) -> dict[str, Any]:
    """Where a chassis' tunnel address is: ``device``, ``prefix`` and ``on_bridge``.

    With the userspace datapath, OVS sends and receives GENEVE itself, so the tunnel address
    must be on an OVS bridge of that datapath (``bridge``). ``facts`` are the host's network
    facts (``interfaces`` and one entry per device, ``-`` and ``.`` read as ``_``).
    """
    for name in facts.get("interfaces") or []:
        device = facts.get(str(name).replace("-", "_").replace(".", "_")) or {}
        entries = [device.get("ipv4") or {}, *(device.get("ipv4_secondaries") or [])]
        for entry in entries:
            if entry.get("address") == address:
                prefix = entry.get("prefix")
                if prefix in (None, ""):
                    raise OvnSettingsError(f"{address} on {name} has no prefix length in the facts")
                return {"device": str(name), "prefix": int(prefix), "on_bridge": name == bridge}
    raise OvnSettingsError(
        f"the tunnel address (ovn_encap_ip) {address!r} is on no network device of this host: "
        "give the host its tunnel address, or set ovn_encap_ip to an address it has"
    )
