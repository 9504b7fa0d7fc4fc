"""Arguments of scripts/run-tests.sh: stages, and the Molecule scenarios named after
``molecule`` (NIMBUS_RUN_TESTS_PLAN=1 prints the plan and stops before anything runs)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "run-tests.sh"
ALL = "lint sanity unit bootstrap integration lab molecule gate roles ha"
# Without arguments: every stage, ha last (README, Testing).
DEFAULT = ALL
SCENARIOS = sorted(
    p.parent.name
    for p in (ROOT / "extensions" / "molecule").glob("*/molecule.yml")
    if p.parent.name != "default"
)


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"NIMBUS_MOLECULE_SCENARIOS", "NIMBUS_ROLES_TESTS"}
    }
    environ.update({"NIMBUS_RUN_TESTS_PLAN": "1", **env})
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_the_scenarios_exist():
    assert {"memcached_server", "galera_server"} <= set(SCENARIOS)


@pytest.mark.parametrize(
    ("args", "env", "stages", "scenarios"),
    [
        ((), {}, DEFAULT, " ".join(SCENARIOS)),
        (("unit",), {}, "unit", " ".join(SCENARIOS)),
        (("ha",), {}, "ha", " ".join(SCENARIOS)),
        (("molecule",), {}, "molecule", " ".join(SCENARIOS)),
        (("molecule", "galera_server"), {}, "molecule", "galera_server"),
        (
            ("lint", "molecule", "memcached_server", "galera_server", "unit"),
            {},
            "lint molecule unit",
            "memcached_server galera_server",
        ),
        (
            ("molecule",),
            {"NIMBUS_MOLECULE_SCENARIOS": "memcached_server"},
            "molecule",
            "memcached_server",
        ),
        # Names on the command line win over the variable.
        (
            ("molecule", "galera_server"),
            {"NIMBUS_MOLECULE_SCENARIOS": "memcached_server"},
            "molecule",
            "galera_server",
        ),
    ],
)
def test_plan(args, env, stages, scenarios):
    result = run(*args, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"stages: {stages}",
        f"molecule scenarios: {scenarios}",
        "role tests: all",
    ]


def test_plan_names_the_role_tests_of_nimbus_roles_tests():
    result = run("roles", NIMBUS_ROLES_TESTS="db_setup keystone_day_two")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "role tests: db_setup keystone_day_two"


def test_ci_runs_every_stage_with_the_role_tests_it_names():
    """.ci/run runs the default stages, ha included (it names no stage), and leaves out only the
    day-two pushes it says it leaves out; every role test it names exists in
    tests/integration/roles/run.sh."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.rstrip().splitlines()[-1] == "exec scripts/run-tests.sh"
    line = next(x for x in ci.splitlines() if x.startswith("export NIMBUS_ROLES_TESTS="))
    named = line.split("-", 1)[1].rstrip('}"').split()
    runner = (ROOT / "tests" / "integration" / "roles" / "run.sh").read_text()
    every = runner.split("ALL=(", 1)[1].split(")", 1)[0].split()
    assert set(named) <= set(every), set(named) - set(every)
    assert set(every) - set(named) == {"nova_day_two", "neutron_day_two"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nosuch",), "unknown stage 'nosuch'; stages: " + ALL),
        # A scenario name is only a scenario after "molecule".
        (("unit", "galera_server"), "unknown stage 'galera_server'"),
        (("molecule", "nosuch"), "unknown stage or Molecule scenario 'nosuch'"),
        # "default" only creates and destroys the lab host: not a role scenario.
        (("molecule", "default"), "unknown stage or Molecule scenario 'default'"),
    ],
)
def test_bad_arguments_exit_2_naming_the_word_and_the_choices(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "scenarios: " + " ".join(SCENARIOS) in result.stderr or args[0] != "molecule"
    assert result.stdout == ""
