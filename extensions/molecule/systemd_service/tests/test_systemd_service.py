"""What systemd_service leaves on a host (Molecule scenario systemd_service)."""

from __future__ import annotations

import urllib.request

import pytest

UNIT = "nimbus-test-http.service"
PORT = 8099
# The role's default sandboxing (systemd_service_hardening) as systemd reports it.
HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "ProtectKernelLogs": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    # systemd lists them in alphabetical order.
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_NETLINK AF_UNIX",
    "SystemCallArchitectures": "native",
    "UMask": "0027",
}


def test_unit_running_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running
    assert service.is_enabled


def test_unit_file(host):
    f = host.file(f"/etc/systemd/system/{UNIT}")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)


@pytest.mark.parametrize(("name", "value"), sorted(HARDENING.items()))
def test_hardening_option(unit_properties, name, value):
    assert unit_properties(UNIT, name) == {name: value}


def test_runs_as_its_user_with_its_paths(unit_properties):
    props = unit_properties(UNIT, "User", "Restart", "ReadWritePaths", "StateDirectory")
    assert props["User"] == "nimbus-test"
    assert props["Restart"] == "on-failure"
    assert "/var/lib/nimbus-test" in props["ReadWritePaths"].split()
    assert props["StateDirectory"] == "nimbus-test"


def test_sandbox_is_in_force(host, unit_properties):
    """ProtectSystem=strict: the service sees / read-only, its state directory writable."""
    pid = unit_properties(UNIT, "MainPID")["MainPID"]
    mounts = {}
    for line in host.file(f"/proc/{pid}/mounts").content_string.splitlines():
        fields = line.split()
        point, options = fields[1], fields[3]
        mounts[point] = options.split(",")
    assert "ro" in mounts["/"]
    assert "rw" in mounts["/var/lib/nimbus-test"]


def test_process_has_no_capability_and_a_system_call_filter(process_status):
    """CapabilityBoundingSet= (empty), NoNewPrivileges and SystemCallFilter, as the kernel
    applies them to the running process."""
    status = process_status(UNIT)
    assert int(status["CapBnd"], 16) == 0
    assert (status["NoNewPrivs"], status["Seccomp"]) == ("1", "2")


def test_no_restart_owed(host):
    assert not host.file(f"/var/lib/nimbus/restart-owed/{UNIT}").exists


def test_listens_on_the_management_address_only(listeners, management_address):
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}


def test_answers(management_address):
    with urllib.request.urlopen(f"http://{management_address}:{PORT}/", timeout=5) as reply:
        assert reply.status == 200
