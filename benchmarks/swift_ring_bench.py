"""Benchmark of Swift ring building: the plan and the module nimbus.cloud.swift_ring alone.

For 3 and 300 hosts x 10 drives (3 zones, 3 replicas) it prints, best of --repeat runs:

- plan: plugins/plugin_utils/swift_rings.ring_plan (checks and device lists of the account,
  container and object rings);
- build: the three rings made from nothing (builder files, rebalance, .ring.gz);
- no-op: the same inventory again (builder loaded, compared, nothing written);
- weight: one drive re-weighed in every ring (rebalance and rewrite).

Needs the swift package (requirements/swift-rings.txt; the test venv has it):
    .venv/bin/python benchmarks/swift_ring_bench.py [--hosts 3,300] [--drives 10]
        [--part-power 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / ".build"
LINK = BUILD / "ansible_collections" / "nimbus" / "cloud"
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(REPO, target_is_directory=True)
sys.path.insert(0, str(BUILD))

from ansible_collections.nimbus.cloud.plugins.modules.swift_ring import build_ring  # noqa: E402
from ansible_collections.nimbus.cloud.plugins.plugin_utils.swift_rings import ring_plan  # noqa: E402


def inventory(hosts: int, drives: int, part_power: int) -> tuple[dict[str, Any], dict[str, Any]]:
    swift = {
        "part_power": part_power,
        "repl_number": 3,
        "min_part_hours": 0,
        "storage_network": "br-storage",
        "drives": [{"name": f"d{n}"} for n in range(drives)],
    }
    found = {}
    for number in range(hosts):
        address = f"172.29.{244 + number // 250}.{number % 250 + 1}"
        found[f"swift{number:03d}"] = {
            "networks": {"br-storage": address},
            "swift_vars": {"zone": number % 3 + 1},
        }
    return swift, found


def best(repeat: int, run: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _round in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def build_all(folder: str, plan: dict[str, Any]) -> None:
    for ring in plan["rings"]:
        build_ring(
            folder,
            ring["name"],
            ring["part_power"],
            ring["replicas"],
            ring["min_part_hours"],
            ring["devices"],
        )


def measure(hosts: int, drives: int, part_power: int, repeat: int) -> tuple[float, ...]:
    """Best plan, build, no-op and re-weigh times for one size."""
    swift, found = inventory(hosts, drives, part_power)
    plan = ring_plan(swift, found)
    plan_s = best(repeat, lambda: ring_plan(swift, found))
    with tempfile.TemporaryDirectory() as tmp:
        state = {"folder": "", "count": 0}

        def fresh() -> None:
            state["count"] += 1
            state["folder"] = f"{tmp}/{state['count']}"

        def reweigh() -> None:
            state["count"] += 1
            for ring in plan["rings"]:
                ring["devices"][0]["weight"] = 100.0 + state["count"]

        build_s = best(repeat, lambda: build_all(state["folder"], plan), fresh)
        noop_s = best(repeat, lambda: build_all(state["folder"], plan))
        weight_s = best(repeat, lambda: build_all(state["folder"], plan), reweigh)
    return len(plan["rings"][0]["devices"]), plan_s, build_s, noop_s, weight_s


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hosts", default="3,300")
    parser.add_argument("--drives", type=int, default=10)
    parser.add_argument("--part-power", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"part_power {args.part_power}, 3 replicas, 3 zones, {args.drives} drives per host, "
        f"3 rings; best of {args.repeat}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'hosts':>6} {'devices':>8} {'plan s':>8} {'build s':>8} {'no-op s':>8} {'weight s':>9}"
    )
    for hosts in (int(h) for h in args.hosts.split(",")):
        devices, plan_s, build_s, noop_s, weight_s = measure(
            hosts, args.drives, args.part_power, args.repeat
        )
        print(
            f"{hosts:>6} {devices:>8} {plan_s:>8.3f} {build_s:>8.2f} {noop_s:>8.2f}",
            f"{weight_s:>9.2f}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
