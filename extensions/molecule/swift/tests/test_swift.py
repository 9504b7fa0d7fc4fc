"""What swift leaves on a host (Molecule scenario swift; the same module runs over every host
of swift_all of a deployment).

A host's checks follow its groups: the proxy's on swift_proxy hosts, the storage servers',
their daemons' and rsync's on swift_hosts; where the host is not in a group, its units and
files must be absent. The rings on the host must hold exactly the devices the inventory gives
it (drives of its swift_vars, else of the swift section, on its storage network's address).

The functional probe talks to the host's proxy on its management address (the first proxy's
on a storage-only host): /info and /healthcheck answer without a token, the account refuses a
request without one (401); with a token Keystone issues to the admin (the password read on
the deployment host from the configuration directory's user_secrets.yml, never part of an
assertion or a message), a container is created, an object stored, read back byte for byte
(its etag the md5 of the bytes), listed, then both deleted (404 after).
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.message import Message

import pytest

testinfra_hosts = ["swift_all"]

VERSION = "2.38.3"
VENV = f"/openstack/venvs/swift-{VERSION}"
PROXY_PORT = 8090
PORTS = {"account": 6202, "container": 6201, "object": 6200}
RSYNC_PORT = 873
PROXY_UNIT = "swift-proxy-server.service"
STORAGE_UNITS = [
    "swift-account-server.service",
    "swift-account-replicator.service",
    "swift-account-auditor.service",
    "swift-account-reaper.service",
    "swift-container-server.service",
    "swift-container-replicator.service",
    "swift-container-auditor.service",
    "swift-container-updater.service",
    "swift-object-server.service",
    "swift-object-replicator.service",
    "swift-object-auditor.service",
    "swift-object-updater.service",
    "swift-object-expirer.service",
]
# Each unit of the role, and the group whose hosts run it.
UNITS = [(PROXY_UNIT, "swift_proxy")] + [(unit, "swift_hosts") for unit in STORAGE_UNITS]
# What the probe stores: a few bytes, some of them not text.
PROBE_DATA = b"nimbus molecule swift probe\n" + bytes(range(256))

# The ring on the host, read with Swift's own code (the venv's python): device, ip, port and
# replication ip of every device of this host (its meta), and the ring's replica count.
RING_DEVICES = """
import json, sys
from swift.common.ring import Ring
ring = Ring("/etc/swift", ring_name=sys.argv[1])
print(json.dumps({
    "replicas": ring.replica_count,
    "devices": sorted([d["device"], d["ip"], d["port"], d["replication_ip"]]
                      for d in ring.devs if d and d["meta"] == sys.argv[2]),
}))
"""


def request(
    method: str, url: str, token: str | None = None, data: bytes | None = None
) -> tuple[int, Message, bytes]:
    """(status, headers (case-insensitive), raw body) of one HTTP request; errors are answers
    too."""
    headers = {"X-Auth-Token": token} if token else {}
    req = urllib.request.Request(  # noqa: S310 (http to a lab host's management address)
        url, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:  # noqa: S310
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def in_group(host, group: str) -> bool:
    variables = host.ansible.get_variables()
    return variables["inventory_hostname"] in variables["groups"].get(group, [])


@pytest.fixture(scope="module")
def proxy_url(host) -> str:
    """http://<management address>:8090 of this host's proxy (the first proxy's on a
    storage-only host)."""
    variables = host.ansible.get_variables()
    name = variables["inventory_hostname"]
    if name not in variables["groups"]["swift_proxy"]:
        name = variables["groups"]["swift_proxy"][0]
    address = host.backend.ansible_runner.get_variables(name)["ansible_host"]
    return f"http://{address}:{PROXY_PORT}"


def network_address(variables: dict, setting: str) -> str:
    """The host's address on the Swift network SETTING names (storage_network or
    replication_network; the host's swift_vars, else the swift section; replication defaults
    to storage), by bridge or by network name, as the ring plan finds it."""
    local = variables.get("swift_vars") or {}
    section = variables["swift"]
    network = local.get("storage_network", section["storage_network"])
    if setting == "replication_network":
        network = local.get(setting, section.get(setting, network))
    for name, net in variables["container_networks"].items():
        if network in (net.get("bridge"), name.removesuffix("_address")):
            return net["address"]
    raise AssertionError(f"the inventory gives the host no address on {network}")


@pytest.fixture(scope="module")
def storage_address(host) -> str:
    return network_address(host.ansible.get_variables(), "storage_network")


@pytest.fixture(scope="module")
def replication_address(host) -> str:
    return network_address(host.ansible.get_variables(), "replication_network")


@pytest.fixture(scope="module")
def drives(host) -> list[str]:
    """The host's drive names (its swift_vars' drives, else the swift section's)."""
    variables = host.ansible.get_variables()
    local = variables.get("swift_vars") or {}
    listed = local["drives"] if "drives" in local else variables["swift"]["drives"]
    return sorted(d if isinstance(d, str) else d["name"] for d in listed)


@pytest.fixture(scope="module")
def account_path(admin_auth) -> str:
    """/v1/AUTH_<project> of the admin's project, as the catalog's internal endpoint names it."""
    _token, catalog = admin_auth
    (store,) = [entry for entry in catalog if entry["type"] == "object-store"]
    (internal,) = [e["url"] for e in store["endpoints"] if e["interface"] == "internal"]
    return urllib.parse.urlsplit(internal).path.rstrip("/")


@pytest.fixture(scope="module")
def probe_container(proxy_url, account_path, admin_token):
    """A container made for the probe (deleted at the end if a test left it)."""
    url = f"{proxy_url}{account_path}/nimbus-molecule-probe-{uuid.uuid4().hex[:8]}"
    status, _headers, _body = request("PUT", url, admin_token)
    assert status == 201
    yield url
    request("DELETE", f"{url}/probe", admin_token)
    request("DELETE", url, admin_token)


@pytest.mark.parametrize(("unit", "group"), UNITS)
def test_units_of_the_host_s_groups_running_and_enabled(host, unit, group):
    service = host.service(unit)
    if in_group(host, group):
        assert service.is_running
        assert service.is_enabled
    else:
        assert not host.file(f"/etc/systemd/system/{unit}").exists


def test_rsync_runs_on_storage_hosts(host):
    """Replication: the other hosts' replicators push to it (Debian's unit)."""
    if in_group(host, "swift_hosts"):
        assert host.service("rsync").is_running
        assert host.service("rsync").is_enabled


def test_proxy_listens_on_the_management_address_only(host, listeners, management_address):
    expected = {f"{management_address}:{PROXY_PORT}"} if in_group(host, "swift_proxy") else set()
    assert listeners("tcp", PROXY_PORT) == expected


@pytest.mark.parametrize(("server", "port"), sorted(PORTS.items()))
def test_storage_servers_listen_on_the_storage_address_only(
    host, listeners, storage_address, server, port
):
    expected = {f"{storage_address}:{port}"} if in_group(host, "swift_hosts") else set()
    assert listeners("tcp", port) == expected, server


def test_rsync_listens_on_the_replication_address_only(host, listeners, replication_address):
    expected = {f"{replication_address}:{RSYNC_PORT}"} if in_group(host, "swift_hosts") else set()
    assert listeners("tcp", RSYNC_PORT) == expected


@pytest.mark.parametrize(("unit", "group"), UNITS)
def test_runs_as_swift_in_its_sandbox(host, process_sandbox, unit, group):
    """Each unit's main process: user swift, no capability, no new privileges, a system-call
    filter (systemd_service's default sandbox, as the kernel applies it)."""
    if in_group(host, group):
        assert process_sandbox(unit) == ("swift", 0, "1", "2")


@pytest.mark.parametrize(("unit", "group"), UNITS)
def test_runs_the_configuration_on_disk(host, files_newer_than, unit, group):
    """No file the unit reads changed after it started (a restart owed, also by a lost run);
    the rings are not among them (the servers load a new ring themselves)."""
    if not in_group(host, group):
        pytest.skip(f"not a host of {group}")
    conf = (
        "proxy-server/proxy-server.conf"
        if unit == PROXY_UNIT
        else unit.removeprefix("swift-").rsplit("-", 1)[0] + "-server.conf"
    )
    if unit == "swift-object-expirer.service":
        conf = "object-expirer.conf"
    reads = [f"/etc/systemd/system/{unit}", "/etc/swift/swift.conf", f"/etc/swift/{conf}"]
    assert files_newer_than(unit, reads) == []


@pytest.mark.parametrize("unit", [unit for unit, _group in UNITS])
def test_no_restart_owed(host, unit):
    assert not host.file(f"/var/lib/nimbus/restart-owed/{unit}").exists


SECRET = ("root", "swift", 0o640)
PROXY_FILES = [
    ("/etc/swift/proxy-server", ("root", "swift", 0o750)),
    ("/etc/swift/proxy-server/proxy-server.conf", SECRET),
    # The service user's password.
    ("/etc/swift/proxy-server/secrets.conf", SECRET),
]
STORAGE_FILES = [
    ("/etc/swift/account-server.conf", SECRET),
    ("/etc/swift/container-server.conf", SECRET),
    ("/etc/swift/object-server.conf", SECRET),
    ("/etc/swift/object-expirer.conf", SECRET),
    ("/etc/rsyncd.conf", ("root", "root", 0o644)),
    ("/srv/node", ("swift", "swift", 0o755)),
]
COMMON_FILES = [
    ("/etc/swift", ("root", "swift", 0o750)),
    # The hash path salts.
    ("/etc/swift/swift.conf", SECRET),
    ("/etc/swift/account.ring.gz", ("root", "swift", 0o644)),
    ("/etc/swift/container.ring.gz", ("root", "swift", 0o644)),
    ("/etc/swift/object.ring.gz", ("root", "swift", 0o644)),
    ("/var/lib/swift", ("swift", "swift", 0o750)),
    ("/var/cache/swift", ("swift", "swift", 0o755)),
]


@pytest.mark.parametrize(
    ("path", "expected", "group"),
    [(path, expected, None) for path, expected in COMMON_FILES]
    + [(path, expected, "swift_proxy") for path, expected in PROXY_FILES]
    + [(path, expected, "swift_hosts") for path, expected in STORAGE_FILES]
    + [(f"/etc/systemd/system/{unit}", ("root", "root", 0o644), group) for unit, group in UNITS],
)
def test_file_owner_and_mode(host, owner_and_mode, path, expected, group):
    if group is not None and not in_group(host, group):
        expected = None
    assert owner_and_mode(path) == expected


def test_device_directories_belong_to_swift(host, owner_and_mode, drives):
    """With swift_storage_device_directories (the labs), each drive is a directory of swift;
    on real hosts a filesystem mounted there (its root belongs to swift too)."""
    if in_group(host, "swift_hosts"):
        found = {drive: owner_and_mode(f"/srv/node/{drive}") for drive in drives}
        assert {drive: value[:2] if value else None for drive, value in found.items()} == {
            drive: ("swift", "swift") for drive in drives
        }


@pytest.mark.parametrize("ring", sorted(PORTS))
def test_ring_holds_the_host_s_devices(host, storage_address, replication_address, drives, ring):
    variables = host.ansible.get_variables()
    out = host.check_output(
        "%s -c %s %s %s",
        f"{VENV}/bin/python",
        RING_DEVICES,
        ring,
        variables["inventory_hostname"],
    )
    found = json.loads(out)
    expected = []
    if in_group(host, "swift_hosts"):
        expected = [[drive, storage_address, PORTS[ring], replication_address] for drive in drives]
    assert found["devices"] == sorted(expected)
    # Never more replicas than zones (one zone per host in the labs, 1 to 3 hosts).
    assert 1 <= found["replicas"] <= len(variables["groups"]["swift_hosts"])


def test_catalog_lists_the_object_store(admin_auth):
    _token, catalog = admin_auth
    store = [entry for entry in catalog if entry["type"] == "object-store"]
    assert len(store) == 1
    endpoints = store[0]["endpoints"]
    assert {e["interface"] for e in endpoints} == {"public", "internal", "admin"}
    for endpoint in endpoints:
        url = urllib.parse.urlsplit(endpoint["url"])
        assert (url.scheme, url.port) == ("https", 8080)
        assert url.path.startswith("/v1/AUTH_")


def test_info_and_healthcheck_answer_without_a_token(proxy_url):
    status, _headers, body = request("GET", f"{proxy_url}/info")
    assert status == 200
    info = json.loads(body)
    assert info["swift"]["version"] == VERSION
    # Middleware of swift_proxy_pipeline that describe themselves in /info.
    assert {"bulk_delete", "slo", "tempurl", "versioned_writes", "symlink"} <= set(info)
    status, _headers, body = request("GET", f"{proxy_url}/healthcheck")
    assert (status, body) == (200, b"OK")


def test_account_needs_a_token(proxy_url, account_path):
    status, _headers, _body = request("GET", f"{proxy_url}{account_path}")
    assert status == 401


def test_object_stored_and_read_back_unchanged(probe_container, admin_token):
    status, headers, _body = request("PUT", f"{probe_container}/probe", admin_token, PROBE_DATA)
    assert status == 201
    md5 = hashlib.md5(PROBE_DATA, usedforsecurity=False).hexdigest()
    assert headers["Etag"] == md5
    status, headers, data = request("GET", f"{probe_container}/probe", admin_token)
    assert status == 200
    assert data == PROBE_DATA
    assert headers["Etag"] == md5


def test_object_listed_then_deleted(probe_container, admin_token):
    status, _headers, body = request("GET", f"{probe_container}?format=json", admin_token)
    assert status == 200
    listing = {item["name"]: (item["bytes"], item["hash"]) for item in json.loads(body)}
    md5 = hashlib.md5(PROBE_DATA, usedforsecurity=False).hexdigest()
    assert listing == {"probe": (len(PROBE_DATA), md5)}
    status, _headers, _body = request("DELETE", f"{probe_container}/probe", admin_token)
    assert status == 204
    status, _headers, _body = request("GET", f"{probe_container}/probe", admin_token)
    assert status == 404
    status, _headers, _body = request("DELETE", probe_container, admin_token)
    assert status == 204
    status, _headers, _body = request("GET", probe_container, admin_token)
    assert status == 404
