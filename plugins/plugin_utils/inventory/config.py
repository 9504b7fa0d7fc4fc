"""Validate openstack_user_config.yml (merged with conf.d) and turn it into a typed model."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from . import segments
from .errors import Collector
from .loader import format_path
from .names import did_you_mean, hostname_fix, hostname_problem, normalize_group
from .skeleton import HOSTS_SUFFIX, Skeleton
from .sources import Merged

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CIDR_NETWORKS = "cidr_networks"
USED_IPS = "used_ips"
GLOBAL_OVERRIDES = "global_overrides"
PROVIDER_NETWORKS = "provider_networks"
TOP_LEVEL = (CIDR_NETWORKS, USED_IPS, GLOBAL_OVERRIDES)
HOST_KEYS = ("ip", "management_ip", "host_vars", "container_vars", "affinity", "no_containers")
CONTAINER_ONLY_HOST_KEYS = ("affinity", "no_containers")
LIMIT_KEY = "limit_container_types"
RANGE_PARTS = 2  # "first,last"
MTU_MIN, MTU_MAX = 68, 65535
DEFAULT_MANAGEMENT_QUEUES = ("container", "management")
_DNS_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


@dataclass
class Network:
    """One entry of provider_networks (or the implicit management network)."""

    position: int | None
    queue: str | None
    cidr: IPNetwork | None
    key: str | None
    is_management: bool
    bridge: str | None
    interface: str | None
    type: str | None
    mtu: int | None
    gateway: str | None
    static_routes: list[dict[str, str]]
    group_binds: list[str]
    reference_group: str | None

    @property
    def label(self) -> str:
        if self.position is None:
            return f"the management network ({self.queue})"
        return f"{GLOBAL_OVERRIDES}.{PROVIDER_NETWORKS}[{self.position}]"


@dataclass
class Host:
    name: str
    ip: IPAddress
    management_ip: IPAddress
    groups: list[str]
    host_vars: dict[str, Any]
    container_vars: dict[str, Any]
    group: str


@dataclass
class Config:
    merged: Merged
    cidrs: dict[str, IPNetwork] = field(default_factory=dict)
    used: list[tuple[int, int, int]] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    networks: list[Network] = field(default_factory=list)
    hosts: dict[str, Host] = field(default_factory=dict)
    host_groups: dict[str, list[str]] = field(default_factory=dict)
    vips: dict[str, IPAddress] = field(default_factory=dict)
    container_only: dict[str, list[str]] = field(default_factory=dict)
    limited_away: dict[str, list[str]] = field(default_factory=dict)
    invalid_names: set[Any] = field(default_factory=set)

    @property
    def management_networks(self) -> list[Network]:
        return [net for net in self.networks if net.is_management]


class _Context:
    """Problem collection with file/line lookup in the merged configuration."""

    def __init__(self, merged: Merged, problems: Collector) -> None:
        self.merged = merged
        self.problems = problems

    def add(self, path: tuple[Any, ...], message: str, fix: str) -> None:
        file, line = self.merged.locate(path)
        self.problems.add(file, line, format_path(path), message, fix)


def parse_address(value: Any) -> IPAddress | None:
    if not isinstance(value, str):
        return None
    return _parse_text(value.strip())


@functools.lru_cache(maxsize=65536)
def _parse_text(text: str) -> IPAddress | None:
    """Cached: one host's address is read once per group that lists it."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_dns_name(value: str) -> bool:
    return bool(_DNS_RE.match(value)) and not value.replace(".", "").isdigit()


def parse_config(merged: Merged, skeleton: Skeleton, problems: Collector) -> Config:
    ctx = _Context(merged, problems)
    config = Config(merged)
    data = merged.data
    _check_top_level(ctx, data, skeleton)
    config.cidrs = _parse_cidrs(ctx, data.get(CIDR_NETWORKS))
    config.used = _parse_used_ips(ctx, data.get(USED_IPS))
    overrides = data.get(GLOBAL_OVERRIDES)
    if overrides is None:
        ctx.add(
            (GLOBAL_OVERRIDES,),
            "is missing.",
            "add global_overrides with internal_lb_vip_address, external_lb_vip_address and "
            "management_bridge (see openstack_user_config.yml.example)",
        )
        overrides = {}
    elif not isinstance(overrides, dict):
        ctx.add((GLOBAL_OVERRIDES,), "must be a mapping.", "write it as 'key: value' entries")
        overrides = {}
    config.overrides = overrides
    config.vips = _parse_vips(ctx, overrides)
    config.networks = _parse_networks(ctx, overrides, config.cidrs, skeleton)
    _parse_hosts(ctx, data, skeleton, config)
    _collect_container_only(overrides, config)
    return config


def _check_top_level(ctx: _Context, data: dict[str, Any], skeleton: Skeleton) -> None:
    host_groups = skeleton.host_groups
    known_host_groups = set(host_groups)
    for key in data:
        if key in TOP_LEVEL:
            continue
        if not isinstance(key, str):
            ctx.add((key,), "is not a valid key.", "use a host group name such as compute_hosts")
            continue
        if key.endswith(HOSTS_SUFFIX) and key in known_host_groups:
            continue
        if key.endswith(HOSTS_SUFFIX):
            hint = did_you_mean(key, host_groups)
            ctx.add(
                (key,),
                f"no service skeleton defines the host group {key!r}.{hint}",
                "use a host group of inventory/env.d (openstack-ansible-inventory list-groups "
                "shows them), or define it under physical_skel in "
                f"{ctx.merged.files[0].rsplit('/', 1)[0]}/env.d/<name>.yml",
            )
            continue
        feeding = skeleton.feeders(key) if key in skeleton.groups else []
        if feeding:
            ctx.add(
                (key,),
                f"{key!r} is a service group: hosts cannot be listed under it directly.",
                "list the hosts under a host group that places them there: " + ", ".join(feeding),
            )
            continue
        hint = did_you_mean(key, (*TOP_LEVEL, *host_groups))
        ctx.add(
            (key,),
            f"is not a known top-level key.{hint}",
            "use cidr_networks, used_ips, global_overrides or a <name>_hosts host group",
        )


def _parse_cidrs(ctx: _Context, value: Any) -> dict[str, IPNetwork]:
    path = (CIDR_NETWORKS,)
    if not value or not isinstance(value, dict):
        ctx.add(
            path,
            "is missing or empty." if not value else "must be a mapping of name: network.",
            "add cidr_networks with at least the management network, e.g. "
            "'cidr_networks: {container: 172.29.236.0/22}'",
        )
        return {}
    cidrs: dict[str, IPNetwork] = {}
    for name, text in value.items():
        key = (CIDR_NETWORKS, name)
        if not isinstance(text, str):
            ctx.add(
                key,
                f"{text!r} is not a network.",
                "write the network as text, e.g. 172.29.240.0/22",
            )
            continue
        if "/" not in text:
            ctx.add(
                key,
                f"{text!r} has no prefix length, so it is not a network.",
                f"write it as address/prefix, e.g. {text.strip()}/22",
            )
            continue
        try:
            cidrs[name] = ipaddress.ip_network(text.strip(), strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(text.strip(), strict=False)
            except ValueError:
                ctx.add(
                    key,
                    f"{text!r} is not a network in CIDR notation.",
                    "write it as address/prefix, e.g. 172.29.240.0/22",
                )
            else:
                ctx.add(
                    key,
                    f"{text!r} has host bits set, so it is not a network address.",
                    f"use {loose}",
                )
    return cidrs


def _parse_used_ips(ctx: _Context, value: Any) -> list[tuple[int, int, int]]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.add(
            (USED_IPS,),
            "must be a list.",
            "write one address or 'first,last' range per list item",
        )
        return []
    ranges: list[tuple[int, int, int]] = []
    for position, item in enumerate(value):
        path = (USED_IPS, position)
        fix = (
            "write a single address (172.29.236.1) or an inclusive range "
            "('172.29.236.1,172.29.236.50')"
        )
        if not isinstance(item, str):
            ctx.add(path, f"{item!r} is not an address or an address range.", fix)
            continue
        parts = [part.strip() for part in item.split(",")]
        if len(parts) > RANGE_PARTS:
            ctx.add(
                path,
                f"{item!r} has {len(parts)} addresses; a range has exactly two (first,last).",
                "split it into one list item per address, or write 'first,last'",
            )
            continue
        first, last = parse_address(parts[0]), parse_address(parts[-1])
        if first is None or last is None:
            bad = parts[0] if first is None else parts[-1]
            ctx.add(path, f"{bad!r} is not a valid IP address.", fix)
            continue
        if first.version != last.version:
            ctx.add(path, f"{item!r} mixes IPv4 and IPv6 addresses.", fix)
            continue
        if int(last) < int(first):
            ctx.add(
                path,
                f"{item!r} is out of order: {last} comes before {first}.",
                f"write the lower address first: '{last},{first}'",
            )
            continue
        ranges.append((first.version, int(first), int(last)))
    return ranges


def _parse_vips(ctx: _Context, overrides: dict[str, Any]) -> dict[str, IPAddress]:
    vips: dict[str, IPAddress] = {}
    for key in ("internal_lb_vip_address", "external_lb_vip_address"):
        path = (GLOBAL_OVERRIDES, key)
        value = overrides.get(key)
        if value is None or value == "":
            ctx.add(
                path,
                "is missing.",
                f"set {key} under global_overrides to the address (or DNS name) of the "
                f"{key.split('_', maxsplit=1)[0]} VIP",
            )
            continue
        address = parse_address(value)
        if address is not None:
            vips[key] = address
        elif not isinstance(value, str) or not is_dns_name(value):
            ctx.add(
                path,
                f"{value!r} is neither an IP address nor a DNS name.",
                "give an address or a DNS name",
            )
    return vips


def _bool(ctx: _Context, path: tuple[Any, ...], value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    ctx.add(path, f"{value!r} is not true or false.", "write true or false")
    return False


def _text(ctx: _Context, path: tuple[Any, ...], value: Any, required: bool = False) -> str | None:
    if value is None:
        if required:
            ctx.add(path, "is missing.", f"set {path[-1]} for this network, e.g. br-storage")
        return None
    if isinstance(value, str) and value:
        return value
    ctx.add(path, f"{value!r} is not a name.", f"write {path[-1]} as a text value")
    return None


def _parse_queue(
    ctx: _Context, npath: tuple[Any, ...], queue: Any, cidrs: dict[str, IPNetwork]
) -> IPNetwork | None:
    if queue is None:
        return None
    if isinstance(queue, str) and queue in cidrs:
        return cidrs[queue]
    if isinstance(queue, str) and queue in (ctx.merged.data.get(CIDR_NETWORKS) or {}):
        return None  # the network itself is invalid; reported under cidr_networks
    hint = did_you_mean(str(queue), cidrs)
    ctx.add(
        (*npath, "ip_from_q"),
        f"names the network {queue!r}, which cidr_networks does not define.{hint}",
        f"add '{queue}: <network>/<prefix>' to cidr_networks, or use one of: "
        + (", ".join(cidrs) or "(none defined)"),
    )
    return None


def _parse_binds(ctx: _Context, path: tuple[Any, ...], binds: Any, known: set[str]) -> list[str]:
    if not isinstance(binds, list) or not binds or not all(isinstance(b, str) for b in binds):
        ctx.add(
            path,
            "must be a non-empty list of group names.",
            "list the groups whose hosts use this network, e.g. [neutron_ovn_controller]",
        )
        return []
    groups: list[str] = []
    for name in binds:
        group = normalize_group(name)
        if group not in known:
            hint = did_you_mean(group, known)
            ctx.add(
                path,
                f"names {name!r}, which is not a group of the service skeleton.{hint}",
                "use a group that openstack-ansible-inventory list-groups --all shows",
            )
        elif group not in groups:
            groups.append(group)
    return groups


def _parse_reference(
    ctx: _Context, path: tuple[Any, ...], value: Any, known: set[str]
) -> str | None:
    if value is None:
        return None
    group = normalize_group(str(value))
    if group not in known:
        hint = did_you_mean(group, known)
        ctx.add(
            path,
            f"names {value!r}, which is not a group of the service skeleton.{hint}",
            "use an existing group or remove reference_group",
        )
    return group


def _is_management(
    ctx: _Context,
    npath: tuple[Any, ...],
    net: dict[str, Any],
    bridge: str | None,
    management_bridge: Any,
) -> bool:
    flagged = _bool(ctx, (*npath, "is_management_address"), net.get("is_management_address"))
    flagged = flagged or _bool(
        ctx, (*npath, "is_container_address"), net.get("is_container_address")
    )
    if bridge and bridge == management_bridge and not flagged:
        ctx.add(
            (*npath, "container_bridge"),
            f"is the management bridge {bridge!r}, but the network is not marked as the "
            "management network.",
            "add 'is_management_address: true' to this network",
        )
        flagged = True  # reported above; treat it as meant, so no other errors follow
    if flagged and net.get("ip_from_q") is None:
        ctx.add(
            npath,
            "is the management network but has no ip_from_q.",
            "set ip_from_q to the cidr_networks entry of the management network, e.g. container",
        )
    return flagged


def _parse_network(  # noqa: PLR0917 - one call site, every argument is needed
    ctx: _Context,
    position: int,
    net: dict[str, Any],
    cidrs: dict[str, IPNetwork],
    management_bridge: Any,
    known: set[str],
) -> Network:
    npath = (GLOBAL_OVERRIDES, PROVIDER_NETWORKS, position, "network")
    queue = net.get("ip_from_q")
    queue = queue if isinstance(queue, str) else None
    bridge = _text(ctx, (*npath, "container_bridge"), net.get("container_bridge"), required=True)
    interface = _text(ctx, (*npath, "container_interface"), net.get("container_interface"))
    prefix = _text(ctx, (*npath, "address_prefix"), net.get("address_prefix"))
    stem = prefix or queue or interface
    return Network(
        position=position,
        queue=queue,
        cidr=_parse_queue(ctx, npath, net.get("ip_from_q"), cidrs),
        key=f"{stem}_address" if stem else None,
        is_management=_is_management(ctx, npath, net, bridge, management_bridge),
        bridge=bridge,
        interface=interface,
        type=_text(ctx, (*npath, "container_type"), net.get("container_type")),
        mtu=_parse_mtu(ctx, (*npath, "container_mtu"), net.get("container_mtu")),
        gateway=_parse_gateway(ctx, (*npath, "gateway"), net.get("gateway")),
        static_routes=_parse_routes(ctx, (*npath, "static_routes"), net.get("static_routes")),
        group_binds=_parse_binds(ctx, (*npath, "group_binds"), net.get("group_binds"), known),
        reference_group=_parse_reference(
            ctx, (*npath, "reference_group"), net.get("reference_group"), known
        ),
    )


def _implicit_management(
    ctx: _Context, cidrs: dict[str, IPNetwork], management_bridge: Any, known: set[str]
) -> Network | None:
    """Without a marked provider network, the "container" (or "management") network manages."""
    queue = next((name for name in DEFAULT_MANAGEMENT_QUEUES if name in cidrs), None)
    raw_cidrs = ctx.merged.data.get(CIDR_NETWORKS)
    if queue is None:
        if (
            isinstance(raw_cidrs, dict)
            and raw_cidrs
            and not any(name in raw_cidrs for name in DEFAULT_MANAGEMENT_QUEUES)
        ):
            ctx.add(
                (CIDR_NETWORKS,),
                "defines no management network.",
                "name the management network 'container' (or 'management') in cidr_networks, "
                "or mark its provider network with 'is_management_address: true'",
            )
        return None
    return Network(
        position=None,
        queue=queue,
        cidr=cidrs[queue],
        key=f"{queue}_address",
        is_management=True,
        bridge=management_bridge if isinstance(management_bridge, str) else None,
        interface=None,
        type=None,
        mtu=None,
        gateway=None,
        static_routes=[],
        group_binds=["hosts"] if "hosts" in known else [],
        reference_group=None,
    )


def _check_segment_ranges(ctx: _Context, raw: list[Any]) -> None:
    """Each provider network's ``range`` is 'first:last[,first:last]' within its type's ids,
    and no two ranges share ids: VNIs of every tunnel type, VLANs of one physical network."""
    base = (GLOBAL_OVERRIDES, PROVIDER_NETWORKS)
    owned: dict[tuple[str, str], list[tuple[tuple[str, tuple[Any, ...]], tuple[int, int]]]] = {}
    for position, item in enumerate(raw):
        net = item.get("network") if isinstance(item, dict) else None
        if not isinstance(net, dict) or net.get("range") is None:
            continue
        path = (*base, position, "network", "range")
        kind = net.get("type") if isinstance(net.get("type"), str) else ""
        ranges, problem = segments.parse_ranges(net["range"], kind)
        if problem is not None:
            ctx.add(
                path,
                problem,
                "write 'first:last' ranges joined by commas, e.g. '101:200,301:400' "
                "(VLAN ids 1-4094, GENEVE/VXLAN VNIs 1-16777215)",
            )
            continue
        if kind in segments.TUNNEL_TYPES:
            pool = ("tunnel", "VNIs")
        elif kind == "vlan":
            pool = (f"vlan {net.get('net_name')}", f"VLAN ids of {net.get('net_name')}")
        else:
            continue
        label = f"{format_path((*base, position))} ({net.get('container_bridge')})"
        owned.setdefault(pool, []).extend(((label, path), one) for one in ranges)
    for (_pool_kind, what), entries in owned.items():
        for (first, _first_path), (_label, path), (start, end) in segments.overlaps(entries):
            shared = str(start) if start == end else f"{start}:{end}"
            ctx.add(
                path,
                f"claims {what} {shared}, as {first} does already.",
                "give each provider network its own part of the range",
            )


def _parse_networks(
    ctx: _Context, overrides: dict[str, Any], cidrs: dict[str, IPNetwork], skeleton: Skeleton
) -> list[Network]:
    raw = overrides.get(PROVIDER_NETWORKS)
    base = (GLOBAL_OVERRIDES, PROVIDER_NETWORKS)
    if raw is not None and not isinstance(raw, list):
        ctx.add(
            base,
            "must be a list of '- network: {...}' entries.",
            "see openstack_user_config.yml.example",
        )
        raw = []
    management_bridge = overrides.get("management_bridge")
    if management_bridge is None:
        ctx.add(
            (GLOBAL_OVERRIDES, "management_bridge"),
            "is missing.",
            "set management_bridge under global_overrides to the management bridge, e.g. br-mgmt",
        )
    known = set(skeleton.groups)
    networks: list[Network] = []
    for position, item in enumerate(raw or []):
        if not isinstance(item, dict) or not isinstance(item.get("network"), dict):
            ctx.add(
                (*base, position),
                "must be a mapping with a 'network' entry.",
                "write '- network: {container_bridge: ..., ...}'",
            )
            continue
        networks.append(
            _parse_network(ctx, position, item["network"], cidrs, management_bridge, known)
        )
    _check_segment_ranges(ctx, raw or [])
    if not any(net.is_management for net in networks):
        implicit = _implicit_management(ctx, cidrs, management_bridge, known)
        if implicit is not None:
            networks.insert(0, implicit)
    return networks


def _parse_mtu(ctx: _Context, path: tuple[Any, ...], value: Any) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not MTU_MIN <= int(text) <= MTU_MAX:
        ctx.add(path, f"{value!r} is not an MTU.", "write a number between 68 and 65535, e.g. 9000")
        return None
    return int(text)


def _parse_gateway(ctx: _Context, path: tuple[Any, ...], value: Any) -> str | None:
    if value is None:
        return None
    address = parse_address(value)
    if address is None:
        ctx.add(path, f"{value!r} is not an IP address.", "write the gateway as an IP address")
        return None
    return str(address)


def _parse_routes(ctx: _Context, path: tuple[Any, ...], value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        ctx.add(
            path,
            "must be a list of {cidr, gateway} entries.",
            "write '- {cidr: 10.0.0.0/8, gateway: 172.29.236.1}'",
        )
        return []
    routes: list[dict[str, str]] = []
    for position, route in enumerate(value):
        rpath = (*path, position)
        if not isinstance(route, dict) or not route.get("cidr") or not route.get("gateway"):
            ctx.add(
                rpath,
                "needs both 'cidr' and 'gateway'.",
                "write '- {cidr: 10.0.0.0/8, gateway: 172.29.236.1}'",
            )
            continue
        try:
            network = ipaddress.ip_network(str(route["cidr"]).strip(), strict=True)
        except ValueError:
            ctx.add(
                rpath,
                f"cidr {route['cidr']!r} is not a network.",
                "write the route target as address/prefix",
            )
            continue
        gateway = parse_address(route["gateway"])
        if gateway is None:
            ctx.add(
                rpath,
                f"gateway {route['gateway']!r} is not an IP address.",
                "write the gateway as an IP address",
            )
            continue
        routes.append({"cidr": str(network), "gateway": str(gateway)})
    return routes


def _strip_container_only(
    ctx: _Context, path: tuple[Any, ...], value: dict[str, Any], components: list[str]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Container_vars as the host's variables, read the way OSA reads them.

    Container-only ``lxc_*`` settings are dropped (returned second). A variable whose value is
    a mapping holding ``limit_container_types`` applies, in OSA, only to containers whose
    component's name contains that text; here every component of the host group runs on the
    host, so the variable applies when one of them matches (without the key) and is dropped
    otherwise (returned third). A ``limit_container_types`` of container_vars itself is a plain
    variable in OSA that nothing reads; it is dropped.
    """
    result: dict[str, Any] = {}
    dropped: list[str] = []
    limited_away: list[str] = []
    for key, item in value.items():
        if key == LIMIT_KEY:
            continue
        if isinstance(key, str) and key.startswith("lxc_"):
            dropped.append(key)
            continue
        if not isinstance(item, dict) or LIMIT_KEY not in item:
            result[key] = item
            continue
        limit = item[LIMIT_KEY]
        if not isinstance(limit, str) or not limit.strip():
            ctx.add(
                (*path, "container_vars", key, LIMIT_KEY),
                f"{limit!r} is not a part of a container type name.",
                "write one text that the component names of the variable's containers contain, "
                "e.g. cinder_volume",
            )
            continue
        if any(limit in component for component in components):
            result[key] = {k: v for k, v in item.items() if k != LIMIT_KEY}
        else:
            limited_away.append(
                f"container_vars.{key} (limit_container_types {limit!r}; {path[0]} has "
                f"{', '.join(components) or 'no components'})"
            )
    return result, dropped, limited_away


def _merge_vars(
    ctx: _Context, path: tuple[Any, ...], into: dict[str, Any], new: dict[str, Any], what: str
) -> None:
    for key, value in new.items():
        if key in into and into[key] != value:
            ctx.add(
                (*path, key),
                f"sets {what} {key!r} to a different value than another group of the same host.",
                "give the host one value for it (set it in one group only, or the same everywhere)",
            )
        into[key] = value


def _parse_hosts(ctx: _Context, data: dict[str, Any], skeleton: Skeleton, config: Config) -> None:
    physical = set(skeleton.host_groups)
    for group, entries in data.items():
        if group not in physical:
            continue
        members: dict[str, None] = {}  # ordered set: hosts in the order they are listed
        config.host_groups[group] = []
        if entries is None:
            continue
        if not isinstance(entries, dict):
            ctx.add(
                (group,),
                "must be a mapping of host name: {ip: ...}.",
                "write each host as '<name>: {ip: <management address>}'",
            )
            continue
        components = skeleton.components_of(group)
        for name, entry in entries.items():
            host = _parse_host(ctx, group, name, entry, config, components)
            if host is not None:
                members[name] = None
        config.host_groups[group] = list(members)


def _host_settings(ctx: _Context, path: tuple[Any, ...], entry: dict[str, Any]) -> None:
    for key in entry:
        if key in HOST_KEYS or (isinstance(key, str) and key.startswith("lxc_")):
            continue
        hint = did_you_mean(str(key), HOST_KEYS)
        ctx.add(
            (*path, key),
            f"is not a host setting.{hint}",
            "use ip, management_ip, host_vars or container_vars (variables go under host_vars)",
        )


def _host_addresses(
    ctx: _Context, path: tuple[Any, ...], entry: dict[str, Any]
) -> tuple[IPAddress, IPAddress] | None:
    ip = parse_address(entry.get("ip"))
    if ip is None:
        raw = entry.get("ip")
        message = "is missing." if raw is None else f"{raw!r} is not an IP address."
        ctx.add((*path, "ip"), message, "set ip to the host's management (SSH) address")
        return None
    raw_management = entry.get("management_ip")
    if raw_management is None:
        return ip, ip
    management = parse_address(raw_management)
    if management is None:
        ctx.add(
            (*path, "management_ip"),
            f"{raw_management!r} is not an IP address.",
            "set management_ip to the host's address on the management network, or remove it",
        )
        return ip, ip
    return ip, management


def _host_variables(
    ctx: _Context,
    path: tuple[Any, ...],
    entry: dict[str, Any],
    config: Config,
    components: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {"host_vars": {}, "container_vars": {}}
    for key, target in found.items():
        value = entry.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            ctx.add(
                (*path, key),
                "must be a mapping of variable: value.",
                f"write {key} as 'name: value' entries",
            )
            continue
        if key == "container_vars":
            value, dropped, limited_away = _strip_container_only(ctx, path, value, components)
            for setting in dropped:
                config.container_only.setdefault(f"container_vars.{setting}", []).append(path[1])
            for setting in limited_away:
                config.limited_away.setdefault(setting, []).append(path[1])
        target.update(value)
    for key in entry:
        if key in CONTAINER_ONLY_HOST_KEYS or (isinstance(key, str) and key.startswith("lxc_")):
            config.container_only.setdefault(str(key), []).append(path[1])
    return found["host_vars"], found["container_vars"]


def _merge_host(ctx: _Context, path: tuple[Any, ...], existing: Host, new: Host) -> Host | None:
    """The same host listed again under another group: same addresses, merged variables."""
    name = new.name
    if existing.ip != new.ip:
        ctx.add(
            (*path, "ip"),
            f"host {name!r} has ip {new.ip} here but {existing.ip} under {existing.group}; one "
            "name cannot have two addresses.",
            "use the same ip for the host in every group, or give the second host its own name",
        )
        return None
    if existing.management_ip != new.management_ip:
        ctx.add(
            (*path, "management_ip"),
            f"host {name!r} has management address {new.management_ip} here but "
            f"{existing.management_ip} under {existing.group}.",
            "use the same management_ip for the host in every group",
        )
        return None
    if new.group not in existing.groups:
        existing.groups.append(new.group)
    _merge_vars(ctx, (*path, "host_vars"), existing.host_vars, new.host_vars, "host_vars")
    _merge_vars(
        ctx,
        (*path, "container_vars"),
        existing.container_vars,
        new.container_vars,
        "container_vars",
    )
    return existing


def _parse_host(  # noqa: PLR0917 - one call site, every argument is needed
    ctx: _Context, group: str, name: Any, entry: Any, config: Config, components: list[str]
) -> Host | None:
    path = (group, name)
    problem = hostname_problem(name)
    if problem is not None:
        if name not in config.invalid_names:  # once, even when listed in several groups
            config.invalid_names.add(name)
            ctx.add(path, problem + ".", hostname_fix(name))
        return None
    if not isinstance(entry, dict):
        ctx.add(
            path,
            "must be a mapping with at least 'ip'.",
            f"write '{name}: {{ip: <management address>}}'",
        )
        return None
    _host_settings(ctx, path, entry)
    addresses = _host_addresses(ctx, path, entry)
    if addresses is None:
        return None
    host_vars, container_vars = _host_variables(ctx, path, entry, config, components)
    host = Host(name, addresses[0], addresses[1], [group], host_vars, container_vars, group)
    existing = config.hosts.get(name)
    if existing is None:
        config.hosts[name] = host
        return host
    return _merge_host(ctx, path, existing, host)


def _collect_container_only(overrides: dict[str, Any], config: Config) -> None:
    for key in overrides:
        if key == "no_containers" or (isinstance(key, str) and key.startswith("lxc_")):
            config.container_only.setdefault(f"global_overrides.{key}", []).append("all hosts")
