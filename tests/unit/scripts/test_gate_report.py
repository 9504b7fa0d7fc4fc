"""scripts/gate-report.py: timing files -> summary table and JSON report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "gate-report.py"
_spec = importlib.util.spec_from_file_location("gate_report", SCRIPT)
assert _spec and _spec.loader
gate_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gate_report)


def timing(playbook: str, changed: int, tasks: list[tuple[str, float, str]]) -> dict:
    return {
        "playbook": playbook,
        "duration": sum(t[1] for t in tasks),
        "stats": {"aio1": {"ok": len(tasks), "changed": changed, "failures": 0, "unreachable": 0}},
        "tasks": [{"task": n, "duration": d, "hosts": {"aio1": s}} for n, d, s in tasks],
    }


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    (tmp_path / "steps.tsv").write_text("deploy\tok\t30\t\nidempotency\tok\t12\t\n")
    first = [(f"task {i}", float(i), "changed") for i in range(12)]
    (tmp_path / "1-setup_hosts.json").write_text(json.dumps(timing("setup_hosts.yml", 12, first)))
    second = [("task a", 1.0, "ok"), ("task b", 2.0, "ok")]
    (tmp_path / "2-setup_hosts.json").write_text(json.dumps(timing("setup_hosts.yml", 0, second)))
    return tmp_path


def run(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    out = run_dir / "report.json"
    timings = [str(p) for p in sorted(run_dir.glob("[0-9]-*.json"))]
    code = gate_report.main(
        ["--out", str(out), "--scenario", "aio", "--steps", str(run_dir / "steps.tsv"), *timings]
    )
    return code, json.loads(out.read_text()), capsys.readouterr().out


def test_passing_run(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, table = run(run_dir, capsys)
    assert code == 0
    assert report["result"] == "passed"
    assert report["total_seconds"] == 42.0
    assert [p["pass"] for p in report["playbooks"]] == [1, 2]
    assert len(report["slowest_tasks"]) == 10
    assert report["slowest_tasks"][0] == {
        "pass": 1,
        "playbook": "setup_hosts.yml",
        "task": "task 11",
        "seconds": 11.0,
    }
    assert report["changed_on_second_pass"] == []
    assert "gate aio: PASSED" in table
    assert "ten slowest tasks:" in table


def test_report_shape_is_stable(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(run_dir, capsys)[1]
    assert sorted(report) == [
        "changed_on_second_pass",
        "failure",
        "playbooks",
        "result",
        "scenario",
        "slowest_tasks",
        "steps",
        "total_seconds",
        "version",
    ]


def test_change_on_second_pass_is_listed(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    second = [("Write keystone.conf", 0.5, "changed")]
    (run_dir / "2-setup_hosts.json").write_text(json.dumps(timing("setup_hosts.yml", 1, second)))
    (run_dir / "steps.tsv").write_text(
        "deploy\tok\t30\t\nidempotency\tfailed\t5\tthe second pass changed something\n"
    )
    code, report, table = run(run_dir, capsys)
    assert code == 1
    assert report["failure"] == "the second pass changed something"
    assert report["changed_on_second_pass"] == [
        {"playbook": "setup_hosts.yml", "task": "Write keystone.conf", "host": "aio1"}
    ]
    assert "aio1: setup_hosts.yml: Write keystone.conf" in table
