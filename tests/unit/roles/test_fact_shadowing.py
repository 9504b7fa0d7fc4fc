"""No task, block or role variable shares its name with a fact that any task sets.

A fact set with ``set_fact`` outranks task and block ``vars:`` and a role's ``vars/main.yml``
for the rest of the play on that host, so a variable of the same name silently takes the
fact's old value the second time a role runs in a play. (The systemd_service role once
restarted a service because the previous service it handled owed a restart.) Variables given
to an included role or task file are left out: they are the role's interface, read before
any fact of the role is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
NESTED = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers")
SET_FACT = ("ansible.builtin.set_fact", "set_fact")
INCLUDES = (
    "ansible.builtin.import_role",
    "ansible.builtin.include_role",
    "ansible.builtin.import_tasks",
    "ansible.builtin.include_tasks",
)


def tasks_of(node: Any) -> Iterator[dict[str, Any]]:
    """Every task, block and play of a task file or playbook, nested ones included."""
    if not isinstance(node, list):
        return
    for item in node:
        if isinstance(item, dict):
            yield item
            for key in NESTED:
                yield from tasks_of(item.get(key))


def names(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(facts set, task variables) of one file, each name with where it is."""
    facts: dict[str, str] = {}
    task_vars: dict[str, str] = {}
    for task in tasks_of(yaml.safe_load(path.read_text())):
        where = f"{path.relative_to(REPO)}: {task.get('name', '(unnamed)')}"
        for module in SET_FACT:
            if isinstance(task.get(module), dict):
                facts.update(dict.fromkeys(task[module], where))
        passed_on = "hosts" in task or any(key in task for key in INCLUDES)
        if isinstance(task.get("vars"), dict) and not passed_on:
            task_vars.update(dict.fromkeys(task["vars"], where))
    return facts, task_vars


def files() -> list[Path]:
    return sorted([*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("playbooks/**/*.yml")])


def test_the_scan_reads_the_roles() -> None:
    facts: dict[str, str] = {}
    for path in files():
        facts.update(names(path)[0])
    assert "_service_catalog_registering" in facts
    assert len(facts) > 50


def role_vars() -> dict[str, str]:
    """Every variable of a role's vars/main.yml, with its file."""
    found: dict[str, str] = {}
    for path in sorted(REPO.glob("roles/*/vars/main.yml")):
        where = str(path.relative_to(REPO))
        found.update(dict.fromkeys(yaml.safe_load(path.read_text()) or {}, where))
    return found


def test_the_scan_reads_the_role_variables() -> None:
    assert "_systemd_service_u_owed" in role_vars()


def test_no_role_variable_is_shadowed_by_a_fact() -> None:
    facts: dict[str, str] = {}
    for path in files():
        facts.update(names(path)[0])
    found = role_vars()
    clashes = [
        f"{name}: role variable in {found[name]}, fact set in {facts[name]}"
        for name in sorted(set(facts) & set(found))
    ]
    assert clashes == []


def test_no_task_variable_is_shadowed_by_a_fact() -> None:
    facts: dict[str, str] = {}
    task_vars: dict[str, str] = {}
    for path in files():
        found_facts, found_vars = names(path)
        facts.update(found_facts)
        task_vars.update(found_vars)
    clashes = [
        f"{name}: task variable in {task_vars[name]}, fact set in {facts[name]}"
        for name in sorted(set(facts) & set(task_vars))
    ]
    assert clashes == []
