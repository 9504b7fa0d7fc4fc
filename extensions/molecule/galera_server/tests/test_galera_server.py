"""What galera_server leaves on a host (Molecule scenario galera_server; the gate runs the same
module over every host of galera_all of a deployment)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

# testinfra runs each test once per host of this inventory group.
testinfra_hosts = ["galera_all"]

PORT = 3306
REPLICATION_PORT = 4567
CLUSTERCHECK_PORT = 9200
CONF = "/etc/mysql/mariadb.conf.d/99-nimbus-galera.cnf"
DEPLOYMENT_CA = "/usr/local/share/ca-certificates/nimbus-ca.crt"
TLS_KEY = "/etc/mysql/tls/server.key"


@pytest.fixture
def members(host) -> list[str]:
    return host.ansible.get_variables()["groups"]["galera_all"]


@pytest.mark.parametrize(
    "package", ["mariadb-server", "mariadb-client", "galera-4", "rsync", "python3-pymysql"]
)
def test_package_installed(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize("unit", ["mariadb.service", "galera-clustercheck.socket"])
def test_unit_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


@pytest.mark.parametrize(
    ("proto", "port"),
    [("tcp", PORT), ("tcp", REPLICATION_PORT), ("tcp", CLUSTERCHECK_PORT)],
    ids=["client", "replication", "clustercheck"],
)
def test_listens_on_the_management_address_only(listeners, management_address, proto, port):
    assert listeners(proto, port) == {f"{management_address}:{port}"}


@pytest.mark.parametrize(
    ("path", "user", "group", "mode"),
    [
        (CONF, "root", "mysql", 0o640),
        ("/etc/systemd/system/mariadb.service.d/nimbus.conf", "root", "root", 0o644),
        ("/etc/systemd/system/galera-clustercheck.socket", "root", "root", 0o644),
        ("/etc/systemd/system/galera-clustercheck@.service", "root", "root", 0o644),
        ("/usr/local/lib/nimbus/galera_clustercheck.py", "root", "root", 0o644),
        (TLS_KEY, "root", "mysql", 0o640),
    ],
)
def test_file_owner_and_mode(host, path, user, group, mode):
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == (user, group, mode)


def test_runs_the_configuration_on_disk(files_newer_than):
    """No file MariaDB reads changed after it started (a restart owed, also by a lost run)."""
    reads = [CONF, TLS_KEY, "/etc/systemd/system/mariadb.service.d/nimbus.conf"]
    assert files_newer_than("mariadb.service", reads) == []


def test_data_private_to_mysql(host):
    """The account tables (password hashes) and every data file: no access for others."""
    accounts = host.file("/var/lib/mysql/mysql")
    assert (accounts.user, accounts.group, accounts.mode) == ("mysql", "mysql", 0o700)
    # Debian's version markers (mariadb_upgrade_info, debian-<version>.flag; 0644) hold no data.
    readable = host.check_output(
        "find /var/lib/mysql -xdev -type f -perm /o=rwx"
        " ! -name '*upgrade_info' ! -name 'debian-*.flag'"
    )
    assert readable == "", f"files others can access: {readable}"


def test_runs_as_mysql(host):
    (process,) = host.process.filter(comm="mariadbd")
    assert process.user == "mysql"


def test_runs_in_its_sandbox(process_status, unit_properties):
    """The drop-in's sandbox in force (galera_server_unit_hardening): as the kernel applies it
    to mariadbd (no new privileges, no capability but CAP_IPC_LOCK) and as systemd reports it."""
    status = process_status("mariadb.service")
    assert status["NoNewPrivs"] == "1"
    assert int(status["CapBnd"], 16) == 1 << 14  # CAP_IPC_LOCK
    names = ("PrivateDevices", "ProtectKernelTunables", "ProtectClock", "RestrictSUIDSGID")
    assert unit_properties("mariadb.service", *names) == dict.fromkeys(names, "yes")


def test_running_values(sql, management_address, members):
    """What the server runs with (its own view, not the file's)."""
    (row,) = sql(
        "SELECT @@bind_address, @@port, @@skip_name_resolve, @@wsrep_on, @@wsrep_cluster_name, "
        "@@wsrep_sst_method, @@binlog_format, @@innodb_autoinc_lock_mode, @@default_storage_engine"
    )
    assert row == [
        management_address,
        str(PORT),
        "1",
        "1",
        "openstack_galera_cluster",
        "rsync",
        "ROW",
        "2",
        "InnoDB",
    ]
    (options,) = sql("SELECT @@wsrep_provider_options")
    # ssl://: Galera's scheme for the tcp:// address once replication is TLS.
    assert f"gmcast.listen_addr = ssl://{management_address}:{REPLICATION_PORT}" in options[0]
    ((cluster_address,),) = sql("SELECT @@wsrep_cluster_address")
    if len(members) == 1:
        assert cluster_address == "gcomm://", "a one-node cluster forms its own Primary component"
    else:
        assert management_address in cluster_address.removeprefix("gcomm://").split(",")


def test_synced_primary_member_of_the_whole_cluster(sql, members):
    status = dict(sql("SHOW GLOBAL STATUS LIKE 'wsrep_%'"))
    assert status["wsrep_cluster_status"] == "Primary"
    assert status["wsrep_local_state_comment"] == "Synced"
    assert status["wsrep_ready"] == "ON"
    assert status["wsrep_connected"] == "ON"
    assert int(status["wsrep_cluster_size"]) == len(members)


def test_serves_tls_with_the_host_certificate(sql):
    """TLS for clients with the deployment PKI's host certificate, and no client without it
    over TCP (galera_use_ssl, the default)."""
    ((cert, key, ca, secure),) = sql(
        "SELECT @@ssl_cert, @@ssl_key, @@ssl_ca, @@require_secure_transport"
    )
    assert (cert, key, ca) == ("/etc/nimbus/pki/server.pem", TLS_KEY, DEPLOYMENT_CA)
    assert secure == "1"


def test_replication_over_tls_with_the_host_certificate(host, sql, management_address):
    """Members replicate (and send IST) over TLS (galera_server_replication_ssl, the default):
    the replication port completes a handshake as a peer would, the certificate verified
    against the deployment CA, and the running provider has no plain fallback."""
    (options,) = sql("SELECT @@wsrep_provider_options")
    provider = dict(item.split(" = ", 1) for item in options[0].split("; ") if " = " in item)
    assert provider.get("socket.ssl_ca") == DEPLOYMENT_CA
    assert provider.get("socket.ssl_key") == TLS_KEY
    assert provider.get("socket.dynamic", "NO").upper() in {"NO", "0", "FALSE", "OFF"}
    handshake = host.run(
        "openssl s_client -brief -connect %s -CAfile %s -verify_return_error "
        "-cert /etc/nimbus/pki/server.pem -key %s </dev/null",
        f"{management_address}:{REPLICATION_PORT}",
        DEPLOYMENT_CA,
        TLS_KEY,
    )
    assert handshake.rc == 0, handshake.stderr
    assert "Verification: OK" in handshake.stderr


def test_root_only_through_the_unix_socket(host, sql, management_address):
    accounts = sql("SELECT CONCAT(User, '@', Host) FROM mysql.user WHERE User IN ('root', '')")
    assert accounts == [["root@localhost"]]
    # With TLS verified by the deployment CA, so that the account, not the transport, refuses.
    over_tcp = host.run(
        "mariadb --protocol=TCP -h %s --ssl-ca=%s --ssl-verify-server-cert -u root -e 'SELECT 1'",
        management_address,
        DEPLOYMENT_CA,
    )
    assert over_tcp.rc != 0
    assert "Access denied" in over_tcp.stderr


def test_a_write_replicates_and_reads_back(sql):
    """A row written through Galera (a replicated InnoDB table) is read back, and the write
    advanced the cluster's replication sequence number."""
    (before,) = sql("SHOW GLOBAL STATUS LIKE 'wsrep_last_committed'")
    try:
        rows = sql(
            "CREATE DATABASE IF NOT EXISTS nimbus_probe; "
            "CREATE TABLE IF NOT EXISTS nimbus_probe.t (v VARCHAR(36) PRIMARY KEY) ENGINE=InnoDB; "
            "SET @v = UUID(); INSERT INTO nimbus_probe.t VALUES (@v); "
            "SELECT @v, (SELECT v FROM nimbus_probe.t WHERE v = @v)"
        )
        assert len(rows) == 1
        assert rows[0][0] == rows[0][1]
        assert len(rows[0][0]) == 36
        (after,) = sql("SHOW GLOBAL STATUS LIKE 'wsrep_last_committed'")
        assert int(after[1]) > int(before[1])
    finally:
        sql("DROP DATABASE IF EXISTS nimbus_probe")


def test_answers_clients_on_the_management_network(management_address):
    """From the deployment host, the server greets a client (MariaDB handshake, protocol 10)."""
    with socket.create_connection((management_address, PORT), timeout=5) as conn:
        greeting = conn.recv(1024)
    assert greeting[4] == 10, f"not a MariaDB handshake: {greeting[:16]!r}"
    assert b"MariaDB" in greeting


def test_cluster_check_says_ok(management_address):
    """HAProxy's view: the cluster check answers 200 for a Synced, Primary member."""
    try:
        url = f"http://{management_address}:{CLUSTERCHECK_PORT}/"
        with urllib.request.urlopen(url, timeout=10) as reply:
            status, body = reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    assert status == 200, body
