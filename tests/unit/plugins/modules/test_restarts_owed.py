"""nimbus.cloud.restarts_owed: a unit owes a restart when it runs older than a file it reads."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.cloud.plugins.modules.restarts_owed import (
    parse_show,
    stale_file,
    started_at,
    watched,
)

SHOW = """\
ExecMainStartTimestamp=Sat 2026-12-05 18:15:22.735829 UTC
Id=keystone-uwsgi.service
ActiveState=active

ExecMainStartTimestamp=
Id=nosuch.service
ActiveState=inactive

ExecMainStartTimestamp=Sat 2026-12-05 18:15:09.967326 UTC
Id=rabbitmq-server.service
ActiveState=reloading
"""
# 2026-12-05 18:15:22.735829 UTC
KEYSTONE_START = 1796494522.735829


def test_parse_show_reads_every_unit() -> None:
    units = parse_show(SHOW)
    assert sorted(units) == ["keystone-uwsgi.service", "nosuch.service", "rabbitmq-server.service"]
    assert units["nosuch.service"]["ActiveState"] == "inactive"


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        pytest.param(
            {
                "ActiveState": "active",
                "ExecMainStartTimestamp": "Sat 2026-12-05 18:15:22.735829 UTC",
            },
            KEYSTONE_START,
            id="active_to_the_microsecond",
        ),
        pytest.param(
            {
                "ActiveState": "activating",
                "ExecMainStartTimestamp": "Sat 2026-12-05 18:15:22.735829 UTC",
            },
            KEYSTONE_START,
            id="activating_counts_as_running",
        ),
        pytest.param(
            {
                "ActiveState": "inactive",
                "ExecMainStartTimestamp": "Sat 2026-12-05 18:15:22.735829 UTC",
            },
            None,
            id="stopped_owes_nothing_its_start_reads_the_files",
        ),
        pytest.param(
            {
                "ActiveState": "failed",
                "ExecMainStartTimestamp": "Sat 2026-12-05 18:15:22.735829 UTC",
            },
            None,
            id="failed_is_not_running",
        ),
        pytest.param(
            {"ActiveState": "active", "ExecMainStartTimestamp": ""}, None, id="no_main_process"
        ),
        pytest.param(
            {"ActiveState": "active", "ExecMainStartTimestamp": "n/a"}, None, id="unreadable"
        ),
        pytest.param({}, None, id="unknown_unit"),
    ],
)
def test_started_at(props: dict[str, str], expected: float | None) -> None:
    assert started_at(props) == (pytest.approx(expected) if expected else None)


def test_watched_lists_the_unit_file_its_conf_dropins_then_the_paths() -> None:
    assert watched(
        "nova-compute",
        ["/etc/nova/nova.conf"],
        "/etc/systemd/system",
        ["zz.conf", "a.conf", "notes.txt"],
    ) == [
        "/etc/systemd/system/nova-compute.service",
        "/etc/systemd/system/nova-compute.service.d/a.conf",
        "/etc/systemd/system/nova-compute.service.d/zz.conf",
        "/etc/nova/nova.conf",
    ]


@pytest.mark.parametrize(
    ("start", "mtimes", "expected"),
    [
        pytest.param(100.0, {"/a": 99.0, "/b": 100.0}, None, id="every_file_older_or_as_old"),
        pytest.param(100.0, {"/a": 100.5, "/b": 99.0}, "/a", id="one_file_written_after_the_start"),
        pytest.param(100.0, {"/a": 101.0, "/b": 102.0}, "/b", id="the_newest_is_named"),
        pytest.param(100.0, {"/a": None}, None, id="a_missing_file_is_ignored"),
        pytest.param(None, {"/a": 101.0}, None, id="not_running"),
        pytest.param(100.0, {}, None, id="nothing_watched"),
    ],
)
def test_stale_file(
    start: float | None, mtimes: dict[str, float | None], expected: str | None
) -> None:
    assert stale_file(start, mtimes) == expected
