# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Locks of the repo server's wheels (roles repo_server and python_venv).

The repo server resolves each service's requirement list with the constraints against the
wheels it built (``pip install --dry-run --report``) and writes, next to the wheels, a lock:
one line per wheel, ``name==version --hash=sha256:<hex>``, the requirement lines of the list
marked ``# requested``. A service host installs the lock with ``pip --require-hashes
--no-index``: a wheel whose bytes changed on the repo fails the install.

A caller that asks for fewer distributions than the list names (a subset of its requested
lines) drops the requested lines it does not want; what they alone needed stays (harmless,
and pip refuses the install if a kept line needs a dropped one).

Pure Python, no Ansible imports; the filters nimbus.cloud.pip_report_lock and
nimbus.cloud.wheel_lock_select are thin wrappers.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

REQUESTED = "# requested"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_LOCK_LINE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)==(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*)"
    r" --hash=sha256:(?P<digest>[0-9a-f]{64})(?P<requested>\s+# requested)?$"
)
# The distribution name at the start of a requirement line (PEP 508).
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


class WheelLockError(ValueError):
    """A pip report or a lock that cannot give a lock or an install list."""


def canonical(name: str) -> str:
    """A distribution name in its canonical form (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _sha256(entry: Mapping[str, Any], where: str) -> str:
    archive = entry.get("download_info", {}).get("archive_info") or {}
    digest = (archive.get("hashes") or {}).get("sha256")
    if digest is None:
        algorithm, _sep, value = str(archive.get("hash", "")).partition("=")
        digest = value if algorithm == "sha256" else None
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise WheelLockError(f"pip_report_lock: {where} has no sha256 in the report")
    return digest


def _wheel_path(entry: Mapping[str, Any], where: str, wheel_dir: str | None) -> str:
    url = str(entry.get("download_info", {}).get("url", ""))
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.scheme != "file" or not path.endswith(".whl"):
        raise WheelLockError(
            f"pip_report_lock: {where} does not come from a wheel file of the repo ({url})"
        )
    if wheel_dir is not None and posixpath.dirname(path) != posixpath.normpath(wheel_dir):
        raise WheelLockError(f"pip_report_lock: {where} is not in {wheel_dir} ({url})")
    return path


def report_lock(report: Any, wheel_dir: str | None = None) -> list[str]:
    """Lock lines of a pip installation report (``pip install --dry-run --report``), sorted by
    name: every distribution must come from a wheel file (of ``wheel_dir`` when given) with its
    sha256."""
    if not isinstance(report, Mapping) or not isinstance(report.get("install"), list):
        raise WheelLockError("pip_report_lock: the input is not a pip installation report")
    if str(report.get("version")) != "1":
        raise WheelLockError(
            f"pip_report_lock: report version {report.get('version')!r}, expected 1"
        )
    lines: dict[str, str] = {}
    for entry in report["install"]:
        metadata = entry.get("metadata", {}) if isinstance(entry, Mapping) else {}
        name, version = metadata.get("name"), metadata.get("version")
        if not name or not version:
            raise WheelLockError(f"pip_report_lock: an entry has no name or version: {entry!r}")
        where = f"{name} {version}"
        _wheel_path(entry, where, wheel_dir)
        key = canonical(str(name))
        if key in lines:
            raise WheelLockError(f"pip_report_lock: {name} appears twice in the report")
        line = f"{key}=={version} --hash=sha256:{_sha256(entry, where)}"
        lines[key] = f"{line}  {REQUESTED}" if entry.get("requested") else line
    return [lines[key] for key in sorted(lines)]


def parse_lock(lock: str | Iterable[str]) -> list[dict[str, Any]]:
    """The entries of a lock (text or lines): name, version, digest, requested, line (without
    the marker). Empty and comment lines are skipped; any other line must be a lock line."""
    text_lines = lock.splitlines() if isinstance(lock, str) else list(lock)
    entries = []
    seen = set()
    for number, raw in enumerate(text_lines, start=1):
        text = str(raw).strip()
        if not text or text.startswith("#"):
            continue
        match = _LOCK_LINE.match(text)
        if match is None:
            raise WheelLockError(f"wheel_lock_select: line {number} is not a lock line: {text!r}")
        if match["name"] in seen:
            raise WheelLockError(f"wheel_lock_select: {match['name']} is locked twice")
        seen.add(match["name"])
        entries.append(
            {
                "name": match["name"],
                "version": match["version"],
                "digest": match["digest"],
                "requested": match["requested"] is not None,
                "line": f"{match['name']}=={match['version']} --hash=sha256:{match['digest']}",
            }
        )
    if not entries:
        raise WheelLockError("wheel_lock_select: the lock is empty")
    return entries


def requirement_names(requirements: Iterable[str]) -> list[str]:
    """Canonical names of requirement lines (comments and options skipped)."""
    names = []
    for raw in requirements:
        text = str(raw).split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        match = _REQUIREMENT_NAME.match(text)
        if match is None:
            raise WheelLockError(f"wheel_lock_select: no distribution name in {text!r}")
        names.append(canonical(match[1]))
    return names


def select(lock: str | Iterable[str], requirements: Iterable[str] | None = None) -> list[str]:
    """The lines to install (``--require-hashes``) from a lock: every line, less the requested
    lines whose distribution ``requirements`` does not name (``None``: the whole lock). Each
    name of ``requirements`` must be in the lock."""
    entries = parse_lock(lock)
    if requirements is None:
        return [entry["line"] for entry in entries]
    wanted = requirement_names(requirements)
    locked = {entry["name"] for entry in entries}
    missing = sorted(set(wanted) - locked)
    if missing:
        raise WheelLockError(
            f"wheel_lock_select: the lock has no wheel for {', '.join(missing)}; the repo server"
            " builds what its requirement list names (requirements/services/, repo.yml)"
        )
    return [entry["line"] for entry in entries if not entry["requested"] or entry["name"] in wanted]
