"""High availability of the infrastructure on an existing ``ha`` lab (issue 6).

Checks real state on the lab hosts through ``lxc-attach``: the Galera cluster has every member
Synced, RabbitMQ runs every node, the internal VIP moves to another HAProxy host within
NIMBUS_HA_FAILOVER_S seconds (default 5) when keepalived or HAProxy stops on its holder, and a
Galera cluster with one member stopped stays writable and takes the member back.

The tests stop and start services, so they only run when asked to:

    tests/lab/lab.py create ha
    OSA_CONFIG_DIR=/etc/nimbus-lab/ha openstack-ansible setup-hosts.yml
    OSA_CONFIG_DIR=/etc/nimbus-lab/ha openstack-ansible setup-infrastructure.yml
    NIMBUS_TEST_HA=1 pytest -v tests/integration/test_ha.py

Settings (environment): NIMBUS_HA_CONFIG_DIR (default /etc/nimbus-lab/ha, read for the
internal VIP and the monitoring password), NIMBUS_HA_INFRA_HOSTS (default infra1,infra2,infra3),
NIMBUS_HA_DB_FAILOVER_S (default 20: how long MariaDB on the VIP may be unavailable when the
member behind it stops; HAProxy's galera check, inter 5s fall 3, takes up to 15 s to notice).
Every test leaves the services running as it found them.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

CONFIG_DIR = Path(os.environ.get("NIMBUS_HA_CONFIG_DIR", "/etc/nimbus-lab/ha"))
INFRA = tuple(os.environ.get("NIMBUS_HA_INFRA_HOSTS", "infra1,infra2,infra3").split(","))
FAILOVER_S = float(os.environ.get("NIMBUS_HA_FAILOVER_S", "5"))
DB_FAILOVER_S = float(os.environ.get("NIMBUS_HA_DB_FAILOVER_S", "20"))
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The test database (dropped at the end): one table with the row written while a member is down.
DROP_DB = "DROP DATABASE IF EXISTS nimbus_ha_test"
NOTE = "written with one member down"

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("NIMBUS_TEST_HA") != "1",
        reason="set NIMBUS_TEST_HA=1 to run against an existing ha lab (it stops services)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="lxc-attach to the lab hosts needs root"),
]


def in_host(host: str, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run COMMAND inside lab host HOST; never raises on a non-zero exit."""
    return subprocess.run(
        ["lxc-attach", "-n", host, "--clear-env", "--set-var", PATH, "--", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def must(host: str, *command: str, timeout: float = 60) -> str:
    """Run COMMAND inside HOST and return its stdout; fail the test with its output if it fails."""
    result = in_host(host, *command, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(
            f"{host}: {' '.join(command)} exited {result.returncode}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def sql(host: str, statement: str) -> str:
    """Run STATEMENT as root through HOST's unix socket; tab-separated rows without headers."""
    return must(host, "mariadb", "--batch", "--skip-column-names", "-e", statement)


def wsrep_status(host: str) -> dict[str, str]:
    """The wsrep_% global status of HOST's MariaDB."""
    rows = sql(host, "SHOW GLOBAL STATUS LIKE 'wsrep_%'")
    return dict(line.split("\t", 1) for line in rows.splitlines() if "\t" in line)


def internal_vip() -> str:
    """internal_lb_vip_address of the scenario's openstack_user_config.yml."""
    path = CONFIG_DIR / "openstack_user_config.yml"
    try:
        config = yaml.safe_load(path.read_text())
        return str(config["global_overrides"]["internal_lb_vip_address"])
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        pytest.fail(
            f"cannot read global_overrides.internal_lb_vip_address from {path}: {error}; "
            "create the ha lab or set NIMBUS_HA_CONFIG_DIR"
        )


def vip_holders(vip: str) -> list[str]:
    """The infra hosts that have VIP on an interface right now."""
    holders = []
    for host in INFRA:
        out = in_host(host, "ip", "-o", "-4", "addr", "show", timeout=10).stdout
        if any(f" {vip}/" in line for line in out.splitlines()):
            holders.append(host)
    return holders


def wait_for(check, timeout: float, interval: float = 0.1):
    """Call CHECK until it returns something true or TIMEOUT passes; (value, seconds waited)."""
    started = time.monotonic()
    while True:
        value = check()
        took = time.monotonic() - started
        if value or took > timeout:
            return value, took
        time.sleep(interval)


def wait_synced(host: str, size: int, timeout: float = 300) -> None:
    def synced() -> bool:
        result = in_host(
            host,
            "mariadb",
            "--batch",
            "--skip-column-names",
            "-e",
            "SHOW GLOBAL STATUS WHERE Variable_name IN "
            "('wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_status')",
        )
        status = dict(line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line)
        return (
            status.get("wsrep_local_state_comment") == "Synced"
            and status.get("wsrep_cluster_status") == "Primary"
            and status.get("wsrep_cluster_size") == str(size)
        )

    ok, took = wait_for(synced, timeout, interval=2)
    assert ok, f"{host}: not Synced in a Primary component of {size} after {took:.0f}s"


# --- steady state --------------------------------------------------------------------------


def test_galera_cluster_has_every_member_synced() -> None:
    for host in INFRA:
        status = wsrep_status(host)
        assert status.get("wsrep_cluster_size") == str(len(INFRA)), (host, status)
        assert status.get("wsrep_cluster_status") == "Primary", (host, status)
        assert status.get("wsrep_local_state_comment") == "Synced", (host, status)
        assert status.get("wsrep_ready") == "ON", (host, status)


def test_rabbitmq_cluster_runs_every_node() -> None:
    expected = sorted(f"rabbit@{host}" for host in INFRA)
    for host in INFRA:
        out = must(host, "rabbitmqctl", "cluster_status", "--formatter", "json", timeout=120)
        status = json.loads(out)
        assert sorted(status["running_nodes"]) == expected, (host, status["running_nodes"])
        assert sorted(status["disk_nodes"]) == expected, (host, status["disk_nodes"])


def test_exactly_one_host_holds_the_internal_vip() -> None:
    assert len(vip_holders(internal_vip())) == 1


# --- failover ------------------------------------------------------------------------------


@pytest.fixture
def restore_services() -> Iterator[list[tuple[str, str]]]:
    """Services a test stopped, as (host, unit); started again whatever the test's outcome."""
    stopped: list[tuple[str, str]] = []
    yield stopped
    for host, unit in stopped:
        in_host(host, "systemctl", "start", unit, timeout=300)


@pytest.mark.parametrize("unit", ["keepalived", "haproxy"])
def test_vip_moves_when_its_holder_loses_a_service(
    unit: str, restore_services: list[tuple[str, str]]
) -> None:
    vip = internal_vip()
    holders = wait_for(lambda: vip_holders(vip), 30)[0]
    assert len(holders) == 1, f"{vip} should be on exactly one host, is on {holders}"
    holder = holders[0]

    restore_services.append((holder, unit))
    started = time.monotonic()  # the stop itself counts: keepalived hands the VIP over on exit
    must(holder, "systemctl", "stop", unit)

    def moved_away() -> list[str]:
        now = vip_holders(vip)
        return [] if holder in now else now

    moved = wait_for(moved_away, FAILOVER_S + 5)[0]
    took = time.monotonic() - started
    print(f"stop {unit} on {holder}: {vip} moved to {moved} after {took:.2f}s")
    assert len(moved) == 1, f"{vip} did not move from {holder} within {FAILOVER_S + 5}s: {moved}"
    assert took <= FAILOVER_S, f"{vip} moved to {moved[0]} after {took:.2f}s (limit {FAILOVER_S}s)"

    must(holder, "systemctl", "start", unit)
    restore_services.remove((holder, unit))
    time.sleep(6)  # keepalived's check needs rise x interval, then preemption may move the VIP
    final = wait_for(lambda: len(vip_holders(vip)) == 1 and vip_holders(vip), 15)[0]
    print(f"after start of {unit} on {holder}: {vip} on {final}")
    assert final and len(final) == 1, f"{vip} held by {final} after the restart, expected one host"


def test_galera_stays_writable_with_one_member_down_and_it_rejoins(
    restore_services: list[tuple[str, str]],
) -> None:
    down, writer = INFRA[-1], INFRA[0]
    wait_synced(writer, len(INFRA))
    sql(writer, DROP_DB)
    sql(writer, "CREATE DATABASE nimbus_ha_test")
    sql(writer, "CREATE TABLE nimbus_ha_test.t (id INT PRIMARY KEY, note VARCHAR(64))")
    try:
        restore_services.append((down, "mariadb"))
        must(down, "systemctl", "stop", "mariadb", timeout=300)
        wait_synced(writer, len(INFRA) - 1, timeout=60)
        sql(writer, "INSERT INTO nimbus_ha_test.t VALUES (1, 'written with one member down')")

        must(down, "systemctl", "start", "mariadb", timeout=600)
        restore_services.remove((down, "mariadb"))
        wait_synced(down, len(INFRA))
        rows = sql(down, "SELECT note FROM nimbus_ha_test.t WHERE id = 1").strip()
        assert rows == NOTE, f"{down} after rejoining: {rows!r}, expected {NOTE!r}"
    finally:
        in_host(writer, "mariadb", "-e", DROP_DB)


def monitoring_password() -> str:
    """galera_monitoring_user_password of the scenario's user_secrets.yml (never printed)."""
    path = CONFIG_DIR / "user_secrets.yml"
    try:
        return str(yaml.safe_load(path.read_text())["galera_monitoring_user_password"])
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        pytest.fail(f"cannot read galera_monitoring_user_password from {path}: {error}")


def vip_sql_host(client: str, vip: str, password: str) -> str:
    """The Galera member that answers on VIP:3306 (asked from CLIENT), or '' when none does."""
    # The password goes in on stdin, so it shows in no process list.
    script = (
        'read -r MYSQL_PWD; export MYSQL_PWD; exec mariadb -h "$0" -u monitoring'
        " --connect-timeout=1 --batch --skip-column-names -e 'SELECT @@hostname'"
    )
    result = subprocess.run(
        [
            "lxc-attach",
            "-n",
            client,
            "--clear-env",
            "--set-var",
            PATH,
            "--",
            "sh",
            "-c",
            script,
            vip,
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def test_galera_on_the_vip_moves_to_another_member(
    restore_services: list[tuple[str, str]],
) -> None:
    vip, password = internal_vip(), monitoring_password()
    client = INFRA[1]
    serving = vip_sql_host(client, vip, password)
    assert serving in INFRA, f"nothing answers on {vip}:3306 (got {serving!r})"

    restore_services.append((serving, "mariadb"))
    started = time.monotonic()
    must(serving, "systemctl", "stop", "mariadb", timeout=300)

    def another_member() -> str:
        answer = vip_sql_host(client, vip, password)
        return answer if answer != serving else ""

    other = wait_for(another_member, DB_FAILOVER_S + 10, interval=0.2)[0]
    took = time.monotonic() - started
    print(f"stop mariadb on {serving}: {vip}:3306 answered from {other!r} after {took:.2f}s")
    assert other, f"{vip}:3306 did not answer from another member within {DB_FAILOVER_S + 10}s"
    assert took <= DB_FAILOVER_S, f"{vip}:3306 unavailable for {took:.2f}s (limit {DB_FAILOVER_S}s)"

    must(serving, "systemctl", "start", "mariadb", timeout=600)
    restore_services.remove((serving, "mariadb"))
    wait_synced(serving, len(INFRA))


def test_a_token_from_the_vip_validates_on_every_keystone_host() -> None:
    """A token issued through the internal VIP is valid on every Keystone backend (shared
    fernet keys), asked directly on each host's management address."""
    token = must(INFRA[0], "sh", "-c", ". /root/openrc && openstack token issue -f value -c id")
    token = token.strip().splitlines()[-1]
    for host in INFRA:
        address = must(host, "sh", "-c", "ip -o -4 addr show br-mgmt | awk '{print $4}'")
        address = address.split()[0].split("/")[0]
        code = must(
            INFRA[0],
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            f"X-Auth-Token: {token}",
            "-H",
            f"X-Subject-Token: {token}",
            f"http://{address}:5000/v3/auth/tokens",
        )
        assert code.strip() == "200", f"{host} ({address}) rejected the token: HTTP {code}"


POLL_SCRIPT = r"""
. /root/openrc
rm -f /root/nimbus-poll.log /root/nimbus-poll.stop
while [ ! -e /root/nimbus-poll.stop ]; do
  printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s",
    "domain":{"name":"Default"},"password":"%s"}}},"scope":{"project":{"name":"%s",
    "domain":{"name":"Default"}}}}}' "$OS_USERNAME" "$OS_PASSWORD" "$OS_PROJECT_NAME" |
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --cacert "$OS_CACERT" \
      -H 'Content-Type: application/json' -d @- "$OS_AUTH_URL/auth/tokens" >> /root/nimbus-poll.log
  sleep 0.2
done
"""


def test_keystone_config_change_restarts_one_host_at_a_time_without_errors(tmp_path) -> None:
    """A keystone.conf change restarts keystone host by host, each drained from HAProxy: a
    client asking for tokens through the internal VIP all along sees no error."""
    override = tmp_path / "override.yml"
    override.write_text("keystone_keystone_conf_overrides: {DEFAULT: {max_param_size: 66}}\n")
    poller = subprocess.Popen(
        [
            "lxc-attach",
            "-n",
            INFRA[0],
            "--clear-env",
            "--set-var",
            PATH,
            "--",
            "sh",
            "-c",
            POLL_SCRIPT,
        ]
    )
    env = {**os.environ, "OSA_CONFIG_DIR": str(CONFIG_DIR)}
    try:
        time.sleep(3)
        for extra in (["-e", f"@{override}"], []):  # the change, then taking it back
            run = subprocess.run(
                ["openstack-ansible", "keystone.yml", "--tags", "keystone-config", *extra],
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
            assert run.returncode == 0, run.stdout[-6000:]
            batches = run.stdout.split("PLAY [Restart keystone where owed, host by host]")[1:]
            restarted = [
                b for b in batches if "TASK [nimbus.cloud.systemd_service : Restart the units" in b
            ]
            assert len(restarted) == len(INFRA), "expected one restart batch per keystone host"
    finally:
        must(INFRA[0], "touch", "/root/nimbus-poll.stop")
        poller.wait(timeout=60)
    codes = must(INFRA[0], "cat", "/root/nimbus-poll.log").split()
    assert len(codes) >= 20, f"the client made only {len(codes)} requests"
    failed = [c for c in codes if c != "201"]
    assert not failed, f"{len(failed)} of {len(codes)} token requests failed: {sorted(set(failed))}"
