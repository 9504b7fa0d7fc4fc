"""scripts/gate-check.sh fails closed: missing or unreadable timing files, a playbook that ran on
no host, a change on the second pass and a crash of the report each fail the gate, with a
message naming what was wrong. Runs the real script in a copy of the repository's layout, with
a stand-in for the checkout's ``scripts/openstack-ansible`` (no lab, no root)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCENARIO = "unit-fake"  # no /etc/nimbus-lab/unit-fake: the gate collects no logs

FAKE_OSA = """#!/bin/sh
# Stand-in for openstack-ansible: writes $FAKE_TIMING (unless "none") as the timing file, and
# for os-tempest.yml copies $FAKE_STREAM (if set) into the -e tempest_results_dir=DIR given.
[ "$FAKE_TIMING" = none ] || printf '%s' "$FAKE_TIMING" > "$NIMBUS_TIMINGS_FILE"
for arg in "$@"; do
    case "$arg" in
        tempest_results_dir=*)
            dir="${arg#tempest_results_dir=}"; mkdir -p "$dir"
            [ -z "${FAKE_STREAM:-}" ] || cp "$FAKE_STREAM" "$dir/tempest.subunit" ;;
    esac
done
exit "${FAKE_RC:-0}"
"""
STREAMS = REPO / "tests" / "unit" / "plugins" / "plugin_utils" / "tempest_results" / "streams"


def timing(changed: int = 0, hosts: tuple[str, ...] = ("dev9",)) -> str:
    return json.dumps(
        {
            "playbook": "setup_hosts.yml",
            "duration": 2.5,
            "stats": {
                h: {"ok": 3, "changed": changed, "failures": 0, "unreachable": 0} for h in hosts
            },
            "tasks": [{"task": "t", "duration": 1.0, "hosts": dict.fromkeys(hosts, "ok")}],
        }
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in ("gate-check.sh", "gate-report.py"):
        shutil.copy2(REPO / "scripts" / name, root / "scripts" / name)
    (root / "plugins" / "plugin_utils").mkdir(parents=True)
    shutil.copy2(
        REPO / "plugins" / "plugin_utils" / "tempest_results.py",
        root / "plugins" / "plugin_utils" / "tempest_results.py",
    )
    (root / "playbooks").mkdir()
    (root / "playbooks" / "memcached.yml").write_text("---\n")
    (root / "tests" / "lab" / "scenarios").mkdir(parents=True)
    (root / "tests" / "lab" / "scenarios" / f"{SCENARIO}.yml").write_text("hosts: {}\n")
    fake = root / "scripts" / "openstack-ansible"
    fake.write_text(FAKE_OSA)
    fake.chmod(0o755)
    return root


def decoded(where: Path, stream: str) -> Path:
    """The named test stream as bytes in a file (the tree keeps streams as base64 text)."""
    path = where / f"{stream}.subunit"
    path.write_bytes(base64.b64decode((STREAMS / f"{stream}.subunit.b64").read_text()))
    return path


def gate(
    tree: Path, step: str, fake_timing: str, stream: str = "", *args: str
) -> tuple[subprocess.CompletedProcess[str], dict]:
    runs = tree.parent / "runs"
    env = {
        **os.environ,
        "NIMBUS_GATE_DIR": str(runs),
        "FAKE_TIMING": fake_timing,
        "FAKE_STREAM": str(decoded(tree.parent, stream)) if stream else "",
    }
    result = subprocess.run(
        [str(tree / "scripts" / "gate-check.sh"), SCENARIO, "--steps", step, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    reports = sorted(runs.glob(f"{SCENARIO}-*/report.json"))
    report = json.loads(reports[-1].read_text()) if reports else {}
    return result, report


def test_clean_second_pass_passes(tree: Path) -> None:
    result, report = gate(tree, "idempotency", timing())
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["result"] == "passed"
    assert report["no_op_pass"]["seconds"] == 7.5  # three playbooks of 2.5 s
    assert "no-op pass (pass 2): 7.5s" in result.stdout


def test_playbooks_replace_the_steps_own(tree: Path) -> None:
    result, report = gate(tree, "idempotency", timing(), "", "--playbooks", "memcached.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["no_op_pass"]["seconds"] == 2.5  # one playbook, not three
    runs = sorted((tree.parent / "runs").glob(f"{SCENARIO}-*/timings/*.json"))
    assert [t.name for t in runs] == ["2-memcached.json"]
    assert "==> [idempotency] memcached.yml" in result.stdout


def test_unknown_playbook_is_refused_before_anything_runs(tree: Path) -> None:
    result, report = gate(tree, "idempotency", timing(), "", "--playbooks", "memcache.yml")
    assert result.returncode == 2
    assert "gate-check: --playbooks: no playbook 'memcache.yml'" in result.stderr
    assert report == {}
    assert not (tree.parent / "runs").exists()


def test_missing_timing_files_fail(tree: Path) -> None:
    result, report = gate(tree, "idempotency", "none")
    assert result.returncode == 1
    assert report["result"] == "failed"
    assert report["failure"].startswith("step 'idempotency': timing file ")
    assert "2-setup-hosts.json is missing" in report["failure"]
    assert "gate-check: FAILED: step 'idempotency': timing file" in result.stderr


def test_unreadable_timing_file_fails(tree: Path) -> None:
    result, report = gate(tree, "healthcheck", "{truncated")
    assert result.returncode == 1
    assert "0-healthcheck-hosts.json is not valid JSON" in report["failure"]


def test_playbook_on_no_host_fails(tree: Path) -> None:
    result, report = gate(tree, "healthcheck", timing(hosts=()))
    assert result.returncode == 1
    assert "ran on no host: nothing was checked" in report["failure"]


def test_change_on_second_pass_fails(tree: Path) -> None:
    result, report = gate(tree, "idempotency", timing(changed=1))
    assert result.returncode == 1
    assert (
        "the second pass changed something: setup_hosts.yml: dev9 changed=1" in (report["failure"])
    )


def test_crash_of_the_report_fails(tree: Path) -> None:
    (tree / "scripts" / "gate-report.py").write_text("raise RuntimeError('boom')\n")
    result, report = gate(tree, "idempotency", timing())
    assert result.returncode == 1
    assert report == {}
    assert "the report step (gate-report.py) crashed with exit 1" in result.stderr
    assert "step 'idempotency': " in result.stderr


def test_tempest_step_reports_counts_and_skips(tree: Path) -> None:
    result, report = gate(tree, "tempest", timing(), stream="passes_and_a_skip")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [s["name"] for s in report["steps"]] == ["tempest"]
    assert (report["tempest"]["passed"], report["tempest"]["skipped"]) == (1, 1)
    assert report["tempest"]["results_dir"].endswith("/tempest")
    assert "tempest: 1 passed, 0 failed, 1 skipped" in result.stdout


def test_tempest_failure_fails_the_step(tree: Path) -> None:
    result, report = gate(tree, "tempest", timing(), stream="one_of_each_outcome")
    assert result.returncode == 1
    assert report["steps"][0]["status"] == "failed"
    assert report["failure"].startswith("step 'tempest': tempest: t.a.test_broken failed")
    assert report["tempest"]["failed"] == 2


def test_tempest_without_results_fails(tree: Path) -> None:
    result, report = gate(tree, "tempest", timing())
    assert result.returncode == 1
    assert "tempest: no subunit stream" in report["failure"]
