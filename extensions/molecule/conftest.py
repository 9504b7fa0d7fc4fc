"""Shared fixtures of the testinfra suites of extensions/molecule/*/tests/.

Molecule's verify step runs pytest with testinfra's Ansible backend over its inventory, so
each test gets ``host`` (one per instance, a lab host). The helpers read state the way an
operator would: ``systemctl show``, ``ss``, ``stat``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

KEYSTONE_PORT = 5000


def config_dir() -> Path:
    """The deployment's configuration directory on the deployment host: OSA_CONFIG_DIR, else the
    Molecule lab's."""
    lab = os.environ.get("NIMBUS_MOLECULE_LAB", "molecule")
    return Path(os.environ.get("OSA_CONFIG_DIR") or f"/etc/nimbus-lab/{lab}")


@pytest.fixture
def unit_properties(host):
    """``unit_properties(unit, *names)``: ``systemctl show`` properties, name -> value."""

    def read(unit: str, *names: str) -> dict[str, str]:
        out = host.check_output("systemctl show %s --property=%s", unit, ",".join(names))
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return {name: props.get(name, "") for name in names}

    return read


@pytest.fixture
def journal_since_start(host, unit_properties):
    """``journal_since_start(unit)``: what the unit logged since it last became active (the
    messages only)."""

    def read(unit: str) -> str:
        since = unit_properties(unit, "ActiveEnterTimestamp")["ActiveEnterTimestamp"]
        return host.check_output("journalctl -u %s --since %s --no-pager -o cat", unit, since)

    return read


@pytest.fixture
def files_newer_than(host):
    """``files_newer_than(unit, paths)``: the files of ``paths`` (those that exist) modified
    after the unit's main process started, which it runs without: a restart is owed."""

    def newer(unit: str, paths: list[str]) -> list[str]:
        start = host.check_output(
            'date -d "$(systemctl show --timestamp=us+utc -p ExecMainStartTimestamp --value %s)"'
            " +%%s.%%N",
            unit,
        )
        found = [path for path in paths if host.file(path).exists]
        if not found:
            return []
        lines = host.check_output("stat -c '%%.9Y %%n'" + " %s" * len(found), *found).splitlines()
        return [
            name
            for mtime, name in (line.split(" ", 1) for line in lines)
            if float(mtime) > float(start)
        ]

    return newer


# What uWSGI logs when a client closed before its answer was written, and what the application
# logged when that failure was raised into it (role uwsgi).
FAILED_WRITE_LINES = ("uwsgi_response_write_body_do", "SSL_write", "write error")


@pytest.fixture
def no_failed_writes(journal_since_start):
    """``no_failed_writes(unit)``: a uWSGI API logged no failed write since it started. HAProxy's
    health checks read each answer whole (their declaration's ``health_check_body``), and a
    client closing early is not raised into the application (role ``uwsgi``)."""

    def check(unit: str) -> None:
        journal = journal_since_start(unit)
        found = [
            line for line in journal.splitlines() if any(s in line for s in FAILED_WRITE_LINES)
        ]
        assert not found, f"{unit} logged {len(found)} failed writes, the first: {found[0]}"

    return check


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
def user_variables() -> dict:
    """The deployment's user variables as openstack-ansible passes them to every play: the
    configuration directory's user_*.yml, in name order, later files winning (the secrets file
    left out)."""
    merged: dict = {}
    for path in sorted(config_dir().glob("user_*.y*ml")):
        if path.suffix in (".yml", ".yaml") and "secrets" not in path.name:
            merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


@pytest.fixture(scope="session")
def admin_password() -> str:
    """The admin's password, read on the deployment host from the configuration directory's
    user_secrets.yml (OSA_CONFIG_DIR, else the Molecule lab's). Never part of an assertion or a
    message."""
    secrets_file = config_dir() / "user_secrets.yml"
    password = (yaml.safe_load(secrets_file.read_text()) or {}).get("keystone_auth_admin_password")
    assert password, f"no keystone_auth_admin_password in {secrets_file}"
    return str(password)


@pytest.fixture(scope="session")
def deployment_ca() -> Path:
    """The deployment CA's certificate on the deployment host (role pki, ``pki/ca/ca.pem`` of the
    configuration directory): what HAProxy verifies the uWSGI backends with."""
    path = config_dir() / "pki" / "ca" / "ca.pem"
    assert path.is_file(), f"no deployment CA at {path}"
    return path


@pytest.fixture(scope="session")
def tls_context(deployment_ca) -> ssl.SSLContext:
    """A client context that trusts the deployment CA only and checks the host name (or
    address) of the certificate: pass it to ``urlopen`` for a service's management address."""
    return ssl.create_default_context(cafile=str(deployment_ca))


@pytest.fixture(scope="session", autouse=True)
def trust_the_deployment_ca() -> None:
    """Every ``urlopen`` of the suites verifies an https URL with the deployment CA (the
    services' management addresses speak TLS, ``<service>_backend_tls``), unless it passes a
    context of its own. Nothing changes before the CA exists (a scenario without pki)."""
    path = config_dir() / "pki" / "ca" / "ca.pem"
    if path.is_file():
        context = ssl.create_default_context(cafile=str(path))
        urllib.request.install_opener(
            urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        )


@pytest.fixture
def backend_tls(tls_context):
    """``backend_tls(address, port)``: what a backend port shows its clients, as
    ``(names, plain)``. ``names``: the subjectAltName entries of the certificate it presents in
    a TLS handshake verified with the deployment CA for ``address`` (the handshake raises when
    it does not verify). ``plain``: the status line it answers a plain-HTTP request with, ``None``
    when it answers none (a TLS listener drops the connection)."""

    def probe(address: str, port: int) -> tuple[set[tuple[str, str]], str | None]:
        with (
            socket.create_connection((address, port), timeout=10) as raw,
            tls_context.wrap_socket(raw, server_hostname=address) as tls,
        ):
            names = set(tls.getpeercert()["subjectAltName"])
        conn = http.client.HTTPConnection(address, port, timeout=10)
        try:
            conn.request("GET", "/")
            plain = f"HTTP {conn.getresponse().status}"
        except (http.client.HTTPException, ConnectionError, TimeoutError):
            plain = None
        finally:
            conn.close()
        return names, plain

    return probe


@pytest.fixture
def presents_the_host_certificate(host, backend_tls, management_address):
    """``presents_the_host_certificate(port)``: asserts that the port on the management address
    presents the host's certificate, verified with the deployment CA for that address and
    naming the host, and answers no plain-HTTP request (``<service>_backend_tls``)."""

    def check(port: int) -> None:
        names, plain = backend_tls(management_address, port)
        assert ("IP Address", management_address) in names
        assert ("DNS", host.ansible.get_variables()["inventory_hostname"]) in names
        assert plain is None

    return check


# Reads HAProxy's admin socket (no socat on the hosts): the "show stat" CSV.
_HAPROXY_SHOW_STAT = (
    "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); "
    "s.sendall(b'show stat\\n'); print(b''.join(iter(lambda: s.recv(65536), b'')).decode())"
)


@pytest.fixture
def haproxy_backend(host):
    """``haproxy_backend(backend, server)``: one server of an HAProxy backend
    (``keystone-back``, a host's name) on every haproxy_all host, ``{haproxy host: (its server
    line in the fragment, its status)}``; the status (``UP``, ``DOWN``...) is HAProxy's own,
    read on its admin socket (a server is ``UP`` once a health check passed)."""

    def read(backend: str, server: str) -> dict[str, tuple[str, str]]:
        found = {}
        for name in host.ansible.get_variables()["groups"].get("haproxy_all", []):
            lb = host.backend.ansible_runner.get_host(name)
            fragment = lb.file(f"/etc/haproxy/conf.d/{backend.removesuffix('-back')}.cfg")
            line, section = None, None
            for text in fragment.content_string.splitlines():
                words = text.split()
                if words[:1] == ["backend"]:
                    section = words[1]
                elif section == backend and words[:2] == ["server", server]:
                    line = text.strip()
            status = None
            for row in lb.check_output("python3 -c %s", _HAPROXY_SHOW_STAT).splitlines():
                fields = row.split(",")
                if fields[:2] == [backend, server]:
                    status = fields[17]
            if line is not None:
                found[name] = (line, status)
        return found

    return read


@pytest.fixture(scope="module")
def admin_auth(host, admin_password, tls_context) -> tuple[str, list]:
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
        f"https://{address}:{KEYSTONE_PORT}/v3/auth/tokens",
        data=json.dumps(auth).encode(),
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30, context=tls_context) as reply:  # noqa: S310
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


@pytest.fixture
def haproxy_verifies_this_host(host, haproxy_backend):
    """``haproxy_verifies_this_host(backend)``: asserts that every HAProxy talks TLS to this
    host's server of the backend, verifying its certificate (and its name) with the deployment
    CA, and that its health check finds the server up that way."""

    def check(backend: str) -> None:
        name = host.ansible.get_variables()["inventory_hostname"]
        servers = haproxy_backend(backend, name)
        assert servers, f"no HAProxy has this host in {backend}"
        for line, status in servers.values():
            tls = f" ssl verify required ca-file /etc/nimbus/pki/ca.pem verifyhost {name} "
            assert tls in f"{line} ", line
            assert status == "UP", line

    return check
