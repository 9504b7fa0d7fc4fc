"""What neutron leaves on a host (Molecule scenario neutron; the same module checks every host
of neutron_server and neutron_ovn_controller of a deployment).

Each host is checked for the units of its groups: the API under uWSGI and its two workers on
the neutron_server hosts, the OVN metadata agent on every chassis (neutron_ovn_controller); the
lab host of the scenario is both. The functional probes ask the Networking API on the host's
management address (or the first server's, on a chassis that runs none): its version document
answers without a token and the networks refuse a request without one; with a token Keystone
issues to the admin (the shared ``admin_password`` fixture: read on the deployment host, never
part of an assertion or a message) a network, a subnet and a router with an interface on it
reach OVN's northbound database (``ovn-nbctl`` over mutual TLS on the first central host, as
the ovn suite runs it) and leave it when deleted; the network agents list the chassis' OVN
controller and metadata agent, alive and up.
"""

from __future__ import annotations

import configparser
import json
import urllib.error
import urllib.request
import uuid

import pytest

testinfra_hosts = ["neutron_server", "neutron_ovn_controller"]

SERVER = "neutron_server"
CHASSIS = "neutron_ovn_controller"
NORTHD = "neutron_ovn_northd"
API_PORT = 9696
# Each unit and the group whose hosts run it.
UNITS = {
    "neutron-api.service": SERVER,
    "neutron-ovn-maintenance-worker.service": SERVER,
    "neutron-periodic-workers.service": SERVER,
    "neutron-ovn-metadata-agent.service": CHASSIS,
}
AGENT_UNIT = "neutron-ovn-metadata-agent.service"
# What each unit reads when it starts, besides its unit file.
SERVER_READS = [
    "/etc/neutron/neutron.conf",
    "/etc/neutron/plugins/ml2/ml2_conf.ini",
    "/etc/neutron/neutron.conf.d/secrets.conf",
    "/etc/neutron/ovn-client.key",
]
READS = {
    "neutron-api.service": [
        *SERVER_READS,
        "/etc/neutron/policy.yaml",
        "/etc/neutron/neutron-api-uwsgi.ini",
        "/etc/nimbus/uwsgi-tls/neutron-api.pem",
        "/etc/nimbus/uwsgi-tls/neutron-api.key",
    ],
    "neutron-ovn-maintenance-worker.service": SERVER_READS,
    "neutron-periodic-workers.service": SERVER_READS,
    AGENT_UNIT: [
        "/etc/neutron/neutron.conf",
        "/etc/neutron/neutron_ovn_metadata_agent.ini",
        "/etc/neutron/neutron_ovn_metadata_agent.conf.d/secrets.conf",
        "/etc/neutron/ovn-client.key",
    ],
}
# The host's certificate from the pki role (ovn_ssl_*), as the ovn suite's clients use it.
OVN_TLS = (
    "--private-key=/etc/nimbus/pki/server.key --certificate=/etc/nimbus/pki/server.pem "
    "--ca-cert=/etc/nimbus/pki/ca.pem"
)
NB_PORT = 6641
SECRET = ("root", "neutron", 0o640)
CONF_DIR = ("root", "neutron", 0o750)


def call(
    url: str, token: str | None = None, method: str = "GET", body: dict | None = None
) -> tuple[int, dict]:
    """(status, JSON body) of a request; errors are answers too."""
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=60) as reply:  # noqa: S310 (http to a lab host)
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, {}


def in_group(host, group: str) -> bool:
    return group in host.ansible.get_variables()["group_names"]


def needs_group(host, group: str) -> None:
    if not in_group(host, group):
        pytest.skip(f"not a host of {group}")


def group_hosts(host, group: str) -> list[str]:
    return host.ansible.get_variables()["groups"].get(group, [])


def address_of(host, name: str) -> str:
    return host.backend.ansible_runner.get_variables(name)["ansible_host"]


@pytest.fixture
def network_api(host, management_address) -> str:
    """The Networking API of this host, or of the first server host when this one runs none."""
    if in_group(host, SERVER):
        return f"https://{management_address}:{API_PORT}"
    return f"https://{address_of(host, group_hosts(host, SERVER)[0])}:{API_PORT}"


@pytest.fixture
def nbctl(host):
    """``nbctl(args)``: ovn-nbctl over mutual TLS on the first central host, against every NB
    server of the deployment (its output)."""
    central = group_hosts(host, NORTHD)
    remote = ",".join(f"ssl:{address_of(host, name)}:{NB_PORT}" for name in central)
    northd = host.backend.ansible_runner.get_host(central[0])
    return lambda args: northd.check_output(
        f"ovn-nbctl --db={remote} {OVN_TLS} --timeout=60 {args}"
    )


@pytest.mark.parametrize(("unit", "group"), UNITS.items())
def test_unit_running_and_enabled(host, unit, group):
    needs_group(host, group)
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


def test_listens_on_the_management_address_only(host, listeners, management_address):
    needs_group(host, SERVER)
    assert listeners("tcp", API_PORT) == {f"{management_address}:{API_PORT}"}


@pytest.mark.parametrize("unit", [u for u, g in UNITS.items() if g == SERVER])
def test_runs_as_neutron_in_its_sandbox(host, process_sandbox, unit_properties, unit):
    """The API and its workers: user neutron, no capability, no new privileges, a system-call
    filter (systemd_service's default sandbox, as the kernel applies it)."""
    needs_group(host, SERVER)
    assert unit_properties(unit, "MainPID")["MainPID"] != "0", f"{unit} has no main process"
    assert process_sandbox(unit) == ("neutron", 0, "1", "2")


# The capabilities the metadata agent keeps (linux/capability.h): its network namespaces and
# their mounts, interfaces, files of other users, privsep's, and for each network's haproxy
# port 80, its user and its stop.
AGENT_CAPABILITIES = {
    "cap_chown": 0,
    "cap_dac_override": 1,
    "cap_dac_read_search": 2,
    "cap_fowner": 3,
    "cap_kill": 5,
    "cap_setgid": 6,
    "cap_setuid": 7,
    "cap_net_bind_service": 10,
    "cap_net_admin": 12,
    "cap_sys_ptrace": 19,
    "cap_sys_admin": 21,
}
AGENT_HELD = {
    # No mount namespace of its own: the network namespaces it makes are mounts the host sees.
    "ProtectSystem": "no",
    "ProtectHome": "no",
    "PrivateTmp": "no",
    "PrivateDevices": "no",
    # What works without one.
    "NoNewPrivileges": "yes",
    "RestrictNamespaces": "net mnt",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_UNIX",
    "RestrictSUIDSGID": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "SystemCallArchitectures": "native",
    "RestrictRealtime": "yes",
    "LockPersonality": "yes",
}


def test_metadata_agent_runs_in_its_documented_sandbox(host, process_sandbox, unit_properties):
    """The metadata agent's sandbox (README, "Service sandboxing"): root in the host's mount
    namespace, but no new privileges, the eleven capabilities it needs and a system-call deny
    list, as systemd holds the unit and as the kernel applies it to the agent."""
    needs_group(host, CHASSIS)
    user, capabilities, no_new_privs, seccomp = process_sandbox(AGENT_UNIT)
    expected = sum(1 << bit for bit in AGENT_CAPABILITIES.values())
    assert (user, capabilities, no_new_privs, seccomp) == ("root", expected, "1", "2"), (
        f"{user}, CapBnd {capabilities:#x} (wanted {expected:#x}), NoNewPrivs {no_new_privs}"
    )
    held = unit_properties(AGENT_UNIT, "CapabilityBoundingSet", "SystemCallFilter")
    assert set(held["CapabilityBoundingSet"].split()) == set(AGENT_CAPABILITIES)
    assert held["SystemCallFilter"].startswith("~") and "reboot" in held["SystemCallFilter"]
    assert unit_properties(AGENT_UNIT, *AGENT_HELD) == AGENT_HELD


@pytest.mark.parametrize(
    ("path", "group", "expected"),
    [
        ("/etc/neutron", SERVER, CONF_DIR),
        ("/etc/neutron", CHASSIS, CONF_DIR),
        ("/etc/neutron/neutron.conf", SERVER, SECRET),
        ("/etc/neutron/neutron.conf", CHASSIS, SECRET),
        ("/etc/neutron/ovn-client.key", SERVER, SECRET),
        ("/etc/neutron/ovn-client.key", CHASSIS, SECRET),
        ("/etc/neutron/neutron.conf.d", SERVER, CONF_DIR),
        ("/etc/neutron/neutron.conf.d/secrets.conf", SERVER, SECRET),
        ("/etc/neutron/plugins/ml2", SERVER, CONF_DIR),
        ("/etc/neutron/plugins/ml2/ml2_conf.ini", SERVER, SECRET),
        ("/etc/neutron/neutron-api-uwsgi.ini", SERVER, SECRET),
        # No policy overrides: no file, the code's defaults apply.
        ("/etc/neutron/policy.yaml", SERVER, None),
        ("/etc/neutron/neutron_ovn_metadata_agent.ini", CHASSIS, SECRET),
        ("/etc/neutron/neutron_ovn_metadata_agent.conf.d", CHASSIS, CONF_DIR),
        ("/etc/neutron/neutron_ovn_metadata_agent.conf.d/secrets.conf", CHASSIS, SECRET),
        ("/var/lib/neutron", SERVER, ("neutron", "neutron", 0o750)),
        ("/var/lib/neutron", CHASSIS, ("neutron", "neutron", 0o750)),
        ("/var/lib/neutron/lock", SERVER, ("neutron", "neutron", 0o750)),
    ]
    + [
        (f"/etc/systemd/system/{unit}", grp, ("root", "root", 0o644)) for unit, grp in UNITS.items()
    ],
)
def test_file_owner_and_mode(host, owner_and_mode, path, group, expected):
    needs_group(host, group)
    assert owner_and_mode(path) == expected


def test_ml2_uses_the_current_option_names(host):
    """The ML2 types are written under the names Neutron 29 reads without a deprecation
    warning (``project_network_types``, not ``tenant_network_types``)."""
    needs_group(host, SERVER)
    ml2 = configparser.ConfigParser(interpolation=None)
    ml2.read_string(host.file("/etc/neutron/plugins/ml2/ml2_conf.ini").content_string)
    assert ml2.get("ml2", "project_network_types", fallback="")
    assert not ml2.has_option("ml2", "tenant_network_types")


@pytest.mark.parametrize(("unit", "group"), UNITS.items())
def test_runs_the_configuration_on_disk(host, files_newer_than, unit, group):
    """No file the unit reads changed after it started (a restart owed, also by a lost run)."""
    needs_group(host, group)
    assert files_newer_than(unit, [f"/etc/systemd/system/{unit}", *READS[unit]]) == []


def test_no_failed_writes(host, no_failed_writes):
    needs_group(host, SERVER)
    no_failed_writes("neutron-api.service")


def test_no_restart_owed(host):
    owed = [
        unit
        for unit, group in UNITS.items()
        if in_group(host, group) and host.file(f"/var/lib/nimbus/restart-owed/{unit}").exists
    ]
    assert owed == []


def test_versions_answer_without_a_token(network_api):
    status, body = call(f"{network_api}/")
    assert status == 200
    assert {v["id"]: v["status"] for v in body["versions"]}["v2.0"] == "CURRENT"


def test_networks_need_a_token(network_api):
    status, _body = call(f"{network_api}/v2.0/networks")
    assert status == 401


@pytest.mark.parametrize(
    ("kind", "group"),
    [
        ("OVN Controller", CHASSIS),
        ("OVN Controller", "neutron_ovn_gateway"),
        ("OVN Metadata", CHASSIS),
    ],
)
def test_chassis_agents_alive(host, network_api, admin_token, kind, group):
    """The network agents list this chassis' OVN controller (a gateway's too) and its metadata
    agent, alive and up (an agent's host is the chassis' host name, the inventory's)."""
    needs_group(host, group)
    status, body = call(f"{network_api}/v2.0/agents", admin_token)
    assert status == 200
    name = host.ansible.get_variables()["inventory_hostname"]
    mine = [
        (a["agent_type"], a["alive"], a["admin_state_up"])
        for a in body["agents"]
        if a["host"].split(".")[0] == name and a["agent_type"].startswith(kind)
    ]
    assert len(mine) == 1, body["agents"]
    assert mine[0][1:] == (True, True), mine


def test_network_subnet_and_router_reach_ovn_and_leave_it(host, network_api, admin_token, nbctl):
    """A network, a subnet and a router with an interface on it, made through the API, are a
    logical switch (with the subnet's DHCP options) and a logical router (with the interface's
    port) in OVN's northbound database; once deleted through the API, they are gone from it.
    Made once, from the first server host."""
    if host.ansible.get_variables()["inventory_hostname"] != group_hosts(host, SERVER)[0]:
        pytest.skip("probed once, from the first neutron_server host")
    name = f"nimbus-molecule-{uuid.uuid4().hex[:8]}"
    made: list[tuple[str, str]] = []  # (collection, id), deleted in reverse
    interface = None
    try:
        status, body = call(
            f"{network_api}/v2.0/networks", admin_token, "POST", {"network": {"name": name}}
        )
        assert status == 201, status
        network = body["network"]["id"]
        made.append(("networks", network))
        status, body = call(
            f"{network_api}/v2.0/subnets",
            admin_token,
            "POST",
            {
                "subnet": {
                    "name": name,
                    "network_id": network,
                    "ip_version": 4,
                    "cidr": "192.0.2.0/24",
                }
            },
        )
        assert status == 201, status
        subnet = body["subnet"]["id"]
        made.append(("subnets", subnet))
        status, body = call(
            f"{network_api}/v2.0/routers", admin_token, "POST", {"router": {"name": name}}
        )
        assert status == 201, status
        router = body["router"]["id"]
        made.append(("routers", router))
        status, body = call(
            f"{network_api}/v2.0/routers/{router}/add_router_interface",
            admin_token,
            "PUT",
            {"subnet_id": subnet},
        )
        assert status == 200, status
        interface = body["port_id"]

        assert f"neutron-{network}" in nbctl("ls-list")
        assert f"neutron-{router}" in nbctl("lr-list")
        assert f"lrp-{interface}" in nbctl(f"lrp-list neutron-{router}")
        dhcp = nbctl(f"--bare --columns=cidr find DHCP_Options external_ids:subnet_id={subnet}")
        assert dhcp.split() == ["192.0.2.0/24"]
    finally:
        if interface:
            call(
                f"{network_api}/v2.0/routers/{made[2][1]}/remove_router_interface",
                admin_token,
                "PUT",
                {"port_id": interface},
            )
        deleted = [
            call(f"{network_api}/v2.0/{kind}/{ident}", admin_token, "DELETE")[0]
            for kind, ident in reversed(made)
        ]
    assert deleted == [204] * len(made)
    listed = nbctl("ls-list") + nbctl("lr-list")
    assert [ident for _kind, ident in made if f"neutron-{ident}" in listed] == []
