"""Shared fixtures of the testinfra suites of extensions/molecule/*/tests/.

Molecule's verify step runs pytest with testinfra's Ansible backend over its inventory, so
each test gets ``host`` (one per instance, a lab host). The helpers read state the way an
operator would: ``systemctl show``, ``ss``, ``stat``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

KEYSTONE_PORT = 5000


@pytest.fixture
def unit_properties(host):
    """``unit_properties(unit, *names)``: ``systemctl show`` properties, name -> value."""

    def read(unit: str, *names: str) -> dict[str, str]:
        out = host.check_output("systemctl show %s --property=%s", unit, ",".join(names))
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return {name: props.get(name, "") for name in names}

    return read


@pytest.fixture
def process_status(host, unit_properties):
    """``process_status(unit)``: ``/proc/<main pid>/status`` of a unit, name -> value (the
    kernel's view of the sandbox: ``CapBnd``, ``NoNewPrivs``, ``Seccomp``, ...)."""

    def read(unit: str) -> dict[str, str]:
        pid = unit_properties(unit, "MainPID")["MainPID"]
        text = host.file(f"/proc/{pid}/status").content_string
        return {
            name: value.strip()
            for name, value in (line.split(":", 1) for line in text.splitlines() if ":" in line)
        }

    return read


@pytest.fixture
def process_sandbox(host, process_status):
    """``process_sandbox(unit)``: who a unit's main process runs as and the sandbox the kernel
    applies to it: (user name, bounding capabilities as an int, ``NoNewPrivs``, ``Seccomp``)."""

    def read(unit: str) -> tuple[str, int, str, str]:
        status = process_status(unit)
        uid = status["Uid"].split()[0]
        user = host.check_output("getent passwd %s", uid).split(":")[0]
        return user, int(status["CapBnd"], 16), status["NoNewPrivs"], status["Seccomp"]

    return read


@pytest.fixture
def owner_and_mode(host):
    """``owner_and_mode(path)``: (user, group, mode) of a file or directory, None when missing."""

    def read(path: str) -> tuple[str, str, int] | None:
        f = host.file(path)
        return (f.user, f.group, f.mode) if f.exists else None

    return read


@pytest.fixture
def listeners(host):
    """``listeners(proto, port)``: local ``address:port`` of the sockets of a port (tcp/udp).

    HAProxy's own sockets are left out: on a host that is also a load balancer (``aio``) its
    frontends listen on the VIPs with the service's port, in front of the service.
    """

    def read(proto: str, port: int) -> set[str]:
        flag = {"tcp": "-Htlnp", "udp": "-Hulnp"}[proto]
        out = host.check_output("ss %s sport = :%s", flag, str(port))
        return {
            line.split()[3]
            for line in out.splitlines()
            if line.strip() and '(("haproxy"' not in line
        }

    return read


@pytest.fixture
def management_address(host) -> str:
    """The host's management address: lab hosts are reached on it (ansible_host)."""
    return host.ansible.get_variables()["ansible_host"]


@pytest.fixture(scope="session")
def admin_password() -> str:
    """The admin's password, read on the deployment host from the configuration directory's
    user_secrets.yml (OSA_CONFIG_DIR, else the Molecule lab's). Never part of an assertion or a
    message."""
    lab = os.environ.get("NIMBUS_MOLECULE_LAB", "molecule")
    secrets_file = (
        Path(os.environ.get("OSA_CONFIG_DIR") or f"/etc/nimbus-lab/{lab}") / "user_secrets.yml"
    )
    password = (yaml.safe_load(secrets_file.read_text()) or {}).get("keystone_auth_admin_password")
    assert password, f"no keystone_auth_admin_password in {secrets_file}"
    return str(password)


@pytest.fixture(scope="module")
def admin_auth(host, admin_password) -> tuple[str, list]:
    """(token, catalog) Keystone issues to the admin (password: the admin_password fixture),
    scoped to the admin project, asked of the first Keystone host."""
    keystone = host.ansible.get_variables()["groups"]["keystone_all"][0]
    address = host.backend.ansible_runner.get_variables(keystone)["ansible_host"]
    user = {"name": "admin", "domain": {"id": "default"}, "password": admin_password}
    auth = {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    req = urllib.request.Request(
        f"http://{address}:{KEYSTONE_PORT}/v3/auth/tokens",
        data=json.dumps(auth).encode(),
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:  # noqa: S310
            status, token, body = reply.status, reply.headers["X-Subject-Token"], reply.read()
    except urllib.error.HTTPError as err:
        status, token, body = err.code, None, b"{}"
    assert status == 201, f"Keystone answered {status} to the admin's password"
    return token, json.loads(body)["token"]["catalog"]


@pytest.fixture(scope="module")
def admin_token(admin_auth) -> str:
    return admin_auth[0]


@pytest.fixture
def sql(host):
    """``sql(query)``: rows of a MariaDB query, run as root through the unix socket (tab-separated
    fields)."""

    def run(query: str) -> list[list[str]]:
        out = host.check_output("mariadb --batch --skip-column-names -e %s", query)
        return [line.split("\t") for line in out.splitlines()]

    return run


@pytest.fixture
def rabbitmqctl(host):
    """``rabbitmqctl(*args)``: the JSON a ``rabbitmqctl`` command prints."""

    def run(*args: str):
        out = host.check_output("rabbitmqctl -q --formatter json" + " %s" * len(args), *args)
        return json.loads(out)

    return run
