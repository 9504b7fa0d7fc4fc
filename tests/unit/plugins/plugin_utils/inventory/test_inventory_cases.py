"""Data-driven tests of the inventory: configuration -> groups, hostvars, problems.

The cases live in inventory_cases.yml (see its header for the format).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from inventory_helpers import REPO, STATE_SENTINEL, is_subset, load_table, write_case

from ansible_collections.nimbus.cloud.plugins.plugin_utils import inventory as inv

TABLE = load_table("inventory_cases.yml")
BASES = TABLE["bases"]


def _hosts_of(result: inv.Inventory, group: str) -> list[str]:
    found: set[str] = set()
    stack = [group]
    while stack:
        name = stack.pop()
        entry = result.groups[name]
        found.update(entry["hosts"])
        stack.extend(entry["children"])
    return sorted(found)


def _get_path(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


# Components of the OpenStack services whose role has not landed (group_vars/all/services.yml):
# the warnings about them change as roles land, so the cases leave them out.
_SERVICES = yaml.safe_load((REPO / "group_vars/all/services.yml").read_text())["nimbus_services"]
NOT_DEPLOYED = {
    component
    for entry in _SERVICES.values()
    if not entry["deployed"]
    for component in entry["components"]
}


def _case_warnings(warnings: list[str]) -> list[str]:
    """The warnings, without those about services not deployed yet."""
    kept = []
    for warning in warnings:
        named = warning.split("no Nimbus role deploys ", 1)[1:]
        if named and set(named[0].split(" yet", 1)[0].split(", ")) <= NOT_DEPLOYED:
            continue
        kept.append(warning)
    return kept


@pytest.mark.parametrize("case", TABLE["valid"], ids=[case["id"] for case in TABLE["valid"]])
def test_valid(case: dict[str, Any], tmp_path: Path) -> None:
    write_case(tmp_path, case, BASES)
    result = inv.generate(tmp_path)
    warnings = _case_warnings(result.warnings)
    all_vars = {**result.all_vars, inv.WARNINGS_VAR: warnings}

    for group, hosts in (case.get("groups") or {}).items():
        assert group in result.groups, f"group {group} missing"
        assert _hosts_of(result, group) == sorted(hosts), group
    for host, expected in (case.get("hostvars") or {}).items():
        assert is_subset(expected, result.hostvars[host]), (host, result.hostvars[host])
    for host, keys in (case.get("absent_hostvars") or {}).items():
        for key in keys:
            assert key not in result.hostvars[host], (host, key)
    assert is_subset(case.get("all_vars") or {}, all_vars), all_vars
    for path, expected in (case.get("paths") or {}).items():
        document = {"all_vars": all_vars, "hostvars": result.hostvars}
        assert _get_path(document, path) == expected, path
    for text in case.get("warnings") or []:
        assert any(text in warning for warning in warnings), (text, warnings)
    if case.get("no_warnings"):
        assert warnings == []
    if "warning_count" in case:
        assert len(warnings) == case["warning_count"], warnings
    assert result.all_vars[inv.WARNINGS_VAR] == result.warnings
    if case.get("no_dashes"):
        assert not [name for name in result.groups if "-" in name]
        for group in result.groups.values():
            assert not [child for child in group["children"] if "-" in child]
    # The state was written and a second run changes nothing.
    state = tmp_path / inv.STATE_FILE
    before = state.read_bytes()
    again = inv.generate(tmp_path)
    assert again.hostvars == result.hostvars
    assert not again.state_written
    assert state.read_bytes() == before


@pytest.mark.parametrize("case", TABLE["invalid"], ids=[case["id"] for case in TABLE["invalid"]])
def test_invalid(case: dict[str, Any], tmp_path: Path) -> None:
    write_case(tmp_path, case, BASES)
    state = tmp_path / inv.STATE_FILE
    # A state file from an earlier run: the failing run must leave it exactly as it was.
    state.write_text(STATE_SENTINEL, encoding="utf-8")
    before = state.stat()

    with pytest.raises(inv.InventoryError) as caught:
        inv.generate(tmp_path)

    problems = list(caught.value.problems)
    expected = case["errors"]
    assert len(problems) == len(expected), "\n".join(str(problem) for problem in problems)
    for want in expected:
        matches = [
            problem
            for problem in problems
            if problem.file.endswith(want["file"])
            and want.get("key", "") in problem.key
            and want["message"] in problem.message
            and want["fix"] in problem.fix
            and ("line" not in want or problem.line == want["line"])
        ]
        assert matches, f"no problem matches {want}; got:\n" + "\n".join(map(str, problems))
        problem = matches[0]
        assert problem.fix, "every problem says how to fix it"
        rendered = str(problem)
        assert problem.file in rendered
        assert problem.key in rendered
        assert "Fix: " in rendered
    assert state.read_text(encoding="utf-8") == STATE_SENTINEL
    assert state.stat().st_mtime_ns == before.st_mtime_ns
    assert not (tmp_path / inv.BACKUP_DIR).exists()


def test_every_issue_validation_case_is_covered() -> None:
    """The validation list of issue 3, each with at least one invalid case."""
    ids = {case["id"] for case in TABLE["invalid"]}
    required = {
        "yaml_syntax_error_names_file_and_line",
        "duplicate_host_ips",
        "one_host_name_with_two_ips",
        "ip_outside_its_network",
        "used_ips_malformed_and_out_of_range",
        "cidr_networks_value_is_not_a_network",
        "provider_network_queue_missing_from_cidr_networks",
        "vip_off_the_management_network",
        "unknown_host_group_suggests_the_right_one",
        "invalid_host_names",
        "network_too_small_says_by_how_much",
        "required_group_empty_for_an_enabled_service",
    }
    assert required <= ids, required - ids


def test_export_is_json_serialisable(tmp_path: Path) -> None:
    write_case(tmp_path, {"base": "multi"}, BASES)
    exported = inv.generate(tmp_path).export()
    text = json.dumps(exported)
    assert '"_meta"' in text
    assert exported["all"]["children"][-1] == "ungrouped"
