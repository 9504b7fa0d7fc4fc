"""What db_setup leaves on the Galera cluster (Molecule scenario db_setup): the test databases
and accounts converge.yml asked for (vars/test_values.yml), each with exactly what was asked,
usable over TLS from the management network, and the schema stamp it recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

# testinfra runs each test once per host of this inventory group.
testinfra_hosts = ["galera_all"]

PORT = 3306
DEPLOYMENT_CA = "/usr/local/share/ca-certificates/nimbus-ca.crt"
VALUES = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "vars" / "test_values.yml").read_text()
)


@dataclass(frozen=True)
class Database:
    name: str
    user: str
    password: str = field(repr=False)
    encoding: str
    collation: str
    # SHOW GRANTS, as scope -> privileges (the USAGE line of every account included).
    grants: dict[str, frozenset[str]]


def _privileges(text: str) -> frozenset[str]:
    return frozenset(p.strip() for p in text.split(","))


_SERVICE = VALUES["molecule_db_service"]
_READER = VALUES["molecule_db_reader"]
DATABASES = [
    # Only a name and a password: the role's defaults (user = name, ALL on it, utf8mb3).
    Database(
        name=_SERVICE["name"],
        user=_SERVICE["name"],
        password=_SERVICE["password"],
        encoding="utf8mb3",
        collation="utf8mb3_general_ci",
        grants={"*.*": frozenset({"USAGE"}), f"{_SERVICE['name']}.*": frozenset({"ALL"})},
    ),
    # Every option given.
    Database(
        name=_READER["name"],
        user=_READER["user"],
        password=_READER["password"],
        encoding=_READER["encoding"],
        collation=_READER["collation"],
        grants={"*.*": frozenset({"USAGE"})}
        | {scope: _privileges(privs) for scope, privs in _READER["privileges"].items()},
    ),
]
IDS = [d.name for d in DATABASES]
# Each test account against every database it must not read: the other test database and
# the server's own.
FOREIGN = [
    (db, other)
    for db in DATABASES
    for other in [d.name for d in DATABASES if d is not db] + ["mysql"]
]
# Names go into the SQL of the checks as they are: the scenario's own values, checked here.
assert all(re.fullmatch(r"\w+", n) for d in DATABASES for n in (d.name, d.user))
GRANT = re.compile(r"^GRANT (?P<privs>.+?) ON (?P<scope>\S+) TO ")


@pytest.fixture
def as_user(host, management_address):
    """``as_user(db, query, password=None)``: the client run over TCP to the host's management
    address as the database's account (its password, or the one given), TLS verified with the
    deployment CA. The password goes in the environment, not on the command line."""

    def run(db: Database, query: str, password: str | None = None):
        return host.run(
            "MYSQL_PWD=%s mariadb --batch --skip-column-names --protocol=TCP -h %s -P %s "
            "--ssl-ca=%s --ssl-verify-server-cert -u %s -e %s",
            db.password if password is None else password,
            management_address,
            str(PORT),
            DEPLOYMENT_CA,
            db.user,
            query,
        )

    return run


@pytest.mark.parametrize("db", DATABASES, ids=IDS)
def test_database_with_its_character_set(sql, db):
    rows = sql(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "  # noqa: S608
        f"FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db.name}'"
    )
    assert rows == [[db.encoding, db.collation]]


@pytest.mark.parametrize("db", DATABASES, ids=IDS)
def test_one_account_from_any_host(sql, db):
    hosts = sql(f"SELECT Host FROM mysql.user WHERE User = '{db.user}'")  # noqa: S608
    assert hosts == [["%"]]


@pytest.mark.parametrize("db", DATABASES, ids=IDS)
def test_exactly_the_requested_privileges(sql, db):
    grants: dict[str, frozenset[str]] = {}
    for (line,) in sql(f"SHOW GRANTS FOR '{db.user}'@'%'"):
        match = GRANT.match(line)
        assert match, f"not a GRANT line: {line}"
        scope = match["scope"].replace("`", "")
        privileges = match["privs"].replace("ALL PRIVILEGES", "ALL")
        grants[scope] = _privileges(privileges)
    assert grants == db.grants


@pytest.mark.parametrize("db", DATABASES, ids=IDS)
def test_logs_in_over_tls_with_its_password(as_user, db):
    result = as_user(
        db,
        f"USE {db.name}; SELECT CURRENT_USER(), DATABASE(), VARIABLE_VALUE "  # noqa: S608
        "FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'",
    )
    assert result.rc == 0, result.stderr
    account, database, tls = result.stdout.strip().split("\t")
    assert (account, database) == (f"{db.user}@%", db.name)
    assert tls.startswith("TLSv1."), f"not over TLS: {tls!r}"


@pytest.mark.parametrize("db", DATABASES, ids=IDS)
def test_another_password_refused(as_user, db):
    result = as_user(db, "SELECT 1", password=db.password[::-1])
    assert result.rc != 0
    assert "Access denied" in result.stderr


@pytest.mark.parametrize(
    ("db", "other"), FOREIGN, ids=[f"{db.user}-{other}" for db, other in FOREIGN]
)
def test_cannot_read_another_database(as_user, db, other):
    result = as_user(db, f"SHOW TABLES FROM {other}")
    assert result.rc != 0, f"{db.user} listed the tables of {other}: {result.stdout}"
    assert "Access denied" in result.stderr


def test_reader_cannot_write_its_database(as_user):
    reader = DATABASES[1]
    result = as_user(reader, f"CREATE TABLE {reader.name}.molecule_probe (i INT)")
    assert result.rc != 0
    assert "command denied" in result.stderr


def test_service_account_reads_its_schema_revision(as_user):
    service = DATABASES[0]
    query = f"SELECT version_num FROM {service.name}.alembic_version"  # noqa: S608
    result = as_user(service, query)
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == [VALUES["molecule_db_schema"]["revision"]]


def test_schema_stamp_on_the_first_galera_host_only(host):
    """schema_record wrote the stamp on its stamp host (the first Galera host, as converge.yml
    chose): root 0644, one SHA-256 digest."""
    first = host.ansible.get_variables()["groups"]["galera_all"][0]
    stamp = host.file(VALUES["molecule_db_schema"]["stamp_file"])
    if host.ansible.get_variables()["inventory_hostname"] != first:
        assert not stamp.exists
        return
    assert stamp.is_file
    assert (stamp.user, stamp.group, stamp.mode) == ("root", "root", 0o644)
    assert re.fullmatch(r"[0-9a-f]{64}", stamp.content_string.strip())
