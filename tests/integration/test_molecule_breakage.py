"""A role broken on its host fails both its Molecule scenario's verify and the gate's testinfra
run (scripts/run-tests.sh testinfra over the lab's inventory), each naming the broken check;
once repaired, both pass again.

Runs on the Molecule lab host after the scenarios converged it (scripts/run-tests.sh molecule
runs it with -k for the scenarios that passed). The breakage is done on the host by hand: the
roles' own variable checks refuse the bad values (memcached on 0.0.0.0), so no converge can
produce them.
  NIMBUS_TEST_MOLECULE_BREAKAGE=1 NIMBUS_MOLECULE_LAB=molecule pytest -k memcached_server \\
      tests/integration/test_molecule_breakage.py
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = os.environ.get("NIMBUS_MOLECULE_LAB", "molecule")
CONFIG_DIR = Path("/etc/nimbus-lab") / LAB
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.skipif(
    os.environ.get("NIMBUS_TEST_MOLECULE_BREAKAGE") != "1",
    reason="set NIMBUS_TEST_MOLECULE_BREAKAGE=1 on a lab the Molecule scenarios converged",
)


@dataclass(frozen=True)
class Breakage:
    scenario: str
    # Shell run on the lab host as root: breaks the role, then repairs it exactly.
    breaks: str
    repairs: str
    # Patterns of the test ids that must fail (and no other), text the failures must show.
    failing: tuple[str, ...]
    shows: tuple[str, ...]
    # The scenario puts the lab host in the groups its suite checks only while it runs
    # (extensions/molecule/<scenario>/lab_groups.yml, a conf.d file its cleanup removes): the
    # case writes that file first and removes it at the end.
    lab_groups: bool = False


CASES = [
    Breakage(
        scenario="memcached_server",
        breaks=(
            "cp -p /etc/memcached.conf /root/memcached.conf.molecule && "
            "sed -i 's/^-l .*/-l 0.0.0.0/' /etc/memcached.conf && "
            "chmod 0644 /etc/memcached.conf && systemctl restart memcached"
        ),
        repairs=(
            "cp -p /root/memcached.conf.molecule /etc/memcached.conf && "
            "systemctl restart memcached && rm /root/memcached.conf.molecule"
        ),
        failing=(
            r"test_listens_on_the_management_address_only\[",
            r"test_file_owner_and_mode\[.*/etc/memcached\.conf-",
        ),
        shows=("0.0.0.0:11211",),
    ),
    # HAProxy's statistics page on every address, and its certificate bundle (it holds the
    # host key) readable by everyone.
    Breakage(
        scenario="haproxy_server",
        breaks=(
            "cp -p /etc/haproxy/haproxy.cfg /root/haproxy.cfg.molecule && "
            "sed -i 's/^\\( *bind \\)[0-9.]*:1936$/\\10.0.0.0:1936/' /etc/haproxy/haproxy.cfg && "
            "chmod 0644 /etc/haproxy/ssl/haproxy.pem && systemctl restart haproxy"
        ),
        repairs=(
            "cp -p /root/haproxy.cfg.molecule /etc/haproxy/haproxy.cfg && "
            "chmod 0640 /etc/haproxy/ssl/haproxy.pem && systemctl restart haproxy && "
            "rm /root/haproxy.cfg.molecule"
        ),
        failing=(
            r"test_binds_only_on_the_vips_and_stats_on_the_management_address\[",
            r"test_file_owner_and_mode\[.*/etc/haproxy/ssl/haproxy\.pem-",
        ),
        shows=("listen/stats binds 0.0.0.0:1936",),
    ),
    # A secret readable by everyone: RabbitMQ's TLS key. (Not the Erlang cookie: RabbitMQ's
    # own CLI refuses a cookie others can read, so every rabbitmqctl check would fail too.)
    Breakage(
        scenario="rabbitmq_server",
        breaks="chmod 0644 /etc/rabbitmq/tls/rabbitmq.key",
        repairs="chmod 0640 /etc/rabbitmq/tls/rabbitmq.key",
        failing=(r"test_file_owner_and_mode\[.*/etc/rabbitmq/tls/rabbitmq\.key-",),
        shows=("420 == 416", "420 != 416"),  # 0o644 found, 0o640 wanted (testinfra's modes)
    ),
    # Galera replicating in the clear, and its copy of the host key readable by everyone.
    Breakage(
        scenario="galera_server",
        breaks=(
            "f=/etc/mysql/mariadb.conf.d/99-nimbus-galera.cnf && "
            "cp -p $f /root/galera.cnf.molecule && "
            "sed -i 's/; socket\\.[a-z_]*=[^;\"]*//g' $f && "
            "chmod 0644 /etc/mysql/tls/server.key && systemctl restart mariadb"
        ),
        repairs=(
            "cp -p /root/galera.cnf.molecule /etc/mysql/mariadb.conf.d/99-nimbus-galera.cnf && "
            "chmod 0640 /etc/mysql/tls/server.key && systemctl restart mariadb && "
            "rm /root/galera.cnf.molecule"
        ),
        failing=(
            r"test_running_values\[",  # gmcast.listen_addr tcp://, not ssl://
            r"test_replication_over_tls_with_the_host_certificate\[",
            r"test_file_owner_and_mode\[.*/etc/mysql/tls/server\.key-",
        ),
        shows=("socket.ssl_ca",),
    ),
    # Keystone's secrets (database and service passwords) readable by everyone.
    Breakage(
        scenario="keystone",
        breaks="chmod 0644 /etc/keystone/keystone.conf.d/secrets.conf",
        repairs="chmod 0640 /etc/keystone/keystone.conf.d/secrets.conf",
        failing=(r"test_file_owner_and_mode\[.*/etc/keystone/keystone\.conf\.d/secrets\.conf-",),
        shows=("420 == 416", "420 != 416"),
    ),
    Breakage(
        scenario="glance",
        breaks="chmod 0644 /etc/glance/glance-api.conf.d/secrets.conf",
        repairs="chmod 0640 /etc/glance/glance-api.conf.d/secrets.conf",
        failing=(r"test_file_owner_and_mode\[.*/etc/glance/glance-api\.conf\.d/secrets\.conf-",),
        shows=("420 == 416", "420 != 416"),
    ),
    # Nova's secrets (database, RabbitMQ and service passwords) readable by everyone.
    Breakage(
        scenario="nova",
        breaks="chmod 0644 /etc/nova/nova.conf.d/secrets.conf",
        repairs="chmod 0640 /etc/nova/nova.conf.d/secrets.conf",
        failing=(r"test_file_owner_and_mode\[.*/etc/nova/nova\.conf\.d/secrets\.conf-",),
        shows=("420 == 416", "420 != 416"),
    ),
    # neutron-server's secrets (database, RabbitMQ and service passwords) readable by everyone.
    Breakage(
        scenario="neutron",
        breaks="chmod 0644 /etc/neutron/neutron.conf.d/secrets.conf",
        repairs="chmod 0640 /etc/neutron/neutron.conf.d/secrets.conf",
        failing=(r"test_file_owner_and_mode\[.*/etc/neutron/neutron\.conf\.d/secrets\.conf-",),
        shows=("420 == 416", "420 != 416"),
    ),
    # A grant taken from a db_setup account: the role grants exactly what was asked.
    Breakage(
        scenario="db_setup",
        breaks=(
            "mariadb -e \"REVOKE SELECT ON nimbus_molecule_ro.* FROM 'nimbus_molecule_reader'@'%'\""
        ),
        repairs=(
            "mariadb -e \"GRANT SELECT ON nimbus_molecule_ro.* TO 'nimbus_molecule_reader'@'%'\""
        ),
        failing=(r"test_exactly_the_requested_privileges\[.*-nimbus_molecule_ro\]",),
        shows=("frozenset({'SHOW VIEW'})",),
    ),
    # An mq_setup user's write permission widened to everything on its vhost.
    Breakage(
        scenario="mq_setup",
        breaks=(
            "rabbitmqctl -q set_permissions -p /nimbus_molecule_watch nimbus_molecule.watcher "
            "'^$' '.*' '.*'"
        ),
        repairs=(
            "rabbitmqctl -q set_permissions -p /nimbus_molecule_watch nimbus_molecule.watcher "
            "'^$' '^nimbus_molecule\\.' '.*'"
        ),
        failing=(r"test_exactly_the_requested_permissions\[.*-nimbus_molecule\.watcher\]",),
        shows=("('^$', '.*', '.*')",),
    ),
    # The internal endpoint of the service_catalog test service moved behind the deployment's
    # back (through the Identity API, with the utility host's admin cloud): the catalog must
    # hold exactly the endpoints asked. (A converge does not repair this by itself: the role
    # skips its API calls while its digest is unchanged, service_catalog_force=true repairs.)
    Breakage(
        scenario="service_catalog",
        breaks=(
            "export OS_CLOUD=default && "
            "id=$(openstack endpoint list --service nimbus-molecule --interface internal "
            "-f value -c ID) && "
            'openstack endpoint show "$id" -f value -c url > /root/catalog.molecule && '
            'openstack endpoint set --url https://nimbus-molecule.invalid:9990/v1 "$id"'
        ),
        repairs=(
            "export OS_CLOUD=default && "
            "id=$(openstack endpoint list --service nimbus-molecule --interface internal "
            "-f value -c ID) && "
            'openstack endpoint set --url "$(cat /root/catalog.molecule)" "$id" && '
            "rm /root/catalog.molecule"
        ),
        failing=(
            r"test_exactly_the_endpoints_asked\[",
            r"test_the_catalog_of_a_token_lists_them\[",
        ),
        shows=("https://nimbus-molecule.invalid:9990/v1",),
    ),
    # Django's SECRET_KEY (it signs the sessions and the CSRF tokens) readable by everyone.
    Breakage(
        scenario="horizon",
        breaks="chmod 0644 /etc/horizon/secret_key",
        repairs="chmod 0640 /etc/horizon/secret_key",
        failing=(r"test_file_owner_and_mode\[.*/etc/horizon/secret_key-",),
        shows=("420 == 416", "420 != 416"),
    ),
    # A distribution taken out of a venv behind the role's back (the venv kept aside, put back).
    Breakage(
        scenario="python_venv",
        breaks=(
            "v=/openstack/venvs/nimbus-molecule-2.0 && cp -a $v /root/venv.molecule && "
            "$v/bin/python -m pip uninstall -y -q --disable-pip-version-check PasteDeploy"
        ),
        repairs=(
            "rm -rf /openstack/venvs/nimbus-molecule-2.0 && "
            "mv /root/venv.molecule /openstack/venvs/nimbus-molecule-2.0"
        ),
        failing=(
            r"test_venv_holds_exactly_what_was_asked_at_the_pinned_versions\[.*-2\.0\]",
            r"test_venv_python_imports_its_packages\[.*-2\.0\]",
            r"test_stamp_records_what_the_venv_holds\[.*-2\.0\]",
            r"test_installed_from_the_repo_lock\[.*-2\.0\]",
        ),
        shows=("No module named 'paste.deploy'",),
    ),
    # A uWSGI application in plain HTTP on every address, its ini readable by everyone.
    Breakage(
        scenario="uwsgi",
        breaks=(
            "f=/etc/nimbus-molecule-wsgi/uwsgi.ini && cp -p $f /root/uwsgi.ini.molecule && "
            "sed -i 's/^https-socket = .*/http-socket = 0.0.0.0:18090/' $f && chmod 0644 $f && "
            "systemctl restart nimbus-molecule-wsgi"
        ),
        repairs=(
            "cp -p /root/uwsgi.ini.molecule /etc/nimbus-molecule-wsgi/uwsgi.ini && "
            "systemctl restart nimbus-molecule-wsgi && rm /root/uwsgi.ini.molecule"
        ),
        failing=(
            r"test_files_owner_and_mode\[",
            r"test_ini_values\[",
            r"test_listens_on_the_management_address_only\[",
            r"test_port_speaks_tls_only\[",
            r"test_application_answers_from_its_venv_as_its_user\[",
        ),
        shows=("0.0.0.0:18090",),
    ),
    # The day-one resources changed behind the deployment's back through the APIs (the utility
    # host's admin cloud): one more rule in the declared security group (RDP from anywhere),
    # and another os_distro on the test image. (A converge does not undo this: the role
    # creates what is missing and deletes what is declared absent, nothing else.)
    Breakage(
        scenario="openstack_resources",
        breaks=(
            "export OS_CLOUD=default && "
            "openstack security group rule create --protocol tcp --dst-port 3389 "
            "--remote-ip 0.0.0.0/0 -f value -c id nimbus-molecule-ssh > /root/rule.molecule && "
            "openstack image set --property os_distro=nimbus-broken nimbus-test-image"
        ),
        repairs=(
            "export OS_CLOUD=default && "
            'openstack security group rule delete "$(cat /root/rule.molecule)" && '
            "openstack image set --property os_distro=debian nimbus-test-image && "
            "rm /root/rule.molecule"
        ),
        failing=(
            r"test_security_group_as_declared\[.*nimbus-molecule-ssh\]",
            r"test_image_active_as_declared_with_the_file_checksum\[.*nimbus-test-image\]",
        ),
        shows=("3389",),
    ),
    # tempest.conf (the admin password) readable by everyone.
    Breakage(
        scenario="tempest",
        breaks="chmod 0644 /var/lib/tempest/etc/tempest.conf",
        repairs="chmod 0600 /var/lib/tempest/etc/tempest.conf",
        failing=(r"test_file_owner_and_mode\[.*/var/lib/tempest/etc/tempest\.conf-",),
        shows=("420 == 384", "420 != 384"),  # 0o644 found, 0o600 wanted
    ),
    # OVN has no key of its own: its daemons use the host key the pki role issues.
    Breakage(
        scenario="ovn",
        breaks="chmod 0644 /etc/nimbus/pki/server.key",
        repairs="chmod 0640 /etc/nimbus/pki/server.key",
        failing=(r"test_file_owner_and_mode\[.*/etc/nimbus/pki/server\.key-",),
        shows=("420 == 416", "420 != 416"),
    ),
    # Swift's proxy secrets (the service user's password) readable by everyone.
    Breakage(
        scenario="swift",
        breaks="chmod 0644 /etc/swift/proxy-server/secrets.conf",
        repairs="chmod 0640 /etc/swift/proxy-server/secrets.conf",
        failing=(r"test_file_owner_and_mode\[.*/etc/swift/proxy-server/secrets\.conf-",),
        shows=("420 == 416", "420 != 416"),
        lab_groups=True,
    ),
]


def lab_address() -> str:
    for line in (CONFIG_DIR / "openstack_user_config.yml").read_text().splitlines():
        if line.strip().startswith("ip:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no host address in {CONFIG_DIR}/openstack_user_config.yml")


def on_host(script: str) -> None:
    subprocess.run(
        ["ssh", "-o", "BatchMode=yes", f"root@{lab_address()}", script], check=True, timeout=120
    )


def run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env},
        check=False,
    )
    result.stdout = ANSI.sub("", result.stdout + result.stderr)
    return result


def molecule_verify(scenario: str) -> subprocess.CompletedProcess[str]:
    # No borders: Molecule would wrap pytest's lines inside them.
    return run(
        ["molecule", "verify", "-s", scenario],
        NIMBUS_MOLECULE_LAB=LAB,
        MOLECULE_COMMAND_BORDERS="false",
    )


def gate_testinfra(scenario: str) -> subprocess.CompletedProcess[str]:
    return run(
        ["bash", "scripts/run-tests.sh", "testinfra"],
        NIMBUS_TESTINFRA_CONFIG_DIR=str(CONFIG_DIR),
        NIMBUS_TESTINFRA_SUITES=scenario,
    )


def lab_groups(scenario: str, state: str) -> None:
    result = run(
        [
            "ansible-playbook",
            "-i",
            "inventory/openstack_deploy.yml",
            "-e",
            f"molecule_lab_groups={state}",
            f"extensions/molecule/{scenario}/lab_groups.yml",
        ],
        NIMBUS_MOLECULE_LAB=LAB,
        OSA_CONFIG_DIR=str(CONFIG_DIR),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"),
    )
    assert result.returncode == 0, f"lab_groups.yml ({state}) failed:\n{result.stdout[-3000:]}"


def failed_tests(output: str) -> set[str]:
    """Node ids of the FAILED lines of pytest's short summary (-ra)."""
    names = set()
    for line in output.splitlines():
        match = re.search(r"FAILED \S*::(\S+)", line)
        if match:
            names.add(match.group(1))
    return names


@pytest.mark.parametrize("case", CASES, ids=[c.scenario for c in CASES])
def test_a_broken_role_fails_its_scenario_and_the_gate(case):
    if case.lab_groups:
        lab_groups(case.scenario, "present")
    try:
        check_breakage(case)
    finally:
        if case.lab_groups:
            lab_groups(case.scenario, "absent")


def check_breakage(case: Breakage) -> None:
    assert molecule_verify(case.scenario).returncode == 0, (
        "the role must verify before it is broken"
    )
    on_host(case.breaks)
    try:
        for what, result in (
            (f"molecule verify -s {case.scenario}", molecule_verify(case.scenario)),
            ("scripts/run-tests.sh testinfra", gate_testinfra(case.scenario)),
        ):
            assert result.returncode != 0, (
                f"{what} passed on a broken {case.scenario}:\n{result.stdout[-3000:]}"
            )
            failed = failed_tests(result.stdout)
            # Exactly the broken checks fail.
            unexpected = {f for f in failed if not any(re.match(p, f) for p in case.failing)}
            assert unexpected == set(), f"{what}: other checks failed too:\n{result.stdout[-3000:]}"
            for pattern in case.failing:
                assert any(re.match(pattern, f) for f in failed), (
                    f"{what}: no failed test matches {pattern}; failed: {sorted(failed)}"
                )
            assert any(text in result.stdout for text in case.shows), (
                f"{what}: the failure shows none of {case.shows}"
            )
    finally:
        on_host(case.repairs)
    repaired = molecule_verify(case.scenario)
    assert repaired.returncode == 0, f"still failing after the repair:\n{repaired.stdout[-3000:]}"
