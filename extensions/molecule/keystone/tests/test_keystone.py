"""What keystone leaves on a host (Molecule scenario keystone; the gate runs the same module
over every host of keystone_all of a deployment).

The functional probe asks each host for a token with the admin's password, read on the
deployment host from the configuration directory's user_secrets.yml (OSA_CONFIG_DIR), and
validates it on the first keystone host: the hosts share one key repository. The password is
never part of an assertion or a message.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

testinfra_hosts = ["keystone_all"]

PORT = 5000
UNIT = "keystone-uwsgi.service"
# What the unit reads when it starts (its unit file, configuration, uWSGI ini and TLS copies).
READS = [
    "/etc/systemd/system/keystone-uwsgi.service",
    "/etc/keystone/keystone.conf",
    "/etc/keystone/keystone.conf.d/secrets.conf",
    "/etc/keystone/policy.yaml",
    "/etc/keystone/keystone-uwsgi.ini",
    "/etc/nimbus/uwsgi-tls/keystone-uwsgi.pem",
    "/etc/nimbus/uwsgi-tls/keystone-uwsgi.key",
]
TIMER = "keystone-fernet-rotate.timer"
KEY_DIRS = ("/etc/keystone/fernet-keys", "/etc/keystone/credential-keys")
# The collection's service descriptors (their catalog entries: type, port, path).
SERVICES = Path(__file__).resolve().parents[4] / "group_vars" / "all" / "services.yml"


def request(url: str, method: str = "GET", body: dict | None = None, headers=None):
    """(status, headers, JSON body) of one HTTP request; errors are answers too (https: verified
    with the deployment CA, conftest's trust_the_deployment_ca)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 (https to a lab host's management address)
        url, data=data, method=method, headers=headers or {}
    )
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=15) as reply:  # noqa: S310
            return reply.status, reply.headers, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, {}


@pytest.fixture
def first_keystone_address(host) -> str:
    first = host.ansible.get_variables()["groups"]["keystone_all"][0]
    return host.backend.ansible_runner.get_variables(first)["ansible_host"]


def test_unit_running_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running
    assert service.is_enabled


def test_rotation_timer_on_the_first_host_only(host):
    variables = host.ansible.get_variables()
    first = variables["groups"]["keystone_all"][0]
    timer = host.service(TIMER)
    if variables["inventory_hostname"] == first:
        assert timer.is_running and timer.is_enabled
    else:
        # No such unit on the other hosts ("not-found", which testinfra's is_enabled raises on).
        state = host.run("systemctl is-enabled %s", TIMER).stdout.strip()
        assert state in {"not-found", "disabled"}, f"{TIMER} is {state} on {first}'s peer"


def test_listens_on_the_management_address_only(listeners, management_address):
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}


def test_runs_as_keystone_in_its_sandbox(process_sandbox):
    """The API's main process: user keystone, no capability, no new privileges, a system-call
    filter (systemd_service's default sandbox, as the kernel applies it)."""
    assert process_sandbox(UNIT) == ("keystone", 0, "1", "2")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc/keystone/keystone.conf", ("root", "keystone", 0o640)),
        ("/etc/keystone/keystone.conf.d", ("root", "keystone", 0o750)),
        ("/etc/keystone/keystone.conf.d/secrets.conf", ("root", "keystone", 0o640)),
        ("/etc/keystone/policy.yaml", ("root", "keystone", 0o640)),
        ("/etc/keystone/keystone-uwsgi.ini", ("root", "keystone", 0o640)),
        (f"/etc/systemd/system/{UNIT}", ("root", "root", 0o644)),
    ],
)
def test_file_owner_and_mode(owner_and_mode, path, expected):
    assert owner_and_mode(path) == expected


@pytest.mark.parametrize("directory", KEY_DIRS)
def test_keys_private_to_keystone(host, directory):
    d = host.file(directory)
    assert (d.user, d.group, d.mode) == ("keystone", "keystone", 0o700)
    keys = host.check_output("find %s -type f -printf '%%u:%%g %%m\\n'", directory).splitlines()
    assert keys, f"no key in {directory}"
    assert set(keys) == {"keystone:keystone 600"}


def test_no_restart_owed(host):
    assert not host.file(f"/var/lib/nimbus/restart-owed/{UNIT}").exists


def test_runs_the_configuration_on_disk(files_newer_than):
    """No file the unit reads changed after it started (a restart owed, also by a lost run)."""
    assert files_newer_than(UNIT, READS) == []


def test_no_failed_writes(no_failed_writes):
    no_failed_writes(UNIT)


def test_port_speaks_tls_with_the_host_certificate(presents_the_host_certificate):
    """uWSGI presents the host's certificate, verified with the deployment CA for the
    management address, and answers no plain-HTTP request (keystone_backend_tls)."""
    presents_the_host_certificate(PORT)


def test_haproxy_verifies_the_backend(haproxy_verifies_this_host):
    """Every HAProxy talks TLS to this host's uWSGI, verifying its certificate (and its name)
    with the deployment CA, and its health check finds it up that way."""
    haproxy_verifies_this_host("keystone-back")


def test_token_issued_here_validates_on_the_first_host(
    management_address, first_keystone_address, admin_password
):
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": admin_password,
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    status, headers, body = request(
        f"https://{management_address}:{PORT}/v3/auth/tokens", "POST", auth
    )
    assert status == 201
    token = headers["X-Subject-Token"]
    assert "admin" in {role["name"] for role in body["token"]["roles"]}
    status, _headers, body = request(
        f"https://{first_keystone_address}:{PORT}/v3/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
    )
    assert status == 200
    assert body["token"]["project"]["name"] == "admin"


def test_wrong_password_refused(management_address):
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "admin", "domain": {"id": "default"}, "password": "wrong"}
                },
            }
        }
    }
    status, _headers, _body = request(
        f"https://{management_address}:{PORT}/v3/auth/tokens", "POST", auth
    )
    assert status == 401


def endpoint_pattern(port: int, path: str) -> re.Pattern:
    """The port and path of an endpoint URL a descriptor declares; a ``%(name)s`` of the path
    stands for the value Keystone puts in a token's catalog (e.g. the project id)."""
    parts = re.split(r"%\([a-z_]+\)s", path)
    return re.compile(rf"{port}:{'[^/]+'.join(re.escape(p) for p in parts)}/?")


def test_catalog_entries_are_the_service_descriptors(admin_auth):
    """Every entry of a token's catalog whose type a service descriptor declares
    (group_vars/all/services.yml) has the descriptor's port and path on each interface, so
    the file says what the catalog holds; the identity entry is among them."""
    services = yaml.safe_load(SERVICES.read_text())["nimbus_services"]
    declared = {
        item["type"]: endpoint_pattern(item["port"], item["path"])
        for service in services.values()
        for item in service.get("catalog") or []
    }
    _token, catalog = admin_auth
    checked = {entry["type"]: entry["endpoints"] for entry in catalog if entry["type"] in declared}
    assert "identity" in checked
    wrong = [
        (kind, endpoint["interface"], endpoint["url"])
        for kind, endpoints in checked.items()
        for endpoint in endpoints
        if not declared[kind].fullmatch(
            f"{urlsplit(endpoint['url']).port}:{urlsplit(endpoint['url']).path}"
        )
    ]
    assert wrong == []
