"""End-to-end tests of scripts/pw-token-gen.py, run as a process like an operator runs it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "pw-token-gen.py"
EXAMPLE = ROOT / "etc" / "openstack_deploy" / "user_secrets.yml"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def values(path: Path) -> dict[str, str]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def assert_no_secret_in(output: str, secrets: dict[str, str]) -> None:
    for key, value in secrets.items():
        if value:
            assert value not in output, f"the value of {key} was printed"


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    target = tmp_path / "user_secrets.yml"
    shutil.copy(EXAMPLE, target)
    return target


def test_script_is_executable() -> None:
    assert SCRIPT.stat().st_mode & stat.S_IXUSR


def test_fill_then_rerun_then_regen(secrets_file: Path) -> None:
    first = run("--file", secrets_file)
    assert first.returncode == 0, first.stderr
    filled = values(secrets_file)
    assert all(filled.values()), "every value is filled"
    assert_no_secret_in(first.stdout + first.stderr, filled)
    assert f"generated {len(filled)}:" in first.stdout
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    # Comments and order kept: masking the values gives the example back.
    masked = [
        line.split(":")[0] + ":" if line[:1].isalpha() else line
        for line in secrets_file.read_text(encoding="utf-8").splitlines()
    ]
    assert masked == EXAMPLE.read_text(encoding="utf-8").splitlines()

    second = run("--file", secrets_file)
    assert second.returncode == 0
    assert "nothing to do" in second.stdout
    assert values(secrets_file) == filled

    third = run("--file", secrets_file, "--regen")
    assert third.returncode == 0, third.stderr
    regenerated = values(secrets_file)
    assert all(regenerated[k] != filled[k] for k in filled)
    assert_no_secret_in(third.stdout + third.stderr, filled | regenerated)
    backups = sorted(secrets_file.parent.glob("user_secrets.yml.*.bak"))
    assert len(backups) == 2
    assert values(backups[-1]) == filled
    for backup in backups:
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_through_symlink_on_path(secrets_file: Path, tmp_path: Path) -> None:
    # As installed on PATH: a symlink elsewhere; the script finds its module from its real
    # location. The shebang's "python" is this interpreter (bootstrap installs
    # python-is-python3 on the deployment host).
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pw-token-gen").symlink_to(SCRIPT)
    (bindir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(bindir / "pw-token-gen"), "--file", str(secrets_file)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert all(values(secrets_file).values())


def test_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "user_secrets.yml"
    bad.write_text("a_password: ok\nnested:\n  b_password: hunter2hunter2\n", encoding="utf-8")
    before = bad.read_bytes()
    proc = run("--file", bad)
    assert proc.returncode == 1
    assert f"{bad}, line 3" in proc.stderr
    assert "hunter2hunter2" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert bad.read_bytes() == before
    assert list(tmp_path.iterdir()) == [bad]


def test_missing_file(tmp_path: Path) -> None:
    proc = run("--file", tmp_path / "nope.yml")
    assert proc.returncode == 1
    assert "file not found" in proc.stderr


def test_missing_argument() -> None:
    proc = run()
    assert proc.returncode != 0
    assert "--file" in proc.stderr
