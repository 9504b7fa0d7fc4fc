"""scripts/gate-report.py: timing files -> summary table and JSON report."""

from __future__ import annotations

import base64
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
        "no_op_budget",
        "no_op_pass",
        "playbook_files",
        "playbooks",
        "problems",
        "result",
        "scenario",
        "slowest_tasks",
        "steps",
        "tempest",
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


# The report fails closed: whatever is missing, unreadable or empty is a failure that names it.


def report_of(run_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    out = run_dir / "report.json"
    code = gate_report.main(
        ["--out", str(out), "--scenario", "aio", "--steps", str(run_dir / "steps.tsv"), *extra]
    )
    capsys.readouterr()
    return code, json.loads(out.read_text())


def test_no_op_pass_is_reported(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, table = run(run_dir, capsys)
    assert code == 0
    assert report["no_op_pass"] == {"seconds": 3.0, "playbooks": {"setup_hosts.yml": 3.0}}
    assert "no-op pass (pass 2): 3.0s (setup_hosts.yml 3.0s)" in table


def test_no_op_budget_lists_the_files_over_it(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = [("task a", 1.0, "ok"), ("task b", 2.0, "ok")]
    slow = timing("keystone.yml", 0, [("db check", 9.5, "ok")])
    slow["tasks"][0]["play_file"] = "keystone.yml"
    fast = timing("glance.yml", 0, [("db check", 7.5, "ok")])
    fast["tasks"][0]["play_file"] = "glance.yml"
    (run_dir / "2-keystone.json").write_text(json.dumps(slow))
    (run_dir / "2-glance.json").write_text(json.dumps(fast))
    (run_dir / "2-setup_hosts.json").write_text(json.dumps(timing("setup_hosts.yml", 0, second)))
    code, report, table = run(run_dir, capsys)
    assert code == 0
    assert report["no_op_budget"] == {
        "seconds": 8.0,
        "over": [{"file": "keystone.yml", "seconds": 9.5, "tasks": 1}],
    }
    assert "over the no-op budget of 8s per file: keystone.yml 9.5s" in table


def test_no_op_budget_holds_a_file_imported_by_every_run_to_it_once_per_run(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ["setup_hosts", "setup_infrastructure", "setup_openstack"]:
        tasks = [("check variables", 3.0, "ok"), ("check hosts", 0.5, "ok")]
        if name == "setup_openstack":
            tasks.append(("run nova", 8.3, "ok"))
        data = timing(f"{name}.yml", 0, tasks)
        for task in data["tasks"]:
            task["play_file"] = "nova.yml" if task["task"] == "run nova" else "prechecks.yml"
        (run_dir / f"2-{name}.json").write_text(json.dumps(data))
    code, report, _table = run(run_dir, capsys)
    assert code == 0
    prechecks = [
        r["seconds"]
        for r in report["playbook_files"]
        if r["file"] == "prechecks.yml" and r["pass"] == 2
    ]
    # 10.5 s over the three runs, 3.5 s in each: within the budget; nova.yml is not.
    assert prechecks == [10.5]
    assert report["no_op_budget"]["over"] == [{"file": "nova.yml", "seconds": 8.3, "tasks": 1}]


def test_no_op_budget_is_null_without_a_second_pass(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_dir / "2-setup_hosts.json").unlink()
    report = run(run_dir, capsys)[1]
    assert report["no_op_budget"] is None


def test_no_op_pass_is_null_without_a_second_pass(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_dir / "2-setup_hosts.json").unlink()
    code, report, _out = run(run_dir, capsys)
    assert code == 0
    assert report["no_op_pass"] is None


@pytest.mark.parametrize(
    ("steps_text", "expected"),
    [
        (None, "cannot read the step list"),
        ("", "is empty: no gate step ran"),
        ("\n\n", "is empty: no gate step ran"),
        ("deploy\tok\n", "line 1: malformed step line"),
        ("deploy\tok\t30\t\nidempotency\tmaybe\t1\t\n", "line 2: malformed step line"),
        ("deploy\tok\tlong\t\n", "line 1: malformed step line"),
    ],
    ids=["missing", "empty", "blank-lines", "short-line", "unknown-status", "bad-seconds"],
)
def test_unusable_step_list_fails(
    run_dir: Path, capsys: pytest.CaptureFixture[str], steps_text: str | None, expected: str
) -> None:
    steps = run_dir / "steps.tsv"
    if steps_text is None:
        steps.unlink()
    else:
        steps.write_text(steps_text)
    code, report = report_of(run_dir, capsys, str(run_dir / "1-setup_hosts.json"))
    assert code == 1
    assert report["result"] == "failed"
    assert expected in report["failure"]
    assert str(steps) in report["failure"]


def test_missing_expected_timing_file_fails(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The old failure: no pass-2 files, the shell glob stays literal, the step passed anyway.
    (run_dir / "2-setup_hosts.json").unlink()
    literal_glob = str(run_dir / "2-*.json")
    code, report = report_of(
        run_dir,
        capsys,
        f"--expect={run_dir / '2-setup_hosts.json'}",
        str(run_dir / "1-setup_hosts.json"),
        literal_glob,
    )
    assert code == 1
    assert report["failure"].startswith(f"timing file {run_dir / '2-setup_hosts.json'} is missing")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ("", "is not valid JSON"),
        ('["a list"]', "has no 'stats' and 'tasks'"),
        ('{"playbook": "setup_hosts.yml", "stats": {}}', "has no 'stats' and 'tasks'"),
    ],
    ids=["garbage", "empty-file", "list", "no-tasks"],
)
def test_unreadable_timing_file_fails(
    run_dir: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    bad = run_dir / "2-setup_hosts.json"
    bad.write_text(content)
    code, report = report_of(
        run_dir, capsys, f"--expect={bad}", str(run_dir / "1-setup_hosts.json")
    )
    assert code == 1
    assert report["failure"].startswith(f"timing file {bad} ")
    assert expected in report["failure"]


def test_timing_file_without_pass_number_fails(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = run_dir / "setup_hosts.json"
    odd.write_text((run_dir / "2-setup_hosts.json").read_text())
    code, report = report_of(run_dir, capsys, f"--expect={odd}")
    assert code == 1
    assert "must start with the pass number" in report["failure"]


def test_change_on_second_pass_fails_even_if_every_step_says_ok(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = [("Write memcached.conf", 0.5, "changed")]
    (run_dir / "2-setup_hosts.json").write_text(json.dumps(timing("setup_hosts.yml", 1, second)))
    code, report, table = run(run_dir, capsys)
    assert code == 1
    assert report["result"] == "failed"
    assert report["failure"] == "the second pass changed something: setup_hosts.yml: aio1 changed=1"
    assert "problems:" in table


@pytest.mark.parametrize("key", ["failures", "unreachable"])
def test_failed_host_fails_even_if_every_step_says_ok(
    run_dir: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    data = json.loads((run_dir / "1-setup_hosts.json").read_text())
    data["stats"]["aio1"][key] = 1
    (run_dir / "1-setup_hosts.json").write_text(json.dumps(data))
    code, report, _out = run(run_dir, capsys)
    assert code == 1
    assert report["failure"].startswith("setup_hosts.yml (pass 1): aio1 failures=")
    assert f"{key}=1" in report["failure"]


def test_playbook_that_ran_on_no_host_fails(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = {"playbook": "healthcheck_hosts.yml", "duration": 0.4, "stats": {}, "tasks": []}
    (run_dir / "0-healthcheck-hosts.json").write_text(json.dumps(empty))
    code, report, _out = run(run_dir, capsys)
    assert code == 1
    assert report["failure"] == (
        "healthcheck_hosts.yml (pass 0) ran on no host: nothing was checked"
    )


def test_failed_step_message_comes_first(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / "steps.tsv").write_text("deploy\tfailed\t3\t\n")
    (run_dir / "2-setup_hosts.json").unlink()
    code, report, _out = run(run_dir, capsys)
    assert code == 1
    assert report["failure"] == "step 'deploy' failed"


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = gate_report.main(["--verify", *args])
    return code, capsys.readouterr().out


def test_verify_passes_a_clean_second_pass(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify(capsys, f"--expect={run_dir / '2-setup_hosts.json'}") == (0, "")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "2-setup_hosts.json is missing"),
        ("changed", "the second pass changed something: setup_hosts.yml: aio1 changed=2"),
        ("garbage", "2-setup_hosts.json is not valid JSON"),
        ("nothing", "no timing file to verify: nothing was checked"),
    ],
)
def test_verify_fails_closed(
    run_dir: Path, capsys: pytest.CaptureFixture[str], setup: str, expected: str
) -> None:
    path = run_dir / "2-setup_hosts.json"
    args = [f"--expect={path}"]
    if setup == "missing":
        path.unlink()
    elif setup == "changed":
        path.write_text(json.dumps(timing("setup_hosts.yml", 2, [("t", 1.0, "changed")])))
    elif setup == "garbage":
        path.write_text("{")
    else:
        args = [str(run_dir / "2-*.json")]  # a literal glob names no file
    code, out = verify(capsys, *args)
    assert code == 1
    assert expected in out


def test_report_needs_its_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        gate_report.main(["--scenario", "aio"])
    assert exit_info.value.code == 2
    assert "--out, --scenario and --steps are required" in capsys.readouterr().err


# Per playbook file: the time and task count of each imported playbook, per pass.


def timed(playbook: str, duration: float, tasks: list[tuple[str | None, float]]) -> dict:
    """A timing file whose tasks come from the given play files (None: an old file)."""
    records = []
    for index, (play_file, seconds) in enumerate(tasks):
        record = {"task": f"task {index}", "duration": seconds, "hosts": {"aio1": "ok"}}
        if play_file is not None:
            record["play_file"] = play_file
        records.append(record)
    stats = {"aio1": {"ok": len(tasks), "changed": 0, "failures": 0, "unreachable": 0}}
    return {"playbook": playbook, "duration": duration, "stats": stats, "tasks": records}


OPENSTACK_1 = timed(
    "setup_openstack.yml",
    100.0,
    [("prechecks.yml", 2.0), ("keystone.yml", 30.0), ("keystone.yml", 10.0), ("glance.yml", 50.0)],
)
OPENSTACK_2 = timed(
    "setup_openstack.yml",
    20.0,
    [("prechecks.yml", 1.0), ("keystone.yml", 4.0), ("glance.yml", 6.0), ("glance.yml", 3.0)],
)
HOSTS_1 = timed("setup_hosts.yml", 12.5, [("prechecks.yml", 1.5), ("openstack_hosts.yml", 9.0)])
HEALTH_0 = timed(
    "healthcheck_openstack.yml",
    8.0,
    [("healthcheck_openstack.yml", 1.0), ("healthcheck/glance.yml", 5.0)],
)


def rows_of(rows: list[dict]) -> list[tuple[int, str, float, int]]:
    return [(r["pass"], r["file"], r["seconds"], r["tasks"]) for r in rows]


@pytest.mark.parametrize(
    ("timings", "expected"),
    [
        ({}, []),
        (
            {"1-setup-openstack": OPENSTACK_1},
            [
                (1, "glance.yml", 50.0, 1),
                (1, "keystone.yml", 40.0, 2),
                (1, "prechecks.yml", 2.0, 1),
                (1, "(outside any task)", 8.0, 0),
            ],
        ),
        (
            # Sorted by pass-1 time; pass 2 next to pass 1; the prechecks of both setup
            # playbooks add up; a file that ran only in another pass comes after.
            {
                "1-setup-openstack": OPENSTACK_1,
                "1-setup-hosts": HOSTS_1,
                "2-setup-openstack": OPENSTACK_2,
                "0-healthcheck-openstack": HEALTH_0,
            },
            [
                (1, "glance.yml", 50.0, 1),
                (2, "glance.yml", 9.0, 2),
                (1, "keystone.yml", 40.0, 2),
                (2, "keystone.yml", 4.0, 1),
                (1, "openstack_hosts.yml", 9.0, 1),
                (1, "prechecks.yml", 3.5, 2),
                (2, "prechecks.yml", 1.0, 1),
                (0, "healthcheck/glance.yml", 5.0, 1),
                (0, "healthcheck_openstack.yml", 1.0, 1),
                (0, "(outside any task)", 2.0, 0),
                (1, "(outside any task)", 10.0, 0),
                (2, "(outside any task)", 6.0, 0),
            ],
        ),
        (
            # A timing file from before the callback named the play's file still loads.
            {"2-setup-hosts": timed("setup_hosts.yml", 3.0, [(None, 1.0), (None, 1.5)])},
            [(2, "(file not recorded)", 2.5, 2), (2, "(outside any task)", 0.5, 0)],
        ),
        (
            # Task times a little above the run's (clock rounding) give no negative row.
            {"1-setup-hosts": timed("setup_hosts.yml", 2.0, [("prechecks.yml", 2.001)])},
            [(1, "prechecks.yml", 2.0, 1), (1, "(outside any task)", 0.0, 0)],
        ),
    ],
    ids=["none", "one-pass", "three-passes", "old-file", "no-negative-outside"],
)
def test_file_rows(timings: dict, expected: list) -> None:
    assert rows_of(gate_report.file_rows(timings)) == expected


def test_file_rows_of_a_pass_add_up_to_its_wall_time() -> None:
    timings = {"1-setup-openstack": OPENSTACK_1, "1-setup-hosts": HOSTS_1}
    rows = gate_report.file_rows(timings)
    assert sum(r["seconds"] for r in rows) == pytest.approx(112.5)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], []),
        (
            [
                {"pass": 1, "file": "glance.yml", "seconds": 50.0, "tasks": 1},
                {"pass": 2, "file": "glance.yml", "seconds": 9.0, "tasks": 2},
                {"pass": 2, "file": "nova.yml", "seconds": 3.25, "tasks": 12},
            ],
            [
                "",
                "per playbook file (time of its tasks, every playbook of the pass):",
                "  file                                  pass 1 tasks    pass 2 tasks",
                "  glance.yml                             50.0s     1      9.0s     2",
                "  nova.yml                                   -     -      3.2s    12",
            ],
        ),
    ],
    ids=["nothing", "missing-cell"],
)
def test_render_file_rows(rows: list, expected: list) -> None:
    assert gate_report.render_file_rows(rows) == expected


def test_report_shows_the_files(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / "1-setup_openstack.json").write_text(json.dumps(OPENSTACK_1))
    code, report, table = run(run_dir, capsys)
    assert code == 0
    assert report["version"] == 3
    # The fixture's setup_hosts files are of the old format (no play_file): 66 s, 12 tasks.
    assert rows_of(report["playbook_files"])[:3] == [
        (1, "(file not recorded)", 66.0, 12),
        (2, "(file not recorded)", 3.0, 2),
        (1, "glance.yml", 50.0, 1),
    ]
    assert "per playbook file" in table
    assert "  glance.yml                             50.0s     1" in table


STREAMS = (
    SCRIPT.parents[1]
    / "tests"
    / "unit"
    / "plugins"
    / "plugin_utils"
    / "tempest_results"
    / "streams"
)


def tempest_dir(tmp_path: Path, case: str | None, run_seconds: float = 61.5) -> Path:
    directory = tmp_path / "tempest"
    directory.mkdir()
    if case:
        (directory / "tempest.subunit").write_bytes(
            base64.b64decode((STREAMS / f"{case}.subunit.b64").read_text())
        )
    (directory / "results.json").write_text(json.dumps({"run_seconds": run_seconds}))
    return directory


def run_with_tempest(
    run_dir: Path, directory: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict, str]:
    out = run_dir / "report.json"
    code = gate_report.main(
        [
            "--out",
            str(out),
            "--scenario",
            "aio",
            "--steps",
            str(run_dir / "steps.tsv"),
            "--tempest",
            str(directory),
            *[str(p) for p in sorted(run_dir.glob("[0-9]-*.json"))],
        ]
    )
    return code, json.loads(out.read_text()), capsys.readouterr().out


def test_tempest_results_are_reported(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, table = run_with_tempest(
        run_dir, tempest_dir(tmp_path, "passes_and_a_skip"), capsys
    )
    assert code == 0
    assert report["result"] == "passed"
    tempest = report["tempest"]
    assert (tempest["passed"], tempest["failed"], tempest["skipped"]) == (1, 0, 1)
    assert tempest["run_seconds"] == 61.5
    assert tempest["skips"] == [{"test": "t.b.test_no_swift", "reason": "Swift is not available."}]
    assert "tempest: 1 passed, 0 failed, 1 skipped; run 61.5s" in table
    assert "skipped t.b.test_no_swift: Swift is not available." in table


def test_tempest_failure_fails_the_gate_and_names_the_test(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, table = run_with_tempest(
        run_dir, tempest_dir(tmp_path, "one_of_each_outcome"), capsys
    )
    assert code == 1
    assert report["result"] == "failed"
    assert report["failure"] == "tempest: t.a.test_broken failed"
    assert "tempest: t.b.test_fixed_bug failed" in report["problems"]
    assert "  FAILED  t.a.test_broken" in table


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        (None, "tempest: no subunit stream"),
        ("only_skips", "tempest: no test passed: all 1 skipped"),
        ("empty_stream", "tempest: no test ran"),
    ],
)
def test_tempest_without_a_pass_fails_closed(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str | None,
    problem: str,
) -> None:
    code, report, _output = run_with_tempest(run_dir, tempest_dir(tmp_path, case), capsys)
    assert code == 1
    assert report["failure"].startswith(problem)


def test_tempest_corrupt_stream_fails(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tempest_dir(tmp_path, None)
    (directory / "tempest.subunit").write_bytes(b"Ran 3 tests in 1s\nOK\n")
    code, report, _output = run_with_tempest(run_dir, directory, capsys)
    assert code == 1
    assert "not a subunit v2 stream" in report["failure"]
