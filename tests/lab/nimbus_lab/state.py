"""The lab's record of everything it added to the machine, so that destroy is exact.

Layout of state.json::

    {"version": 1,
     "shared": {"uplink": "eth0", "bridges": {"br-mgmt": "172.29.236.1/22"},
                "rules": [[table, chain, [args], insert]], "ip_forward_before": "0",
                "dnsmasq": {"pid": 123, "pid_file": "...", "hosts_file": "..."}},
     "scenarios": {"aio": {"config_dir": "...", "claims": {"names": [], "addresses": []},
                           "hosts": {"aio1": {"lxc_dir": "...", "base": "...",
                                              "mgmt_address": "...", "known_hosts": "..."}}}}}

Each step records what it added right after adding it, so a failed create can still be
destroyed exactly.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .model import LabError

VERSION = 1


def empty_state() -> dict[str, Any]:
    return {
        "version": VERSION,
        "shared": {"bridges": {}, "rules": [], "ip_forward_before": None, "dnsmasq": None},
        "scenarios": {},
    }


def parse_state(text: str, source: str) -> dict[str, Any]:
    """Parse state.json text, filling keys a missing or older file lacks."""
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise LabError(
            f"{source}: the lab state is damaged ({exc}); the lab cannot tell what it created."
            " Remove lab containers (lxc-ls), bridges br-mgmt/br-vxlan/br-storage and iptables"
            f" rules commented 'nimbus-lab' by hand, then delete {source}"
        ) from None
    if not isinstance(data, dict) or data.get("version", VERSION) != VERSION:
        raise LabError(f"{source}: unknown lab state format; delete it after cleaning up by hand")
    state = empty_state()
    state["shared"].update(data.get("shared", {}))
    state["scenarios"].update(data.get("scenarios", {}))
    return state


def all_claims(state: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return {name: s.get("claims", {}) for name, s in state["scenarios"].items()}


def all_dns_entries(state: dict[str, Any]) -> dict[str, str]:
    """Host name -> management address of every lab host of every scenario."""
    return {
        host: info["mgmt_address"]
        for scenario in state["scenarios"].values()
        for host, info in scenario.get("hosts", {}).items()
    }


def is_empty(state: dict[str, Any]) -> bool:
    shared = state["shared"]
    return not (
        state["scenarios"]
        or shared["bridges"]
        or shared["rules"]
        or shared["dnsmasq"]
        or shared["ip_forward_before"] is not None
    )


class StateFile:
    """state.json under an exclusive lock; ``save()`` writes atomically."""

    def __init__(self, path: Path, lock_timeout: float = 900) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self.data: dict[str, Any] = empty_state()
        self._saved: dict[str, Any] = {}

    @contextlib.contextmanager
    def locked(self, exclusive: bool = True) -> Iterator[StateFile]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        lock_path = self.path.with_suffix(".lock")
        with lock_path.open("a") as lock:
            mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
            deadline = time.monotonic() + self.lock_timeout
            waiting = False
            while True:
                try:
                    fcntl.flock(lock, mode)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LabError(
                            f"another lab.py run has held {lock_path} for over"
                            f" {self.lock_timeout:.0f}s; wait for it to finish (ps -ef | grep"
                            " lab.py) and try again"
                        ) from None
                    if not waiting:
                        print(f"lab: waiting for another lab.py run ({lock_path}) ...", flush=True)
                        waiting = True
                    time.sleep(0.2)
            text = self.path.read_text() if self.path.exists() else ""
            self.data = parse_state(text, str(self.path))
            self._saved = copy.deepcopy(self.data)
            yield self

    def save(self) -> None:
        if self.data == self._saved:
            return
        if is_empty(self.data):
            self.path.unlink(missing_ok=True)
        else:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state.")
            with os.fdopen(fd, "w") as handle:
                json.dump(self.data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(self.path)
        self._saved = copy.deepcopy(self.data)
