#!/usr/bin/env python
"""Turn the gate's per-playbook timing files into one summary table and one JSON report.

Usage: gate-report.py --out REPORT.json --scenario NAME --steps STEPS.tsv [TIMINGS.json ...]

STEPS.tsv holds one line per gate step: name, status (ok|failed|timeout), seconds, message.
Timing files are written by the nimbus.cloud.timings callback; their names start with the
pass number (``1-setup_hosts.json``). Exit status: 0 if every step passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPORT_VERSION = 1


def load_steps(path: Path) -> list[dict[str, Any]]:
    steps = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        name, status, seconds, message = ([*line.split("\t", 3), ""])[:4]
        steps.append(
            {"name": name, "status": status, "seconds": float(seconds), "message": message}
        )
    return steps


def playbook_rows(timings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for label, data in sorted(timings.items()):
        stats = data.get("stats", {})
        rows.append(
            {
                "pass": int(label.split("-", 1)[0]),
                "playbook": data.get("playbook", label),
                "seconds": data.get("duration", 0.0),
                "changed": sum(s.get("changed", 0) for s in stats.values()),
                "failed": sum(
                    s.get("failures", 0) + s.get("unreachable", 0) for s in stats.values()
                ),
            }
        )
    return rows


def slowest_tasks(timings: dict[str, dict[str, Any]], count: int = 10) -> list[dict[str, Any]]:
    tasks = [
        {
            "pass": int(label.split("-", 1)[0]),
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
        if int(label.split("-", 1)[0]) != pass_number:
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
    scenario: str, steps: list[dict[str, Any]], timings: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    failed = [s for s in steps if s["status"] != "ok"]
    return {
        "version": REPORT_VERSION,
        "scenario": scenario,
        "result": "failed" if failed else "passed",
        "failure": failed[0]["message"] if failed else None,
        "total_seconds": round(sum(s["seconds"] for s in steps), 1),
        "steps": steps,
        "playbooks": playbook_rows(timings),
        "slowest_tasks": slowest_tasks(timings),
        "changed_on_second_pass": changed_tasks(timings, 2),
    }


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
    lines += ["", f"total: {report['total_seconds']:.1f}s"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--steps", type=Path, required=True)
    parser.add_argument("timings", type=Path, nargs="*")
    args = parser.parse_args(argv)
    timings = {path.stem: json.loads(path.read_text()) for path in args.timings if path.is_file()}
    report = build_report(args.scenario, load_steps(args.steps), timings)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(render_table(report))
    return 0 if report["result"] == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
