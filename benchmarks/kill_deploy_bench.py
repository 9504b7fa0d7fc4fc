"""Kill the deploy: SIGKILL the controller of a playbook run at chosen tasks, and check that
the deployment converges again.

On a deployed lab, for each kill point:

1. ``openstack-ansible PLAYBOOK`` (with ``-e @CHANGE`` when ``--change`` names a variables
   file, so that the killed run has something to change: a new option, a restart) is started
   and killed (SIGKILL of its whole process group:
   the wrapper, ansible-playbook and its workers) as the K-th task or handler starts, wherever
   that leaves the hosts (a file written and its service not restarted, a member stopped);
2. the playbook runs again (with the same change) and must succeed;
3. it runs once more and must change nothing on any host (its timings file's stats);
4. the healthcheck playbooks must pass;
5. with ``--change``, the playbook runs without it (the change taken back), so that the next
   kill point starts from the same deployment.

Kill points are spread over the whole run: a reference pass (which must change nothing: the
lab starts converged) counts the tasks T, and one point is drawn at random in each of POINTS
equal slices of 1..T, so early, middle and late tasks are all hit. ``--seed`` repeats a draw.

Usage (as root, on the deployment host of a deployed lab):

    python3 benchmarks/kill_deploy_bench.py [--config-dir /etc/nimbus-lab/aio] [--points 10]
        [--seed N] [--only 1-3,7] [--playbook setup-everything.yml] [--change vars.yml]
        [--healthcheck healthcheck-infrastructure.yml --healthcheck healthcheck-openstack.yml]

It prints one row per kill point (the task killed, the re-run's time and changes, the next
pass's changes, the healthchecks' result) and exits 1 when any kill point did not converge.
On ``aio`` one kill point costs about one partial and three full passes plus the
healthchecks (15-20 minutes on the 2-core machine): 10 points take about three hours.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
OSA = REPO / "scripts" / "openstack-ansible"
TASK_PREFIXES = ("TASK [", "RUNNING HANDLER [")


def task_started(line: str) -> str | None:
    """The task (or handler) name a line of ansible-playbook's output starts, else None."""
    for prefix in TASK_PREFIXES:
        if line.startswith(prefix):
            name, sep, _rest = line[len(prefix) :].rpartition("]")
            return name if sep else None
    return None


def kill_points(total: int, count: int, rng: random.Random) -> list[int]:
    """COUNT task numbers in 1..TOTAL, one drawn in each of COUNT equal slices."""
    if count < 1 or total < count:
        raise ValueError(f"cannot draw {count} kill points from {total} tasks")
    points = []
    for index in range(count):
        low = index * total // count + 1
        high = (index + 1) * total // count
        points.append(rng.randint(low, high))
    return points


def chosen_points(count: int, spec: str | None) -> list[int]:
    """The numbers (1..COUNT, ascending) of the drawn points a run takes: SPEC lists numbers
    and ranges, e.g. ``1-3,7``; None takes them all. The rest of a draw (same seed, same lab)
    can be run another time: a full draw takes about three hours on this machine."""
    if spec is None:
        return list(range(1, count + 1))
    numbers: set[int] = set()
    for part in spec.split(","):
        low, sep, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high if sep else low)
        except ValueError:
            raise ValueError(f"--only {spec!r}: {part!r} is not a number or a range N-M") from None
        if not 1 <= first <= last <= count:
            raise ValueError(f"--only {spec!r}: {part!r} is not within 1-{count}")
        numbers.update(range(first, last + 1))
    return sorted(numbers)


def host_changes(timings: dict) -> dict[str, int]:
    """Hosts that changed something or failed in a timings file, with their counts
    (changed + failures + unreachable); empty when the run changed nothing anywhere."""
    stats = timings.get("stats")
    if not isinstance(stats, dict) or not stats:
        raise ValueError("the timings file has no per-host stats")
    counts = {
        host: int(s.get("changed", 0)) + int(s.get("failures", 0)) + int(s.get("unreachable", 0))
        for host, s in stats.items()
    }
    return {host: n for host, n in sorted(counts.items()) if n}


class Run(NamedTuple):
    rc: int
    seconds: float
    tasks: int
    killed_at: str | None = None
    timings: dict | None = None


def run_playbook(
    playbook: str,
    env: dict[str, str],
    timings: Path,
    kill_at: int | None = None,
    extra: tuple[str, ...] = (),
) -> Run:
    """Run ``openstack-ansible PLAYBOOK EXTRA...``; with KILL_AT, SIGKILL its process group as
    its KILL_AT-th task starts."""
    started = time.monotonic()
    process = subprocess.Popen(
        [str(OSA), playbook, *extra],
        env={**env, "NIMBUS_TIMINGS_FILE": str(timings), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    tasks, killed_at = 0, None
    for line in process.stdout or ():
        name = task_started(line)
        if name is None:
            continue
        tasks += 1
        if kill_at is not None and tasks == kill_at:
            killed_at = name
            os.killpg(process.pid, signal.SIGKILL)
            break
    if process.stdout:
        process.stdout.close()
    rc = process.wait()
    data = None
    if killed_at is None and timings.is_file():
        data = json.loads(timings.read_text())
    return Run(rc, time.monotonic() - started, tasks, killed_at, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--config-dir", default="/etc/nimbus-lab/aio")
    parser.add_argument("--playbook", default="setup-everything.yml")
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--only", default=None, help="the drawn points to run, e.g. 1-3,7 (default: all)"
    )
    parser.add_argument("--healthcheck", action="append", default=None)
    parser.add_argument("--change", type=Path, default=None, help="variables file to push")
    args = parser.parse_args(argv)
    try:
        chosen = chosen_points(args.points, args.only)
    except ValueError as err:
        parser.error(str(err))
    healthchecks = args.healthcheck or [
        "healthcheck-infrastructure.yml",
        "healthcheck-openstack.yml",
    ]
    if not Path(args.config_dir, "openstack_user_config.yml").is_file():
        print(f"kill_deploy_bench: no deployment configured in {args.config_dir}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    env = {**os.environ, "OSA_CONFIG_DIR": args.config_dir}
    change = ("-e", f"@{args.change.resolve()}") if args.change else ()
    work = Path(tempfile.mkdtemp(prefix="nimbus-kill-bench."))

    reference = run_playbook(args.playbook, env, work / "reference.json")
    if reference.rc != 0 or reference.timings is None or host_changes(reference.timings):
        changes = host_changes(reference.timings) if reference.timings else "no timings"
        print(
            f"kill_deploy_bench: the reference pass of {args.playbook} must succeed and change "
            f"nothing (exit {reference.rc}, changes {changes}); converge the lab first",
            file=sys.stderr,
        )
        return 2
    total = reference.tasks
    if change:  # the tasks of a run that pushes the change (its restarts included), then back
        pushed = run_playbook(args.playbook, env, work / "pushed.json", extra=change)
        back = run_playbook(args.playbook, env, work / "back.json")
        if pushed.rc or back.rc:
            print(
                f"kill_deploy_bench: pushing {args.change} (exit {pushed.rc}) or taking it "
                f"back (exit {back.rc}) failed",
                file=sys.stderr,
            )
            return 2
        total = pushed.tasks
    points = kill_points(total, args.points, random.Random(seed))  # noqa: S311
    print(
        f"{args.playbook}: reference pass {reference.seconds:.0f}s, {total} tasks to kill in; "
        f"seed {seed}; kill points {points}; running {', '.join(map(str, chosen))}"
    )
    print("point  task killed | re-run (exit, s, hosts changed) | next pass changes | healthchecks")
    failures = 0
    for number, point in enumerate(points, 1):
        if number not in chosen:
            continue
        killed = run_playbook(
            args.playbook, env, work / f"{number}-killed.json", kill_at=point, extra=change
        )
        rerun = run_playbook(args.playbook, env, work / f"{number}-rerun.json", extra=change)
        again = run_playbook(args.playbook, env, work / f"{number}-again.json", extra=change)
        health = [run_playbook(h, env, work / f"{number}-{h}.json").rc for h in healthchecks]
        if change and run_playbook(args.playbook, env, work / f"{number}-back.json").rc:
            print(f"{point:5d}  taking the change back failed; stopping", flush=True)
            return 1
        again_changes = host_changes(again.timings) if again.timings else {"(no timings)": 1}
        rerun_changes = host_changes(rerun.timings) if rerun.timings else {}
        ok = rerun.rc == 0 and again.rc == 0 and not again_changes and not any(health)
        failures += not ok
        print(
            f"{point:5d}  {killed.killed_at or '(run ended before the point)'} | "
            f"{rerun.rc}, {rerun.seconds:.0f}s, {rerun_changes or 'none'} | "
            f"{again_changes or 'none'} | {'pass' if not any(health) else health} "
            f"{'ok' if ok else 'FAILED'}",
            flush=True,
        )
    print(f"{len(chosen) - failures} of {len(chosen)} kill points converged (logs: {work})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
