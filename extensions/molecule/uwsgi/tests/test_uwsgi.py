"""What uwsgi leaves on a host (Molecule scenario uwsgi).

The scenario serves a tiny WSGI application (``files/app.py``, it answers with its venv and
its uid) from the venv ``nimbus-molecule-wsgi-1.0`` (uWSGI from the repo server) under the
role's hardened unit, on the management address, port 18090, with two workers, over HTTPS with
a copy of the host's certificate and key from the deployment CA (``uwsgi_tls``, the default).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

testinfra_hosts = ["hosts"]

UNIT = "nimbus-molecule-wsgi.service"
USER = "nimbus-wsgi"
PORT = 18090
PROCESSES = 2
VENV = "/openstack/venvs/nimbus-molecule-wsgi-1.0"
ETC = "/etc/nimbus-molecule-wsgi"
INI = f"{ETC}/uwsgi.ini"
TLS_DIR = "/etc/nimbus/uwsgi-tls"
CONSTRAINTS = Path(__file__).resolve().parents[4] / "requirements/services/constraints.txt"


def ini_values(host) -> dict[str, str]:
    """The [uwsgi] options of the ini file, name -> value (the last one of a repeated name)."""
    values = {}
    for line in host.file(INI).content_string.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def test_venv_has_the_pinned_uwsgi(host):
    pins = dict(
        line.split("==", 1) for line in CONSTRAINTS.read_text().splitlines() if "==" in line
    )
    assert host.check_output("%s/bin/uwsgi --version", VENV) == pins["uWSGI"].strip()


def test_unit_running_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running
    assert service.is_enabled


def test_files_owner_and_mode(owner_and_mode):
    assert owner_and_mode(f"/etc/systemd/system/{UNIT}") == ("root", "root", 0o644)
    assert owner_and_mode(ETC) == ("root", USER, 0o750)
    assert owner_and_mode(INI) == ("root", USER, 0o640)
    assert owner_and_mode(f"{ETC}/app.py") == ("root", USER, 0o640)


def test_tls_files_owner_and_mode(host, owner_and_mode):
    """The key is the host's, readable by the service only through its group; the certificate
    is the host's."""
    assert owner_and_mode(TLS_DIR) == ("root", "root", 0o755)
    assert owner_and_mode(f"{TLS_DIR}/nimbus-molecule-wsgi.key") == ("root", USER, 0o640)
    assert owner_and_mode(f"{TLS_DIR}/nimbus-molecule-wsgi.pem") == ("root", USER, 0o644)
    for copy, source in (("pem", "server.pem"), ("key", "server.key")):
        assert (
            host.file(f"{TLS_DIR}/nimbus-molecule-wsgi.{copy}").sha256sum
            == host.file(f"/etc/nimbus/pki/{source}").sha256sum
        )


def test_unit_runs_uwsgi_of_the_venv_with_the_ini(unit_properties):
    props = unit_properties(
        UNIT, "Type", "User", "Group", "ExecStart", "ProtectSystem", "NotifyAccess"
    )
    assert (props["Type"], props["User"], props["Group"]) == ("notify", USER, USER)
    assert f"path={VENV}/bin/uwsgi ;" in props["ExecStart"]
    assert f"argv[]={VENV}/bin/uwsgi --ini {INI} ;" in props["ExecStart"]
    assert (props["ProtectSystem"], props["NotifyAccess"]) == ("strict", "all")


def test_ini_values(host, management_address):
    values = ini_values(host)
    assert values["https-socket"] == (
        f"{management_address}:{PORT},{TLS_DIR}/nimbus-molecule-wsgi.pem,"
        f"{TLS_DIR}/nimbus-molecule-wsgi.key"
    )
    assert "http-socket" not in values
    assert values["virtualenv"] == VENV
    assert values["wsgi-file"] == f"{ETC}/app.py"
    assert values["processes"] == str(PROCESSES)
    assert "module" not in values


def test_main_process_sandbox(process_sandbox):
    """The role's hardened unit as the kernel applies it: the service's user, no capability,
    no new privileges, a system-call filter."""
    assert process_sandbox(UNIT) == (USER, 0, "1", "2")


def test_workers_run_as_the_user(host, unit_properties):
    """The master's workers: as many as asked, named with the procname prefix, each as the
    service's user."""
    pid = unit_properties(UNIT, "MainPID")["MainPID"]
    out = host.check_output("ps -o user:32=,args= --ppid %s", pid)
    workers = [line.split(None, 1) for line in out.splitlines() if line.strip()]
    assert len(workers) == PROCESSES, out
    for user, args in workers:
        assert (user, args.startswith("nimbus-molecule-wsgi:")) == (USER, True), args


def test_no_restart_owed(host):
    assert not host.file(f"/var/lib/nimbus/restart-owed/{UNIT}").exists


def test_listens_on_the_management_address_only(listeners, management_address):
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}


def test_port_speaks_tls_only(host, backend_tls, management_address):
    """The port presents the host's certificate, verified with the deployment CA for the
    management address, and answers no plain-HTTP request."""
    names, plain = backend_tls(management_address, PORT)
    assert ("IP Address", management_address) in names
    assert (
        "DNS",
        host.ansible.get_variables()["inventory_hostname"],
    ) in names
    assert plain is None


def test_application_answers_from_its_venv_as_its_user(host, management_address, tls_context):
    url = f"https://{management_address}:{PORT}/probe"
    with urllib.request.urlopen(url, timeout=10, context=tls_context) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/json"
        answer = json.loads(reply.read())
    uid = int(host.check_output("id -u %s", USER))
    assert answer == {"prefix": VENV, "uid": uid, "path": "/probe"}
