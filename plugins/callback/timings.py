# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Record a machine-readable timing and change report of a playbook run."""

from __future__ import annotations

DOCUMENTATION = r"""
name: timings
type: aggregate
short_description: Write each run's task timings and changes to a JSON file
description:
  - Records, for every task, its wall time and what it reported on each host, and the
    final per-host stats, then writes them as JSON when the run ends.
  - The gate (C(scripts/gate-check.sh)) uses the file to print the slowest tasks and the
    tasks that changed on a run that should have changed nothing.
  - Each task names the playbook file its play comes from (C(play_file), relative to the
    directory of the playbook that was run, e.g. C(keystone.yml) inside
    C(setup-openstack.yml)), so the time of every imported playbook can be added up.
  - Does nothing unless O(output_file) is set.
options:
  output_file:
    description: Path of the JSON report; written atomically when the playbook ends.
    type: path
    env:
      - name: NIMBUS_TIMINGS_FILE
    ini:
      - section: nimbus_timings
        key: output_file
"""

import json
import os
import tempfile
import time
from typing import Any

from ansible.plugins.callback import CallbackBase


def play_file(path: str, top_dir: str) -> str:
    """The file of a play (``/x/playbooks/keystone.yml:3`` -> ``keystone.yml``).

    Relative to the directory of the playbook that was run; absolute when the file is
    elsewhere (a playbook of another collection); empty when Ansible does not know it.
    """
    name = path.rsplit(":", 1)[0] if path.rsplit(":", 1)[-1].isdigit() else path
    if not name:
        return ""
    name = os.path.abspath(name)
    if top_dir and os.path.commonpath([name, top_dir]) == top_dir:
        return os.path.relpath(name, top_dir)
    return name


class CallbackModule(CallbackBase):
    """Collect task durations and per-host results; dump them as JSON at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nimbus.cloud.timings"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._started = time.time()
        self._playbook = ""
        self._play = ""
        self._play_file = ""
        self._top_dir = ""
        self._tasks: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None

    def _close_task(self) -> None:
        if self._current is not None:
            self._current["duration"] = round(time.monotonic() - self._current.pop("_t0"), 3)
            self._tasks.append(self._current)
            self._current = None

    def v2_playbook_on_start(self, playbook: Any) -> None:
        self._playbook = os.path.basename(playbook._file_name)
        self._top_dir = os.path.dirname(os.path.abspath(playbook._file_name))

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._close_task()
        self._play = play.get_name().strip()
        self._play_file = play_file(play.get_path() or "", self._top_dir)

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool = False) -> None:
        self._close_task()
        self._current = {
            "play": self._play,
            "play_file": self._play_file,
            "task": task.get_name().strip(),
            "path": task.get_path() or "",
            "hosts": {},
            "_t0": time.monotonic(),
        }

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self.v2_playbook_on_task_start(task)

    def _record(self, result: Any, status: str) -> None:
        if self._current is None:
            return
        if status == "ok" and result._result.get("changed", False):
            status = "changed"
        hosts = self._current["hosts"]
        host = result._host.get_name()
        # A loop reports once per item and once overall; the worst status wins.
        order = ("skipped", "ok", "changed", "failed", "unreachable")
        if order.index(status) >= order.index(hosts.get(host, "skipped")):
            hosts[host] = status

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, "ok" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        self._close_task()
        path = self.get_option("output_file")
        if not path:
            return
        report = {
            "playbook": self._playbook,
            "started": self._started,
            "duration": round(time.time() - self._started, 3),
            "stats": {host: stats.summarize(host) for host in sorted(stats.processed)},
            "tasks": self._tasks,
        }
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".timings-")
        with os.fdopen(fd, "w") as handle:
            json.dump(report, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
