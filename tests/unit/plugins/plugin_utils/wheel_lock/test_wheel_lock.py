"""wheel_lock: the repo server's lock lines from a pip report, and what a venv installs."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.nimbus.cloud.plugins.plugin_utils.wheel_lock import (
    WheelLockError,
    parse_lock,
    report_lock,
    requirement_names,
    select,
)

WHEELS = "/var/www/repo/wheels/debian-13-x86_64"
SIX = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
PASTE = "76388ad53a661448d436df28c798063108f70e994ddc749540d733cdbd1b38cf"
CFFI = "a" * 64


def entry(name, version, filename, digest, *, requested=False, hashes=True):
    archive = {"hash": f"sha256={digest}"}
    if hashes:
        archive["hashes"] = {"sha256": digest}
    return {
        "metadata": {"name": name, "version": version},
        "download_info": {"url": f"file://{WHEELS}/{filename}", "archive_info": archive},
        "requested": requested,
    }


REPORT = {
    "version": "1",
    "pip_version": "25.1.1",
    "install": [
        entry("six", "1.17.0", "six-1.17.0-py2.py3-none-any.whl", SIX, requested=True),
        entry("PasteDeploy", "3.1.0", "PasteDeploy-3.1.0-py3-none-any.whl", PASTE, requested=True),
        entry("cffi", "2.0.0", "cffi-2.0.0-cp313-cp313-linux_x86_64.whl", CFFI, hashes=False),
    ],
}

LOCK = [
    f"cffi==2.0.0 --hash=sha256:{CFFI}",
    f"pastedeploy==3.1.0 --hash=sha256:{PASTE}  # requested",
    f"six==1.17.0 --hash=sha256:{SIX}  # requested",
]


def test_report_lock_lines_sorted_canonical_and_marked():
    assert report_lock(REPORT, WHEELS) == LOCK
    assert report_lock(REPORT, WHEELS + "/") == LOCK
    assert report_lock(REPORT) == LOCK


def test_report_lock_same_report_same_lock():
    shuffled = copy.deepcopy(REPORT)
    shuffled["install"].reverse()
    assert report_lock(shuffled, WHEELS) == LOCK


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(version="2"), "report version"),
        (lambda r: r.pop("install"), "not a pip installation report"),
        (lambda r: r["install"][0]["download_info"]["archive_info"].clear(), "no sha256"),
        (
            lambda r: r["install"][0]["download_info"]["archive_info"].update(
                hash="md5=00", hashes={"md5": "00"}
            ),
            "no sha256",
        ),
        (
            lambda r: r["install"][0]["download_info"].update(
                url="https://pypi.org/six-1.17.0-py2.py3-none-any.whl"
            ),
            "does not come from a wheel file",
        ),
        (
            lambda r: r["install"][0]["download_info"].update(url="file:///tmp/six-1.17.0.tar.gz"),
            "does not come from a wheel file",
        ),
        (
            lambda r: r["install"][0]["download_info"].update(
                url="file:///tmp/six-1.17.0-py2.py3-none-any.whl"
            ),
            f"is not in {WHEELS}",
        ),
        (lambda r: r["install"].append(copy.deepcopy(r["install"][0])), "appears twice"),
        (lambda r: r["install"][0]["metadata"].pop("version"), "no name or version"),
    ],
)
def test_report_lock_refuses(change, message):
    report = copy.deepcopy(REPORT)
    change(report)
    with pytest.raises(WheelLockError, match=message):
        report_lock(report, WHEELS)


def test_select_whole_lock_without_markers():
    assert select("\n".join(LOCK) + "\n") == [line.partition("  #")[0] for line in LOCK]


def test_select_drops_requested_lines_not_asked_for():
    """A venv asking for six alone keeps six and the unrequested lines, not PasteDeploy."""
    assert select(LOCK, ["six"]) == [LOCK[0], LOCK[2].partition("  #")[0]]
    assert select(LOCK, ["PasteDeploy>=3 ; python_version>'3'", "six[extra]==1.17.0"]) == [
        line.partition("  #")[0] for line in LOCK
    ]


def test_select_a_dependency_may_be_asked_for():
    assert select(LOCK, ["cffi"]) == [LOCK[0]]


def test_select_refuses_a_name_the_lock_lacks():
    with pytest.raises(WheelLockError, match="no wheel for uwsgi"):
        select(LOCK, ["six", "uWSGI"])


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        (["six==1.17.0"], "not a lock line"),
        ([f"six>=1.17.0 --hash=sha256:{SIX}"], "not a lock line"),
        ([f"six==1.17.0 --hash=sha256:{SIX[:-1]}"], "not a lock line"),
        ([f"six==1.17.0 --hash=md5:{SIX}"], "not a lock line"),
        ([LOCK[2], LOCK[2]], "locked twice"),
        (["", "# nothing"], "empty"),
    ],
)
def test_parse_lock_refuses(lock, message):
    with pytest.raises(WheelLockError, match=message):
        parse_lock(lock)


def test_parse_lock_reads_back_what_report_lock_wrote():
    entries = parse_lock(["# a comment", "", *LOCK])
    assert [(e["name"], e["version"], e["digest"], e["requested"]) for e in entries] == [
        ("cffi", "2.0.0", CFFI, False),
        ("pastedeploy", "3.1.0", PASTE, True),
        ("six", "1.17.0", SIX, True),
    ]


def test_requirement_names():
    assert requirement_names(
        ["# c", "", "-c constraints.txt", "oslo.config>=9  # x", "Paste_Deploy[a]", "a"]
    ) == ["oslo-config", "paste-deploy", "a"]
    with pytest.raises(WheelLockError, match="no distribution name"):
        requirement_names(["@ file:///x"])
