#!/usr/bin/env python
"""Turn the gate's per-playbook timing files into one summary table and one JSON report.

Usage:
  gate-report.py --out REPORT.json --scenario NAME --steps STEPS.tsv [--tempest DIR]
                 [--expect TIMINGS.json ...] [TIMINGS.json ...]
  gate-report.py --verify [--tempest DIR] [--expect TIMINGS.json ...] [TIMINGS.json ...]

STEPS.tsv holds one line per gate step: name, status (ok|failed), seconds, message.
Timing files are written by the nimbus.cloud.timings callback; their names start with the
pass number (``1-setup-hosts.json``; pass 2 is the run that must change nothing).
``--expect`` names a timing file that must exist (a playbook the gate ran).

The decision fails closed: the run fails when a step failed, and also when STEPS.tsv is
missing, unreadable or empty, an expected timing file is missing or unreadable, a playbook
ran on no host, a host failed or was unreachable, or anything changed on pass 2. Every
problem is named in the report. ``--verify`` checks the timing files only and prints the
problems (the gate's idempotency step).

``--tempest DIR`` adds a tempest run: DIR is the run's results directory (os-tempest.yml's
tempest_results_dir) and its ``tempest.subunit`` stream is read again here
(plugins/plugin_utils/tempest_results.py): passed/failed/skipped counts, failing tests, skipped
tests with tempest's reason, the run time (``results.json``'s ``run_seconds``). A missing or
unreadable stream, a failed test or a run where nothing passed fails the gate.

Exit status: 0 if everything passed, 1 otherwise (2 for wrong usage).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

REPORT_VERSION = 3
STEP_STATUSES = ("ok", "failed")
# The pass that must change nothing; its wall time is the "no-op pass" benchmark.
NO_OP_PASS = 2
# Per playbook file: tasks of timing files written before the callback named the file, and
# the time of a run spent outside any task (between plays and tasks, the final stats).
FILE_NOT_RECORDED = "(file not recorded)"
OUTSIDE_TASKS = "(outside any task)"
# Seconds a playbook file (a service's playbook) may take in the no-op pass. Reported, never a
# failure: the figure depends on the machine's load (issue 10, "Speed").
NO_OP_BUDGET_SECONDS = 8.0


class GateInputError(Exception):
    """An input of the report is missing or malformed (the message names it)."""


def load_steps(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text()
    except OSError as err:
        raise GateInputError(f"cannot read the step list {path}: {err.strerror or err}") from err
    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, status, seconds, message = ([*line.split("\t", 3), "", "", ""])[:4]
        try:
            duration = float(seconds)
        except ValueError:
            duration = -1.0
        if not name or status not in STEP_STATUSES or duration < 0:
            raise GateInputError(
                f"{path}, line {number}: malformed step line {line!r} "
                f"(want: name<TAB>{'|'.join(STEP_STATUSES)}<TAB>seconds<TAB>message)"
            )
        steps.append({"name": name, "status": status, "seconds": duration, "message": message})
    if not steps:
        raise GateInputError(f"the step list {path} is empty: no gate step ran")
    return steps


def load_tempest(directory: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The tempest run of a results directory, and why it is not a success."""
    module_path = (
        Path(__file__).resolve().parent.parent / "plugins" / "plugin_utils" / "tempest_results.py"
    )
    spec = importlib.util.spec_from_file_location("nimbus_tempest_results", module_path)
    if spec is None or spec.loader is None:
        raise GateInputError(f"cannot load the tempest results parser {module_path}")
    parser = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = parser  # its dataclasses look their module up
    spec.loader.exec_module(parser)
    stream = directory / "tempest.subunit"
    try:
        summary = parser.summarize(stream.read_bytes())
    except FileNotFoundError:
        return None, [
            f"tempest: no subunit stream {stream}: the run did not finish or was not archived"
        ]
    except OSError as err:
        return None, [f"tempest: cannot read {stream}: {err.strerror or err}"]
    except parser.SubunitError as err:
        return None, [f"tempest: {stream}: {err}"]
    try:
        extra = json.loads((directory / "results.json").read_text())
    except (OSError, ValueError):
        extra = {}
    summary["run_seconds"] = extra.get("run_seconds") if isinstance(extra, dict) else None
    summary["results_dir"] = str(directory)
    return summary, parser.problems(summary)


def pass_of(label: str) -> int:
    """The pass number of a timing file (``2-setup-hosts`` -> 2)."""
    head = label.split("-", 1)[0]
    if not head.isdigit():
        raise GateInputError(
            f"timing file {label}.json: the name must start with the pass number (1-, 2-, ...)"
        )
    return int(head)


def load_timing(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise GateInputError(
            f"timing file {path} is missing: the playbook did not finish or the "
            "nimbus.cloud.timings callback did not run"
        ) from err
    except OSError as err:
        raise GateInputError(f"cannot read timing file {path}: {err.strerror or err}") from err
    except ValueError as err:
        raise GateInputError(f"timing file {path} is not valid JSON: {err}") from err
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("stats"), dict)
        or not isinstance(data.get("tasks"), list)
    ):
        raise GateInputError(f"timing file {path} has no 'stats' and 'tasks' (not a timings file)")
    pass_of(path.stem)
    return data


def load_timings(
    paths: list[Path], expected: list[Path]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Read every timing file; a missing expected file or an unreadable one is a problem."""
    timings: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    seen: set[Path] = set()
    for path in [*expected, *paths]:
        if path in seen:
            continue
        seen.add(path)
        if path not in expected and not path.exists():
            continue  # an unexpanded glob or a file nobody asked for
        try:
            timings[path.stem] = load_timing(path)
        except GateInputError as err:
            problems.append(str(err))
    return timings, problems


def timing_problems(timings: dict[str, dict[str, Any]]) -> list[str]:
    """What the timing files themselves say went wrong."""
    problems = []
    for label, data in sorted(timings.items()):
        playbook = data.get("playbook") or label
        stats = data["stats"]
        if not stats:
            problems.append(
                f"{playbook} (pass {pass_of(label)}) ran on no host: nothing was checked"
            )
        for host, counts in sorted(stats.items()):
            failed = counts.get("failures", 0)
            unreachable = counts.get("unreachable", 0)
            if failed or unreachable:
                problems.append(
                    f"{playbook} (pass {pass_of(label)}): {host} failures={failed} "
                    f"unreachable={unreachable}"
                )
            if pass_of(label) == NO_OP_PASS and counts.get("changed", 0):
                problems.append(
                    f"the second pass changed something: {playbook}: {host} "
                    f"changed={counts['changed']}"
                )
    return problems


def playbook_rows(timings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for label, data in sorted(timings.items()):
        stats = data.get("stats", {})
        rows.append(
            {
                "pass": pass_of(label),
                "playbook": data.get("playbook", label),
                "seconds": data.get("duration", 0.0),
                "changed": sum(s.get("changed", 0) for s in stats.values()),
                "failed": sum(
                    s.get("failures", 0) + s.get("unreachable", 0) for s in stats.values()
                ),
            }
        )
    return rows


def no_op_pass(timings: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Wall time of the pass that must change nothing: total and per playbook."""
    rows = [r for r in playbook_rows(timings) if r["pass"] == NO_OP_PASS]
    if not rows:
        return None
    return {
        "seconds": round(sum(r["seconds"] for r in rows), 1),
        "playbooks": {r["playbook"]: round(r["seconds"], 1) for r in rows},
    }


def file_rows(timings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Wall time and task count of every playbook file (``keystone.yml``) in each pass.

    A file's time is the sum of its tasks' times over every timing file of the pass (the
    prechecks imported by each setup playbook add up). The time of each run outside any task
    is one more row per pass, so a pass's rows add up to its playbooks' wall time. Rows are
    sorted by the file's pass-1 time, longest first; the outside row comes last.
    """
    seconds: dict[tuple[str, int], float] = {}
    tasks: dict[tuple[str, int], int] = {}
    outside: dict[int, float] = {}
    for label, data in timings.items():
        number = pass_of(label)
        in_tasks = 0.0
        for task in data.get("tasks", []):
            key = (task.get("play_file") or FILE_NOT_RECORDED, number)
            seconds[key] = seconds.get(key, 0.0) + task["duration"]
            tasks[key] = tasks.get(key, 0) + 1
            in_tasks += task["duration"]
        outside[number] = outside.get(number, 0.0) + max(data.get("duration", 0.0) - in_tasks, 0.0)
    first = {name: sec for (name, number), sec in seconds.items() if number == 1}
    order = sorted(seconds, key=lambda key: (-first.get(key[0], 0.0), key[0], key[1]))
    rows = [
        {
            "pass": number,
            "file": name,
            "seconds": round(seconds[name, number], 1),
            "tasks": tasks[name, number],
        }
        for name, number in order
    ]
    rows += [
        {"pass": number, "file": OUTSIDE_TASKS, "seconds": round(sec, 1), "tasks": 0}
        for number, sec in sorted(outside.items())
    ]
    return rows


def no_op_budget(timings: dict[str, dict[str, Any]], budget: float) -> dict[str, Any]:
    """The playbook files whose no-op time in one run is over ``budget`` seconds, slowest first.

    A file's time is that of its tasks within one playbook run (one timing file of the no-op
    pass), the longest if several runs import it: the prechecks every setup playbook imports
    are held to the budget once per run, as an operator's ``setup-everything.yml`` pays them
    (the per-file rows of the report add the runs up).
    """
    runs: dict[tuple[str, str], list[float]] = {}
    for label, data in timings.items():
        if pass_of(label) != NO_OP_PASS:
            continue
        for task in data.get("tasks", []):
            name = task.get("play_file") or FILE_NOT_RECORDED
            if name == FILE_NOT_RECORDED:
                continue
            run = runs.setdefault((name, label), [0.0, 0])
            run[0] += task["duration"]
            run[1] += 1
    longest: dict[str, tuple[float, int]] = {}
    for (name, _label), (seconds, count) in runs.items():
        if seconds > longest.get(name, (-1.0, 0))[0]:
            longest[name] = (seconds, int(count))
    over = [
        {"file": name, "seconds": round(seconds, 1), "tasks": count}
        for name, (seconds, count) in longest.items()
        if round(seconds, 1) > budget
    ]
    return {"seconds": budget, "over": sorted(over, key=lambda r: (-r["seconds"], r["file"]))}


def slowest_tasks(timings: dict[str, dict[str, Any]], count: int = 10) -> list[dict[str, Any]]:
    tasks = [
        {
            "pass": pass_of(label),
            "playbook": data.get("playbook", label),
            "task": task["task"],
            "seconds": task["duration"],
        }
        for label, data in timings.items()
        for task in data.get("tasks", [])
    ]
    return sorted(tasks, key=lambda t: (-t["seconds"], t["playbook"], t["task"]))[:count]


def changed_tasks(timings: dict[str, dict[str, Any]], pass_number: int) -> list[dict[str, str]]:
    found = []
    for label, data in sorted(timings.items()):
        if pass_of(label) != pass_number:
            continue
        for task in data.get("tasks", []):
            for host, status in sorted(task.get("hosts", {}).items()):
                if status == "changed":
                    found.append(
                        {
                            "playbook": data.get("playbook", label),
                            "task": task["task"],
                            "host": host,
                        }
                    )
    return found


def build_report(
    scenario: str,
    steps: list[dict[str, Any]],
    timings: dict[str, dict[str, Any]],
    problems: list[str] | None = None,
    tempest: dict[str, Any] | None = None,
    *,
    budget: float = NO_OP_BUDGET_SECONDS,
) -> dict[str, Any]:
    problems = [*(problems or []), *timing_problems(timings)]
    files = file_rows(timings)
    failed = [s for s in steps if s["status"] != "ok"]
    if not steps and not problems:
        problems.append("no gate step ran")
    failure = (failed[0]["message"] or f"step '{failed[0]['name']}' failed") if failed else None
    return {
        "version": REPORT_VERSION,
        "scenario": scenario,
        "result": "failed" if failed or problems else "passed",
        "failure": failure or (problems[0] if problems else None),
        "problems": problems,
        "total_seconds": round(sum(s["seconds"] for s in steps), 1),
        "steps": steps,
        "playbooks": playbook_rows(timings),
        "no_op_pass": no_op_pass(timings),
        "no_op_budget": no_op_budget(timings, budget) if no_op_pass(timings) else None,
        "playbook_files": files,
        "slowest_tasks": slowest_tasks(timings),
        "changed_on_second_pass": changed_tasks(timings, NO_OP_PASS),
        "tempest": tempest,
    }


def render_file_rows(rows: list[dict[str, Any]]) -> list[str]:
    """One line per playbook file, wall time and task count side by side for each pass."""
    if not rows:
        return []
    passes = sorted({r["pass"] for r in rows})
    cells: dict[str, dict[int, str]] = {}
    for row in rows:
        cells.setdefault(row["file"], {})[row["pass"]] = (
            f"{row['seconds']:>8.1f}s {row['tasks']:>5}"
        )
    width = max(34, *(len(name) for name in cells))
    head = "".join(f" {'pass ' + str(n):>9} {'tasks':>5}" for n in passes)
    lines = ["", "per playbook file (time of its tasks, every playbook of the pass):"]
    lines.append(f"  {'file':<{width}}{head}")
    empty = f"{'-':>9} {'-':>5}"
    lines += [
        f"  {name:<{width}}" + "".join(f" {per.get(n, empty)}" for n in passes)
        for name, per in cells.items()
    ]
    return lines


def render_table(report: dict[str, Any]) -> str:
    lines = [f"gate {report['scenario']}: {report['result'].upper()}", "", "steps:"]
    lines += [
        f"  {s['name']:<14} {s['status']:<8} {s['seconds']:>8.1f}s  {s['message']}".rstrip()
        for s in report["steps"]
    ]
    lines += ["", "playbooks:", f"  {'pass':<5} {'playbook':<34} {'wall':>9} {'changed':>8}"]
    lines += [
        f"  {p['pass']:<5} {p['playbook']:<34} {p['seconds']:>8.1f}s {p['changed']:>8}"
        for p in report["playbooks"]
    ]
    if report["no_op_pass"]:
        noop = report["no_op_pass"]
        per = ", ".join(f"{name} {sec:.1f}s" for name, sec in noop["playbooks"].items())
        lines += ["", f"no-op pass (pass {NO_OP_PASS}): {noop['seconds']:.1f}s ({per})"]
    lines += render_file_rows(report["playbook_files"])
    budget = report.get("no_op_budget")
    if budget:
        over = ", ".join(f"{r['file']} {r['seconds']:.1f}s" for r in budget["over"]) or "none"
        lines += ["", f"over the no-op budget of {budget['seconds']:.0f}s per file: {over}"]
    lines += ["", "ten slowest tasks:"]
    lines += [
        f"  {t['seconds']:>8.1f}s  pass {t['pass']}  {t['playbook']}: {t['task']}"
        for t in report["slowest_tasks"]
    ]
    if report["changed_on_second_pass"]:
        lines += ["", "changed on the second pass (must be none):"]
        lines += [
            f"  {c['host']}: {c['playbook']}: {c['task']}" for c in report["changed_on_second_pass"]
        ]
    tempest = report.get("tempest")
    if tempest:
        run_time = f"{tempest['run_seconds']:.1f}s" if tempest.get("run_seconds") else "?"
        lines += [
            "",
            f"tempest: {tempest['passed']} passed, {tempest['failed']} failed, "
            f"{tempest['skipped']} skipped; run {run_time} (tests {tempest['seconds']:.1f}s); "
            f"results in {tempest['results_dir']}",
        ]
        lines += [f"  FAILED  {f['test']}" for f in tempest["failures"]]
        lines += [f"  skipped {s['test']}: {s['reason']}" for s in tempest["skips"]]
    if report["problems"]:
        lines += ["", "problems:"]
        lines += [f"  {p}" for p in report["problems"]]
    lines += ["", f"total: {report['total_seconds']:.1f}s"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--verify", action="store_true", help="check the timing files only")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--scenario")
    parser.add_argument("--steps", type=Path)
    parser.add_argument("--expect", type=Path, action="append", default=[])
    parser.add_argument("--tempest", type=Path, help="a tempest run's results directory")
    parser.add_argument(
        "--no-op-budget",
        type=float,
        default=NO_OP_BUDGET_SECONDS,
        help="seconds a playbook file may take in the no-op pass (reported, never a failure)",
    )
    parser.add_argument("timings", type=Path, nargs="*")
    args = parser.parse_args(argv)
    if not args.verify and not (args.out and args.scenario and args.steps):
        parser.error("--out, --scenario and --steps are required (unless --verify)")
    timings, problems = load_timings(args.timings, args.expect)
    tempest = None
    if args.tempest:
        tempest, tempest_problems = load_tempest(args.tempest)
        problems += tempest_problems
    if args.verify:
        problems += timing_problems(timings)
        if not timings and not problems:
            problems.append("no timing file to verify: nothing was checked")
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    try:
        steps = load_steps(args.steps)
    except GateInputError as err:
        steps, problems = [], [str(err), *problems]
    report = build_report(
        args.scenario, steps, timings, problems, tempest, budget=args.no_op_budget
    )
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(render_table(report))
    return 0 if report["result"] == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
