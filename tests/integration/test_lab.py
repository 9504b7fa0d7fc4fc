"""The LXC lab for real: create aio, reach it with Ansible, use apt and pip inside, destroy it,
and find the machine's links, routes and NAT table exactly as before.

Needs root and a machine where LXC works (see docs/architecture.md, "The lab"); run with
``pytest tests/integration/test_lab.py`` (the default unit run does not collect it). Other lab
scenarios running on the machine (engineers' dev1-dev3, ...) are left alone: then only the
aio scenario is destroyed and their hosts' interfaces are left out of the comparison.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "tests" / "lab" / "lab.py"
VENV = Path(os.environ.get("NIMBUS_TEST_VENV", REPO / ".venv"))
STATE = Path(os.environ.get("NIMBUS_LAB_STATE_DIR", "/var/lib/nimbus-lab")) / "state.json"
AIO_ADDRESSES = ("172.29.236.100", "172.29.240.100", "172.29.244.100", "172.29.248.100")
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")


def run(command: list[str], timeout: float, env: dict[str, str] | None = None):
    """Run with a deadline; the output is printed so a failing test shows it."""
    started = time.monotonic()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    took = time.monotonic() - started
    print(f"$ {' '.join(command)}  (exit {result.returncode}, {took:.1f}s)")
    print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
    return result


def lab(*args: str, timeout: float = 900):
    return run([str(LAB), *args], timeout=timeout)


def in_host(*command: str, timeout: float = 300):
    return run(
        ["lxc-attach", "-n", "aio1", "--clear-env", "--set-var", PATH, "--", *command],
        timeout=timeout,
    )


def other_veth(line: str) -> bool:
    """A machine-side veth of another scenario's host (named lab<o3>-<o4> by the lab)."""
    match = re.match(r"\d+: (lab(\d+)-(\d+))@", line)
    if not match:
        return False
    address = f"172.29.{match.group(2)}.{match.group(3)}"
    return address not in AIO_ADDRESSES


def snapshot() -> dict[str, list[str]]:
    links = run(["ip", "-o", "link"], timeout=30).stdout.splitlines()
    return {
        "ip -o link": [line for line in links if not other_veth(line)],
        "ip route": run(["ip", "route"], timeout=30).stdout.splitlines(),
        "iptables -t nat -S": run(["iptables", "-t", "nat", "-S"], timeout=30).stdout.splitlines(),
    }


def scenarios_running() -> set[str]:
    if not STATE.exists():
        return set()
    return set(json.loads(STATE.read_text()).get("scenarios", {}))


@pytest.fixture(scope="module")
def aio(tmp_path_factory):
    others = scenarios_running()
    if "aio" in others:
        pytest.skip(
            "an aio lab exists on this machine already; destroy it first: lab.py destroy aio"
        )
    if run(["sh", "-c", "command -v iptables"], timeout=10).returncode != 0:
        # A fresh machine: lab.py would install iptables during create, and the "before"
        # snapshot needs it to list the NAT table, so install it first.
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        assert run(["apt-get", "update", "-q"], timeout=600, env=env).returncode == 0
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "iptables"]
        assert run(install, timeout=600, env=env).returncode == 0
    if not others:
        # No scenario left: the lab's shared bridges and NAT rules may still be up from one
        # destroyed alone. A full destroy is what this test ends with, so start from it too.
        assert lab("destroy").returncode == 0
    before = snapshot()
    config_dir = tmp_path_factory.mktemp("lab") / "aio-config"
    started = time.monotonic()
    created = lab("create", "aio", "--config-dir", str(config_dir))
    info = {
        "before": before,
        "created": created,
        "create_seconds": time.monotonic() - started,
        "config_dir": config_dir,
        "full_destroy": not others,
    }
    yield info
    if info["full_destroy"]:
        lab("destroy")
    else:
        lab("destroy", "aio")


def test_create(aio):
    assert aio["created"].returncode == 0
    assert "scenario aio ready" in aio["created"].stdout
    for name in ("openstack_user_config.yml", "user_variables.yml", "lab-inventory.ini"):
        assert (aio["config_dir"] / name).is_file()


def test_ansible_ping_with_host_key_checking(aio, tmp_path):
    # Our own ansible.cfg, so that no config file elsewhere can turn host key checking off.
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\nhost_key_checking = True\n")
    result = run(
        [
            str(VENV / "bin" / "ansible"),
            "-i",
            str(aio["config_dir"] / "lab-inventory.ini"),
            "all",
            "-m",
            "ansible.builtin.ping",
        ],
        timeout=120,
        env={"ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_CONFIG": str(config)},
    )
    assert result.returncode == 0
    assert "SUCCESS" in result.stdout


def test_systemd_running(aio):
    deadline = time.monotonic() + 120
    state = ""
    while time.monotonic() < deadline:
        state = in_host("systemctl", "is-system-running", timeout=30).stdout.strip()
        if state == "running":
            break
        time.sleep(1)
    assert state == "running", in_host("systemctl", "--failed", "--no-pager", timeout=30).stdout


def test_apt_update_inside(aio):
    # apt-get update exits 0 when an index cannot be fetched; make every failure count.
    result = in_host("apt-get", "update", "-o", "APT::Update::Error-Mode=any", timeout=300)
    assert result.returncode == 0
    assert "Err:" not in result.stdout
    assert not re.search(r"^[WE]: ", result.stdout + result.stderr, re.MULTILINE)


def test_pip_download_inside(aio):
    target = "/root/pip-download"  # inside the lab host
    result = in_host("python3", "-m", "pip", "download", "--no-deps", "-d", target, "six")
    assert result.returncode == 0
    assert in_host("sh", "-c", f"ls {target}/six-*.whl", timeout=30).returncode == 0


def test_second_create_changes_nothing(aio):
    started = time.monotonic()
    again = lab("create", "aio", "--config-dir", str(aio["config_dir"]), timeout=120)
    assert again.returncode == 0
    assert "everything in place, nothing changed" in again.stdout
    assert time.monotonic() - started < 15


def test_destroy_leaves_the_machine_as_before(aio):
    result = lab("destroy") if aio["full_destroy"] else lab("destroy", "aio")
    assert result.returncode == 0
    after = snapshot()
    for key, lines in aio["before"].items():
        diff = "\n".join(difflib.unified_diff(lines, after[key], "before", "after", lineterm=""))
        assert after[key] == lines, f"{key} differs after destroy:\n{diff}"
    known = Path("/root/.ssh/known_hosts")
    if known.exists():
        assert not any(line.startswith("aio1,") for line in known.read_text().splitlines())
    assert run(["lxc-info", "-n", "aio1"], timeout=30).returncode != 0
