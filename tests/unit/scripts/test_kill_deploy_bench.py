"""benchmarks/kill_deploy_bench.py: where it kills, and what counts as converged."""
# ruff: noqa: S311 (seeded draws of kill points, no secret)

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "kill_deploy_bench.py"
_spec = importlib.util.spec_from_file_location("kill_deploy_bench", SCRIPT)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (
            "TASK [nimbus.cloud.galera_server : Start MariaDB] *****\n",
            "nimbus.cloud.galera_server : Start MariaDB",
        ),
        (
            "RUNNING HANDLER [nimbus.cloud.rabbitmq_server : Restart RabbitMQ on core1] ***\n",
            "nimbus.cloud.rabbitmq_server : Restart RabbitMQ on core1",
        ),
        ("TASK [Check the item [a] of the list] ****\n", "Check the item [a] of the list"),
        ("TASK [Gathering Facts] *********\n", "Gathering Facts"),
        ("PLAY [Deploy the RabbitMQ cluster] ****\n", None),
        ("ok: [core1] => (item=TASK [x])\n", None),
        ("TASK [no closing bracket\n", None),
        ("", None),
    ],
)
def test_task_started(line, name):
    assert bench.task_started(line) == name


@pytest.mark.parametrize(("total", "count"), [(10, 10), (11, 10), (587, 10), (1000, 3), (5, 1)])
def test_kill_points_one_in_each_slice(total, count):
    for seed in range(20):
        points = bench.kill_points(total, count, random.Random(seed))
        assert len(points) == count
        for index, point in enumerate(points):
            assert index * total // count < point <= (index + 1) * total // count
        assert points == sorted(set(points))


def test_kill_points_repeat_with_the_seed():
    assert bench.kill_points(500, 10, random.Random(7)) == bench.kill_points(
        500, 10, random.Random(7)
    )


@pytest.mark.parametrize(("total", "count"), [(9, 10), (0, 1), (5, 0)])
def test_kill_points_refuse_impossible_draws(total, count):
    with pytest.raises(ValueError, match="cannot draw"):
        bench.kill_points(total, count, random.Random(1))


def stats(**hosts: dict) -> dict:
    return {"stats": hosts, "tasks": []}


@pytest.mark.parametrize(
    ("timings", "expected"),
    [
        (stats(aio1={"changed": 0, "failures": 0, "unreachable": 0, "ok": 300}), {}),
        (stats(core1={"changed": 0}, core2={"changed": 2}), {"core2": 2}),
        (stats(core1={"changed": 0, "failures": 1}), {"core1": 1}),
        (stats(core3={"unreachable": 1}, core1={"changed": 1}), {"core1": 1, "core3": 1}),
    ],
)
def test_host_changes(timings, expected):
    assert bench.host_changes(timings) == expected


@pytest.mark.parametrize("timings", [{}, {"stats": {}}, {"stats": []}])
def test_host_changes_refuse_timings_without_stats(timings):
    with pytest.raises(ValueError, match="no per-host stats"):
        bench.host_changes(timings)


@pytest.mark.parametrize(
    ("count", "spec", "expected"),
    [
        (10, None, list(range(1, 11))),
        (10, "1-3,7", [1, 2, 3, 7]),
        (10, "7, 1-3", [1, 2, 3, 7]),
        (10, "4", [4]),
        (10, "2-2,2", [2]),
        (10, "10", [10]),
    ],
)
def test_chosen_points(count, spec, expected):
    assert bench.chosen_points(count, spec) == expected


@pytest.mark.parametrize("spec", ["0", "11", "3-1", "a", "1-", "", "1,,2", "5-12"])
def test_chosen_points_refuse_what_is_not_in_the_draw(spec):
    with pytest.raises(ValueError, match="--only"):
        bench.chosen_points(10, spec)
