"""Faults of the compute, network and storage services on the whole ``ha`` lab (five hosts).

``test_ha.py`` tests the shared control plane (it also runs on the three-host ``ha-core``);
these tests need what only ``ha`` deploys: Neutron with its OVN chassis, and Swift on the three
infrastructure hosts (3 replicas in 3 zones) under Glance. They stop and start services and
run playbooks, so they only run when asked to, on a deployed ``ha``:

    tests/lab/lab.py create ha
    OSA_CONFIG_DIR=/etc/nimbus-lab/ha openstack-ansible setup-everything.yml
    NIMBUS_TEST_HA_CLOUD=1 pytest -v -s tests/integration/test_ha_cloud.py

Settings (environment): NIMBUS_HA_CONFIG_DIR and NIMBUS_HA_INFRA_HOSTS as for ``test_ha.py``
(defaults /etc/nimbus-lab/ha and infra1,infra2,infra3), NIMBUS_HA_COMPUTE_HOST (default
compute1: the host a test port is bound to). Every test leaves the services running as it
found them and deletes what it created.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest
import yaml

# The lab helpers of the control-plane tests (lxc-attach into a host, this checkout's
# openstack-ansible, the OVN cluster checks), shared rather than copied.
from test_ha import (
    CONFIG_DIR,
    INFRA,
    OVN_CLIENT_TLS,
    OVN_DBS,
    assert_one_ovn_cluster,
    in_host,
    lab_poller,
    must,
    openstack_ansible,
    ovn_member,
    ovn_nb_remote,
    restart_batches,
    wait_for,
)

COMPUTE = os.environ.get("NIMBUS_HA_COMPUTE_HOST", "compute1")
SWIFT_VENV = "/openstack/venvs/swift-2.38.3"
SWIFT_PROXY = "swift-proxy-server"
SWIFT_STORAGE_UNITS = (
    "swift-account-server",
    "swift-container-server",
    "swift-object-server",
    "swift-object-replicator",
)

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("NIMBUS_TEST_HA_CLOUD") != "1",
        reason="set NIMBUS_TEST_HA_CLOUD=1 to run against a deployed ha lab (it stops services)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="lxc-attach to the lab hosts needs root"),
]


def openstack(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The openstack client as the cloud's admin on the first infra host (its utility host);
    never raises on a non-zero exit."""
    return in_host(
        INFRA[0],
        "sh",
        "-c",
        '. /root/openrc && exec openstack "$@"',
        "openstack",
        *args,
        timeout=timeout,
    )


def openstack_ok(*args: str, timeout: float = 120) -> str:
    result = openstack(*args, timeout=timeout)
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture
def restore_services() -> Iterator[list[tuple[str, str]]]:
    """Units a test stopped, as (host, unit); started again whatever the test's outcome."""
    stopped: list[tuple[str, str]] = []
    yield stopped
    for host, unit in stopped:
        in_host(host, "systemctl", "start", unit, timeout=300)


def unit_pid(host: str, unit: str) -> str:
    return must(host, "systemctl", "show", "-P", "MainPID", unit).strip()


# --- Neutron with the OVN leaders lost --------------------------------------------------------


def ovn_leader(db: str) -> str:
    leaders = [host for host in INFRA if (ovn_member(host, db) or {}).get("leader") == "self"]
    assert len(leaders) == 1, f"{db}: leaders {leaders}"
    return leaders[0]


def ovn_clusters_whole(cluster_ids: dict[str, str]) -> bool:
    try:
        assert_one_ovn_cluster(cluster_ids)
    except AssertionError:
        return False
    return True


def nb_ports(host: str, db: str, name: str) -> str:
    """The names of the NB logical switch ports called NAME, read on HOST through DB (any
    member: not only the leader)."""
    return must(
        host,
        "ovn-nbctl",
        "--no-leader-only",
        f"--db={db}",
        *OVN_CLIENT_TLS,
        "--timeout=20",
        "--bare",
        "--columns=name",
        "find",
        "Logical_Switch_Port",
        f"name={name}",
        timeout=60,
    )


@pytest.fixture
def test_port() -> Iterator[str]:
    """A Neutron port name for a test; the port is deleted at the end."""
    name = f"nimbus-ha-{secrets.token_hex(3)}"
    yield name
    openstack("port", "delete", name)


def test_neutron_binds_a_port_with_both_ovn_leaders_stopped_and_ovn_yml_rejoins_them(
    restore_services: list[tuple[str, str]], test_port: str
) -> None:
    """The NB and SB leaders stopped: the other members elect new leaders, neutron-server
    (connected to every member, writing through the leader) keeps answering and creates a port
    bound to a compute chassis; the next ``ovn.yml`` starts the old leaders, which rejoin their
    clusters (same cluster IDs, no second cluster, no stale member)."""
    before = assert_one_ovn_cluster()
    for db in OVN_DBS:
        leader, unit = ovn_leader(db), f"ovn-ovsdb-server-{db}"
        must(leader, "systemctl", "stop", unit)
        restore_services.append((leader, unit))
        print(f"{db.upper()} leader {leader} stopped")
    started = time.monotonic()
    created = openstack(
        "port",
        "create",
        "--network",
        "demo-net",
        "--host",
        COMPUTE,
        "-f",
        "json",
        "-c",
        "id",
        "-c",
        "binding_vif_type",
        "-c",
        "status",
        test_port,
    )
    took = time.monotonic() - started
    assert created.returncode == 0, f"port create failed after {took:.1f}s: {created.stderr}"
    port = json.loads(created.stdout)
    print(f"port {port['id']} created in {took:.1f}s, vif type {port['binding_vif_type']}")
    assert port["binding_vif_type"] == "ovs", f"the port did not bind to {COMPUTE}: {port}"
    survivor = next(h for h in INFRA if (h, "ovn-ovsdb-server-nb") not in restore_services)
    in_nb = nb_ports(survivor, ovn_nb_remote(), port["id"])
    assert port["id"] in in_nb, f"port {port['id']} is not in the NB database"
    assert openstack_ok("network", "show", "demo-net", "-f", "value", "-c", "status").strip() == (
        "ACTIVE"
    )

    openstack_ansible("ovn.yml", "--limit", "neutron_ovn_northd")
    for host, unit in restore_services:
        state = must(host, "systemctl", "is-active", unit).strip()
        assert state == "active", f"ovn.yml left {unit} on {host} {state}"
    restore_services.clear()
    whole, took = wait_for(lambda: ovn_clusters_whole(before), 120, interval=2)
    assert whole, f"the OVN clusters are not whole {took:.0f}s after ovn.yml"
    print(f"old leaders back in their clusters {took:.1f}s after ovn.yml")
    for host in INFRA:
        rows = nb_ports(host, "unix:/var/run/ovn/ovnnb_db.sock", port["id"])
        assert port["id"] in rows, f"{host}'s NB member lacks the port created while it was down"


# --- Swift ------------------------------------------------------------------------------------

# On a swift host: the object's partition, its primary devices, and which of them hold a
# .data file on this host. Swift's own ring and hash code, with this host's swift.conf.
OBJECT_LOCATIONS = r"""
import glob, json, os, sys
from swift.common.ring import Ring
from swift.common.utils import hash_path
account, container, obj, devices_root = sys.argv[1:5]
ring = Ring("/etc/swift", ring_name="object")
part, nodes = ring.get_nodes(account, container, obj)
digest = hash_path(account, container, obj)
local = {}
for node in nodes:
    path = os.path.join(devices_root, node["device"], "objects", str(part), digest[-3:], digest)
    local[node["device"]] = sorted(os.path.basename(p) for p in glob.glob(path + "/*.data"))
print(json.dumps({"partition": part, "primaries": [n["device"] for n in nodes], "local": local}))
"""


def swift_devices_root(host: str) -> str:
    conf = must(host, "cat", "/etc/swift/object-server.conf")
    for line in conf.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "devices":
            return value.strip()
    return "/srv/node"


def object_data_on(host: str, account: str, container: str, obj: str) -> dict:
    out = must(
        host,
        f"{SWIFT_VENV}/bin/python",
        "-c",
        OBJECT_LOCATIONS,
        account,
        container,
        obj,
        swift_devices_root(host),
    )
    return json.loads(out)


def local_devices(host: str) -> list[str]:
    root = swift_devices_root(host)
    return must(host, "ls", "-1", root).split()


@pytest.fixture
def swift_container() -> Iterator[str]:
    """A throw-away container; emptied and deleted at the end."""
    name = f"nimbus-ha-{secrets.token_hex(3)}"
    openstack_ok("container", "create", name)
    yield name
    openstack("container", "delete", "--recursive", name)


def swift_account() -> str:
    project = openstack_ok("token", "issue", "-f", "value", "-c", "project_id").split()[-1]
    return f"AUTH_{project}"


def put_object(container: str, name: str, size: int = 1 << 20) -> str:
    """Upload SIZE random bytes as NAME from the utility host; returns their md5."""
    path = f"/root/{name}"
    must(INFRA[0], "sh", "-c", f"head -c {size} /dev/urandom > {path}")
    md5 = must(INFRA[0], "md5sum", path).split()[0]
    openstack_ok("object", "create", "--name", name, container, path)
    must(INFRA[0], "rm", "-f", path)
    return md5


def get_object_md5(container: str, name: str) -> str:
    path = f"/root/{name}.download"
    openstack_ok("object", "save", "--file", path, container, name)
    md5 = must(INFRA[0], "md5sum", path).split()[0]
    must(INFRA[0], "rm", "-f", path)
    return md5


def test_swift_serves_with_an_object_server_down_and_replication_restores_its_copy(
    restore_services: list[tuple[str, str]], swift_container: str
) -> None:
    """One host's object server stopped: an object is still written (two of three replicas)
    and read back through the VIP, and objects written before stay readable. Started again,
    the replicators give that host its copy: the object's .data file appears on its primary
    device there."""
    host = INFRA[1]
    before = put_object(swift_container, "before")
    must(host, "systemctl", "stop", "swift-object-server")
    restore_services.append((host, "swift-object-server"))
    written = put_object(swift_container, "during")
    assert get_object_md5(swift_container, "during") == written
    assert get_object_md5(swift_container, "before") == before
    account = swift_account()
    missing = object_data_on(host, account, swift_container, "during")
    mine = [d for d in missing["primaries"] if d in local_devices(host)]
    assert mine, f"{host} holds no primary of the object: {missing}"
    assert not any(missing["local"][d] for d in mine), f"{host} has the copy already: {missing}"

    must(host, "systemctl", "start", "swift-object-server")
    restore_services.clear()
    # The replicators run every 30 s; one pass from each peer makes the test's time certain.
    for peer in INFRA:
        if peer != host:
            must(
                peer,
                f"{SWIFT_VENV}/bin/swift-object-replicator",
                "/etc/swift/object-server.conf",
                "--once",
                timeout=300,
            )

    def replicated() -> bool:
        found = object_data_on(host, account, swift_container, "during")
        return any(found["local"][d] for d in mine)

    ok, took = wait_for(replicated, 180, interval=5)
    assert ok, f"{host} still lacks its copy {took:.0f}s after its object server came back"
    print(f"{host} has its copy of the object {took:.1f}s after the replicator passes")
    assert get_object_md5(swift_container, "during") == written


POLL_OBJECT = r"""
. /root/openrc
token=$(openstack token issue -f value -c id)
url=$(openstack endpoint list --service object-store --interface internal -f value -c URL)
project=$(openstack token issue -f value -c project_id)
url=$(printf '%s' "$url" | sed "s/%(project_id)s/$project/")
rm -f /root/nimbus-swift-poll.log /root/nimbus-swift-poll.stop
while [ ! -e /root/nimbus-swift-poll.stop ]; do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --cacert "$OS_CACERT" \
    -H "X-Auth-Token: $token" "$url/$1/$2" >> /root/nimbus-swift-poll.log
  sleep 0.2
done
"""


def test_swift_proxy_config_change_restarts_only_the_proxies_one_at_a_time(
    tmp_path, swift_container: str
) -> None:
    """``swift.yml --tags swift-config`` with a proxy-server.conf override restarts the proxy
    on every swift proxy host, one batch per host (drained from HAProxy), and no storage
    server; a client reading an object through the VIP all along gets only 200s."""
    put_object(swift_container, "polled", size=4096)
    storage_pids = {(h, u): unit_pid(h, u) for h in INFRA for u in SWIFT_STORAGE_UNITS}
    proxy_pids = {h: unit_pid(h, SWIFT_PROXY) for h in INFRA}
    override = tmp_path / "override.yml"
    override.write_text("swift_proxy_server_conf_overrides: {DEFAULT: {client_timeout: 61}}\n")
    poller = lab_poller(INFRA[0], POLL_OBJECT, swift_container, "polled")
    changed = False
    try:
        time.sleep(5)
        for extra in (["-e", f"@{override}"], []):  # the change, then taking it back
            changed = bool(extra)
            run = openstack_ansible("swift.yml", "--tags", "swift-config", *extra)
            assert restart_batches(run, "swift") == len(INFRA), (
                "expected one proxy restart batch per host"
            )
            if changed:
                for host in INFRA:
                    conf = must(host, "cat", "/etc/swift/proxy-server/proxy-server.conf")
                    assert "client_timeout = 61" in conf, f"{host}: the override is not there"
                    assert unit_pid(host, SWIFT_PROXY) != proxy_pids[host], f"{host}: no restart"
        changed = False
    finally:
        must(INFRA[0], "touch", "/root/nimbus-swift-poll.stop")
        poller.wait(timeout=60)
        if changed:  # a failure left the override deployed: take it back for the next run
            openstack_ansible("swift.yml", "--tags", "swift-config")
    after = {(h, u): unit_pid(h, u) for h in INFRA for u in SWIFT_STORAGE_UNITS}
    assert after == storage_pids, "a storage server restarted on a proxy configuration change"
    codes = must(INFRA[0], "cat", "/root/nimbus-swift-poll.log").split()
    assert len(codes) >= 20, f"the client made only {len(codes)} requests"
    failed = [c for c in codes if c != "200"]
    assert not failed, f"{len(failed)} of {len(codes)} object reads failed: {sorted(set(failed))}"
    print(f"{len(codes)} object reads through the VIP during two rolling proxy restarts, all 200")


SWIFT_UNITS = (SWIFT_PROXY, *SWIFT_STORAGE_UNITS)
RINGS = ("account", "container", "object")


def ring_md5s(host: str) -> dict[str, str]:
    out = must(host, "md5sum", *(f"/etc/swift/{ring}.ring.gz" for ring in RINGS))
    return {line.split()[1].rsplit("/", 1)[1]: line.split()[0] for line in out.splitlines()}


def test_swift_weight_change_rebalances_and_copies_the_rings_restarting_nothing() -> None:
    """A weight set for one host's drives in ``openstack_user_config.yml``, then ``swift.yml
    --tags swift-rings``: the deployment host rebalances, every swift host gets the same new
    rings, and no Swift unit restarts (the servers reload rings by themselves). The weight is
    taken back the same way."""
    config = CONFIG_DIR / "openstack_user_config.yml"
    original = config.read_text()
    host = INFRA[-1]
    pids = {(h, u): unit_pid(h, u) for h in INFRA for u in SWIFT_UNITS}
    before = {h: ring_md5s(h) for h in INFRA}
    assert len({tuple(sorted(m.items())) for m in before.values()}) == 1, before
    data = yaml.safe_load(original)
    data["swift_hosts"][host]["container_vars"]["swift_vars"]["weight"] = 50
    try:
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        openstack_ansible("swift.yml", "--tags", "swift-rings")
        after = {h: ring_md5s(h) for h in INFRA}
        assert len({tuple(sorted(m.items())) for m in after.values()}) == 1, after
        changed = {r for r in after[INFRA[0]] if after[INFRA[0]][r] != before[INFRA[0]][r]}
        assert changed == {f"{r}.ring.gz" for r in RINGS}, f"rings rewritten: {changed}"
        weights = must(
            INFRA[0],
            f"{SWIFT_VENV}/bin/python",
            "-c",
            "from swift.common.ring import Ring; import json; "
            "print(json.dumps(sorted({d['weight'] for d in Ring('/etc/swift', ring_name='object')"
            ".devs if d})))",
        )
        assert json.loads(weights) == [50.0, 100.0], f"object ring weights: {weights}"
    finally:
        config.write_text(original)
    openstack_ansible("swift.yml", "--tags", "swift-rings")
    back = {h: ring_md5s(h) for h in INFRA}
    assert len({tuple(sorted(m.items())) for m in back.values()}) == 1, back
    assert {(h, u): unit_pid(h, u) for h in INFRA for u in SWIFT_UNITS} == pids, (
        "a Swift unit restarted on a ring change"
    )
