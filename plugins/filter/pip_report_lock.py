# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filters nimbus.cloud.pip_report_lock and nimbus.cloud.wheel_lock_select: the locks of the
repo server's wheels (logic in plugins/plugin_utils/wheel_lock.py).

Documentation: pip_report_lock.yml and wheel_lock_select.yml next to this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.wheel_lock import (
    WheelLockError,
    report_lock,
    select,
)


def pip_report_lock(report: Any, wheel_dir: str | None = None) -> list[str]:
    try:
        return report_lock(report, wheel_dir)
    except WheelLockError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def wheel_lock_select(lock: Any, requirements: Any = None) -> list[str]:
    try:
        return select(lock, requirements)
    except WheelLockError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"pip_report_lock": pip_report_lock, "wheel_lock_select": wheel_lock_select}
