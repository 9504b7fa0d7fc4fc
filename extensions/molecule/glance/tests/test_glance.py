"""What glance leaves on a host (Molecule scenario glance).

The functional probe reads the API's version document without a token, is refused without
one, and, with a token Keystone issues to the admin (the password read on the deployment host
from the configuration directory's user_secrets.yml, OSA_CONFIG_DIR; never part of an
assertion or a message), creates a private image, uploads a few bytes to it, downloads them
back with the checksums glance recorded, and deletes it. With the file store (no Swift in the
inventory) the image's data is a file of the glance user in the store's directory, gone once
the image is deleted.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
import uuid
from email.message import Message

import pytest

testinfra_hosts = ["glance_all"]

PORT = 9292
UNIT = "glance-api.service"
# What the unit reads when it starts (its unit file, configuration, uWSGI ini and TLS copies).
READS = [
    "/etc/systemd/system/glance-api.service",
    "/etc/glance/glance-api.conf",
    "/etc/glance/glance-api.conf.d/secrets.conf",
    "/etc/glance/glance-swift-store.conf",
    "/etc/glance/policy.yaml",
    "/etc/glance/glance-api-uwsgi.ini",
    "/etc/nimbus/uwsgi-tls/glance-api.pem",
    "/etc/nimbus/uwsgi-tls/glance-api.key",
]
FILE_STORE = "/var/lib/glance/images"
# What the probe uploads: a few bytes, not an image any hypervisor would boot.
PROBE_DATA = b"nimbus molecule glance probe\n" + bytes(range(256))


def request(
    method: str,
    url: str,
    token: str | None = None,
    data: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, Message, bytes]:
    """(status, headers (case-insensitive), raw body) of one HTTP request; errors are answers
    too."""
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    if content_type:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(  # noqa: S310 (https to a lab host's management address)
        url, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:  # noqa: S310
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def call(
    method: str, url: str, token: str | None = None, body: dict | None = None
) -> tuple[int, Message, dict]:
    """(status, headers, JSON body) of a request with an optional JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    status, headers, raw = request(
        method, url, token, data, "application/json" if data is not None else None
    )
    try:
        return status, headers, json.loads(raw or b"{}")
    except ValueError:
        return status, headers, {}


@pytest.fixture(scope="module")
def file_store(host) -> bool:
    """Whether glance keeps images in its file store (the default without Swift proxies)."""
    return not host.ansible.get_variables()["groups"].get("swift_proxy")


@pytest.fixture(scope="module")
def probe_image(host, admin_token):
    """A private image made for the probe (deleted at the end if a test left it)."""
    # The host's management address (the shared fixture is per test, this one per module).
    images = f"https://{host.ansible.get_variables()['ansible_host']}:{PORT}/v2/images"
    status, _headers, body = call(
        "POST",
        images,
        admin_token,
        {
            "name": f"nimbus-molecule-probe-{uuid.uuid4().hex[:8]}",
            "disk_format": "raw",
            "container_format": "bare",
            "visibility": "private",
        },
    )
    assert status == 201
    assert body["status"] == "queued"
    yield body["id"]
    request("DELETE", f"{images}/{body['id']}", admin_token)


def test_unit_running_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running
    assert service.is_enabled


def test_listens_on_the_management_address_only(listeners, management_address):
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}


def test_runs_as_glance_in_its_sandbox(process_sandbox):
    """The API's main process: user glance, no capability, no new privileges, a system-call
    filter (systemd_service's default sandbox, as the kernel applies it)."""
    assert process_sandbox(UNIT) == ("glance", 0, "1", "2")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc/glance", ("root", "glance", 0o750)),
        ("/etc/glance/glance-api.conf", ("root", "glance", 0o640)),
        ("/etc/glance/glance-api.conf.d", ("root", "glance", 0o750)),
        ("/etc/glance/glance-api.conf.d/secrets.conf", ("root", "glance", 0o640)),
        ("/etc/glance/glance-api-uwsgi.ini", ("root", "glance", 0o640)),
        # No policy overrides: no file, the code's defaults apply.
        ("/etc/glance/policy.yaml", None),
        (f"/etc/systemd/system/{UNIT}", ("root", "root", 0o644)),
        ("/var/lib/glance", ("glance", "glance", 0o750)),
        (FILE_STORE, ("glance", "glance", 0o750)),
        ("/var/lib/glance/staging", ("glance", "glance", 0o750)),
        ("/var/lib/glance/tasks_work_dir", ("glance", "glance", 0o750)),
    ],
)
def test_file_owner_and_mode(owner_and_mode, path, expected):
    assert owner_and_mode(path) == expected


def test_swift_store_credentials_only_with_swift(owner_and_mode, file_store):
    """The swift store's credentials (glance's service user): only when Swift is the store."""
    expected = None if file_store else ("root", "glance", 0o640)
    assert owner_and_mode("/etc/glance/glance-swift-store.conf") == expected


def test_runs_the_configuration_on_disk(files_newer_than):
    """No file the unit reads changed after it started (a restart owed, also by a lost run)."""
    assert files_newer_than(UNIT, READS) == []


def test_no_failed_writes(no_failed_writes):
    no_failed_writes(UNIT)


def test_no_restart_owed(host):
    assert not host.file(f"/var/lib/nimbus/restart-owed/{UNIT}").exists


def test_catalog_lists_the_image_service(admin_auth):
    _token, catalog = admin_auth
    image = [entry for entry in catalog if entry["type"] == "image"]
    assert len(image) == 1
    endpoints = image[0]["endpoints"]
    assert {e["interface"] for e in endpoints} == {"public", "internal", "admin"}
    assert all(e["url"].startswith("https://") for e in endpoints)
    assert all(e["url"].rstrip("/").endswith(f":{PORT}") for e in endpoints)


def test_port_speaks_tls_with_the_host_certificate(presents_the_host_certificate):
    """uWSGI presents the host's certificate, verified with the deployment CA for the
    management address, and answers no plain-HTTP request (glance_backend_tls)."""
    presents_the_host_certificate(PORT)


def test_haproxy_verifies_the_backend(haproxy_verifies_this_host):
    """Every HAProxy talks TLS to this host's glance, verifying its certificate (and its name)
    with the deployment CA, and its health check finds it up that way."""
    haproxy_verifies_this_host("glance-back")


def test_versions_answer_without_a_token(management_address):
    status, _headers, body = call("GET", f"https://{management_address}:{PORT}/versions")
    assert status == 200
    current = [v["id"] for v in body["versions"] if v["status"] == "CURRENT"]
    assert len(current) == 1
    assert current[0].startswith("v2.")


def test_images_need_a_token(management_address):
    status, _headers, _body = call("GET", f"https://{management_address}:{PORT}/v2/images")
    assert status == 401


def test_image_data_uploaded(host, management_address, admin_token, probe_image, file_store):
    image_url = f"https://{management_address}:{PORT}/v2/images/{probe_image}"
    status, _headers, _body = request(
        "PUT", f"{image_url}/file", admin_token, PROBE_DATA, "application/octet-stream"
    )
    assert status == 204
    status, _headers, body = call("GET", image_url, admin_token)
    assert status == 200
    assert body["status"] == "active"
    assert body["size"] == len(PROBE_DATA)
    assert body["os_hash_algo"] == "sha512"
    assert body["os_hash_value"] == hashlib.sha512(PROBE_DATA).hexdigest()
    assert body["stores"] == ("file" if file_store else "swift")
    if file_store:
        data = host.file(f"{FILE_STORE}/{probe_image}")
        assert data.exists
        assert (data.user, data.group, data.size) == ("glance", "glance", len(PROBE_DATA))


def test_image_data_downloaded_unchanged(management_address, admin_token, probe_image):
    status, headers, data = request(
        "GET", f"https://{management_address}:{PORT}/v2/images/{probe_image}/file", admin_token
    )
    assert status == 200
    assert data == PROBE_DATA
    assert headers["Content-MD5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_image_listed_then_deleted(host, management_address, admin_token, probe_image, file_store):
    images = f"https://{management_address}:{PORT}/v2/images"
    status, _headers, body = call("GET", images, admin_token)
    assert status == 200
    assert probe_image in {image["id"] for image in body["images"]}
    status, _headers, _body = request("DELETE", f"{images}/{probe_image}", admin_token)
    assert status == 204
    status, _headers, _body = call("GET", f"{images}/{probe_image}", admin_token)
    assert status == 404
    if file_store:
        assert not host.file(f"{FILE_STORE}/{probe_image}").exists
