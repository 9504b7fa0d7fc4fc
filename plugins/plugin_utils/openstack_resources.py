# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Check the day-one cloud resources an operator declares, before any API call.

The operator declares resources in four variables (the shape of OpenStack-Ansible's)::

    openstack_user_identity: {projects: [...], users: [...]}
    openstack_user_compute:  {flavors: [...]}
    openstack_user_image:    {images: [...]}
    openstack_user_network:  {networks: [... with subnets: [...]], routers: [...],
                              security_groups: [... with rules: [...]]}

Every entry has a ``name`` and ``state`` (``present``, the default, or ``absent``); the keys
each kind takes are in ``FIELDS``. ``check`` returns every problem at once, one line each,
naming the variable, the entry and the fix; ``plan`` turns checked declarations into the
flat lists the role's tasks loop over (defaults filled in, absent entries in reverse
dependency order).

No Ansible imports: the action plugin ``nimbus.cloud.openstack_resources_check`` gathers the
values and tells whether an image file exists on the deployment host.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

VARIABLES = {
    "openstack_user_identity": ("projects", "users"),
    "openstack_user_compute": ("flavors",),
    "openstack_user_image": ("images",),
    "openstack_user_network": ("networks", "routers", "security_groups"),
}
# Which API each kind needs (catalog type of the service that must be deployed).
NEEDS = {
    "projects": "identity",
    "users": "identity",
    "flavors": "compute",
    "images": "image",
    "networks": "network",
    "routers": "network",
    "security_groups": "network",
}
FIELDS: dict[str, dict[str, Any]] = {
    "projects": {
        "name": None,
        "state": "present",
        "description": "",
        "domain": "Default",
        "enabled": True,
        "quotas": {},
    },
    "users": {
        "name": None,
        "state": "present",
        "password": None,
        "domain": "Default",
        "default_project": None,
        "email": None,
        "description": "",
        "enabled": True,
        "roles": [],
    },
    "flavors": {
        "name": None,
        "state": "present",
        "vcpus": None,
        "ram": None,
        "disk": 0,
        "ephemeral": 0,
        "swap": 0,
        "is_public": True,
        "id": None,
        "extra_specs": {},
    },
    "images": {
        "name": None,
        "state": "present",
        "file": None,
        "url": None,
        "disk_format": "qcow2",
        "container_format": "bare",
        "visibility": "public",
        "min_disk": 0,
        "min_ram": 0,
        "project": None,
        "properties": {},
    },
    "networks": {
        "name": None,
        "state": "present",
        "project": None,
        "shared": False,
        "external": False,
        "provider_network_type": None,
        "provider_physical_network": None,
        "provider_segmentation_id": None,
        "mtu": None,
        "port_security_enabled": True,
        "subnets": [],
    },
    "subnets": {
        "name": None,
        "state": "present",
        "cidr": None,
        "ip_version": None,
        "gateway_ip": None,
        "no_gateway": False,
        "allocation_pools": [],
        "enable_dhcp": True,
        "dns_nameservers": [],
    },
    "routers": {
        "name": None,
        "state": "present",
        "project": None,
        "external_gateway": None,
        "enable_snat": True,
        "interfaces": [],
    },
    "security_groups": {
        "name": None,
        "state": "present",
        "project": None,
        "description": "",
        "rules": [],
    },
    "rules": {
        "direction": "ingress",
        "ethertype": None,
        "protocol": None,
        "port_range_min": None,
        "port_range_max": None,
        "remote_ip_prefix": None,
        "remote_group": None,
    },
}
STATES = ("present", "absent")
DISK_FORMATS = ("qcow2", "raw", "vmdk", "vdi", "iso", "vhd", "vhdx", "ploop", "ami", "ari", "aki")
CONTAINER_FORMATS = ("bare", "ovf", "ova", "aki", "ari", "ami", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
NETWORK_TYPES = ("flat", "vlan", "geneve", "vxlan")
PROTOCOLS = ("tcp", "udp", "icmp", "icmpv6", "sctp", "any")
MAX_PROTOCOL = 255  # an IP protocol number
MAX_PORT = 65535
# MTU bounds Neutron could take: IPv4's minimum, and the largest jumbo frame.
MTU_RANGE = (68, 9216)
# Projects Keystone has without being declared (the bootstrap's admin and the service project).
BUILTIN_PROJECTS = ("admin", "service")
BUILTIN_ROLES = ("admin", "member", "reader", "manager", "service")


class _Problems:
    """Collects one line per problem, each naming where the bad value is; knows the projects."""

    def __init__(self, fix: Callable[[str], str]) -> None:
        self.lines: list[str] = []
        self._fix = fix
        self.projects: set[str] = set(BUILTIN_PROJECTS)  # declared present, or built in
        self.gone: set[str] = set()  # declared absent

    def add(self, variable: str, where: str, text: str) -> None:
        self.lines.append(f"{variable}{where}: {text}; {self._fix(variable)}")


# Entries of a kind that are mappings, with their index in the operator's list.
Indexed = list[tuple[int, Mapping[str, Any]]]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entries(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _label(kind: str, index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return f".{kind}[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")


def _present(entry: Mapping[str, Any]) -> bool:
    return entry.get("state", "present") == "present"


def _unknown_keys(
    problems: _Problems, variable: str, where: str, entry: Mapping[str, Any], kind: str
) -> None:
    known = FIELDS[kind]
    for key in entry:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            allowed = ", ".join(known)
            problems.add(variable, where, f"unknown key {key!r}{hint}; allowed: {allowed}")


def _entry_basics(
    problems: _Problems, variable: str, kind: str, index: int, entry: Any, *, parent: str = ""
) -> Mapping[str, Any] | None:
    where = parent + _label(kind, index, entry)
    if not isinstance(entry, Mapping):
        problems.add(variable, where, f"must be a mapping with a name; got {entry!r}")
        return None
    _unknown_keys(problems, variable, where, entry, kind)
    name = entry.get("name")
    if kind != "rules" and (not isinstance(name, str) or not name.strip()):
        problems.add(variable, where, "needs a name (a non-empty string)")
    if entry.get("state", "present") not in STATES:
        problems.add(variable, where, f"state must be present or absent; got {entry['state']!r}")
    return entry


def _check_mapping(problems: _Problems, variable: str, where: str, key: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        problems.add(variable, where, f"{key} must be a mapping; got {value!r}")


def _check_nonnegative(
    problems: _Problems, variable: str, where: str, entry: Mapping[str, Any], keys: Iterable[str]
) -> None:
    for key in keys:
        if key in entry and (not _is_int(entry[key]) or entry[key] < 0):
            problems.add(variable, where, f"{key} must be an integer >= 0; got {entry[key]!r}")


def _check_duplicates(
    problems: _Problems, variable: str, kind: str, entries: list[Mapping[str, Any]]
) -> None:
    seen: set[tuple[Any, Any]] = set()
    for entry in entries:
        key = (entry.get("project"), entry.get("name"))
        if key in seen:
            problems.add(variable, f".{kind}", f"{entry.get('name')!r} is declared twice")
        seen.add(key)


def _check_projects(problems: _Problems, entries: Indexed) -> None:
    variable = "openstack_user_identity"
    for index, entry in entries:
        where = _label("projects", index, entry)
        quotas = entry.get("quotas", {})
        _check_mapping(problems, variable, where, "quotas", quotas)
        if isinstance(quotas, Mapping):
            for name, value in quotas.items():
                if not _is_int(value) or value < -1:
                    problems.add(
                        variable,
                        where,
                        f"quota {name} must be an integer >= -1 (-1: unlimited); got {value!r}",
                    )


def _check_users(problems: _Problems, entries: Indexed) -> None:
    variable = "openstack_user_identity"
    for index, entry in entries:
        if not _present(entry):
            continue
        where = _label("users", index, entry)
        password = entry.get("password")
        if not isinstance(password, str) or not password:
            problems.add(
                variable, where, "needs a password (a non-empty string, e.g. from a vault)"
            )
        default_project = entry.get("default_project")
        if default_project is not None:
            _check_project_ref(problems, variable, where, "default_project", default_project)
        roles = entry.get("roles", [])
        if not isinstance(roles, list):
            problems.add(
                variable, where, f"roles must be a list of {{project, role}}; got {roles!r}"
            )
            continue
        for grant in roles:
            if not isinstance(grant, Mapping) or set(grant) != {"project", "role"}:
                problems.add(
                    variable, where, f"each of roles must be {{project: P, role: R}}; got {grant!r}"
                )
                continue
            _check_project_ref(problems, variable, where, "roles", grant["project"])
            if not isinstance(grant["role"], str) or not grant["role"]:
                problems.add(
                    variable, where, f"a role name must be a string; got {grant['role']!r}"
                )


def _check_project_ref(
    problems: _Problems, variable: str, where: str, key: str, project: Any
) -> None:
    projects, gone = problems.projects, problems.gone
    if project in gone:
        problems.add(
            variable,
            where,
            f"{key} names project {project!r}, which is declared absent; keep the project or "
            "remove the reference",
        )
    elif project not in projects:
        known = ", ".join(sorted(projects))
        problems.add(
            variable,
            where,
            f"{key} names project {project!r}, which is not declared in "
            f"openstack_user_identity.projects (known: {known}); declare it there",
        )


def _check_flavors(problems: _Problems, entries: Indexed) -> None:
    variable = "openstack_user_compute"
    for index, entry in entries:
        if not _present(entry):
            continue
        where = _label("flavors", index, entry)
        for key, unit in (("vcpus", "CPUs"), ("ram", "MiB")):
            value = entry.get(key)
            if not _is_int(value) or value <= 0:
                problems.add(
                    variable, where, f"{key} must be a positive integer ({unit}); got {value!r}"
                )
        _check_nonnegative(problems, variable, where, entry, ("disk", "ephemeral", "swap"))
        specs = entry.get("extra_specs", {})
        _check_mapping(problems, variable, where, "extra_specs", specs)


def _check_images(
    problems: _Problems,
    entries: Indexed,
    file_exists: Callable[[str], bool],
) -> None:
    variable = "openstack_user_image"
    for index, entry in entries:
        if not _present(entry):
            continue
        where = _label("images", index, entry)
        source = [key for key in ("file", "url") if entry.get(key)]
        if len(source) != 1:
            problems.add(
                variable, where, "needs exactly one of file (a path on the deployment host) or url"
            )
        elif source == ["file"] and not file_exists(str(entry["file"])):
            problems.add(
                variable,
                where,
                f"file {entry['file']} does not exist on the deployment host; build or copy it "
                "there (the test image: scripts/build-test-image), or fix the path",
            )
        elif source == ["url"] and not str(entry["url"]).startswith(("http://", "https://")):
            problems.add(variable, where, f"url must be http(s); got {entry['url']!r}")
        for key, allowed in (
            ("disk_format", DISK_FORMATS),
            ("container_format", CONTAINER_FORMATS),
            ("visibility", VISIBILITIES),
        ):
            if key in entry and entry[key] not in allowed:
                problems.add(
                    variable,
                    where,
                    f"{key} must be one of {', '.join(allowed)}; got {entry[key]!r}",
                )
        _check_nonnegative(problems, variable, where, entry, ("min_disk", "min_ram"))
        _check_mapping(problems, variable, where, "properties", entry.get("properties", {}))
        if entry.get("project") is not None:
            _check_project_ref(problems, variable, where, "project", entry["project"])


def _network(text: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(text), strict=True)
    except ValueError:
        return None


def _address(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def _check_segment(
    problems: _Problems, variable: str, where: str, entry: Mapping[str, Any]
) -> None:
    kind = entry.get("provider_network_type")
    physnet = entry.get("provider_physical_network")
    segment = entry.get("provider_segmentation_id")
    if kind is None:
        if physnet is not None or segment is not None:
            problems.add(variable, where, "provider_* keys need provider_network_type")
        return
    if kind not in NETWORK_TYPES:
        problems.add(
            variable,
            where,
            f"provider_network_type must be one of {', '.join(NETWORK_TYPES)}; got {kind!r}",
        )
        return
    if kind in ("flat", "vlan") and not physnet:
        problems.add(
            variable,
            where,
            f"a {kind} network needs provider_physical_network (a physnet of provider_networks)",
        )
    if kind in ("geneve", "vxlan") and physnet:
        problems.add(variable, where, f"a {kind} network takes no provider_physical_network")
    if kind == "flat" and segment is not None:
        problems.add(variable, where, "a flat network takes no provider_segmentation_id")
    limits = {"vlan": 4094, "geneve": 16777215, "vxlan": 16777215}
    if (
        kind in limits
        and segment is not None
        and (not _is_int(segment) or not 1 <= segment <= limits[kind])
    ):
        problems.add(
            variable,
            where,
            f"provider_segmentation_id of a {kind} network must be 1-{limits[kind]}; "
            f"got {segment!r}",
        )
    if kind == "vlan" and segment is None:
        problems.add(variable, where, "a vlan network needs provider_segmentation_id (1-4094)")


def _check_mtu(problems: _Problems, variable: str, where: str, mtu: Any) -> None:
    low, high = MTU_RANGE
    if mtu is not None and (not _is_int(mtu) or not low <= mtu <= high):
        problems.add(variable, where, f"mtu must be an integer {low}-{high} (bytes); got {mtu!r}")


def _check_subnet(
    problems: _Problems, variable: str, where: str, subnet: Mapping[str, Any]
) -> None:
    cidr = _network(subnet.get("cidr"))
    if cidr is None:
        problems.add(
            variable,
            where,
            f"cidr must be a network address/prefix such as 10.0.0.0/24; "
            f"got {subnet.get('cidr')!r}",
        )
        return
    if subnet.get("ip_version") not in (None, cidr.version):
        problems.add(
            variable, where, f"ip_version {subnet['ip_version']!r} does not match cidr {cidr}"
        )
    gateway = None
    if subnet.get("gateway_ip") is not None:
        gateway = _address(subnet["gateway_ip"])
        if (
            gateway is None
            or gateway not in cidr
            or gateway in (cidr.network_address, cidr.broadcast_address)
        ):
            problems.add(
                variable,
                where,
                f"gateway_ip {subnet['gateway_ip']!r} is not a host address of {cidr}",
            )
            gateway = None
        if subnet.get("no_gateway"):
            problems.add(variable, where, "gateway_ip and no_gateway: true contradict each other")
    _check_pools(problems, variable, where, subnet, gateway)
    servers = subnet.get("dns_nameservers", [])
    for server in servers if isinstance(servers, list) else [servers]:
        if _address(server) is None:
            problems.add(variable, where, f"dns_nameservers: {server!r} is not an IP address")


def _check_pools(
    problems: _Problems, variable: str, where: str, subnet: Mapping[str, Any], gateway: Any
) -> None:
    cidr = ipaddress.ip_network(str(subnet["cidr"]))
    ranges: list[tuple[Any, Any]] = []
    pools = subnet.get("allocation_pools", [])
    for pool in pools if isinstance(pools, list) else [pools]:
        if not isinstance(pool, Mapping) or set(pool) != {"start", "end"}:
            problems.add(
                variable, where, f"each of allocation_pools must be {{start, end}}; got {pool!r}"
            )
            continue
        start, end = _address(pool["start"]), _address(pool["end"])
        if start is None or end is None or start not in cidr or end not in cidr:
            problems.add(
                variable,
                where,
                f"allocation pool {pool['start']}-{pool['end']} is not inside {cidr}",
            )
            continue
        if start > end:
            problems.add(variable, where, f"allocation pool {start}-{end} ends before it starts")
            continue
        if gateway is not None and start <= gateway <= end:
            problems.add(
                variable, where, f"allocation pool {start}-{end} contains the gateway {gateway}"
            )
        for other_start, other_end in ranges:
            if start <= other_end and other_start <= end:
                problems.add(
                    variable,
                    where,
                    f"allocation pools {other_start}-{other_end} and {start}-{end} overlap",
                )
        ranges.append((start, end))


def _check_networks(problems: _Problems, entries: Indexed) -> dict[str, dict[str, Any]]:
    """Returns subnet name -> {network, present, cidr} for the routers' checks."""
    variable = "openstack_user_network"
    subnets: dict[str, dict[str, Any]] = {}
    for index, entry in entries:
        where = _label("networks", index, entry)
        if entry.get("project") is not None and _present(entry):
            _check_project_ref(problems, variable, where, "project", entry["project"])
        if _present(entry):
            _check_segment(problems, variable, where, entry)
            _check_mtu(problems, variable, where, entry.get("mtu"))
        for sub_index, subnet in enumerate(_entries(entry.get("subnets", []))):
            sub_where = where + _label("subnets", sub_index, subnet)
            checked = _entry_basics(problems, variable, "subnets", sub_index, subnet, parent=where)
            if checked is None:
                continue
            name = checked.get("name")
            if name in subnets:
                problems.add(
                    variable,
                    sub_where,
                    f"subnet {name!r} is declared twice (subnet names are unique)",
                )
            present = _present(entry) and _present(checked)
            subnets[str(name)] = {"network": entry.get("name"), "present": present}
            if present:
                _check_subnet(problems, variable, sub_where, checked)
        if not isinstance(entry.get("subnets", []), list):
            problems.add(variable, where, f"subnets must be a list; got {entry['subnets']!r}")
    return subnets


def _check_routers(
    problems: _Problems,
    entries: Indexed,
    networks: Indexed,
    subnets: Mapping[str, Mapping[str, Any]],
) -> None:
    variable = "openstack_user_network"
    by_name = {entry.get("name"): entry for _index, entry in networks}
    for index, entry in entries:
        if not _present(entry):
            continue
        where = _label("routers", index, entry)
        if entry.get("project") is not None:
            _check_project_ref(problems, variable, where, "project", entry["project"])
        gateway = entry.get("external_gateway")
        if gateway is not None:
            network = by_name.get(gateway)
            if network is None:
                known = ", ".join(str(name) for name in by_name) or "none"
                problems.add(
                    variable,
                    where,
                    f"external_gateway names network {gateway!r}, which is not declared in "
                    f"openstack_user_network.networks (declared: {known}); declare it there",
                )
            elif not _present(network):
                problems.add(
                    variable,
                    where,
                    f"external_gateway names network {gateway!r}, which is declared absent",
                )
            elif not network.get("external"):
                problems.add(
                    variable,
                    where,
                    f"external_gateway names network {gateway!r}, which is not external: true",
                )
        interfaces = entry.get("interfaces", [])
        for subnet in interfaces if isinstance(interfaces, list) else [interfaces]:
            found = subnets.get(str(subnet))
            if found is None:
                problems.add(
                    variable,
                    where,
                    f"interfaces names subnet {subnet!r}, which no network of "
                    "openstack_user_network declares",
                )
            elif not found["present"]:
                problems.add(
                    variable, where, f"interfaces names subnet {subnet!r}, which is declared absent"
                )


def _check_rule(problems: _Problems, variable: str, where: str, rule: Mapping[str, Any]) -> None:
    if rule.get("direction", "ingress") not in ("ingress", "egress"):
        problems.add(
            variable, where, f"direction must be ingress or egress; got {rule['direction']!r}"
        )
    protocol = rule.get("protocol")
    if (
        protocol is not None
        and protocol not in PROTOCOLS
        and not (_is_int(protocol) and 0 <= protocol <= MAX_PROTOCOL)
    ):
        problems.add(
            variable,
            where,
            f"protocol must be one of {', '.join(PROTOCOLS)} or 0-255; got {protocol!r}",
        )
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if low is not None or high is not None:
        if protocol not in ("tcp", "udp", "sctp", "icmp", "icmpv6"):
            problems.add(
                variable, where, "port_range_min/max need protocol tcp, udp, sctp, icmp or icmpv6"
            )
        for value in (low, high):
            if value is not None and (not _is_int(value) or not 0 <= value <= MAX_PORT):
                problems.add(variable, where, f"a port must be 0-65535; got {value!r}")
        if _is_int(low) and _is_int(high) and low > high:
            problems.add(variable, where, f"port_range_min {low} is above port_range_max {high}")
    prefix = rule.get("remote_ip_prefix")
    if prefix is not None:
        network = None
        try:
            network = ipaddress.ip_network(str(prefix), strict=False)
        except ValueError:
            problems.add(
                variable,
                where,
                f"remote_ip_prefix must be a CIDR such as 0.0.0.0/0; got {prefix!r}",
            )
        ethertype = rule.get("ethertype")
        if network is not None and ethertype is not None and ethertype != f"IPv{network.version}":
            problems.add(variable, where, f"remote_ip_prefix {prefix} is not {ethertype}")
    if rule.get("ethertype") not in (None, "IPv4", "IPv6"):
        problems.add(variable, where, f"ethertype must be IPv4 or IPv6; got {rule['ethertype']!r}")
    if prefix is not None and rule.get("remote_group") is not None:
        problems.add(variable, where, "remote_ip_prefix and remote_group exclude each other")


def _check_security_groups(problems: _Problems, entries: Indexed) -> None:
    variable = "openstack_user_network"
    for index, entry in entries:
        if not _present(entry):
            continue
        where = _label("security_groups", index, entry)
        if entry.get("project") is not None:
            _check_project_ref(problems, variable, where, "project", entry["project"])
        rules = entry.get("rules", [])
        if not isinstance(rules, list):
            problems.add(variable, where, f"rules must be a list; got {rules!r}")
            continue
        for rule_index, rule in enumerate(rules):
            rule_where = f"{where}.rules[{rule_index}]"
            if not isinstance(rule, Mapping):
                problems.add(variable, rule_where, f"must be a mapping; got {rule!r}")
                continue
            for key in rule:
                if key not in FIELDS["rules"]:
                    close = difflib.get_close_matches(str(key), list(FIELDS["rules"]), n=1)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    problems.add(variable, rule_where, f"unknown key {key!r}{hint}")
            _check_rule(problems, variable, rule_where, rule)


def _kind_entries(problems: _Problems, values: Mapping[str, Any]) -> dict[str, Indexed]:
    found: dict[str, Indexed] = {}
    for variable, kinds in VARIABLES.items():
        value = values.get(variable) or {}
        if not isinstance(value, Mapping):
            problems.add(
                variable, "", f"must be a mapping of {', '.join(kinds)} to lists; got {value!r}"
            )
            value = {}
        for key in value:
            if key not in kinds:
                close = difflib.get_close_matches(str(key), list(kinds), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.add(
                    variable, "", f"unknown key {key!r}{hint}; allowed: {', '.join(kinds)}"
                )
        for kind in kinds:
            entries = value.get(kind) or []
            if not isinstance(entries, list):
                problems.add(variable, f".{kind}", f"must be a list; got {entries!r}")
                entries = []
            checked = [
                (index, entry)
                for index, entry in enumerate(entries)
                if _entry_basics(problems, variable, kind, index, entry) is not None
            ]
            _check_duplicates(problems, variable, kind, [entry for _index, entry in checked])
            found[kind] = checked
    return found


def check(
    values: Mapping[str, Any],
    *,
    file_exists: Callable[[str], bool],
    services: Iterable[str],
    fix: Callable[[str], str] = lambda variable: f"fix {variable} in user_variables.yml",
) -> list[str]:
    """Every problem of the declared resources, one line each (empty: all good).

    ``services``: catalog types of the services deployed (a kind whose service is missing
    cannot be created). ``fix(variable)``: where the operator changes a variable.
    """
    problems = _Problems(fix)
    found = _kind_entries(problems, values)
    deployed = set(services)
    for kind, entries in found.items():
        if entries and NEEDS[kind] not in deployed:
            variable = next(name for name, kinds in VARIABLES.items() if kind in kinds)
            problems.add(
                variable,
                f".{kind}",
                f"declares {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} but no "
                f"{NEEDS[kind]} service is deployed; deploy it first or remove them",
            )
    declared = {str(entry.get("name")): _present(entry) for _index, entry in found["projects"]}
    problems.projects |= {name for name, present in declared.items() if present}
    problems.gone = {name for name, present in declared.items() if not present}
    _check_projects(problems, found["projects"])
    _check_users(problems, found["users"])
    _check_flavors(problems, found["flavors"])
    _check_images(problems, found["images"], file_exists)
    subnets = _check_networks(problems, found["networks"])
    _check_routers(problems, found["routers"], found["networks"], subnets)
    _check_security_groups(problems, found["security_groups"])
    return problems.lines


def _filled(kind: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: entry.get(key, default) for key, default in FIELDS[kind].items()}


def plan(values: Mapping[str, Any]) -> dict[str, Any]:
    """The role's work lists from checked declarations: every entry with all its keys.

    ``present``: kind -> entries to create or update, in dependency order (subnets carry
    their network's name and project; grants are {user, domain, project, role}).
    ``absent``: kind -> entries to delete, to be processed in the order of ``absent_order``.
    Users come without their password (the plan may be printed).
    """
    present: dict[str, list[dict[str, Any]]] = {}
    absent: dict[str, list[dict[str, Any]]] = {}
    for variable, kinds in VARIABLES.items():
        value = values.get(variable) or {}
        for kind in kinds:
            entries = [_filled(kind, entry) for entry in value.get(kind) or []]
            present[kind] = [entry for entry in entries if entry["state"] == "present"]
            absent[kind] = [entry for entry in entries if entry["state"] == "absent"]
    present["subnets"], absent["subnets"] = [], []
    for network in present["networks"] + absent["networks"]:
        for subnet in network.pop("subnets"):
            filled = {
                **_filled("subnets", subnet),
                "network": network["name"],
                "project": network["project"],
            }
            gone = network["state"] == "absent" or filled["state"] == "absent"
            (absent if gone else present)["subnets"].append(filled)
    for user in present["users"] + absent["users"]:
        # The plan is printed with -v: the tasks read passwords from the declaration itself.
        user.pop("password")
    present["grants"] = [
        {"user": user["name"], "domain": user["domain"], **grant}
        for user in present["users"]
        for grant in user["roles"]
    ]
    for kind in ("security_groups",):
        for group in present[kind]:
            group["rules"] = [_filled("rules", rule) for rule in group["rules"]]
    return {
        "present": present,
        "absent": absent,
        "absent_order": [
            "routers",
            "subnets",
            "networks",
            "security_groups",
            "images",
            "flavors",
            "users",
            "projects",
        ],
    }
