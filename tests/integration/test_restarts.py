"""Restarts owed survive a failed run (docs/architecture.md, "Restarts").

On the deployed ``aio`` lab (the gate stage runs this after test_gate.py, on the same lab):
keystone.yml with a new keystone.conf option is killed (SIGKILL of the controller) as soon
as the host has recorded the restart it owes, so the configuration is written but keystone
has not restarted. The next run, which has nothing left to write, must restart keystone,
drained from HAProxy, and clear the marker. The option is then taken back.

Settings (environment): NIMBUS_TEST_CONFIG_DIR (default /etc/nimbus-lab/aio),
NIMBUS_TEST_HOST (default aio1).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

CONFIG_DIR = os.environ.get("NIMBUS_TEST_CONFIG_DIR", "/etc/nimbus-lab/aio")
HOST = os.environ.get("NIMBUS_TEST_HOST", "aio1")
UNIT = "keystone-uwsgi.service"
MARKER = f"/var/lib/nimbus/restart-owed/{UNIT}"
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OVERRIDE = "keystone_keystone_conf_overrides: {DEFAULT: {max_param_size: 65}}\n"

pytestmark = pytest.mark.skipif(
    not Path(CONFIG_DIR, "openstack_user_config.yml").is_file(),
    reason=f"needs a deployed lab configured in {CONFIG_DIR} (run after test_gate.py)",
)


def in_host(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["lxc-attach", "-n", HOST, "--clear-env", "--set-var", PATH, "--", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def started_at() -> str:
    out = in_host("systemctl", "show", "-p", "ActiveEnterTimestampMonotonic", "--value", UNIT)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def marker_present() -> bool:
    return in_host("test", "-e", MARKER).returncode == 0


def openstack_ansible(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start keystone.yml in its own process group, its output in LOG."""
    env = {**os.environ, "OSA_CONFIG_DIR": CONFIG_DIR}
    with log.open("wb") as out:
        return subprocess.Popen(
            ["openstack-ansible", "keystone.yml", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def finish(proc: subprocess.Popen[bytes], log: Path) -> str:
    proc.wait(timeout=1800)
    out = log.read_text(errors="replace")
    assert proc.returncode == 0, out[-6000:]
    return out


def test_restart_owed_by_a_killed_run_happens_on_the_next(tmp_path: Path) -> None:
    override = tmp_path / "override.yml"
    override.write_text(OVERRIDE)
    assert not marker_present(), f"{MARKER} is left from an earlier run"
    before = started_at()

    killed = tmp_path / "killed.log"
    proc = openstack_ansible(killed, "-e", f"@{override}")
    deadline = time.monotonic() + 900
    while not marker_present():
        assert proc.poll() is None, f"the run ended first: {killed.read_text()[-4000:]}"
        assert time.monotonic() < deadline, "no restart recorded within 900 s"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)

    conf = in_host("grep", "-x", "max_param_size = 65", "/etc/keystone/keystone.conf")
    assert conf.returncode == 0, "the killed run had not written keystone.conf yet"
    assert started_at() == before, "keystone restarted although the run was killed before it"
    assert marker_present()

    log = tmp_path / "next.log"
    out = finish(openstack_ansible(log, "-e", f"@{override}"), log)
    assert started_at() != before, f"the next run did not restart keystone:\n{out[-4000:]}"
    assert not marker_present(), "the marker outlived the restart"
    assert "Drain this host from HAProxy" in out

    # Take the option back: keystone.conf changes, keystone restarts once more.
    restored = started_at()
    log = tmp_path / "restore.log"
    finish(openstack_ansible(log), log)
    assert in_host("grep", "-q", "max_param_size", "/etc/keystone/keystone.conf").returncode == 1
    assert started_at() != restored
    assert not marker_present()
