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
member behind it stops; HAProxy's galera check, inter 5s fall 3, takes up to 15 s to notice),
NIMBUS_HA_TOKEN_AFTER_FAULT_S (default 180: how long Keystone may take to issue a token
through the VIP after the host holding it died).
Every test leaves the services running as it found them.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.ovn import cluster_status

REPO = Path(__file__).resolve().parents[2]
# This checkout's wrapper, not whichever openstack-ansible is on PATH: the tests exercise the
# code they ship with (the collection under NIMBUS_COLLECTIONS, as for the wrapper itself).
OSA = REPO / "scripts" / "openstack-ansible"
CONFIG_DIR = Path(os.environ.get("NIMBUS_HA_CONFIG_DIR", "/etc/nimbus-lab/ha"))
INFRA = tuple(os.environ.get("NIMBUS_HA_INFRA_HOSTS", "infra1,infra2,infra3").split(","))
FAILOVER_S = float(os.environ.get("NIMBUS_HA_FAILOVER_S", "5"))
DB_FAILOVER_S = float(os.environ.get("NIMBUS_HA_DB_FAILOVER_S", "20"))
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The test database (dropped at the end): one table with the row written while a member is down.
DROP_DB = "DROP DATABASE IF EXISTS nimbus_ha_test"
NOTE = "written with one member down"
# The deployment CA on every lab host (role pki): clients verify the Galera members with it.
DEPLOYMENT_CA = "/usr/local/share/ca-certificates/nimbus-ca.crt"

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("NIMBUS_TEST_HA") != "1",
        reason="set NIMBUS_TEST_HA=1 to run against an existing ha lab (it stops services)",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="lxc-attach to the lab hosts needs root"),
]


def in_host(
    host: str, *command: str, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run COMMAND inside lab host HOST (STDIN on its standard input); never raises on a
    non-zero exit."""
    return subprocess.run(
        ["lxc-attach", "-n", host, "--clear-env", "--set-var", PATH, "--", *command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def must(host: str, *command: str, timeout: float = 60, stdin: str | None = None) -> str:
    """Run COMMAND inside HOST and return its stdout; fail the test with its output if it fails."""
    result = in_host(host, *command, timeout=timeout, stdin=stdin)
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


def openstack_ansible(
    *args: str, timeout: float = 1800, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run this checkout's openstack-ansible on the scenario; fail the test if it fails (unless
    CHECK is false)."""
    started = time.monotonic()
    run = subprocess.run(
        [str(OSA), *args],
        env={**os.environ, "OSA_CONFIG_DIR": str(CONFIG_DIR)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    print(
        f"openstack-ansible {' '.join(args)}: exit {run.returncode} in "
        f"{time.monotonic() - started:.0f}s"
    )
    if check:
        assert run.returncode == 0, f"openstack-ansible {' '.join(args)}:\n{run.stdout[-6000:]}"
    return run


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


def vip_sql(client: str, vip: str, user: str, password: str, statement: str) -> str | None:
    """Run STATEMENT as USER on VIP:3306 from host CLIENT; its output, None when it fails."""
    # The password goes in on stdin, so it shows in no process list. TLS, verified with the
    # deployment CA for the VIP, as the services connect (galera_use_ssl).
    script = (
        'read -r MYSQL_PWD; export MYSQL_PWD; exec mariadb -h "$0" -u "$1"'
        f" --ssl-ca={DEPLOYMENT_CA} --ssl-verify-server-cert"
        ' --connect-timeout=1 --batch --skip-column-names -e "$2"'
    )
    result = in_host(
        client, "sh", "-c", script, vip, user, statement, timeout=30, stdin=password + "\n"
    )
    return result.stdout if result.returncode == 0 else None


def vip_sql_host(client: str, vip: str, password: str) -> str:
    """The Galera member that answers on VIP:3306 (asked from CLIENT), or '' when none does."""
    return (vip_sql(client, vip, "monitoring", password, "SELECT @@hostname") or "").strip()


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
    fernet keys), asked directly on each host's management address (HTTPS, verified with the
    deployment CA: keystone_backend_tls)."""
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
            "--cacert",
            DEPLOYMENT_CA,
            f"https://{address}:5000/v3/auth/tokens",
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


def lab_poller(host: str, script: str, *args: str) -> subprocess.Popen:
    """Start the sh SCRIPT inside HOST in the background, ARGS as its $1...; the caller stops
    it (the scripts stop when a file they name appears)."""
    command = ["sh", "-c", script, "poll", *args]
    return subprocess.Popen(
        ["lxc-attach", "-n", host, "--clear-env", "--set-var", PATH, "--", *command]
    )


def restart_batches(run: subprocess.CompletedProcess[str], role: str) -> int:
    """How many host batches of playbooks/common/restart_owed.yml restarted ROLE's units in
    the output of RUN."""
    batches = run.stdout.split(f"PLAY [Restart where owed, host by host ({role})]")[1:]
    return sum("TASK [nimbus.cloud.systemd_service : Restart the units" in b for b in batches)


def test_keystone_config_change_restarts_one_host_at_a_time_without_errors(tmp_path) -> None:
    """A keystone.conf change restarts keystone host by host, each drained from HAProxy: a
    client asking for tokens through the internal VIP all along sees no error."""
    override = tmp_path / "override.yml"
    override.write_text("keystone_keystone_conf_overrides: {DEFAULT: {max_param_size: 66}}\n")
    poller = lab_poller(INFRA[0], POLL_SCRIPT)
    changed = False
    try:
        time.sleep(3)
        for extra in (["-e", f"@{override}"], []):  # the change, then taking it back
            changed = bool(extra)
            run = openstack_ansible("keystone.yml", "--tags", "keystone-config", *extra)
            assert restart_batches(run, "keystone") == len(INFRA), (
                "expected one restart batch per keystone host"
            )
        changed = False
    finally:
        must(INFRA[0], "touch", "/root/nimbus-poll.stop")
        poller.wait(timeout=60)
        if changed:  # a failure left the override deployed: take it back for the next run
            openstack_ansible("keystone.yml", "--tags", "keystone-config")
    codes = must(INFRA[0], "cat", "/root/nimbus-poll.log").split()
    assert len(codes) >= 20, f"the client made only {len(codes)} requests"
    failed = [c for c in codes if c != "201"]
    assert not failed, f"{len(failed)} of {len(codes)} token requests failed: {sorted(set(failed))}"


# --- faults: a member lost and given back by the playbooks ---------------------------------
# Each test takes one member away the way a failure would (its data wiped, its process
# killed, its host gone), checks that the others keep serving, and brings it back with the
# playbook an operator would run, checking that nothing the cluster held was lost.

RABBIT_VHOST = "nimbus_fault_test"
RABBIT_USER = "nimbus_fault_test"
RABBIT_QUEUE = "nimbus_fault_queue"
RABBIT_BODY = "published before a member was wiped"
RABBIT_DATA = "/var/lib/rabbitmq/mnesia"
RABBIT_API_PORT = 15671  # the management API, HTTPS only


def management_address(host: str) -> str:
    out = must(host, "ip", "-o", "-4", "addr", "show", "br-mgmt")
    return out.split()[3].split("/")[0]


def rabbit_names(host: str, report: str, key: str) -> set[str]:
    """One column (KEY) of `rabbitmqctl REPORT` on HOST, e.g. list_users user."""
    out = must(host, "rabbitmqctl", "--quiet", "--formatter", "json", report, timeout=120)
    return {str(row[key]) for row in json.loads(out)}


def rabbit_running_nodes(host: str) -> list[str]:
    result = in_host(host, "rabbitmqctl", "--quiet", "--formatter", "json", "cluster_status")
    if result.returncode != 0:
        return []
    return sorted(json.loads(result.stdout).get("running_nodes", []))


def rabbit_api(host: str, password: str, method: str, path: str, body: dict) -> tuple[int, str]:
    """HTTP status and body of a management API call on HOST as the test user; the
    credentials go to curl on stdin (-K -), never on a command line."""
    config = f'user = "{RABBIT_USER}:{password}"\n'
    url = f"https://{management_address(host)}:{RABBIT_API_PORT}{path}"
    out = must(
        host,
        "curl",
        "-sS",
        "--cacert",
        "/etc/rabbitmq/tls/ca.pem",
        "-K",
        "-",
        "-X",
        method,
        "-H",
        "content-type: application/json",
        "-d",
        json.dumps(body),
        "-w",
        "\n%{http_code}",
        url,
        stdin=config,
    )
    text, _sep, code = out.rpartition("\n")
    return int(code), text


@pytest.fixture
def rabbit_test_user() -> Iterator[str]:
    """A vhost and an administrator of it for the test (password yielded); removed after."""
    host, password = INFRA[1], secrets.token_hex(16)
    for cleanup in (("delete_vhost", RABBIT_VHOST), ("delete_user", RABBIT_USER)):
        in_host(host, "rabbitmqctl", "--quiet", *cleanup, timeout=120)
    must(host, "rabbitmqctl", "--quiet", "add_vhost", RABBIT_VHOST, timeout=120)
    # The password on stdin, not in argv; rabbitmqctl 4.0 never reads it under --quiet (it hangs).
    must(host, "rabbitmqctl", "add_user", RABBIT_USER, stdin=password + "\n")
    must(host, "rabbitmqctl", "--quiet", "set_user_tags", RABBIT_USER, "administrator")
    must(
        host,
        "rabbitmqctl",
        "--quiet",
        "set_permissions",
        "-p",
        RABBIT_VHOST,
        RABBIT_USER,
        ".*",
        ".*",
        ".*",
    )
    yield password
    for member in INFRA:
        if rabbit_running_nodes(member):
            for cleanup in (("delete_vhost", RABBIT_VHOST), ("delete_user", RABBIT_USER)):
                in_host(member, "rabbitmqctl", "--quiet", *cleanup, timeout=120)
            break


RABBIT_OWED = "/var/lib/nimbus/restart-owed/rabbitmq-server.service"


def rabbit_main_pid(host: str) -> str:
    return must(host, "systemctl", "show", "--property", "MainPID", "--value", "rabbitmq-server")


def rabbit_queues(host: str) -> dict[str, dict]:
    """The queues of the test's vhost as HOST's node reports them: name -> name, messages,
    durable."""
    out = must(
        host,
        "rabbitmqctl",
        "--quiet",
        "--formatter",
        "json",
        "list_queues",
        "-p",
        RABBIT_VHOST,
        "name",
        "messages",
        "durable",
        timeout=120,
    )
    return {row["name"]: row for row in json.loads(out)}


def rabbit_queue_messages(host: str) -> int | None:
    """Messages of the test's quorum queue as HOST's node reports them (None: no such queue)."""
    return rabbit_queues(host).get(RABBIT_QUEUE, {}).get("messages")


def rabbit_declare_quorum_queue(host: str, password: str) -> None:
    code, text = rabbit_api(
        host,
        password,
        "PUT",
        f"/api/queues/{RABBIT_VHOST}/{RABBIT_QUEUE}",
        {"durable": True, "arguments": {"x-queue-type": "quorum"}},
    )
    assert code in (201, 204), f"declaring {RABBIT_QUEUE} on {host}: HTTP {code} {text}"


def rabbit_publish(host: str, password: str, body: str) -> None:
    code, text = rabbit_api(
        host,
        password,
        "POST",
        f"/api/exchanges/{RABBIT_VHOST}/amq.default/publish",
        {
            "properties": {"delivery_mode": 2},
            "routing_key": RABBIT_QUEUE,
            "payload": body,
            "payload_encoding": "string",
        },
    )
    routed = code == 200 and json.loads(text).get("routed") is True
    assert routed, f"publish on {host}: HTTP {code} {text}"


def test_rabbitmq_member_wiped_rejoins_and_the_cluster_keeps_its_data(
    rabbit_test_user: str, restore_services: list[tuple[str, str]]
) -> None:
    """The first host (the one a naive join would reset the others towards) loses its whole
    RabbitMQ database; rabbitmq.yml joins it back to the cluster the others form, and the
    users, vhosts and a durable quorum queue with its message are all still there."""
    victim, peer, password = INFRA[0], INFRA[1], rabbit_test_user
    expected = sorted(f"rabbit@{host}" for host in INFRA)
    rabbit_declare_quorum_queue(peer, password)
    rabbit_publish(peer, password, RABBIT_BODY)
    users, vhosts = (
        rabbit_names(peer, "list_users", "user"),
        rabbit_names(peer, "list_vhosts", "name"),
    )
    assert RABBIT_USER in users and RABBIT_VHOST in vhosts

    restore_services.append((victim, "rabbitmq-server"))
    must(victim, "systemctl", "stop", "rabbitmq-server", timeout=300)
    must(victim, "rm", "-rf", RABBIT_DATA)
    openstack_ansible("rabbitmq.yml")
    restore_services.remove((victim, "rabbitmq-server"))

    for host in INFRA:
        assert rabbit_running_nodes(host) == expected, f"{host}: {rabbit_running_nodes(host)}"
    assert rabbit_names(victim, "list_users", "user") == users
    assert rabbit_names(victim, "list_vhosts", "name") == vhosts
    queues = rabbit_queues(victim)
    assert queues.get(RABBIT_QUEUE, {}).get("messages") == 1, f"{victim}: queues {queues}"
    # The rejoined member serves the message too (read and put back).
    code, text = rabbit_api(
        victim,
        password,
        "POST",
        f"/api/queues/{RABBIT_VHOST}/{RABBIT_QUEUE}/get",
        {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"},
    )
    assert code == 200, f"get from {victim}: HTTP {code} {text}"
    bodies = [m["payload"] for m in json.loads(text)]
    assert bodies == [RABBIT_BODY], f"{victim} served {bodies}"


def test_rabbitmq_restart_that_would_break_a_quorum_queue_waits_and_stays_owed(
    rabbit_test_user: str, restore_services: list[tuple[str, str]], tmp_path
) -> None:
    """A configuration change reaches two members while the third is stopped: restarting
    either would leave a three-member quorum queue with one member. The run stops before any
    restart, naming the member, the queue keeps accepting messages and the restart stays owed
    (its marker on both hosts). With the third member back, the next run restarts the two, one
    at a time, and clears the markers; the queue kept every message."""
    first, second, stopped = INFRA
    password = rabbit_test_user
    rabbit_declare_quorum_queue(second, password)
    rabbit_publish(second, password, "before the change")

    restore_services.append((stopped, "rabbitmq-server"))
    must(stopped, "systemctl", "stop", "rabbitmq-server", timeout=300)
    pids = {host: rabbit_main_pid(host) for host in (first, second)}
    override = tmp_path / "override.yml"
    # channel_max = 2047 is RabbitMQ's default: a changed file, the same behaviour.
    override.write_text(
        "rabbitmq_server_config_extra: {channel_max: 2047}\n"
        "rabbitmq_server_restart_quorum_timeout: 15\n"
    )
    try:
        run = openstack_ansible(
            "rabbitmq.yml", "--limit", f"{first},{second}", "-e", f"@{override}", check=False
        )
        assert run.returncode != 0, "the run restarted a member a quorum queue needed"
        assert f"RabbitMQ on {first} owes a restart" in run.stdout, run.stdout[-4000:]
        for host in (first, second):
            assert rabbit_main_pid(host) == pids[host], f"{host}: RabbitMQ was restarted"
            assert in_host(host, "test", "-f", RABBIT_OWED).returncode == 0, (
                f"{host}: no owed-restart marker {RABBIT_OWED}"
            )
        rabbit_publish(first, password, "while a member was down")
    finally:
        must(stopped, "systemctl", "start", "rabbitmq-server", timeout=300)
        restore_services.remove((stopped, "rabbitmq-server"))
    expected = sorted(f"rabbit@{host}" for host in INFRA)
    assert wait_for(lambda: rabbit_running_nodes(first) == expected, 120, interval=2)[0]

    # The change is taken back: the two members' files change again, and their owed restart
    # is paid one member at a time.
    run = openstack_ansible("rabbitmq.yml")
    restarted = {h for h in INFRA if f"rabbitmq_server : Stop RabbitMQ on {h}]" in run.stdout}
    assert restarted == {first, second}, f"rabbitmq.yml restarted {sorted(restarted)}"
    for host in (first, second):
        assert rabbit_main_pid(host) != pids[host], f"{host}: RabbitMQ was not restarted"
        assert in_host(host, "test", "-e", RABBIT_OWED).returncode != 0, f"{host}: marker left"
    for host in INFRA:
        assert rabbit_running_nodes(host) == expected, f"{host}: {rabbit_running_nodes(host)}"
        assert rabbit_queue_messages(host) == 2, f"{host}: messages {rabbit_queue_messages(host)}"


FAULT_DB_USER = "nimbus_ha_test"
# The row (NOTE) written through the VIP while a member is down, and who answered.
WRITE_ROW = (
    "REPLACE INTO nimbus_ha_test.t VALUES (1, 'written with one member down'); SELECT @@hostname"
)


def haproxy_galera_state(haproxy_host: str, member: str) -> str:
    """HAProxy's status (UP, DOWN, MAINT...) of MEMBER in the galera-back backend."""
    reader = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect('/run/haproxy/admin.sock')\n"
        "s.sendall(b'show stat\\n')\n"
        "print(b''.join(iter(lambda: s.recv(65536), b'')).decode())\n"
    )
    for line in must(haproxy_host, "python3", "-c", reader).splitlines():
        fields = line.split(",")
        if fields[:2] == ["galera-back", member]:
            return fields[17]
    pytest.fail(f"{haproxy_host}: no server {member} in HAProxy's galera-back backend")


def test_galera_member_killed_vip_keeps_writing_and_galera_yml_rejoins_it(
    restore_services: list[tuple[str, str]],
) -> None:
    """SIGKILL of the member behind the VIP: writes through the VIP go on (another member),
    every HAProxy marks the dead member DOWN, and galera.yml brings it back by state transfer
    with the row written meanwhile."""
    vip, client = internal_vip(), INFRA[1]
    writer = vip_sql_host(client, vip, monitoring_password())
    assert writer in INFRA, f"nothing answers on {vip}:3306 (got {writer!r})"
    client = next(host for host in INFRA if host != writer)
    password = secrets.token_hex(16)
    wait_synced(writer, len(INFRA))
    sql(writer, DROP_DB)
    sql(writer, "CREATE DATABASE nimbus_ha_test")
    sql(writer, "CREATE TABLE nimbus_ha_test.t (id INT PRIMARY KEY, note VARCHAR(64))")
    must(
        writer,
        "mariadb",
        stdin=f"CREATE OR REPLACE USER '{FAULT_DB_USER}'@'%' IDENTIFIED BY '{password}';\n"
        f"GRANT ALL ON nimbus_ha_test.* TO '{FAULT_DB_USER}'@'%';\n",
    )
    since = must(writer, "date", "+%s").strip()
    try:
        restore_services.append((writer, "mariadb"))
        started = time.monotonic()
        # Killed, and kept down: the stop cancels systemd's restart on abort.
        must(writer, "systemctl", "kill", "--signal=SIGKILL", "mariadb")
        must(writer, "systemctl", "stop", "mariadb", timeout=300)
        state = in_host(writer, "systemctl", "is-active", "mariadb").stdout.strip()
        assert state != "active", f"{writer}: mariadb is {state} after the kill"

        def write() -> str:
            return (vip_sql(client, vip, FAULT_DB_USER, password, WRITE_ROW) or "").strip()

        served = wait_for(write, DB_FAILOVER_S + 10, interval=0.2)[0]
        took = time.monotonic() - started
        print(
            f"SIGKILL of mariadb on {writer}: a write on {vip} succeeded on {served!r} "
            f"after {took:.2f}s"
        )
        assert served and served != writer, f"no write on {vip}:3306 within {took:.0f}s"
        assert took <= DB_FAILOVER_S, f"writes unavailable for {took:.2f}s (limit {DB_FAILOVER_S}s)"
        states = {host: haproxy_galera_state(host, writer) for host in INFRA}
        print(f"HAProxy galera-back/{writer}: {states}")
        assert all(s.startswith("DOWN") for s in states.values()), states

        openstack_ansible("galera.yml")
        restore_services.remove((writer, "mariadb"))
        wait_synced(writer, len(INFRA), timeout=120)
        rows = sql(writer, "SELECT note FROM nimbus_ha_test.t WHERE id = 1").strip()
        assert rows == NOTE, f"{writer} after rejoining: {rows!r}, expected {NOTE!r}"
        log = must(
            writer, "journalctl", "-u", "mariadb", "--no-pager", "-o", "cat", f"--since=@{since}"
        )
        transfers = [
            line
            for line in log.splitlines()
            if "IST received" in line or "SST received" in line or "SST succeeded" in line
        ]
        print(f"{writer} rejoined by: {transfers}")
        assert transfers, f"{writer}: no IST/SST in its journal since the kill:\n{log[-3000:]}"
        up, took = wait_for(
            lambda: all(haproxy_galera_state(h, writer).startswith("UP") for h in INFRA), 30
        )
        assert up, f"HAProxy did not mark {writer} UP again within {took:.0f}s"
    finally:
        in_host(client, "mariadb", "-e", DROP_DB)
        in_host(client, "mariadb", "-e", f"DROP USER IF EXISTS '{FAULT_DB_USER}'@'%'")


# A client writing a new row through the VIP every 0.2 s, on a new connection each time, until
# /root/nimbus-galera-poll.stop appears: "ok N" or "fail N" per write in the log. $1 the VIP,
# $2 the user, $3 the CA that verifies the server; the password is read from a 0600 file,
# never from a command line.
GALERA_POLL_SCRIPT = r"""
rm -f /root/nimbus-galera-poll.log /root/nimbus-galera-poll.stop
read -r MYSQL_PWD < /root/nimbus-galera-poll.pw; export MYSQL_PWD
i=0
while [ ! -e /root/nimbus-galera-poll.stop ]; do
  i=$((i + 1))
  if mariadb -h "$1" -u "$2" --ssl-ca="$3" --ssl-verify-server-cert \
      --connect-timeout=2 -e "INSERT INTO nimbus_ha_test.t VALUES ($i, 'rolling restart')" \
      2>> /root/nimbus-galera-poll.err; then
    echo "ok $i"
  else
    echo "fail $i"
  fi >> /root/nimbus-galera-poll.log
  sleep 0.2
done
"""


def mariadb_pid(host: str) -> str:
    return must(host, "systemctl", "show", "--property", "MainPID", "--value", "mariadb").strip()


def test_galera_config_change_restarts_one_member_at_a_time_and_writes_never_fail(
    tmp_path,
) -> None:
    """A changed [mysqld] option restarts every member, one at a time, each out of HAProxy's
    galera backend until it is Synced and UP again: a client writing through the VIP on new
    connections all along sees no failed write, and every member holds every row written."""
    vip, client = internal_vip(), INFRA[1]
    override = tmp_path / "override.yml"
    override.write_text("galera_server_mysqld_options: {max_connect_errors: 1000001}\n")
    password = secrets.token_hex(16)
    wait_synced(INFRA[0], len(INFRA))
    sql(INFRA[0], DROP_DB)
    sql(INFRA[0], "CREATE DATABASE nimbus_ha_test")
    sql(INFRA[0], "CREATE TABLE nimbus_ha_test.t (id INT PRIMARY KEY, note VARCHAR(64))")
    must(
        INFRA[0],
        "mariadb",
        stdin=f"CREATE OR REPLACE USER '{FAULT_DB_USER}'@'%' IDENTIFIED BY '{password}';\n"
        f"GRANT ALL ON nimbus_ha_test.* TO '{FAULT_DB_USER}'@'%';\n",
    )
    must(client, "sh", "-c", "umask 077; cat > /root/nimbus-galera-poll.pw", stdin=password + "\n")
    poller = lab_poller(client, GALERA_POLL_SCRIPT, vip, FAULT_DB_USER, DEPLOYMENT_CA)
    changed = False
    try:
        time.sleep(3)
        for extra in (["-e", f"@{override}"], []):  # the change, then taking it back
            changed = bool(extra)
            before = {host: mariadb_pid(host) for host in INFRA}
            openstack_ansible("galera.yml", *extra)
            after = {host: mariadb_pid(host) for host in INFRA}
            kept = [host for host in INFRA if before[host] == after[host]]
            assert not kept, f"galera.yml {' '.join(extra)}: mariadb not restarted on {kept}"
        changed = False
        time.sleep(2)
    finally:
        must(client, "touch", "/root/nimbus-galera-poll.stop")
        poller.wait(timeout=60)
        in_host(client, "rm", "-f", "/root/nimbus-galera-poll.pw")
        if changed:  # a failure left the override deployed: take it back for the next run
            openstack_ansible("galera.yml", check=False)
    try:
        log = must(client, "cat", "/root/nimbus-galera-poll.log").split("\n")
        results = [line.split() for line in log if line.strip()]
        failed = [n for state, n in results if state != "ok"]
        errors = in_host(client, "tail", "-5", "/root/nimbus-galera-poll.err").stdout
        print(f"writes through {vip} during two rolling restarts: {len(results)}, failed {failed}")
        assert len(results) >= 20, f"the client made only {len(results)} writes"
        assert not failed, f"{len(failed)} of {len(results)} writes failed: {failed}\n{errors}"
        for host in INFRA:
            wait_synced(host, len(INFRA), timeout=60)
            rows = sql(host, "SELECT COUNT(*) FROM nimbus_ha_test.t").strip()
            assert rows == str(len(results)), f"{host} holds {rows} rows of {len(results)}"
        states = {(h, m): haproxy_galera_state(h, m) for h in INFRA for m in INFRA}
        left_out = {key: state for key, state in states.items() if not state.startswith("UP")}
        assert not left_out, f"members not UP in HAProxy after the restarts: {left_out}"
    finally:
        in_host(client, "rm", "-f", "/root/nimbus-galera-poll.log", "/root/nimbus-galera-poll.err")
        in_host(client, "mariadb", "-e", DROP_DB)
        in_host(client, "mariadb", "-e", f"DROP USER IF EXISTS '{FAULT_DB_USER}'@'%'")


# The rows the full-stop test writes after the first and the second member stopped, and how
# `SELECT id, note` prints them.
FULL_STOP_INSERTS = (
    "INSERT INTO nimbus_ha_test.t VALUES (1, 'written with one member down')",
    "INSERT INTO nimbus_ha_test.t VALUES (2, 'written with two members down')",
)
FULL_STOP_ROWS = "1\twritten with one member down\n2\twritten with two members down"


def test_galera_full_stop_is_refused_then_recovered_from_the_most_advanced_member(
    restore_services: list[tuple[str, str]],
) -> None:
    """Every member stopped, one after another, a row written after each of the first two
    stops (so only the last member stopped holds both): galera.yml refuses to bootstrap on its
    own; the documented recovery (galera.yml -e galera_server_force_bootstrap=true) starts the
    cluster from that member, and every member then holds both rows."""
    *earlier, last = INFRA
    wait_synced(INFRA[0], len(INFRA))
    sql(INFRA[0], DROP_DB)
    sql(INFRA[0], "CREATE DATABASE nimbus_ha_test")
    sql(INFRA[0], "CREATE TABLE nimbus_ha_test.t (id INT PRIMARY KEY, note VARCHAR(64))")
    try:
        for count, host in enumerate(earlier, start=1):
            restore_services.append((host, "mariadb"))
            must(host, "systemctl", "stop", "mariadb", timeout=300)
            writer = INFRA[count]
            wait_synced(writer, len(INFRA) - count, timeout=60)
            sql(writer, FULL_STOP_INSERTS[count - 1])
        restore_services.append((last, "mariadb"))
        must(last, "systemctl", "stop", "mariadb", timeout=300)

        started = time.monotonic()
        refused = subprocess.run(
            [str(OSA), "galera.yml"],
            env={**os.environ, "OSA_CONFIG_DIR": str(CONFIG_DIR)},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(f"galera.yml after a full stop: exit {refused.returncode}")
        assert refused.returncode != 0, "galera.yml bootstrapped a cluster after a full stop"
        assert "never bootstraps a second cluster" in refused.stdout, refused.stdout[-4000:]
        assert "galera_server_force_bootstrap=true" in refused.stdout, refused.stdout[-4000:]
        for host in INFRA:
            state = in_host(host, "systemctl", "is-active", "mariadb").stdout.strip()
            assert state != "active", f"{host}: mariadb {state} after the refused run"

        recovered = openstack_ansible("galera.yml", "-e", "galera_server_force_bootstrap=true")
        print(f"full-stop recovery: {time.monotonic() - started:.0f}s")
        assert f"Bootstrapping the cluster from {last} " in recovered.stdout, (
            f"expected the bootstrap from {last}, the member stopped last:\n"
            f"{recovered.stdout[-4000:]}"
        )
        for host in INFRA:
            restore_services.remove((host, "mariadb"))
        for host in INFRA:
            wait_synced(host, len(INFRA), timeout=300)
            held = sql(host, "SELECT id, note FROM nimbus_ha_test.t ORDER BY id").strip()
            want = FULL_STOP_ROWS
            assert held == want, f"{host} after the recovery holds {held!r}, expected {want!r}"
    finally:
        for host in INFRA:
            if in_host(host, "mariadb", "-e", DROP_DB).returncode == 0:
                break


# How long Keystone may take to issue a token through the VIP after a host died: HAProxy marks
# the dead host's Keystone and Galera backends DOWN (inter 5s fall 3), and a client request
# meanwhile waits on connections to it.
TOKEN_AFTER_FAULT_S = float(os.environ.get("NIMBUS_HA_TOKEN_AFTER_FAULT_S", "180"))


def token_through_vip(client: str) -> bool:
    """True when `openstack token issue` (the admin, through the internal VIP) succeeds on
    CLIENT within 45 s; a slower or failed attempt is False, so callers retry."""
    try:
        result = in_host(
            client, "sh", "-c", ". /root/openrc && openstack token issue -f value -c id", timeout=45
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def test_vip_moves_when_the_host_holding_it_dies() -> None:
    """The HAProxy host holding the internal VIP dies (its container killed): another host
    takes the VIP within NIMBUS_HA_FAILOVER_S seconds and serves tokens; the host comes back
    and its Galera and RabbitMQ members rejoin."""
    vip = internal_vip()
    holders = wait_for(lambda: vip_holders(vip), 30)[0]
    assert len(holders) == 1, f"{vip} should be on exactly one host, is on {holders}"
    holder = holders[0]
    others = tuple(host for host in INFRA if host != holder)
    # The steady state first: a token through the VIP before the fault (an earlier test may
    # have restarted the databases under Keystone).
    warm, took = wait_for(lambda: token_through_vip(others[0]), TOKEN_AFTER_FAULT_S, interval=2)
    assert warm, f"no token through {vip} from {others[0]} within {took:.0f}s before the fault"
    started = time.monotonic()
    subprocess.run(["lxc-stop", "-n", holder, "--kill"], check=True, timeout=120)
    try:

        def moved() -> list[str]:
            return [
                h
                for h in others
                if any(
                    f" {vip}/" in line
                    for line in in_host(
                        h, "ip", "-o", "-4", "addr", "show", timeout=10
                    ).stdout.splitlines()
                )
            ]

        new = wait_for(moved, FAILOVER_S + 10)[0]
        took = time.monotonic() - started
        print(f"{holder} killed: {vip} moved to {new} after {took:.2f}s")
        assert len(new) == 1, f"{vip} is on {new} after {holder} died"
        assert took <= FAILOVER_S, f"{vip} moved after {took:.2f}s (limit {FAILOVER_S}s)"
        token, took = wait_for(lambda: token_through_vip(new[0]), TOKEN_AFTER_FAULT_S, interval=2)
        print(f"first token through {vip} {took:.1f}s after the VIP moved")
        assert token, f"no token through {vip} from {new[0]} {took:.0f}s after {holder} died"
    finally:
        subprocess.run(["lxc-start", "-n", holder], check=True, timeout=120)
    wait_synced(holder, len(INFRA), timeout=600)
    expected = sorted(f"rabbit@{host}" for host in INFRA)
    back, took = wait_for(lambda: rabbit_running_nodes(holder) == expected, 300, interval=5)
    assert back, f"{holder}: RabbitMQ runs {rabbit_running_nodes(holder)} after its restart"
    final = wait_for(lambda: len(vip_holders(vip)) == 1 and vip_holders(vip), 30)[0]
    assert final and len(final) == 1, f"{vip} held by {final} after {holder} came back"


# --- OVN databases (RAFT clusters of the infra hosts) --------------------------------------

OVN_DBS = {"nb": "OVN_Northbound", "sb": "OVN_Southbound"}


def ovn_member(host: str, db: str) -> dict | None:
    """HOST's view of database DB's cluster (nimbus.cloud.ovn_cluster_status), or None."""
    result = in_host(
        host,
        "ovs-appctl",
        "-t",
        f"/var/run/ovn/ovn{db}_db.ctl",
        "cluster/status",
        OVN_DBS[db],
        timeout=20,
    )
    return cluster_status(result.stdout) if result.returncode == 0 else None


# The client side of the OVN databases' mutual TLS (ovn_use_ssl): the host's pki certificate.
OVN_CLIENT_TLS = (
    "--private-key=/etc/nimbus/pki/server.key",
    "--certificate=/etc/nimbus/pki/server.pem",
    "--ca-cert=/etc/nimbus/pki/ca.pem",
)


def ovn_nb_remote() -> str:
    return ",".join(f"ssl:{management_address(host)}:6641" for host in INFRA)


def ovn_nb_client() -> list[str]:
    """ovn-nbctl's options for the NB cluster through every member, over TLS."""
    return [f"--db={ovn_nb_remote()}", *OVN_CLIENT_TLS]


def ovn_local_switches(host: str) -> list[str]:
    """The logical switches HOST's own NB member holds (its unix socket, leader or not)."""
    result = in_host(
        host,
        "ovn-nbctl",
        "--no-leader-only",
        "--db=unix:/var/run/ovn/ovnnb_db.sock",
        "--timeout=10",
        "--bare",
        "--columns=name",
        "list",
        "Logical_Switch",
        timeout=30,
    )
    return result.stdout.split() if result.returncode == 0 else []


def assert_one_ovn_cluster(
    cluster_ids: dict[str, str] | None = None, protocol: str = "ssl:"
) -> dict[str, str]:
    """Every infra host is a member of one cluster per database, listing them all (each at a
    PROTOCOL address: ssl:, the default, unless ovn_use_ssl is off), with a leader; the same
    clusters as CLUSTER_IDS if given. Returns database -> cluster ID."""
    found = {}
    for db in OVN_DBS:
        members = {host: ovn_member(host, db) for host in INFRA}
        assert all(members.values()), f"{db}: cluster/status unreadable on {members}"
        for host, member in members.items():
            assert member["status"] == "cluster member", f"{host} {db}: {member}"
            assert len(member["servers"]) == len(INFRA), f"{host} {db}: {member['servers']}"
            assert not member["stale"], f"{host} {db}: earlier selves {member['stale']}"
            addresses = [server["address"] for server in member["servers"]]
            other = [a for a in addresses if not a.startswith(protocol)]
            assert not other, f"{host} {db}: members not on {protocol} {other}"
        ids = {member["cluster_id"] for member in members.values()}
        assert len(ids) == 1, f"{db}: {len(ids)} clusters: {members}"
        leaders = [host for host, member in members.items() if member["leader"] == "self"]
        assert len(leaders) == 1, f"{db}: leaders {leaders}"
        found[db] = ids.pop()
        if cluster_ids:
            assert found[db] == cluster_ids[db], f"{db}: a new cluster {found[db]}"
    return found


@pytest.fixture
def ovn_test_switch() -> Iterator[str]:
    """A logical switch name for a test; deleted at the end."""
    name = f"nimbus-ha-{secrets.token_hex(3)}"
    yield name
    in_host(INFRA[-1], "ovn-nbctl", *ovn_nb_client(), "--if-exists", "ls-del", name)


def test_ovn_databases_are_one_cluster_of_every_infra_host() -> None:
    print(assert_one_ovn_cluster())


def test_ovn_nb_stays_writable_when_its_leader_stops_and_it_rejoins(
    restore_services: list[tuple[str, str]], ovn_test_switch: str
) -> None:
    leader = next(h for h in INFRA if (ovn_member(h, "nb") or {}).get("leader") == "self")
    other = next(h for h in INFRA if h != leader)
    must(leader, "systemctl", "stop", "ovn-ovsdb-server-nb")
    restore_services.append((leader, "ovn-ovsdb-server-nb"))
    written, took = wait_for(
        lambda: (
            in_host(
                other,
                "ovn-nbctl",
                *ovn_nb_client(),
                "--timeout=5",
                "ls-add",
                ovn_test_switch,
                timeout=30,
            ).returncode
            == 0
        ),
        60,
        interval=1,
    )
    print(f"NB leader {leader} stopped: a switch written through {other} after {took:.1f}s")
    assert written, f"no NB write succeeded for {took:.0f}s with {leader} stopped"
    must(leader, "systemctl", "start", "ovn-ovsdb-server-nb")
    back, took = wait_for(lambda: ovn_test_switch in ovn_local_switches(leader), 120, interval=2)
    assert back, f"{leader}: the switch written while it was down is not there after {took:.0f}s"
    assert_one_ovn_cluster()


def test_ovn_rebuilt_infra_host_joins_its_clusters_and_keeps_their_data(
    ovn_test_switch: str,
) -> None:
    host = INFRA[0]  # the host that created the clusters
    before = assert_one_ovn_cluster()
    must(INFRA[-1], "ovn-nbctl", *ovn_nb_client(), "ls-add", ovn_test_switch)
    for unit in ("ovn-northd", "ovn-ovsdb-server-nb", "ovn-ovsdb-server-sb"):
        must(host, "systemctl", "stop", unit)
    must(host, "rm", "-f", "/var/lib/ovn/ovnnb_db.db", "/var/lib/ovn/ovnsb_db.db")
    openstack_ansible("ovn.yml", "--limit", "neutron_ovn_northd")
    assert_one_ovn_cluster(before)
    assert ovn_test_switch in ovn_local_switches(host), f"{host} lacks the cluster's data"


def sb_datapath(host: str, switch: str) -> bool:
    """Whether HOST's own SB member holds the datapath ovn-northd made for logical SWITCH."""
    found = in_host(
        host,
        "ovn-sbctl",
        "--no-leader-only",
        "--db=unix:/var/run/ovn/ovnsb_db.sock",
        "--timeout=10",
        "--bare",
        "--columns=_uuid",
        "find",
        "Datapath_Binding",
        f"external_ids:name={switch}",
        timeout=30,
    )
    return found.returncode == 0 and bool(found.stdout.strip())


def recap_changed(run: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """Host -> changed=N from a playbook's PLAY RECAP."""
    changed = {}
    for line in run.stdout.split("PLAY RECAP")[-1].splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[1] == ":" and fields[3].startswith("changed="):
            changed[fields[0]] = int(fields[3].split("=")[1])
    return changed


@pytest.mark.skipif(
    os.environ.get("NIMBUS_TEST_OVN_PROTOCOL") != "1",
    reason="set NIMBUS_TEST_OVN_PROTOCOL=1: about 5 minutes, kept out of CI's 90",
)
def test_ovn_clusters_change_protocol_and_keep_their_data(ovn_test_switch: str) -> None:
    """ovn_use_ssl off, then on again, on a running cloud (ovn.yml, then neutron.yml, whose
    clients must reconnect to the new clusters): each time every database is one new cluster of
    every central host in the new protocol, holding what the old one held (a switch in NB, its
    datapath in SB, which ovn-northd made); then a run changes nothing."""
    before = assert_one_ovn_cluster()
    must(INFRA[-1], "ovn-nbctl", *ovn_nb_client(), "ls-add", ovn_test_switch)
    ok, took = wait_for(lambda: sb_datapath(INFRA[0], ovn_test_switch), 60, interval=1)
    assert ok, f"ovn-northd made no SB datapath for {ovn_test_switch} in {took:.0f}s"
    try:
        openstack_ansible("ovn.yml", "-e", '{"ovn_use_ssl": false}')
        openstack_ansible("neutron.yml", "-e", '{"ovn_use_ssl": false}')
        on_tcp = assert_one_ovn_cluster(protocol="tcp:")
        assert all(on_tcp[db] != before[db] for db in OVN_DBS), (before, on_tcp)
        for host in INFRA:
            assert ovn_test_switch in ovn_local_switches(host), f"{host}: NB lost the switch"
            assert sb_datapath(host, ovn_test_switch), f"{host}: SB lost the datapath"
    finally:
        openstack_ansible("ovn.yml")
        openstack_ansible("neutron.yml")
    on_tls = assert_one_ovn_cluster()
    for host in INFRA:
        assert ovn_test_switch in ovn_local_switches(host), f"{host}: NB lost the switch"
        assert sb_datapath(host, ovn_test_switch), f"{host}: SB lost the datapath"
    again = recap_changed(openstack_ansible("ovn.yml"))
    assert again and not any(again.values()), f"a run after the change changed {again}"
    assert_one_ovn_cluster(on_tls)
