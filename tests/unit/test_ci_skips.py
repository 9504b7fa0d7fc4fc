"""tests/conftest.py: under CI=true a skipped test fails (it hides missing coverage); outside CI a
skip stays a skip, and an expected failure (xfail) is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SAMPLE = """
import pytest

def test_passes():
    pass

@pytest.mark.skipif(True, reason="the lab needs root")
def test_needs_root():
    pass

def test_needs_a_tool():
    pytest.skip("shellcheck not installed")

@pytest.mark.xfail(reason="known bug", strict=True)
def test_known_bug():
    assert False
"""


def run_sample(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    tests = tmp_path / "checkout" / "tests"
    tests.mkdir(parents=True)
    shutil.copy2(CONFTEST, tests / "conftest.py")
    (tests / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tests)],
        cwd=tests.parent,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_skips_fail_under_ci(tmp_path: Path, ci: str) -> None:
    result = run_sample(tmp_path, ci)
    assert result.returncode == 1, result.stdout
    # A skip in setup (skipif) reports as an error, one in the test body as a failure.
    assert "1 failed, 1 passed, 1 xfailed, 1 error" in result.stdout
    assert "test_needs_root was skipped under CI=true (the lab needs root)" in result.stdout
    assert "test_needs_a_tool was skipped under CI=true (shellcheck not installed)" in result.stdout


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_skips_stay_skips_outside_ci(tmp_path: Path, ci: str | None) -> None:
    result = run_sample(tmp_path, ci)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in result.stdout
