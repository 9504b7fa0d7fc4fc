"""Table-driven tests of plugins/plugin_utils/variable_checks.py (variable_checks_cases.yml).

The bad_values cases use the real meta/argument_specs.yml of the collection's roles, so they
also prove that each role declares the constraint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils import variable_checks as sut

ROOT = Path(__file__).parents[4]
CASES = yaml.safe_load(
    (Path(__file__).parent / "variable_checks_cases.yml").read_text(encoding="utf-8")
)
HOST = sut.HostContext(**CASES["host"])


def options(role: str) -> dict[str, Any]:
    spec = yaml.safe_load(
        (ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8")
    )
    checks_file = ROOT / "roles" / role / "meta" / "variable_checks.yml"
    checks = yaml.safe_load(checks_file.read_text(encoding="utf-8")) if checks_file.exists() else {}
    return sut.merge_checks(role, spec["argument_specs"]["main"]["options"], checks)


def spec_defaults(opts: dict[str, Any]) -> dict[str, Any]:
    return {name: spec["default"] for name, spec in opts.items() if "default" in spec}


@pytest.mark.parametrize("case", CASES["bad_values"], ids=[c["id"] for c in CASES["bad_values"]])
def test_bad_values(case: dict[str, Any]) -> None:
    opts = options(case["role"])
    values = {**spec_defaults(opts), **case["values"]}
    problems, missing = sut.check_role(case["role"], opts, values, HOST, {})
    assert missing == [] or all(opts[n].get("no_log") for n in missing)
    assert len(problems) == 1, [p.line() for p in problems]
    line = problems[0].line()
    assert "\n" not in line
    for part in case["expect"]:
        assert part in line, line


@pytest.mark.parametrize("role", sorted(p.name for p in (ROOT / "roles").iterdir()))
def test_role_spec_defaults_pass(role: str) -> None:
    """Every role's own defaults pass its constraints (a declaration that is too strict fails).

    Variables a caller must give (required, no default) are left out.
    """
    opts = options(role)
    problems, _missing = sut.check_role(role, opts, spec_defaults(opts), HOST, {})
    assert [p.line() for p in problems if "the variable is required" not in p.allowed] == []


@pytest.mark.parametrize("case", CASES["constraints"], ids=[c["id"] for c in CASES["constraints"]])
def test_constraints(case: dict[str, Any]) -> None:
    opts = {"x_var": {"type": case["type"], sut.CHECK_KEY: case["check"]}}
    problems, _missing = sut.check_role("x", opts, {"x_var": case["value"]}, HOST, {})
    lines = [p.line() for p in problems]
    if case.get("ok"):
        assert lines == []
    else:
        assert len(lines) == 1, lines
        assert case["problem"] in lines[0]


def test_origin_and_fix_name_the_file() -> None:
    opts = {"x_port": {"type": "int", sut.CHECK_KEY: "port"}}
    origin = "/etc/openstack_deploy/user_variables.yml"
    (problem,), _missing = sut.check_role("x", opts, {"x_port": 0}, HOST, {"x_port": origin})
    assert problem.line() == (
        f"x_port (from {origin}) is 0: a TCP/UDP port is 1-65535; set x_port in {origin}"
    )


def test_fix_of_a_command_line_value() -> None:
    opts = {"x_port": {"type": "int", sut.CHECK_KEY: "port"}}
    (problem,), _missing = sut.check_role("x", opts, {"x_port": "0"}, HOST, {"x_port": "-e"})
    assert (
        problem.line()
        == "x_port (from -e) is '0': a TCP/UDP port is 1-65535; change the -e value of x_port"
    )


def test_fix_of_a_group_vars_value() -> None:
    opts = {"x_port": {"type": "int", sut.CHECK_KEY: "port"}}
    origin = "group_vars/all/x.yml"
    (problem,), _missing = sut.check_role("x", opts, {"x_port": 0}, HOST, {"x_port": origin})
    assert problem.line().endswith(
        "set x_port in user_variables.yml (it wins over group_vars/all/x.yml)"
    )


def test_secrets_one_line_never_the_value() -> None:
    opts = {
        "a_password": {"type": "str", "no_log": True, sut.CHECK_KEY: "secret"},
        "b_password": {"type": "str", "no_log": True, sut.CHECK_KEY: {"secret": "b_enabled"}},
        "c_password": {"type": "str", "no_log": True, sut.CHECK_KEY: "secret"},
        "b_enabled": {"type": "bool"},
        "d_port": {"type": "int", "no_log": True, sut.CHECK_KEY: "port"},
    }
    values = {"a_password": "", "b_enabled": "yes", "c_password": "s3cr3t-value", "d_port": 70000}
    problems, missing = sut.check_host({"x": opts}, values, HOST)
    assert missing == ["a_password", "b_password"]
    text = sut.report("dev1", problems, missing, "/etc/openstack_deploy")
    assert (
        "missing secrets: a_password, b_password; set them in /etc/openstack_deploy/user_secrets"
        in text
    )
    assert "70000" not in text and "s3cr3t" not in text
    assert text.startswith("dev1: 2 variable problems (nothing was changed):")
    # Not needed when the switch is off.
    _problems, missing = sut.check_host({"x": opts}, {**values, "b_enabled": False}, HOST)
    assert missing == ["a_password"]


def test_port_clash_across_roles() -> None:
    roles = {
        "one": {"one_port": {"type": "int", sut.CHECK_KEY: "listen_port"}},
        "two": {"two_port": {"type": "int", sut.CHECK_KEY: "listen_port"}},
        "client": {"client_port": {"type": "int", sut.CHECK_KEY: "port"}},
    }
    values = {"one_port": 11211, "two_port": 11211, "client_port": 11211}
    problems, _missing = sut.check_host(roles, values, HOST)
    assert [p.line() for p in problems] == [
        "two_port is 11211: one_port listens on the same port on this host;"
        " give two_port or one_port another port"
    ]


def test_every_problem_at_once() -> None:
    opts = options("memcached_server")
    values = {**spec_defaults(opts), "memcached_server_port": 0, "memcached_server_threads": 0}
    problems, _missing = sut.check_role("memcached_server", opts, values, HOST, {})
    assert sorted(p.variable for p in problems) == [
        "memcached_server_port",
        "memcached_server_threads",
    ]


def test_unknown_check_is_a_spec_error() -> None:
    with pytest.raises(sut.SpecError, match="x_var: unknown constraint"):
        sut.check_role(
            "x", {"x_var": {"type": "int", sut.CHECK_KEY: {"between": [1, 2]}}}, {"x_var": 1}
        )


def test_constraint_of_an_undeclared_variable_is_a_spec_error() -> None:
    opts = {"x_port": {"type": "int"}}
    with pytest.raises(sut.SpecError, match=r"constrains x_prot, which .* did you mean x_port"):
        sut.merge_checks("x", opts, {"x_prot": "port"})


def test_list_elements_and_suboptions() -> None:
    opts = options("openstack_hosts")
    bad = [{"name": "corp", "src": "/srv/ca.pem", "sorce": "x"}, {"src": "/srv/b.pem"}]
    problems, _missing = sut.check_role(
        "openstack_hosts", opts, {"openstack_hosts_ca_certificates": bad}, HOST
    )
    lines = [p.line() for p in problems]
    assert any(
        "openstack_hosts_ca_certificates[0].sorce" in x and "did you mean src?" in x for x in lines
    ), lines
    assert any("openstack_hosts_ca_certificates[1].name is not set" in x for x in lines), lines


UV = "/etc/openstack_deploy/user_variables.yml"
UNKNOWN = "is not a variable of any role, playbook or group_vars"
NAMES = {
    "keystone_keystone_conf_overides": "/etc/openstack_deploy/user_variables.yml",
    "memcached_server_port": "/etc/openstack_deploy/user_variables.yml",
    "my_site_contact": "/etc/openstack_deploy/user_site.yml",
    "totally_unrelated_thing": "/etc/openstack_deploy/user_variables.yml",
}
KNOWN = ["keystone_keystone_conf_overrides", "memcached_server_port", "galera_server_port"]


@pytest.mark.parametrize(
    ("ignore", "expected"),
    [
        (
            [],
            [
                f"keystone_keystone_conf_overides (from {UV}) {UNKNOWN};"
                " did you mean keystone_keystone_conf_overrides?",
                f"my_site_contact (from /etc/openstack_deploy/user_site.yml) {UNKNOWN}",
                f"totally_unrelated_thing (from {UV}) {UNKNOWN}",
            ],
        ),
        (["my_*", "totally_unrelated_thing"], ["keystone_keystone_conf_overides"]),
    ],
    ids=["all-reported", "ignored-names-and-prefixes"],
)
def test_unknown_names(ignore: list[str], expected: list[str]) -> None:
    lines = sut.unknown_names(NAMES, KNOWN, ignore)
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(want)
