"""The deployment host's bootstrap and the openstack-ansible wrapper, run for real.

These tests install into the machine (as CI does on a fresh host): the runtime venv, the
collection link and the commands on PATH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = Path(os.environ.get("NIMBUS_RUNTIME", "/opt/ansible-runtime"))
BIN = Path("/usr/local/bin")

# Any valid configuration does for --syntax-check: the one-host example the project ships.
USER_CONFIG = (REPO / "etc/openstack_deploy/openstack_user_config.yml.aio").read_text()

PROBE_PLAYBOOK = """\
- name: Probe variables
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Show where values came from
      ansible.builtin.debug:
        msg: "order={{ probe_order }} venv_root={{ nimbus_venv_root }}"
"""


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
        timeout=1200,
    )


@pytest.fixture(scope="module")
def bootstrapped() -> None:
    first = run([str(REPO / "scripts/bootstrap-ansible.sh")])
    assert first.returncode == 0, first.stdout + first.stderr


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    cfg = tmp_path / "openstack_deploy"
    cfg.mkdir()
    (cfg / "openstack_user_config.yml").write_text(USER_CONFIG)
    (cfg / "user_a.yml").write_text("probe_order: a\n")
    (cfg / "user_b.yml").write_text("probe_order: b\n")
    return cfg


def wrapper(args: list[str], config_dir: Path, tmp_path: Path):
    env = {"OSA_CONFIG_DIR": str(config_dir), "OSA_LOG_DIR": str(tmp_path / "logs")}
    return run([str(BIN / "openstack-ansible"), *args], env=env, cwd=tmp_path)


def test_second_bootstrap_changes_nothing(bootstrapped: None) -> None:
    start = time.monotonic()
    again = run([str(REPO / "scripts/bootstrap-ansible.sh")])
    took = time.monotonic() - start
    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout, again.stdout
    print(f"second bootstrap-ansible.sh run: {took:.2f}s")


def test_runtime_has_pinned_ansible(bootstrapped: None) -> None:
    out = run([str(RUNTIME / "bin/ansible-playbook"), "--version"]).stdout
    pins = (REPO / "requirements/constraints.txt").read_text()
    version = out.split("[core ")[1].split("]")[0]
    assert f"ansible-core=={version}" in pins


def test_runtime_has_pinned_mitogen(bootstrapped: None) -> None:
    out = run([str(RUNTIME / "bin/python"), "-m", "pip", "show", "mitogen"]).stdout
    version = re.search(r"^Version: (\S+)$", out, re.MULTILINE)
    assert version, out
    assert f"mitogen=={version[1]}" in (REPO / "requirements/constraints.txt").read_text()


PPID_PLAYBOOK = """\
- name: Show the parent of two shell tasks
  hosts: localhost
  gather_facts: false
  tasks:
    - name: First
      ansible.builtin.shell: echo "ppid=$PPID"
      changed_when: false
    - name: Second
      ansible.builtin.shell: echo "ppid=$PPID"
      changed_when: false
"""


@pytest.mark.parametrize(("strategy", "one_interpreter"), [(None, True), ("linear", False)])
def test_strategy_keeps_one_interpreter_per_host(
    bootstrapped: None,
    config_dir: Path,
    tmp_path: Path,
    strategy: str | None,
    one_interpreter: bool,
) -> None:
    """By default (mitogen_linear) two tasks share one Python; `linear` starts one per task."""
    probe = tmp_path / "ppid.yml"
    probe.write_text(PPID_PLAYBOOK)
    env = {"OSA_CONFIG_DIR": str(config_dir), "OSA_LOG_DIR": str(tmp_path / "logs")}
    if strategy:
        env["NIMBUS_ANSIBLE_STRATEGY"] = strategy
    result = run([str(BIN / "openstack-ansible"), str(probe), "-v"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    parents = re.findall(r'"stdout": "ppid=(\d+)"', result.stdout)
    assert len(parents) == 2, result.stdout
    assert (parents[0] == parents[1]) is one_interpreter, parents


def test_syntax_check_of_everything(bootstrapped: None, config_dir: Path, tmp_path: Path) -> None:
    result = wrapper(["setup-everything.yml", "--syntax-check"], config_dir, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "setup_everything.yml succeeded" in result.stdout


@pytest.mark.parametrize("name", ["setup-hosts.yml", "setup_hosts", "nimbus.cloud.setup_hosts"])
def test_playbook_spellings(
    bootstrapped: None, config_dir: Path, tmp_path: Path, name: str
) -> None:
    result = wrapper([name, "--syntax-check"], config_dir, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unknown_playbook_lists_the_real_ones(
    bootstrapped: None, config_dir: Path, tmp_path: Path
) -> None:
    result = wrapper(["nonsense.yml"], config_dir, tmp_path)
    assert result.returncode != 0
    assert "no playbook named 'nonsense.yml'" in result.stderr
    for playbook in ("setup-hosts.yml", "setup-infrastructure.yml", "setup-openstack.yml"):
        assert playbook in result.stderr


def test_user_files_in_order_group_vars_and_log(
    bootstrapped: None, config_dir: Path, tmp_path: Path
) -> None:
    probe = tmp_path / "probe.yml"
    probe.write_text(PROBE_PLAYBOOK)
    result = wrapper([str(probe), "-e", "unused=1"], config_dir, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # user_b.yml comes after user_a.yml, so its value wins; group_vars/all applied.
    assert "order=b venv_root=/openstack/venvs" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("openstack-ansible: probe.yml succeeded")
    log = Path(last.rsplit("log: ", 1)[1])
    assert log.is_file()
    assert "order=b" in log.read_text()
    timings = json.loads(log.with_suffix(".json").read_text())
    assert timings["playbook"] == "probe.yml"
    assert [t["task"] for t in timings["tasks"]] == ["Show where values came from"]
    assert oct((tmp_path / "logs").stat().st_mode & 0o777) == "0o700"


def test_every_plugin_has_docs(bootstrapped: None) -> None:
    types = {
        "modules": "module",
        "inventory": "inventory",
        "callback": "callback",
        "lookup": "lookup",
        "filter": "filter",
    }
    checked = 0
    for folder, kind in types.items():
        for plugin in sorted((REPO / "plugins" / folder).glob("*.py")):
            if plugin.name == "__init__.py":
                continue
            name = f"nimbus.cloud.{plugin.stem}"
            # Only the path bootstrap installed to: other tools may leave copies elsewhere.
            result = run(
                [str(RUNTIME / "bin/ansible-doc"), "-t", kind, name],
                env={"ANSIBLE_COLLECTIONS_PATH": "/usr/share/ansible/collections"},
            )
            assert result.returncode == 0, f"ansible-doc -t {kind} {name}: {result.stderr}"
            assert name in result.stdout
            checked += 1
    assert checked > 0


def test_collection_builds_and_installs(bootstrapped: None, tmp_path: Path) -> None:
    galaxy = str(RUNTIME / "bin/ansible-galaxy")
    built = run([galaxy, "collection", "build", str(REPO), "--output-path", str(tmp_path)])
    assert built.returncode == 0, built.stderr
    tarball = next(tmp_path.glob("nimbus-cloud-*.tar.gz"))
    target = tmp_path / "collections"
    # --no-deps: galaxy.yml's dependencies come with the runtime's ansible package (a unit test
    # checks that its versions satisfy them); the package registries hold no Galaxy server.
    installed = run(
        [galaxy, "collection", "install", "--force", "--no-deps", str(tarball), "-p", str(target)]
    )
    assert installed.returncode == 0, installed.stderr
    assert (target / "ansible_collections/nimbus/cloud/MANIFEST.json").is_file()
