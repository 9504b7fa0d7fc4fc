"""Table tests of plugins/plugin_utils/tempest_results.py (cases in cases.yml).

The streams were written by python-subunit itself (make_streams.py), one is a real tempest run.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils import tempest_results as sut

HERE = Path(__file__).parent
DATA = yaml.safe_load((HERE / "cases.yml").read_text())


def stream(case_id: str) -> bytes:
    # Kept as base64 text: the collection's sanity tests read every file as text.
    return base64.b64decode((HERE / "streams" / f"{case_id}.subunit.b64").read_text())


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["id"] for c in DATA["cases"]])
def test_summary(case: dict[str, Any]) -> None:
    summary = sut.summarize(stream(case["id"]))
    assert summary == case["summary"]
    assert sut.problems(summary) == case["problems"]


@pytest.mark.parametrize("case", DATA["errors"], ids=[c["id"] for c in DATA["errors"]])
def test_error(case: dict[str, Any]) -> None:
    data = bytearray(stream(case["from"]))
    if "truncate" in case:
        del data[-case["truncate"] :]
    if "flip" in case:
        data[case["flip"]] ^= 0xFF
    data[:0] = case.get("prefix", "").encode()
    with pytest.raises(sut.SubunitError, match=case["error"]):
        sut.summarize(bytes(data))


def test_real_tempest_run() -> None:
    """A real stream (tempest 47 on a lab host, `stestr last --subunit`, identity v3 + image v2
    smoke): 27 passed, one setUpClass skipped with tempest's reason, nothing failed."""
    summary = sut.summarize(stream("tempest_47_identity_image"))
    assert (summary["passed"], summary["failed"], summary["skipped"]) == (27, 0, 1)
    assert summary["skips"] == [
        {
            "test": "setUpClass (tempest.api.identity.v3.test_users.IdentityV3UsersTest)",
            "reason": "Security compliance not available.",
        }
    ]
    assert summary["seconds"] == 80.1
    assert sut.problems(summary) == []
