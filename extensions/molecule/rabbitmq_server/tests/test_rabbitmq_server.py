"""What rabbitmq_server leaves on a host (Molecule scenario rabbitmq_server; the gate runs the
same module over every host of rabbitmq_all of a deployment)."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import ssl
import urllib.request

import pytest

# testinfra runs each test once per host of this inventory group.
testinfra_hosts = ["rabbitmq_all"]

AMQP_PORT = 5672
TLS_PORT = 5671
MANAGEMENT_PORT = 15671
DIST_PORT = 25672
EPMD_PORT = 4369
AMQP_0_9_1 = b"AMQP\x00\x00\x09\x01"
PROBE = "nimbus-probe"


@pytest.fixture
def members(host) -> list[str]:
    return host.ansible.get_variables()["groups"]["rabbitmq_all"]


@pytest.mark.parametrize("package", ["rabbitmq-server"])
def test_package_installed(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize("unit", ["rabbitmq-server.service", "epmd.socket"])
def test_unit_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


@pytest.mark.parametrize(
    "port",
    [TLS_PORT, MANAGEMENT_PORT, DIST_PORT],
    ids=["amqps", "management-https", "distribution"],
)
def test_listens_on_the_management_address_only(listeners, management_address, port):
    assert listeners("tcp", port) == {f"{management_address}:{port}"}


def test_plain_amqp_on_loopback_only(listeners):
    assert listeners("tcp", AMQP_PORT) == {f"127.0.0.1:{AMQP_PORT}"}


def test_port_mapper_on_loopback_and_the_management_address_only(listeners, management_address):
    assert listeners("tcp", EPMD_PORT) == {
        f"127.0.0.1:{EPMD_PORT}",
        f"{management_address}:{EPMD_PORT}",
    }


def test_runs_as_rabbitmq(host):
    beams = host.process.filter(comm="beam.smp")
    assert beams
    assert {p.user for p in beams} == {"rabbitmq"}


def test_runs_in_its_sandbox(process_status, unit_properties):
    """The drop-in's sandbox in force (rabbitmq_server_unit_hardening): as the kernel applies it
    to the node (no new privileges, no capability) and as systemd reports it."""
    status = process_status("rabbitmq-server.service")
    assert status["NoNewPrivs"] == "1"
    assert int(status["CapBnd"], 16) == 0
    names = ("PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectClock")
    assert unit_properties("rabbitmq-server.service", *names) == dict.fromkeys(names, "yes")
    assert unit_properties("rabbitmq-server.service", "ProtectSystem") == {"ProtectSystem": "full"}


def test_port_mapper_runs_in_its_sandbox(process_sandbox, unit_properties):
    """The epmd drop-in's sandbox in force (rabbitmq_server_epmd_unit_hardening): as the kernel
    applies it to epmd (its own user, no capability, no new privileges, a system-call filter)
    and as systemd reports it."""
    user, capabilities, no_new_privs, seccomp = process_sandbox("epmd.service")
    assert (user, capabilities, no_new_privs, seccomp) == ("epmd", 0, "1", "2")
    names = ("PrivateTmp", "PrivateDevices", "MemoryDenyWriteExecute", "ProtectKernelTunables")
    assert unit_properties("epmd.service", *names) == dict.fromkeys(names, "yes")
    assert unit_properties("epmd.service", "ProtectSystem") == {"ProtectSystem": "strict"}
    # An allow list (@system-service); systemd shows "~" for no filter, "~..." for a deny list.
    syscalls = unit_properties("epmd.service", "SystemCallFilter")["SystemCallFilter"]
    assert syscalls and not syscalls.startswith("~")


@pytest.mark.parametrize(
    ("path", "user", "group", "mode"),
    [
        ("/etc/rabbitmq/rabbitmq.conf", "root", "rabbitmq", 0o640),
        ("/etc/rabbitmq/rabbitmq-env.conf", "root", "rabbitmq", 0o640),
        ("/etc/rabbitmq/enabled_plugins", "root", "rabbitmq", 0o640),
        # Secrets: the Erlang cookie (cluster membership) and the TLS key.
        ("/var/lib/rabbitmq/.erlang.cookie", "rabbitmq", "rabbitmq", 0o400),
        ("/etc/rabbitmq/tls/rabbitmq.key", "root", "rabbitmq", 0o640),
        ("/etc/rabbitmq/tls/rabbitmq.pem", "root", "rabbitmq", 0o640),
        ("/etc/systemd/system/rabbitmq-server.service.d/nimbus.conf", "root", "root", 0o644),
        ("/etc/systemd/system/epmd.socket.d/nimbus.conf", "root", "root", 0o644),
        ("/etc/systemd/system/epmd.service.d/nimbus.conf", "root", "root", 0o644),
    ],
)
def test_file_owner_and_mode(host, path, user, group, mode):
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == (user, group, mode)


@pytest.mark.parametrize(
    "line",
    [
        "default_queue_type = quorum",
        "cluster_partition_handling = pause_minority",
        "loopback_users.guest = true",
        "ssl_options.versions.1 = tlsv1.3",
    ],
)
def test_config_values(host, line):
    assert line in host.file("/etc/rabbitmq/rabbitmq.conf").content_string.splitlines()


def test_runs_the_configuration_on_disk(files_newer_than):
    """No file the node reads changed after it started (a restart owed, also by a lost run)."""
    reads = [
        "/etc/systemd/system/rabbitmq-server.service.d/nimbus.conf",
        "/etc/rabbitmq/rabbitmq.conf",
        "/etc/rabbitmq/enabled_plugins",
        "/etc/rabbitmq/rabbitmq-env.conf",
        "/var/lib/rabbitmq/.erlang.cookie",
        "/etc/rabbitmq/tls/rabbitmq.pem",
        "/etc/rabbitmq/tls/rabbitmq.key",
        "/etc/rabbitmq/tls/ca.pem",
    ]
    assert files_newer_than("rabbitmq-server.service", reads) == []


def test_no_guest_account(rabbitmqctl):
    users = {u["user"] for u in rabbitmqctl("list_users")}
    assert "guest" not in users
    assert "monitoring" in users


def test_every_member_running_in_one_cluster(rabbitmqctl, members):
    status = rabbitmqctl("cluster_status")
    assert len(status["running_nodes"]) == len(members)
    assert sorted(status["disk_nodes"]) == sorted(status["running_nodes"])
    assert status["partitions"] == {}


def amqp_greeting(conn: socket.socket) -> bytes:
    conn.sendall(AMQP_0_9_1)
    return conn.recv(7)


def ca_context(host) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=host.file("/etc/rabbitmq/tls/ca.pem").content_string)


def test_only_the_tls_listener_speaks_amqp_off_the_host(host, management_address):
    """From the deployment host: plain AMQP is refused on the management address, and AMQP
    over TLS, with a certificate the deployment CA vouches for under the management address,
    opens with Connection.Start."""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((management_address, AMQP_PORT), timeout=5).close()
    context = ca_context(host)
    with (
        socket.create_connection((management_address, TLS_PORT), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=management_address) as conn,
    ):
        assert conn.version() in {"TLSv1.3", "TLSv1.2"}
        assert amqp_greeting(conn)[:1] == b"\x01", "no AMQP method frame on the TLS listener"


def test_publish_and_consume_a_message(host, management_address):
    """A message published to a queue is consumed back (through the management API, as a
    throw-away user on a throw-away vhost), and the queue is a quorum queue by default."""
    password = secrets.token_hex(16)
    host.run("rabbitmqctl -q delete_vhost %s", PROBE)
    host.run("rabbitmqctl -q delete_user %s", PROBE)
    host.check_output("rabbitmqctl -q add_vhost %s", PROBE)
    host.check_output("rabbitmqctl -q add_user %s %s", PROBE, password)
    try:
        host.check_output("rabbitmqctl -q set_user_tags %s management", PROBE)
        host.check_output("rabbitmqctl -q set_permissions -p %s %s '.*' '.*' '.*'", PROBE, PROBE)
        base = f"https://{management_address}:{MANAGEMENT_PORT}/api"
        context = ca_context(host)
        auth = base64.b64encode(f"{PROBE}:{password}".encode()).decode()

        def api(method: str, path: str, body: dict | None = None):
            request = urllib.request.Request(  # noqa: S310 (https to the lab host)
                base + path,
                method=method,
                data=None if body is None else json.dumps(body).encode(),
                headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=15, context=context) as reply:  # noqa: S310
                text = reply.read().decode()
            return json.loads(text) if text else None

        api("PUT", f"/queues/{PROBE}/probe", {"durable": True})
        token = secrets.token_hex(8)
        published = api(
            "POST",
            f"/exchanges/{PROBE}/amq.default/publish",
            {
                "properties": {},
                "routing_key": "probe",
                "payload": token,
                "payload_encoding": "string",
            },
        )
        assert published == {"routed": True}
        got = api(
            "POST",
            f"/queues/{PROBE}/probe/get",
            {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"},
        )
        assert [m["payload"] for m in got] == [token]
        assert api("GET", f"/queues/{PROBE}/probe")["type"] == "quorum"
    finally:
        host.run("rabbitmqctl -q delete_vhost %s", PROBE)
        host.run("rabbitmqctl -q delete_user %s", PROBE)
