"""Make this checkout importable as ``ansible_collections.nimbus.cloud`` for unit tests, and,
under CI (``CI=true``), turn every skipped test into a failure: a skip there means CI lacks
something the test needs (root, a tool, a lab) and the coverage it stands for is missing."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parent.parent
_BUILD = _ROOT / ".build"
_LINK = _BUILD / "ansible_collections" / "nimbus" / "cloud"

if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(_ROOT, target_is_directory=True)
if str(_BUILD) not in sys.path:
    sys.path.insert(0, str(_BUILD))


def in_ci() -> bool:
    """True when running in CI: CI is set to true/1/yes (.ci/run sets CI=true)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def skip_reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"{item.nodeid} was skipped under CI=true ({skip_reason(report.longrepr)}). "
        "A skip in CI hides missing coverage: give CI what the test needs "
        "(scripts/run-tests.sh installs the tools; the lab and gate stages need root), "
        "or run it outside CI with CI unset."
    )
