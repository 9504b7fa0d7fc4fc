"""What python_venv leaves on a host (Molecule scenario python_venv).

The scenario installs two versions of a test venv side by side, as a service upgrade leaves
them: ``nimbus-molecule-1.0`` (six) and ``nimbus-molecule-2.0`` (six, PasteDeploy), from the
repo server's wheels, pinned by the repo's lock of the test list (``nimbus-molecule.lock``:
the collection's service constraints, each wheel's sha256).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

testinfra_hosts = ["hosts"]

ROOT = "/openstack/venvs"
# version -> distributions asked for, and a module of each to import.
VENVS = {
    "1.0": {"six": "six"},
    "2.0": {"six": "six", "PasteDeploy": "paste.deploy"},
}
# Distributions python3 -m venv puts in every venv.
VENV_OWN = {"pip"}
REPO_PORT = 8181
LOCK = "nimbus-molecule"
CA = "/etc/nimbus/pki/ca.pem"
CONSTRAINTS = Path(__file__).resolve().parents[4] / "requirements/services/constraints.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned() -> dict[str, str]:
    """The versions of the collection's service constraints, canonical name -> version."""
    pins = {}
    for text in CONSTRAINTS.read_text().splitlines():
        line = text.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name)] = version.strip()
    return pins


def venv(version: str) -> str:
    return f"{ROOT}/nimbus-molecule-{version}"


def freeze(host, version: str) -> dict[str, str]:
    """``pip freeze --all`` of a venv, canonical name -> version."""
    out = host.check_output(
        "%s/bin/python -m pip freeze --all --disable-pip-version-check", venv(version)
    )
    return {
        canonical(n): v
        for n, v in (line.split("==", 1) for line in out.splitlines() if "==" in line)
    }


def stamp(host, version: str) -> dict:
    return json.loads(host.file(f"{venv(version)}/nimbus-venv.json").content_string)


def test_python3_venv_installed(host):
    assert host.package("python3-venv").is_installed


@pytest.mark.parametrize("version", sorted(VENVS))
def test_venv_files_owner_and_mode(owner_and_mode, version):
    path = venv(version)
    assert owner_and_mode(path) == ("root", "root", 0o755)
    for name in ("nimbus-venv.json", "nimbus-requirements.txt", "nimbus-lock.txt"):
        assert owner_and_mode(f"{path}/{name}") == ("root", "root", 0o644), name
    assert owner_and_mode(f"{path}/nimbus-constraints.txt") is None


@pytest.mark.parametrize("version", sorted(VENVS))
def test_venv_runs_the_hosts_python(host, version):
    """A venv of the host's python3 (a link to it, not a copy), at the path of its version."""
    python = host.file(f"{venv(version)}/bin/python")
    assert python.is_symlink
    system = host.check_output("/usr/bin/python3 -c %s", "import sys; print(sys.version)")
    inside = host.check_output(
        "%s/bin/python -c %s", venv(version), "import sys; print(sys.version); print(sys.prefix)"
    )
    assert inside.splitlines() == [system, venv(version)]


@pytest.mark.parametrize("version", sorted(VENVS))
def test_venv_holds_exactly_what_was_asked_at_the_pinned_versions(host, version):
    pins = pinned()
    want = {canonical(name): pins[canonical(name)] for name in VENVS[version]}
    found = freeze(host, version)
    assert {n: v for n, v in found.items() if n not in VENV_OWN} == want


@pytest.mark.parametrize("version", sorted(VENVS))
def test_venv_python_imports_its_packages(host, version):
    for module in VENVS[version].values():
        cmd = host.run("%s/bin/python -c %s", venv(version), f"import {module}")
        assert cmd.rc == 0, f"{module} in {venv(version)}: {cmd.stderr}"


def test_the_first_version_is_left_as_it_was(host):
    """Installing 2.0 made a venv of its own: 1.0 (what a service rolls back to) still has
    neither PasteDeploy nor 2.0's requirement list."""
    cmd = host.run("%s/bin/python -c %s", venv("1.0"), "import paste.deploy")
    assert cmd.rc != 0
    requirements = host.file(f"{venv('1.0')}/nimbus-requirements.txt").content_string.split()
    assert requirements == ["six"]
    assert stamp(host, "1.0")["digest"] != stamp(host, "2.0")["digest"]


@pytest.mark.parametrize("version", sorted(VENVS))
def test_stamp_records_what_the_venv_holds(host, version):
    """The stamp the role compares on its next run: the distributions now in the venv (an
    edited venv is installed again) and its freeze."""
    record = stamp(host, version)
    dists = host.check_output(
        "find %s/lib -mindepth 3 -maxdepth 3 -type d -name '*.dist-info' -printf '%%f\\n'",
        venv(version),
    )
    assert record["dists"] == sorted(dists.split())
    recorded = {canonical(n): v for n, v in (line.split("==", 1) for line in record["freeze"])}
    assert recorded == freeze(host, version)


def repo_url(host) -> str:
    """The wheel directory of this host's OS and architecture on the first repo host, HTTPS."""
    groups = host.ansible.get_variables()["groups"]
    repo = host.backend.ansible_runner.get_variables(groups["repo_all"][0])["ansible_host"]
    info = host.system_info
    os_arch = f"{info.distribution}-{info.release.split('.')[0]}-{info.arch}"
    return f"https://{repo}:{REPO_PORT}/wheels/{os_arch}/"


def repo_lock(host) -> list[str]:
    """The repo's lock of the test list, fetched over HTTPS verified with the deployment CA."""
    out = host.check_output(
        "curl -sS --fail --max-time 30 --capath /nonexistent --cacert %s %s",
        CA,
        f"{repo_url(host)}{LOCK}.lock",
    )
    return out.splitlines()


@pytest.mark.parametrize("version", sorted(VENVS))
def test_installed_from_the_repo_lock(host, version):
    """The venv's lock file is the repo's lock less the requested lines the venv did not ask
    for, every line with the wheel's sha256; the venv holds exactly those versions (the role
    installs with --no-index --require-hashes: nothing came from elsewhere)."""
    asked = {canonical(name) for name in VENVS[version]}
    want = [
        line.split("  #", 1)[0]
        for line in repo_lock(host)
        if not line.endswith("  # requested") or line.split("==", 1)[0] in asked
    ]
    lines = host.file(f"{venv(version)}/nimbus-lock.txt").content_string.splitlines()
    assert lines == want
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+ --hash=sha256:[0-9a-f]{64}", line) for line in lines)
    installed = {f"{n}=={v}" for n, v in freeze(host, version).items() if n not in VENV_OWN}
    assert installed == {line.split(" ", 1)[0] for line in lines}


def test_repo_lock_marks_the_test_list(host):
    """The repo's lock of the test list marks both of its lines as requested."""
    marked = {line.split("==", 1)[0] for line in repo_lock(host) if line.endswith("  # requested")}
    assert marked == {"six", "pastedeploy"}


def test_a_changed_wheel_left_no_venv(host):
    """side_effect.yml changed a wheel on the repo and installed nimbus-molecule-3.0 from it: the
    install failed, and the wheel was put back (its hash is the lock's again)."""
    assert not host.file(venv("3.0")).exists
    lock = {line.split("==", 1)[0]: line for line in repo_lock(host)}
    wheel = host.check_output("find /var/www/repo/wheels -name 'six-*.whl' -print -quit")
    digest = host.check_output("sha256sum %s", wheel).split()[0]
    assert lock["six"].split("--hash=sha256:", 1)[1].split()[0] == digest
