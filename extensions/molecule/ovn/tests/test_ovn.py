"""What ovn leaves on a host (Molecule scenario ovn; the same module checks any host of the
three OVN groups of a deployment).

A central host (neutron_ovn_northd) runs the NB and SB databases, each a RAFT cluster member,
and ovn-northd; a chassis (neutron_ovn_controller, neutron_ovn_gateway) runs Open vSwitch and
ovn-controller. The lab host of the scenario is both. A check of one part is skipped on a host
that does not run it.

The functional probes are clients as Neutron is one: ovn-nbctl and ovn-sbctl over mutual TLS
(ovn_use_ssl, the default) with the host's certificate of the deployment PKI, against every
database server of the deployment.
"""

from __future__ import annotations

import json
import uuid

import pytest

# testinfra runs each test once per host of these inventory groups (a host in several, once).
testinfra_hosts = ["neutron_ovn_northd", "neutron_ovn_controller", "neutron_ovn_gateway"]

NORTHD = "neutron_ovn_northd"
CHASSIS = ("neutron_ovn_controller", "neutron_ovn_gateway")
GATEWAY = "neutron_ovn_gateway"
NB_PORT, SB_PORT, NB_CLUSTER_PORT, SB_CLUSTER_PORT = 6641, 6642, 6643, 6644
MANAGER = "127.0.0.1:6640"  # ovn_ovsdb_managers: os-vif's OVSDB remote, loopback only
# The host's certificate from the pki role (ovn_ssl_cert, ovn_ssl_key, ovn_ssl_ca_cert).
KEY = "/etc/nimbus/pki/server.key"
CERT = "/etc/nimbus/pki/server.pem"
CA = "/etc/nimbus/pki/ca.pem"
TLS = f"--private-key={KEY} --certificate={CERT} --ca-cert={CA}"
DATABASES = {
    "nb": ("OVN_Northbound", NB_PORT, NB_CLUSTER_PORT),
    "sb": ("OVN_Southbound", SB_PORT, SB_CLUSTER_PORT),
}


@pytest.fixture
def variables(host) -> dict:
    return host.ansible.get_variables()


@pytest.fixture
def central_hosts(variables) -> list[str]:
    return variables["groups"].get(NORTHD, [])


@pytest.fixture
def central(variables, central_hosts) -> None:
    """Skips a check of the databases and ovn-northd on a host that does not run them."""
    if variables["inventory_hostname"] not in central_hosts:
        pytest.skip(f"not in {NORTHD}")


@pytest.fixture
def chassis(variables) -> None:
    """Skips a check of Open vSwitch and ovn-controller on a host that is no chassis."""
    if not set(variables["group_names"]) & set(CHASSIS):
        pytest.skip(f"in none of {', '.join(CHASSIS)}")


@pytest.fixture
def remotes(host, central_hosts) -> dict[str, str]:
    """Connection list of each database (ssl:<address>:<port> per central host), as Neutron's."""
    runner = host.backend.ansible_runner
    addresses = [runner.get_variables(name)["ansible_host"] for name in central_hosts]
    return {
        db: ",".join(f"ssl:{address}:{port}" for address in addresses)
        for db, (_name, port, _cluster_port) in DATABASES.items()
    }


@pytest.fixture
def nbctl(host, remotes):
    """``nbctl(args)``: ovn-nbctl over mutual TLS against every NB server (a result)."""
    return lambda args: host.run(f"ovn-nbctl --db={remotes['nb']} {TLS} --timeout=60 {args}")


@pytest.fixture
def sbctl(host, remotes):
    """``sbctl(args)``: ovn-sbctl over mutual TLS against every SB server (its output)."""
    return lambda args: host.check_output(
        f"ovn-sbctl --db={remotes['sb']} {TLS} --timeout=60 {args}"
    )


def rows(output: str) -> list[dict]:
    """The rows of an ovs-vsctl/ovn-sbctl ``--format=json`` listing, heading -> value."""
    table = json.loads(output)
    return [dict(zip(table["headings"], row, strict=True)) for row in table["data"]]


def ovsdb_map(value) -> dict[str, str]:
    """An OVSDB map of the JSON format (``["map", [[k, v], ...]]``) as a dict."""
    return dict(value[1])


@pytest.mark.parametrize(
    ("package", "part"),
    [("ovn-central", "central"), ("openvswitch-switch", "chassis"), ("ovn-host", "chassis")],
)
def test_package_installed(host, request, package, part):
    request.getfixturevalue(part)
    assert host.package(package).is_installed


# Each daemon -> the unit that starts it at boot (Debian's units of ovn-northd, ovsdb-server,
# ovs-vswitchd and ovn-controller are static, pulled in by their package's umbrella unit) and
# the part of OVN it belongs to.
UNITS = {
    "ovn-ovsdb-server-nb.service": ("ovn-ovsdb-server-nb.service", "central"),
    "ovn-ovsdb-server-sb.service": ("ovn-ovsdb-server-sb.service", "central"),
    "ovn-northd.service": ("ovn-central.service", "central"),
    "ovsdb-server.service": ("openvswitch-switch.service", "chassis"),
    "ovs-vswitchd.service": ("openvswitch-switch.service", "chassis"),
    "ovn-controller.service": ("ovn-host.service", "chassis"),
}


@pytest.mark.parametrize("unit", UNITS)
def test_unit_running_and_started_at_boot(host, request, unit_properties, unit):
    boot_unit, part = UNITS[unit]
    request.getfixturevalue(part)
    assert host.service(unit).is_running
    assert host.run("systemctl is-enabled %s", boot_unit).stdout.strip() == "enabled"
    if boot_unit != unit:
        pulled_by = unit_properties(unit, "WantedBy", "RequiredBy")
        assert boot_unit in " ".join(pulled_by.values()).split()


# The role's drop-in sandbox of each unit (ovn_*_unit_hardening): the capabilities it keeps
# (systemd's names, as the unit's bounding set shows them) and what ProtectSystem reads. Every
# daemon runs as root (Debian's ovn-ctl and ovs-ctl), so the bounding set is what limits it.
SANDBOXES = {
    "ovn-ovsdb-server-nb.service": ("central", set(), "strict"),
    "ovn-ovsdb-server-sb.service": ("central", set(), "strict"),
    "ovn-northd.service": ("central", {"cap_sys_nice"}, "strict"),
    "ovsdb-server.service": ("chassis", {"cap_sys_nice"}, "strict"),
    "ovs-vswitchd.service": (
        "chassis",
        {"cap_net_admin", "cap_net_raw", "cap_net_broadcast", "cap_ipc_lock", "cap_sys_nice"},
        "strict",
    ),
    "ovn-controller.service": ("chassis", {"cap_sys_nice", "cap_net_admin"}, "strict"),
}
# Bits of /proc/<pid>/status CapBnd (linux/capability.h).
CAPABILITY_BITS = {
    "cap_net_broadcast": 11,
    "cap_net_admin": 12,
    "cap_net_raw": 13,
    "cap_ipc_lock": 14,
    "cap_sys_module": 16,
    "cap_sys_nice": 23,
}


@pytest.mark.parametrize("unit", SANDBOXES)
def test_runs_in_its_sandbox(request, variables, process_sandbox, unit_properties, unit):
    """The drop-in's sandbox in force: as systemd holds the unit (no new privileges, the
    reduced bounding set, ProtectSystem) and as the kernel applies it to the unit's main
    process (ovn-ctl for the database servers, which runs ovsdb-server as its child; the
    daemon itself for the others): root, the same bounding set, NoNewPrivs, a system-call
    filter where the unit has one."""
    part, capabilities, protect_system = SANDBOXES[unit]
    request.getfixturevalue(part)
    if unit == "ovs-vswitchd.service" and variables.get("ovn_ovs_datapath_type") == "system":
        capabilities = capabilities | {"cap_sys_module"}  # ovs-ctl loads the kernel module
    held = unit_properties(unit, "NoNewPrivileges", "CapabilityBoundingSet", "ProtectSystem")
    assert held["NoNewPrivileges"] == "yes", held
    assert set(held["CapabilityBoundingSet"].split()) == capabilities, held
    assert held["ProtectSystem"] == protect_system, held
    user, bounding, no_new_privs, seccomp = process_sandbox(unit)
    expected = sum(1 << CAPABILITY_BITS[name] for name in capabilities)
    assert (user, bounding, no_new_privs) == ("root", expected, "1"), (
        f"{unit}: {user}, CapBnd {bounding:#x} (wanted {expected:#x}), NoNewPrivs {no_new_privs}"
    )
    assert seccomp == "2"  # the architecture, address family and W^X filters at least
    # An allow list (@system-service) but for ovs-vswitchd (README, "Service sandboxing");
    # systemd shows "~" for no filter, "~..." for a deny list.
    syscalls = unit_properties(unit, "SystemCallFilter")["SystemCallFilter"]
    assert (bool(syscalls) and not syscalls.startswith("~")) == (unit != "ovs-vswitchd.service")


@pytest.mark.parametrize(
    "port",
    [NB_PORT, SB_PORT, NB_CLUSTER_PORT, SB_CLUSTER_PORT],
    ids=["nb", "sb", "nb-cluster", "sb-cluster"],
)
def test_databases_listen_on_the_management_address_only(
    central, listeners, management_address, port
):
    assert listeners("tcp", port) == {f"{management_address}:{port}"}


def test_open_vswitch_manager_on_loopback_only(chassis, listeners):
    assert listeners("tcp", 6640) == {MANAGER}


@pytest.mark.parametrize("db", DATABASES)
def test_databases_take_clients_over_tls_only(host, central, management_address, db):
    """The running server's remotes: its local socket and a pssl remote on the management
    address (no ptcp); a plain OVSDB client gets no answer on the client port."""
    name, port, _cluster_port = DATABASES[db]
    served = host.check_output(
        "ovs-appctl -t /var/run/ovn/ovn%s_db.ctl ovsdb-server/list-remotes", db
    )
    assert set(served.split()) == {
        f"pssl:{port}:{management_address}",
        f"punix:/var/run/ovn/ovn{db}_db.sock",
    }
    plain = host.run("ovsdb-client --timeout=10 list-dbs tcp:%s:%s", management_address, str(port))
    assert plain.rc != 0
    assert name not in plain.stdout
    over_tls = host.check_output(
        f"ovsdb-client --timeout=10 list-dbs {TLS} ssl:%s:%s", management_address, str(port)
    )
    assert name in over_tls.split()


@pytest.mark.parametrize(
    ("pidfile", "part"),
    [
        ("/var/run/ovn/ovnnb_db.pid", "central"),
        ("/var/run/ovn/ovnsb_db.pid", "central"),
        ("/var/run/ovn/ovn-northd.pid", "central"),
        ("/var/run/ovn/ovn-controller.pid", "chassis"),
    ],
    ids=["ovsdb-server-nb", "ovsdb-server-sb", "ovn-northd", "ovn-controller"],
)
def test_daemon_uses_the_host_certificate(host, request, pidfile, part):
    """Each OVN daemon runs with the host's key, certificate and the deployment CA."""
    request.getfixturevalue(part)
    pid = host.file(pidfile).content_string.strip()
    argv = host.file(f"/proc/{pid}/cmdline").content_string.split("\0")
    assert {f"--private-key={KEY}", f"--certificate={CERT}", f"--ca-cert={CA}"} <= set(argv)


@pytest.mark.parametrize(
    ("path", "expected", "part"),
    [
        # The host key OVN presents: never readable by others.
        (KEY, ("root", "root", 0o640), "any"),
        (CERT, ("root", "root", 0o644), "any"),
        (CA, ("root", "root", 0o644), "any"),
        ("/etc/default/ovn-central", ("root", "root", 0o644), "central"),
        (
            "/etc/systemd/system/ovn-northd.service.d/nimbus-stop.conf",
            ("root", "root", 0o644),
            "central",
        ),
        (
            "/etc/systemd/system/ovn-ovsdb-server-nb.service.d/nimbus-tls.conf",
            ("root", "root", 0o644),
            "central",
        ),
        (
            "/etc/systemd/system/ovn-ovsdb-server-sb.service.d/nimbus-tls.conf",
            ("root", "root", 0o644),
            "central",
        ),
        ("/var/lib/ovn/ovnnb_db.db", ("root", "root", 0o640), "central"),
        ("/var/lib/ovn/ovnsb_db.db", ("root", "root", 0o640), "central"),
        ("/etc/default/ovn-host", ("root", "root", 0o644), "chassis"),
        ("/etc/openvswitch/system-id.conf", ("root", "root", 0o644), "chassis"),
        *(
            (f"/etc/systemd/system/{unit}.d/nimbus-sandbox.conf", ("root", "root", 0o644), part)
            for unit, (part, _capabilities, _protect) in SANDBOXES.items()
        ),
        ("/var/lib/openvswitch/conf.db", ("root", "root", 0o640), "chassis"),
    ],
)
def test_file_owner_and_mode(request, owner_and_mode, path, expected, part):
    if part != "any":
        request.getfixturevalue(part)
    assert owner_and_mode(path) == expected


@pytest.mark.parametrize("db", DATABASES)
def test_database_is_a_member_of_its_cluster_with_a_leader(
    host, central, central_hosts, management_address, db
):
    name, _port, cluster_port = DATABASES[db]
    out = host.check_output("ovs-appctl -t /var/run/ovn/ovn%s_db.ctl cluster/status %s", db, name)
    status = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert status["Status"] == "cluster member"
    # RAFT between members over TLS too, on the management address.
    assert status["Address"] == f"ssl:{management_address}:{cluster_port}"
    assert status["Leader"] not in ("", "unknown")
    servers = out.split("Servers:", 1)[1].strip().splitlines()
    assert len(servers) == len(central_hosts)


def test_northd_active_or_standby(host, central, central_hosts):
    status = host.check_output("ovn-appctl -t ovn-northd status")
    assert status.strip() in (
        {"Status: active"} if len(central_hosts) == 1 else {"Status: active", "Status: standby"}
    )


def test_controller_connected_to_the_southbound_database(host, chassis):
    assert host.check_output("ovn-appctl -t ovn-controller connection-status") == "connected"


def test_chassis_described_to_ovn_controller(host, chassis, variables, remotes):
    """external_ids of the Open_vSwitch record: the chassis, the SB servers over TLS, GENEVE
    from the tunnel address; every bridge OVN uses has the chassis' datapath type."""
    (record,) = rows(
        host.check_output("ovs-vsctl --format=json --columns=external_ids list Open_vSwitch")
    )
    ids = ovsdb_map(record["external_ids"])
    assert ids["system-id"] == variables["inventory_hostname"]
    assert ids["ovn-remote"] == remotes["sb"]
    assert ids["ovn-encap-type"] == "geneve"
    assert ids["ovn-encap-ip"] == variables["tunnel_address"]
    bridges = rows(
        host.check_output(
            "ovs-vsctl --format=json --columns=name,datapath_type,fail_mode list Bridge"
        )
    )
    by_name = {b["name"]: b for b in bridges}
    assert by_name["br-int"]["fail_mode"] == "secure"
    datapath = ids["ovn-bridge-datapath-type"]
    assert {b["name"]: b["datapath_type"] or "system" for b in bridges} == dict.fromkeys(
        by_name, datapath
    )


def test_chassis_registered_in_the_southbound_database(host, chassis, variables, sbctl):
    name = host.check_output("ovs-vsctl get Open_vSwitch . external_ids:system-id").strip('"')
    registered = {
        c["name"]: c
        for c in rows(sbctl("--format=json --columns=name,hostname,other_config list Chassis"))
    }
    assert name in registered, f"chassis {name} not in the SB database: {sorted(registered)}"
    assert "Chassis " + name in sbctl("show")
    options = ovsdb_map(registered[name]["other_config"])
    is_gateway = variables["inventory_hostname"] in variables["groups"].get(GATEWAY, [])
    assert ("enable-chassis-as-gw" in options.get("ovn-cms-options", "").split(",")) == is_gateway
    encaps = rows(sbctl("--format=json --columns=chassis_name,type,ip list Encap"))
    assert {(e["type"], e["ip"]) for e in encaps if e["chassis_name"] == name} == {
        ("geneve", variables["tunnel_address"])
    }


def test_logical_switch_created_and_deleted(central, variables, nbctl, sbctl):
    """A logical switch made in the NB database reaches the SB database through ovn-northd
    (and every chassis' ovn-controller catches up: --wait=hv), then goes away again."""
    switch = f"nimbus-probe-{variables['inventory_hostname']}-{uuid.uuid4().hex[:8]}"
    created = nbctl(f"--wait=hv ls-add {switch}")
    try:
        assert created.rc == 0, created.stderr
        assert switch in nbctl("ls-list").stdout
        datapaths = sbctl("--bare --columns=external_ids list Datapath_Binding")
        assert f"name={switch}" in datapaths.split()
    finally:
        deleted = nbctl(f"--wait=sb --if-exists ls-del {switch}")
    assert deleted.rc == 0, deleted.stderr
    assert switch not in nbctl("ls-list").stdout
    assert f"name={switch}" not in sbctl("--bare --columns=external_ids list Datapath_Binding")
