"""The gate, end to end on the `aio` lab: it passes on a good deployment and fails, with a
clear message, when a service is down or a second pass changes something.

The first test deploys everything (scripts/gate-check.sh aio); the others reuse that lab. After
the healthchecks, Horizon is driven in a real browser (tests/integration/test_horizon_browser.py)
with its screenshots and output in the gate's run directory.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
GATE = REPO / "scripts" / "gate-check.sh"
SCENARIO = "aio"
HOST = "aio1"


def gate(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = {**os.environ, "NIMBUS_GATE_DIR": str(tmp_path)}
    result = subprocess.run(
        [str(GATE), SCENARIO, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=5400,
    )
    print(result.stdout[-20000:])
    reports = sorted(tmp_path.glob(f"{SCENARIO}-*/report.json"))
    assert reports, f"no report written; stderr: {result.stderr[-4000:]}"
    report = json.loads(reports[-1].read_text())
    report["run_dir"] = str(reports[-1].parent)
    return result, report


def on_host(*command: str) -> None:
    subprocess.run(["lxc-attach", "-n", HOST, "--", *command], check=True, timeout=120)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    result, report = gate(tmp_path_factory.mktemp("gate"))
    assert result.returncode == 0, report["failure"]
    return report


def test_full_gate_passes(deployed: dict) -> None:
    assert deployed["result"] == "passed"
    assert [s["name"] for s in deployed["steps"]] == [
        "bootstrap",
        "lab",
        "deploy",
        "healthcheck",
        "tempest",
        "idempotency",
    ]
    assert deployed["tempest"]["failed"] == 0
    assert deployed["tempest"]["passed"] > 0
    assert deployed["changed_on_second_pass"] == []
    second = [p for p in deployed["playbooks"] if p["pass"] == 2]
    assert {p["playbook"] for p in second} == {
        "setup_hosts.yml",
        "setup_infrastructure.yml",
        "setup_openstack.yml",
    }
    assert all(p["changed"] == 0 for p in second)
    assert len(deployed["slowest_tasks"]) == 10


def test_horizon_in_a_real_browser(deployed: dict) -> None:
    """The browser test against the gate's lab; runs before the secret check, which reads its
    output too. Under CI=true a skip inside it is a failure (tests/conftest.py)."""
    run_dir = Path(deployed["run_dir"])
    shots = run_dir / "horizon-screenshots"
    env = {
        **os.environ,
        "NIMBUS_TEST_HORIZON": "1",
        "OSA_CONFIG_DIR": f"/etc/nimbus-lab/{SCENARIO}",
        "NIMBUS_HORIZON_SCREENSHOTS": str(shots),
    }
    test = REPO / "tests" / "integration" / "test_horizon_browser.py"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-rs", "-p", "no:cacheprovider", str(test)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
        cwd=REPO,
    )
    (run_dir / "horizon-browser.out").write_text(result.stdout + result.stderr)
    print(result.stdout[-6000:])
    assert result.returncode == 0, f"the browser test failed; see {run_dir / 'horizon-browser.out'}"
    assert " passed" in result.stdout and "skipped" not in result.stdout
    pictures = sorted(p.name for p in shots.glob("*.png"))
    assert "05-project-images.png" in pictures, pictures
    print(f"horizon screenshots in {shots}: {', '.join(pictures)}")


def test_report_times_every_service_playbook(deployed: dict) -> None:
    files = {(f["pass"], f["file"]): f for f in deployed["playbook_files"]}
    services = (
        "keystone.yml",
        "placement.yml",
        "glance.yml",
        "ovn.yml",
        "neutron.yml",
        "nova.yml",
        "horizon.yml",
    )
    for service in services:
        for number in (1, 2):
            assert files[number, service]["tasks"] > 0, (number, service)
            assert files[number, service]["seconds"] > 0, (number, service)
    assert (0, "healthcheck/keystone.yml") in files
    assert not any(f["file"] == "(file not recorded)" for f in deployed["playbook_files"])
    first = [f for f in deployed["playbook_files"] if f["pass"] == 1][:-1]  # outside row last
    assert [f["seconds"] for f in first] == sorted((f["seconds"] for f in first), reverse=True)


def ovsdb_list_dbs(sock: socket.socket) -> list[str]:
    """Send an OVSDB list_dbs request on SOCK and return the answer's database names."""
    sock.settimeout(15)
    sock.sendall(json.dumps({"method": "list_dbs", "params": [], "id": 0}).encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
        try:
            return json.loads(data)["result"]
        except ValueError:
            continue
    raise ConnectionError(f"the server closed the connection after {data[:200]!r}")


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A client key and certificate no deployment CA signed."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA384())
    )
    key_path, cert_path = tmp_path / "other.key", tmp_path / "other.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def test_ovn_databases_take_only_clients_with_a_deployment_certificate(
    deployed: dict, tmp_path: Path
) -> None:
    """From the deployment host, as a client on the management network would: the NB and SB
    databases answer over TLS a client presenting a certificate of the deployment CA, and
    nothing else (no certificate, a certificate of another CA, plain TCP)."""
    pki = Path(f"/etc/nimbus-lab/{SCENARIO}/pki")
    address = (
        subprocess.run(
            ["lxc-attach", "-n", HOST, "--", "ip", "-o", "-4", "addr", "show", "br-mgmt"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        .stdout.split()[3]
        .split("/")[0]
    )
    clients = {
        "deployment certificate": (pki / "hosts" / f"{HOST}.pem", pki / "hosts" / f"{HOST}.key"),
        "no certificate": None,
        "another CA's certificate": self_signed(tmp_path),
    }
    for port, name in ((6641, "OVN_Northbound"), (6642, "OVN_Southbound")):
        for client, files in clients.items():
            context = ssl.create_default_context(cafile=str(pki / "ca" / "ca.pem"))
            if files:
                context.load_cert_chain(str(files[0]), str(files[1]))
            try:
                with (
                    socket.create_connection((address, port), timeout=15) as raw,
                    context.wrap_socket(raw, server_hostname=address) as sock,
                ):
                    answer = ovsdb_list_dbs(sock)
            except (OSError, ConnectionError) as err:  # ssl.SSLError is an OSError
                answer = err
            print(f"{name} ({port}), {client}: {answer!r}")
            if client == "deployment certificate":
                assert isinstance(answer, list) and name in answer, answer
            else:
                assert not isinstance(answer, list), f"{name} answered a client with {client}"
        with socket.create_connection((address, port), timeout=15) as plain:
            try:
                answer = ovsdb_list_dbs(plain)
            except (OSError, ConnectionError) as err:
                answer = err
        print(f"{name} ({port}), plain TCP: {answer!r}")
        assert not isinstance(answer, list), f"{name} answered plain TCP"


def test_no_secret_in_any_output_or_log(deployed: dict) -> None:
    run_dir = Path(deployed["run_dir"])
    secrets = {}
    for line in Path(f"/etc/nimbus-lab/{SCENARIO}/user_secrets.yml").read_text().splitlines():
        key, sep, value = line.partition(":")
        value = value.strip().strip("'\"")
        if sep and not key.startswith("#") and len(value) >= 8:
            secrets[key.strip()] = value
    assert secrets, "the lab's user_secrets.yml has no generated values"
    leaks = [
        f"{key} in {path}"
        for path in run_dir.rglob("*")
        if path.is_file() and path.suffix in {".log", ".out", ".json"}
        for key, value in secrets.items()
        if value in path.read_text(errors="replace")
    ]
    assert leaks == []


def test_gate_fails_when_a_service_is_down(deployed: dict, tmp_path: Path) -> None:
    on_host("systemctl", "stop", "memcached")
    try:
        result, report = gate(
            tmp_path, "--steps", "healthcheck", "--playbooks", "healthcheck-infrastructure.yml"
        )
    finally:
        on_host("systemctl", "start", "memcached")
    assert result.returncode != 0
    assert report["result"] == "failed"
    assert "step 'healthcheck' failed in 'healthcheck-infrastructure.yml'" in report["failure"]
    assert "memcached" in result.stdout
    assert "lab-logs.tar.gz" in result.stdout


def test_gate_fails_when_the_second_pass_changes_something(deployed: dict, tmp_path: Path) -> None:
    # Drift a file a role manages: the next pass must put it back, and so report a change.
    # Only the playbook that manages it runs (the full second pass is test_full_gate_passes').
    on_host("sh", "-c", "echo '# drift' >> /etc/memcached.conf")
    result, report = gate(tmp_path, "--steps", "idempotency", "--playbooks", "memcached.yml")
    assert result.returncode != 0
    assert "the second pass changed something" in report["failure"]
    changed = report["changed_on_second_pass"]
    assert changed and all(c["host"] == HOST for c in changed)
    assert any("memcached" in c["task"].lower() for c in changed), changed
    assert "changed on the second pass (must be none):" in result.stdout
    assert [p["playbook"] for p in report["playbooks"]] == ["memcached.yml"]
