"""What placement leaves on a host (Molecule scenario placement).

The functional probe reads the API's version document without a token, is refused without
one, and lists the resource providers with a token Keystone issues to the admin (the
password read on the deployment host from the configuration directory's user_secrets.yml,
OSA_CONFIG_DIR; never part of an assertion or a message).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

testinfra_hosts = ["placement_all"]

PORT = 8780
UNIT = "placement-api.service"
# What the unit reads when it starts (its unit file, configuration, uWSGI ini and TLS copies).
READS = [
    "/etc/systemd/system/placement-api.service",
    "/etc/placement/placement.conf",
    "/etc/placement/placement.conf.d/secrets.conf",
    "/etc/placement/policy.yaml",
    "/etc/placement/placement-uwsgi.ini",
    "/etc/nimbus/uwsgi-tls/placement-api.pem",
    "/etc/nimbus/uwsgi-tls/placement-api.key",
]


def call(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of a GET, or of a POST when there is a body."""
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (lab host)
    try:
        with urllib.request.urlopen(req, timeout=15) as reply:  # noqa: S310
            return reply.status, dict(reply.headers), json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), {}


def test_unit_running_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running
    assert service.is_enabled


def test_listens_on_the_management_address_only(listeners, management_address):
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}


def test_runs_as_placement_in_its_sandbox(process_sandbox):
    """The API's main process: user placement, no capability, no new privileges, a
    system-call filter (systemd_service's default sandbox, as the kernel applies it)."""
    assert process_sandbox(UNIT) == ("placement", 0, "1", "2")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc/placement/placement.conf", ("root", "placement", 0o640)),
        ("/etc/placement/placement.conf.d/secrets.conf", ("root", "placement", 0o640)),
        ("/etc/placement/placement-uwsgi.ini", ("root", "placement", 0o640)),
        (f"/etc/systemd/system/{UNIT}", ("root", "root", 0o644)),
    ],
)
def test_file_owner_and_mode(owner_and_mode, path, expected):
    assert owner_and_mode(path) == expected


def test_runs_the_configuration_on_disk(files_newer_than):
    """No file the unit reads changed after it started (a restart owed, also by a lost run)."""
    assert files_newer_than(UNIT, READS) == []


def test_no_failed_writes(no_failed_writes):
    no_failed_writes(UNIT)


def test_no_restart_owed(host):
    assert not host.file(f"/var/lib/nimbus/restart-owed/{UNIT}").exists


def test_versions_answer_without_a_token(management_address):
    status, _headers, body = call(f"https://{management_address}:{PORT}/")
    assert status == 200
    assert [v["id"] for v in body["versions"]] == ["v1.0"]


def test_resource_providers_need_a_token(management_address):
    status, _headers, _body = call(f"https://{management_address}:{PORT}/resource_providers")
    assert status == 401


def test_resource_providers_listed_with_a_token(management_address, admin_token):
    status, _headers, body = call(
        f"https://{management_address}:{PORT}/resource_providers", token=admin_token
    )
    assert status == 200
    assert isinstance(body["resource_providers"], list)
