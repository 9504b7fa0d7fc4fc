"""From validated configuration to groups, host variables and addresses."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .addresses import Pool, address_value, suggest_prefix
from .config import (
    CIDR_NETWORKS,
    GLOBAL_OVERRIDES,
    PROVIDER_NETWORKS,
    Config,
    Host,
    Network,
    parse_config,
)
from .errors import Collector, InventoryError, LockUnavailableError, Problem, StateError
from .loader import format_path
from .names import natural_key, normalize_group
from .skeleton import DEPLOYED_KEY, REQUIRES_KEY, Skeleton, load_skeleton
from .sources import load_user_config
from .state import STATE_FILE, HostState, State, locked, read_state, write_state

PROTECTED_VARS = ("management_address", "physical_host", "is_metal", "container_networks")
WARNINGS_VAR = "nimbus_inventory_warnings"
_LIST_LIMIT = 8


@dataclass
class Inventory:
    """The generated inventory (what Ansible sees) plus what the CLI reports."""

    groups: dict[str, dict[str, list[str]]]
    hostvars: dict[str, dict[str, Any]]
    all_vars: dict[str, Any]
    warnings: list[str]
    host_groups: dict[str, list[str]] = field(default_factory=dict)
    state_written: bool = False
    state_changed: bool = False

    def groups_of(self, host: str) -> list[str]:
        """Every group ``host`` belongs to, directly or through child groups."""
        parents: dict[str, list[str]] = {}
        for name, group in self.groups.items():
            for child in group["children"]:
                parents.setdefault(child, []).append(name)
        found: set[str] = set()
        stack = [name for name, group in self.groups.items() if host in group["hosts"]]
        while stack:
            name = stack.pop()
            if name not in found:
                found.add(name)
                stack.extend(parents.get(name, ()))
        return sorted(found)

    def export(self) -> dict[str, Any]:
        """The inventory in the JSON form of ``ansible-inventory --list --export``."""
        has_parent = {child for group in self.groups.values() for child in group["children"]}
        result: dict[str, Any] = {"_meta": {"hostvars": self.hostvars}}
        top = [name for name in self.groups if name not in has_parent]
        result["all"] = {"children": [*top, "ungrouped"], "vars": self.all_vars}
        for name, group in self.groups.items():
            entry: dict[str, Any] = {}
            if group["children"]:
                entry["children"] = list(group["children"])
            if group["hosts"]:
                entry["hosts"] = list(group["hosts"])
            if entry:
                result[name] = entry
        return result


def _short_list(items: list[str]) -> str:
    if len(items) <= _LIST_LIMIT:
        return ", ".join(items)
    return ", ".join(items[:_LIST_LIMIT]) + f" and {len(items) - _LIST_LIMIT} more"


class _Groups:
    """Group membership derived from the skeleton and the host groups of the configuration."""

    def __init__(self, skeleton: Skeleton, host_groups: dict[str, list[str]]) -> None:
        self.skeleton = skeleton
        direct: dict[str, dict[str, None]] = {name: {} for name in skeleton.groups}
        for host_group, hosts in host_groups.items():
            if not hosts:
                continue
            for group in skeleton.joins.get(host_group, (host_group,)):
                members = direct.setdefault(group, {})
                for host in hosts:
                    members[host] = None
        children: dict[str, list[str]] = {name: [] for name in direct}
        for child, parents in skeleton.parents.items():
            for parent in parents:
                children.setdefault(parent, []).append(child)
                direct.setdefault(parent, {})
        self.direct = direct
        self.children = {name: sorted(set(items)) for name, items in children.items()}
        self._all: dict[str, frozenset[str]] = {}

    def hosts(self, group: str) -> frozenset[str]:
        """Hosts of ``group`` including those of its child groups."""
        cached = self._all.get(group)
        if cached is not None:
            return cached
        found = set(self.direct.get(group, ()))
        for child in self.children.get(group, ()):
            found |= self.hosts(child)
        result = frozenset(found)
        self._all[group] = result
        return result


def _bind_networks(
    config: Config, groups: _Groups, problems: Collector
) -> tuple[dict[str, list[Network]], list[str]]:
    bindings: dict[str, list[Network]] = {name: [] for name in config.hosts}
    warnings: list[str] = []
    for net in config.networks:
        bound: set[str] = set()
        for group in net.group_binds:
            bound |= groups.hosts(group)
        if net.reference_group:
            bound &= groups.hosts(net.reference_group)
        if not bound and not net.is_management:
            binds = ", ".join(net.group_binds) or "(none)"
            warnings.append(
                f"{net.label} ({net.bridge}) binds no host: none of its group_binds ({binds}) "
                "has a host, so no host gets this network."
            )
        for host in bound:
            bindings[host].append(net)
    for name, nets in bindings.items():
        keys: dict[str, Network] = {}
        for net in nets:
            if net.key is None:
                continue
            other = keys.get(net.key)
            if other is not None:
                host = config.hosts[name]
                file, line = config.merged.locate((host.group, name))
                problems.add(
                    file,
                    line,
                    format_path((host.group, name)),
                    f"host {name!r} is bound to two networks that both produce {net.key} "
                    f"({other.label} and {net.label}).",
                    "give the networks different address_prefix values, or use reference_group "
                    "so that each host gets only one of them",
                )
            keys[net.key] = net
    return bindings, warnings


def _check_hosts(config: Config, bindings: dict[str, list[Network]], problems: Collector) -> None:
    owners: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, str] = {}
    for name, host in config.hosts.items():
        where = (host.group, name)
        addresses = [(host.ip, "ip")]
        if host.management_ip != host.ip:
            addresses.append((host.management_ip, "management_ip"))
        for address, key in addresses:
            owner = owners.setdefault(address, name)
            if owner != name:
                file, line = config.merged.locate((*where, key))
                problems.add(
                    file,
                    line,
                    format_path((*where, key)),
                    f"{address} is also the address of host {owner!r}; two hosts cannot share an "
                    "address.",
                    f"give {name!r} an address no other host uses",
                )
        management = next((net for net in bindings[name] if net.is_management), None)
        key = "management_ip" if host.management_ip != host.ip else "ip"
        if management is None:
            file, line = config.merged.locate(where)
            problems.add(
                file,
                line,
                format_path(where),
                f"host {name!r} is not on the management network: no management network's "
                "group_binds includes it.",
                "add 'hosts' to group_binds of the provider network marked is_management_address",
            )
            continue
        if management.cidr is None:
            continue
        address = host.management_ip
        if address not in management.cidr:
            file, line = config.merged.locate((*where, key))
            problems.add(
                file,
                line,
                format_path((*where, key)),
                f"{address} is outside the management network {management.cidr} "
                f"({CIDR_NETWORKS}.{management.queue}).",
                f"give the host an address in {management.cidr}, or correct "
                f"{CIDR_NETWORKS}.{management.queue}",
            )
        elif address in (management.cidr.network_address, management.cidr.broadcast_address):
            file, line = config.merged.locate((*where, key))
            problems.add(
                file,
                line,
                format_path((*where, key)),
                f"{address} is the network or broadcast address of {management.cidr}.",
                "give the host a host address of the network",
            )
    for vip_key, vip in config.vips.items():
        path = (GLOBAL_OVERRIDES, vip_key)
        file, line = config.merged.locate(path)
        if vip in owners:
            problems.add(
                file,
                line,
                format_path(path),
                f"{vip} is also the address of host {owners[vip]!r}.",
                "use an address for the VIP that no host has",
            )
        if vip_key == "internal_lb_vip_address":
            cidrs = [net.cidr for net in config.management_networks if net.cidr is not None]
            if cidrs and not any(vip in cidr for cidr in cidrs):
                shown = ", ".join(str(cidr) for cidr in cidrs)
                problems.add(
                    file,
                    line,
                    format_path(path),
                    f"{vip} is not on the management network ({shown}); the services reach each "
                    "other through this VIP.",
                    f"use a free address of {shown} for the internal VIP",
                )


def _check_vars(config: Config, bindings: dict[str, list[Network]], problems: Collector) -> None:
    flat = {net.key for net in config.networks if net.key and not net.is_management}
    for name, host in config.hosts.items():
        for section, values in (
            ("host_vars", host.host_vars),
            ("container_vars", host.container_vars),
        ):
            for key in values:
                if key in PROTECTED_VARS or key in flat:
                    path = (host.group, name, section, key)
                    file, line = config.merged.locate(path)
                    problems.add(
                        file,
                        line,
                        format_path(path),
                        f"sets {key!r}, which the inventory computes for every host.",
                        "remove it; set the host's ip/management_ip or the provider network "
                        "instead",
                    )


def _check_requirements(
    config: Config, skeleton: Skeleton, groups: _Groups, problems: Collector
) -> None:
    missing: dict[str, list[str]] = {}
    for component, entry in skeleton.components.items():
        if not groups.direct.get(component):
            continue
        for needed in entry.get(REQUIRES_KEY, []):
            if not groups.hosts(needed):
                missing.setdefault(needed, []).append(component)
    for needed, components in missing.items():
        enabling = [
            name
            for name, hosts in config.host_groups.items()
            if hosts and any(component in skeleton.reach(name) for component in components)
        ]
        file, line = config.merged.locate((enabling[0],) if enabling else ())
        feeders = skeleton.feeders(needed)
        problems.add(
            file,
            line,
            ", ".join(enabling),
            f"{needed} has no host, but {', '.join(components)} (enabled by these host groups) "
            "needs it.",
            "list at least one host under "
            + (" or ".join(feeders) if feeders else needed)
            + ", or remove the hosts of the service that needs it",
        )


def _warnings(config: Config, skeleton: Skeleton) -> list[str]:
    warnings: list[str] = []
    for group, hosts in config.host_groups.items():
        if not hosts:
            continue
        components = skeleton.components_of(group)
        if components and all(
            skeleton.components[name].get(DEPLOYED_KEY) is False for name in components
        ):
            warnings.append(
                f"{group} ({_short_list(hosts)}): no Nimbus role deploys "
                f"{', '.join(components)} yet; these hosts get nothing from this group."
            )
    if config.container_only:
        parts = [
            f"{setting} ({_short_list(hosts)})" for setting, hosts in config.container_only.items()
        ]
        warnings.append(
            "container-only settings have no effect, because Nimbus runs every service on the "
            "host itself: " + "; ".join(parts) + "."
        )
    if config.limited_away:
        parts = [
            f"{setting} ({_short_list(hosts)})" for setting, hosts in config.limited_away.items()
        ]
        warnings.append(
            "container_vars limited to container types that no component of the host group "
            "contains apply to nothing, as in OSA, and were dropped: " + "; ".join(parts) + "."
        )
    return warnings


def _pools(config: Config) -> dict[str, Pool]:
    points: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for host in config.hosts.values():
        for address in dict.fromkeys((host.ip, host.management_ip)):
            points[address.version].append((int(address), int(address)))
    for vip in config.vips.values():
        points[vip.version].append((int(vip), int(vip)))
    used: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for version, start, end in config.used:
        used[version].append((start, end))
    return {
        queue: Pool(cidr, reserved=used[cidr.version] + points[cidr.version])
        for queue, cidr in config.cidrs.items()
    }


def _requests(
    config: Config, bindings: dict[str, list[Network]], pools: dict[str, Pool]
) -> dict[str, list[str]]:
    """Queue -> hosts that need an address from it, in natural host-name order."""
    requests: dict[str, list[str]] = {}
    for name in sorted(config.hosts, key=natural_key):
        for net in bindings[name]:
            if net.is_management or net.queue is None or net.queue not in pools:
                continue
            wanted = requests.setdefault(net.queue, [])
            if not wanted or wanted[-1] != name:
                wanted.append(name)
    return requests


def _unusable(pool: Pool, version: int, value: int) -> str | None:
    if version != pool.network.version:
        return f"it is outside {pool.network}"
    return pool.why_unusable(value)


def _keep(
    pool: Pool, queue: str, names: list[str], previous: State, into: dict[str, dict[str, str]]
) -> list[str]:
    """Keep each host's recorded address when it is still usable; return the ones that moved."""
    moved: list[str] = []
    for name in names:
        old = previous.hosts.get(name)
        text = old.addresses.get(queue) if old else None
        if text is None:
            continue
        version, value = address_value(text)
        reason = _unusable(pool, version, value)
        if reason is None:
            pool.take(value)
            into.setdefault(name, {})[queue] = text
        else:
            moved.append(f"{name} ({text}: {reason})")
    return moved


def _capacity_problem(
    config: Config, queue: str, pool: Pool, pending: int, problems: Collector
) -> None:
    path = (CIDR_NETWORKS, queue)
    file, line = config.merged.locate(path)
    free = pool.free_count()
    usable = max(pool.last - pool.first + 1, 0)
    total = pool.reserved_count() + len(pool.taken) + pending
    bigger = ipaddress.ip_network(
        f"{pool.network.network_address}/{suggest_prefix(pool.network, total)}", strict=False
    )
    problems.add(
        file,
        line,
        format_path(path),
        f"{pool.network} is too small: {pending} hosts need an address but only {free} are "
        f"free, {pending - free} short ({usable} usable, {pool.reserved_count()} reserved by "
        f"used_ips, host addresses and VIPs, {len(pool.taken)} already given).",
        f"use a larger network such as {bigger}, free used_ips ranges, or release the "
        "addresses of removed hosts with 'openstack-ansible-inventory remove-host HOST'",
    )


def _allocate(
    config: Config, bindings: dict[str, list[Network]], previous: State, problems: Collector
) -> tuple[State, dict[str, dict[str, str]], list[str]]:
    """Give each host an address on every non-management network it uses."""
    pools = _pools(config)
    requests = _requests(config, bindings, pools)
    assigned: dict[str, dict[str, str]] = {name: {} for name in config.hosts}
    removed = sorted((name for name in previous.hosts if name not in config.hosts), key=natural_key)
    kept: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    for queue, pool in pools.items():
        wanted = requests.get(queue, [])
        moved = _keep(pool, queue, wanted, previous, assigned)
        lost = _keep(pool, queue, removed, previous, kept)
        notes += [f"the address of removed host {entry} on {queue} was released." for entry in lost]
        pending = [name for name in wanted if queue not in assigned[name]]
        if len(pending) > pool.free_count():
            _capacity_problem(config, queue, pool, len(pending), problems)
            continue
        for name in pending:
            address = pool.allocate()
            if address is None:  # free_count() said there was room: a bug, not bad input
                raise RuntimeError(f"address pool {queue} ran out unexpectedly")
            assigned[name][queue] = pool.text(address)
        if moved:
            notes.append(
                f"addresses on {queue} had to change for: {_short_list(moved)}; "
                "redeploy the network configuration of these hosts."
            )
    state = State()
    for name, host in config.hosts.items():
        state.hosts[name] = HostState(str(host.management_ip), assigned[name])
    for name, kept_addresses in kept.items():
        state.hosts[name] = HostState(previous.hosts[name].management_address, kept_addresses)
    if kept:
        notes.append(
            "hosts no longer in the configuration keep their addresses reserved: "
            f"{_short_list(sorted(kept, key=natural_key))}. Free them with "
            "'openstack-ansible-inventory remove-host HOST'."
        )
    return state, assigned, notes


def _network_template(net: Network) -> dict[str, Any]:
    """The container_networks entry of a network, without the host's address."""
    return {
        "address": None,
        "netmask": str(net.cidr.netmask) if net.cidr is not None else None,
        "prefix": net.cidr.prefixlen if net.cidr is not None else None,
        "bridge": net.bridge,
        "interface": net.interface,
        "type": net.type,
        "mtu": net.mtu,
        "gateway": net.gateway,
        "static_routes": net.static_routes,
    }


def _hostvars(
    host: Host,
    nets: list[Network],
    addresses: dict[str, str],
    templates: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    networks: dict[str, Any] = {}
    flat: dict[str, str] = {}
    for net in nets:
        if net.key is None:
            continue
        entry = dict(templates[id(net)])
        entry["static_routes"] = [dict(route) for route in net.static_routes]
        if net.is_management:
            entry["address"] = str(host.management_ip)
            networks[net.key] = entry
            continue
        address = addresses.get(net.queue) if net.queue else None
        entry["address"] = address
        networks[net.key] = entry
        if address is not None:
            flat[net.key] = address
    result: dict[str, Any] = {
        "ansible_host": str(host.ip),
        "management_address": str(host.management_ip),
        "physical_host": host.name,
        "is_metal": True,
        "container_networks": networks,
    }
    result.update(flat)
    result.update(host.host_vars)
    result.update(host.container_vars)
    return result


def _all_vars(config: Config, warnings: list[str]) -> dict[str, Any]:
    management = next((net for net in config.management_networks if net.cidr is not None), None)
    result: dict[str, Any] = {}
    if management is not None and management.cidr is not None:
        result["container_cidr"] = str(management.cidr)
    for key, value in config.overrides.items():
        if key == PROVIDER_NETWORKS and isinstance(value, list):
            result[key] = [_normalized_provider_network(item) for item in value]
        else:
            result[key] = value
    result[WARNINGS_VAR] = list(warnings)
    return result


def _normalized_provider_network(item: Any) -> Any:
    """The operator's provider network with group names in their canonical form."""
    if not isinstance(item, dict) or not isinstance(item.get("network"), dict):
        return item
    net = dict(item["network"])
    if isinstance(net.get("group_binds"), list):
        net["group_binds"] = [
            normalize_group(g) if isinstance(g, str) else g for g in net["group_binds"]
        ]
    if isinstance(net.get("reference_group"), str):
        net["reference_group"] = normalize_group(net["reference_group"])
    return {**item, "network": net}


def _load(
    config_dir: Path, skeleton_dir: Path | None
) -> tuple[Config, Skeleton, _Groups, Collector]:
    problems = Collector()
    skeleton, found = load_skeleton(config_dir, skeleton_dir)
    problems.extend(found)
    merged, found = load_user_config(config_dir)
    problems.extend(found)
    problems.raise_if_any()
    if skeleton is None:  # load_skeleton reports why; this only narrows the type
        raise InventoryError(problems.problems)
    config = parse_config(merged, skeleton, problems)
    groups = _Groups(skeleton, config.host_groups)
    return config, skeleton, groups, problems


@contextlib.contextmanager
def _bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small, acyclic objects are made.

    With thousands of hosts the collector's full passes made generation grow faster than the
    number of hosts; the objects made here hold no reference cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def generate(
    config_dir: Path | str,
    *,
    write: bool = True,
    skeleton_dir: Path | str | None = None,
) -> Inventory:
    """Build the inventory of ``config_dir``; with ``write``, record new addresses in the state.

    Raises InventoryError listing every problem of the configuration (nothing is written then),
    or StateError when the state file is damaged or cannot be written.
    """
    with _bulk():
        return _generate(Path(config_dir), write, skeleton_dir)


def _generate(config_dir: Path, write: bool, skeleton_dir: Path | str | None) -> Inventory:
    shipped = Path(skeleton_dir) if skeleton_dir is not None else None
    config, skeleton, groups, problems = _load(config_dir, shipped)
    bindings, warnings = _bind_networks(config, groups, problems)
    _check_hosts(config, bindings, problems)
    _check_vars(config, bindings, problems)
    _check_requirements(config, skeleton, groups, problems)
    problems.raise_if_any()
    warnings = _warnings(config, skeleton) + warnings

    def allocate(can_write: bool) -> tuple[dict[str, dict[str, str]], list[str], bool, bool]:
        previous, previous_text = read_state(config_dir)
        state, assigned, notes = _allocate(config, bindings, previous, problems)
        problems.raise_if_any()
        text = state.to_json()
        changed = text != previous_text
        written = write_state(config_dir, text, previous_text) if can_write else False
        return assigned, notes, changed, written

    if not write:
        assigned, notes, changed, written = allocate(can_write=False)
    else:
        try:
            with locked(config_dir):
                assigned, notes, changed, written = allocate(can_write=True)
        except LockUnavailableError as exc:
            # A user who may not write the configuration directory can still read an
            # inventory whose addresses are all recorded already.
            assigned, notes, changed, written = allocate(can_write=False)
            if changed:
                raise StateError(
                    f"new addresses must be recorded in {config_dir / STATE_FILE}, but {exc}"
                ) from None
    warnings += notes

    templates = {id(net): _network_template(net) for net in config.networks}
    hostvars = {
        name: _hostvars(host, bindings[name], assigned[name], templates)
        for name, host in config.hosts.items()
    }
    group_table = {
        name: {
            "hosts": list(groups.direct.get(name, {})),
            "children": groups.children.get(name, []),
        }
        for name in sorted(set(groups.direct) | set(groups.children))
    }
    return Inventory(
        groups=group_table,
        hostvars=hostvars,
        all_vars=_all_vars(config, warnings),
        warnings=warnings,
        host_groups={name: list(host.groups) for name, host in config.hosts.items()},
        state_written=written,
        state_changed=changed,
    )


def configured_hosts(config_dir: Path | str) -> dict[str, list[str]]:
    """Host name -> host groups it is listed under, read without full validation."""
    merged, problems = load_user_config(Path(config_dir))
    if problems:
        raise InventoryError(problems)
    hosts: dict[str, list[str]] = {}
    for group, entries in merged.data.items():
        if isinstance(group, str) and group.endswith("_hosts") and isinstance(entries, dict):
            for name in entries:
                hosts.setdefault(str(name), []).append(group)
    return hosts


def remove_host(config_dir: Path | str, host: str) -> dict[str, str]:
    """Forget ``host`` in the state file and free its addresses; returns what was freed."""
    config_dir = Path(config_dir)
    listed = configured_hosts(config_dir)
    if host in listed:
        file, line = "openstack_user_config.yml / conf.d", None
        groups = ", ".join(listed[host])
        raise InventoryError(
            [
                Problem(
                    file,
                    line,
                    host,
                    f"host {host!r} is still in the configuration (under {groups}).",
                    "remove it from those host groups first, then run remove-host again",
                )
            ]
        )
    with locked(config_dir):
        state, text = read_state(config_dir)
        entry = state.hosts.pop(host, None)
        if entry is None:
            known = ", ".join(sorted(state.hosts, key=natural_key)) or "(none)"
            raise InventoryError(
                [
                    Problem(
                        str(config_dir / "openstack_inventory.json"),
                        None,
                        host,
                        f"no host {host!r} is recorded in the inventory state.",
                        f"check the name; recorded hosts: {_short_list(known.split(', '))}",
                    )
                ]
            )
        write_state(config_dir, state.to_json(), text)
    return dict(entry.addresses)
