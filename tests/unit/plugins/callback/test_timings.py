"""timings callback: each task names the playbook file its play comes from."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.nimbus.cloud.plugins.callback.timings import CallbackModule, play_file

TOP = "/srv/nimbus/playbooks"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{TOP}/keystone.yml:7", "keystone.yml"),
        (f"{TOP}/setup_openstack.yml:1", "setup_openstack.yml"),
        (f"{TOP}/healthcheck/glance.yml:3", "healthcheck/glance.yml"),
        (f"{TOP}/keystone.yml", "keystone.yml"),
        (f"{TOP}/../playbooks/glance.yml:2", "glance.yml"),
        ("/other/collection/playbooks/site.yml:4", "/other/collection/playbooks/site.yml"),
        (f"{TOP}-old/keystone.yml:1", f"{TOP}-old/keystone.yml"),
        ("", ""),
    ],
    ids=[
        "imported",
        "the-run-playbook",
        "subdirectory",
        "no-line",
        "dot-dot",
        "elsewhere",
        "sibling-prefix",
        "unknown",
    ],
)
def test_play_file(path: str, expected: str) -> None:
    assert play_file(path, TOP) == expected


def test_tasks_carry_their_play_file() -> None:
    callback = CallbackModule()
    callback.v2_playbook_on_start(SimpleNamespace(_file_name=f"{TOP}/setup_openstack.yml"))
    for name, path in (("Keystone", "keystone.yml:2"), ("Glance", "glance.yml:2")):
        callback.v2_playbook_on_play_start(
            SimpleNamespace(get_name=lambda n=name: n, get_path=lambda p=path: f"{TOP}/{p}")
        )
        callback.v2_playbook_on_task_start(
            SimpleNamespace(get_name=lambda n=name: f"{n} task", get_path=lambda: "")
        )
    callback._close_task()
    assert [(t["play"], t["play_file"], t["task"]) for t in callback._tasks] == [
        ("Keystone", "keystone.yml", "Keystone task"),
        ("Glance", "glance.yml", "Glance task"),
    ]
