"""The Galera cluster check behind HAProxy, on an existing lab (issue 16): HAProxy takes a member
out when it leaves Synced, not only when it stops accepting TCP.

On every Galera host of the scenario: the check (HTTP, galera_clustercheck_port) answers 200;
``SET GLOBAL wsrep_desync=ON`` on the active writer makes it answer 503 and HAProxy (every
HAProxy host) mark that backend DOWN within NIMBUS_GALERA_CHECK_S seconds (default 10);
with more than one member, MariaDB on the VIP is answered by another member meanwhile;
``wsrep_desync=OFF`` brings the 200 and the UP state back. The test desyncs a member, so it
only runs when asked to, against a deployed lab:

    NIMBUS_TEST_GALERA_LAB=dev2 pytest -v tests/integration/test_galera_check.py
    NIMBUS_TEST_GALERA_LAB=ha pytest -v tests/integration/test_galera_check.py

Hosts come from the scenario's openstack_deploy inventory (openstack-ansible-inventory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LAB = os.environ.get("NIMBUS_TEST_GALERA_LAB", "")
CONFIG_DIR = Path("/etc/nimbus-lab") / LAB
PORT = int(os.environ.get("NIMBUS_GALERA_CHECK_PORT", "9200"))
WAIT_S = float(os.environ.get("NIMBUS_GALERA_CHECK_S", "10"))
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pytestmark = [
    pytest.mark.skipif(
        not LAB, reason="set NIMBUS_TEST_GALERA_LAB=<scenario> to run against a deployed lab"
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="lxc-attach to the lab hosts needs root"),
]


def in_host(host: str, *command: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["lxc-attach", "-n", host, "--clear-env", "--set-var", PATH, "--", *command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{host}: {' '.join(command)}: {result.stderr[-2000:]}"
    return result.stdout


def inventory() -> dict:
    cli = REPO / "scripts" / "openstack-ansible-inventory"
    result = subprocess.run(
        [sys.executable, cli, "--config-dir", str(CONFIG_DIR), "export"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"inventory of {CONFIG_DIR}: {result.stderr[-2000:]}"
    return json.loads(result.stdout)


def group_hosts(data: dict, group: str) -> list[str]:
    """Hosts of GROUP in an ansible-inventory style export, through its children."""
    entry = data.get(group, {})
    hosts = list(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts += [h for h in group_hosts(data, child) if h not in hosts]
    return hosts


@pytest.fixture(scope="module")
def lab() -> dict:
    data = inventory()
    hostvars = data["_meta"]["hostvars"]
    galera = group_hosts(data, "galera_all")
    haproxy = group_hosts(data, "haproxy_all")
    assert galera, f"no galera_all host in {CONFIG_DIR}"
    assert haproxy, f"no haproxy_all host in {CONFIG_DIR}"
    return {
        "galera": galera,
        "haproxy": haproxy,
        "address": {h: hostvars[h]["management_address"] for h in galera},
        "vip": yaml.safe_load((CONFIG_DIR / "openstack_user_config.yml").read_text())[
            "global_overrides"
        ]["internal_lb_vip_address"],
    }


def check(address: str) -> tuple[int, str]:
    """HTTP status and body of the cluster check at ADDRESS (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://{address}:{PORT}/", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def backend_state(haproxy_host: str, member: str) -> str:
    """HAProxy's status (UP, DOWN, ...) of MEMBER in the galera backend."""
    stats = in_host(haproxy_host, "socat", "stdio", "/run/haproxy/admin.sock", stdin="show stat\n")
    for line in stats.splitlines():
        fields = line.split(",")
        if fields[:2] == ["galera-back", member]:
            return fields[17]
    pytest.fail(f"{haproxy_host}: no server {member} in HAProxy's galera-back backend")


def wait_for(predicate, timeout: float) -> tuple[bool, float]:
    started = time.monotonic()
    while True:
        if predicate():
            return True, time.monotonic() - started
        if time.monotonic() - started > timeout:
            return False, time.monotonic() - started
        time.sleep(0.2)


def vip_member(lab: dict, via: str) -> str:
    """@@hostname of the member that answers MariaDB on the internal VIP (from host VIA)."""
    return in_host(
        via,
        "mariadb",
        "--host",
        lab["vip"],
        # TLS verified with the deployment CA for the VIP, as the services connect.
        "--ssl-ca=/usr/local/share/ca-certificates/nimbus-ca.crt",
        "--ssl-verify-server-cert",
        "--user",
        "monitoring",
        f"--password={monitoring_password()}",
        "--batch",
        "--skip-column-names",
        "-e",
        "SELECT @@hostname",
    ).strip()


def monitoring_password() -> str:
    for line in (CONFIG_DIR / "user_secrets.yml").read_text().splitlines():
        key, _sep, value = line.partition(":")
        if key.strip() == "galera_monitoring_user_password":
            return value.strip().strip("'\"")
    pytest.fail(f"no galera_monitoring_user_password in {CONFIG_DIR}/user_secrets.yml")


@pytest.fixture
def desynced(lab: dict) -> Iterator[str]:
    writer = lab["galera"][0]
    in_host(writer, "mariadb", "-e", "SET GLOBAL wsrep_desync=ON")
    try:
        yield writer
    finally:
        in_host(writer, "mariadb", "-e", "SET GLOBAL wsrep_desync=OFF")


def test_check_answers_200_on_every_member(lab: dict) -> None:
    answers = {h: check(lab["address"][h]) for h in lab["galera"]}
    assert all(code == 200 for code, _body in answers.values()), answers
    for host in lab["haproxy"]:
        for member in lab["galera"]:
            assert backend_state(host, member) == "UP", f"{host}: {member}"


def test_desync_takes_the_writer_out_and_back(lab: dict, desynced: str) -> None:
    writer = desynced
    code, body = check(lab["address"][writer])
    assert code == 503, body
    assert "not Synced" in body
    for host in lab["haproxy"]:
        down, took = wait_for(lambda h=host: backend_state(h, writer) == "DOWN", WAIT_S)
        assert down, (
            f"{host}: HAProxy still has {writer} {backend_state(host, writer)} after {took:.1f}s"
        )
        print(f"{host}: {writer} DOWN {took:.1f}s after wsrep_desync=ON")
    if len(lab["galera"]) > 1:
        assert vip_member(lab, lab["haproxy"][0]) != writer

    in_host(writer, "mariadb", "-e", "SET GLOBAL wsrep_desync=OFF")
    back, took = wait_for(lambda: check(lab["address"][writer])[0] == 200, WAIT_S)
    assert back, f"{writer}: the check still answers {check(lab['address'][writer])} after OFF"
    for host in lab["haproxy"]:
        up, took = wait_for(lambda h=host: backend_state(h, writer) == "UP", WAIT_S)
        assert up, (
            f"{host}: HAProxy still has {writer} {backend_state(host, writer)} after {took:.1f}s"
        )
        print(f"{host}: {writer} UP {took:.1f}s after wsrep_desync=OFF")
