"""What memcached_server leaves on a host (Molecule scenario memcached_server; the gate runs
the same module over every host of memcached_all of a deployment)."""

from __future__ import annotations

import socket

import pytest

testinfra_hosts = ["memcached_all"]

PORT = 11211


def test_package_installed(host):
    assert host.package("memcached").is_installed


def test_service_running_and_enabled(host):
    service = host.service("memcached")
    assert service.is_running
    assert service.is_enabled


def test_listens_on_the_management_address_only(listeners, management_address):
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}
    assert listeners("udp", PORT) == set(), "UDP must be off (-U 0)"


def test_runs_as_memcache(host):
    (process,) = host.process.filter(comm="memcached")
    assert process.user == "memcache"


def test_runs_in_its_sandbox(process_sandbox, unit_properties):
    """The drop-in's sandbox in force (memcached_server_unit_hardening): as the kernel applies
    it to memcached (only CAP_SETUID and CAP_SETGID in the bounding set, no new privileges, a
    system-call filter) and as systemd reports it."""
    user, capabilities, no_new_privs, seccomp = process_sandbox("memcached.service")
    cap_setgid, cap_setuid = 6, 7
    assert (user, no_new_privs, seccomp) == ("memcache", "1", "2")
    assert capabilities == (1 << cap_setgid) | (1 << cap_setuid)
    # memcached drops capabilities itself once it is memcache: systemd's view is the drop-in's.
    bounding = unit_properties("memcached", "CapabilityBoundingSet")["CapabilityBoundingSet"]
    assert sorted(bounding.split()) == ["cap_setgid", "cap_setuid"]
    assert unit_properties("memcached", "ProtectSystem") == {"ProtectSystem": "strict"}
    syscalls = unit_properties("memcached", "SystemCallFilter")["SystemCallFilter"]
    assert syscalls and not syscalls.startswith("~")


@pytest.mark.parametrize(
    ("path", "user", "group", "mode"),
    [
        ("/etc/memcached.conf", "root", "memcache", 0o640),
        ("/etc/systemd/system/memcached.service.d/nimbus.conf", "root", "root", 0o644),
    ],
)
def test_file_owner_and_mode(host, path, user, group, mode):
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == (user, group, mode)


@pytest.mark.parametrize("line", ["-u memcache", "-p 11211", "-U 0", "-m 1024", "-c 4096", "-t 4"])
def test_config_values(host, line):
    assert line in host.file("/etc/memcached.conf").content_string.splitlines()


def test_unit_limits(unit_properties):
    props = unit_properties("memcached", "LimitNOFILE", "Restart", "After")
    assert props["LimitNOFILE"] == str(4096 + 1024)
    assert props["Restart"] == "on-failure"
    assert "network-online.target" in props["After"].split()


def test_stores_and_returns_a_value(management_address):
    """A client on the management network sets a key and reads it back."""
    with socket.create_connection((management_address, PORT), timeout=5) as conn:
        conn.sendall(b"set molecule-probe 0 60 5\r\nhello\r\nget molecule-probe\r\n")
        reply = b""
        while not reply.endswith(b"END\r\n"):
            chunk = conn.recv(4096)
            assert chunk, f"memcached closed the connection; got {reply!r}"
            reply += chunk
    assert reply == b"STORED\r\nVALUE molecule-probe 0 5\r\nhello\r\nEND\r\n"
