"""The allocation state: openstack_inventory.json in the configuration directory.

It records which address of which network each host was given, so that addresses never move
when hosts are added or removed. Writes are atomic (temporary file, fsync, rename), happen under
an advisory lock, keep the previous versions as backups, and are skipped when nothing changed.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import ipaddress
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .addresses import IPV4, address_value
from .errors import LockTimeoutError, LockUnavailableError, StateError

STATE_FILE = "openstack_inventory.json"
BACKUP_DIR = "openstack_inventory.backups"
LOCK_FILE = ".openstack_inventory.lock"
BACKUPS_KEPT = 15
FORMAT = "nimbus.cloud/openstack_inventory"
VERSION = 1
LOCK_TIMEOUT = 120.0


@dataclass
class HostState:
    management_address: str | None = None
    addresses: dict[str, str] = field(default_factory=dict)


@dataclass
class State:
    hosts: dict[str, HostState] = field(default_factory=dict)

    def to_json(self) -> str:
        """The file text: JSON with one line per host, so that diffs stay readable."""
        comment = (
            "Addresses given to hosts by the Nimbus inventory. Written by "
            "openstack-ansible-inventory and the nimbus.cloud.openstack_deploy inventory plugin; "
            "do not edit by hand (free a host's addresses with 'openstack-ansible-inventory "
            "remove-host HOST')."
        )
        entries = [
            f"    {json.dumps(name)}: "
            + json.dumps(
                {
                    "management_address": entry.management_address,
                    "addresses": dict(sorted(entry.addresses.items())),
                }
            )
            for name, entry in sorted(self.hosts.items())
        ]
        hosts = "{\n" + ",\n".join(entries) + "\n  }" if entries else "{}"
        return (
            "{\n"
            f'  "_comment": {json.dumps(comment)},\n'
            f'  "format": {json.dumps(FORMAT)},\n'
            f'  "version": {VERSION},\n'
            f'  "hosts": {hosts}\n'
            "}\n"
        )


def state_path(config_dir: Path) -> Path:
    return config_dir / STATE_FILE


def backup_dir(config_dir: Path) -> Path:
    return config_dir / BACKUP_DIR


def parse_state(text: str) -> State:
    """Parse the text of a state file; raises ValueError describing the damage."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"it is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(document, dict):
        raise ValueError("it does not hold a JSON object")
    if "_meta" in document and "format" not in document:
        raise ValueError("it is an OpenStack-Ansible inventory, not a Nimbus state file")
    if document.get("format") != FORMAT:
        raise ValueError(f"its 'format' is {document.get('format')!r}, expected {FORMAT!r}")
    if document.get("version") != VERSION:
        raise ValueError(
            f"its 'version' is {document.get('version')!r}; this Nimbus reads {VERSION}"
        )
    hosts = document.get("hosts")
    if not isinstance(hosts, dict):
        raise ValueError("its 'hosts' is not an object")
    state = State()
    for name, entry in hosts.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("addresses"), dict):
            raise ValueError(f"the entry of host {name!r} has no 'addresses' object")
        addresses: dict[str, str] = {}
        for queue, address in entry["addresses"].items():
            try:
                version, value = address_value(address)
            except (ValueError, TypeError):
                raise ValueError(
                    f"host {name!r} has {address!r} on {queue!r}, not an address"
                ) from None
            addresses[queue] = address if version == IPV4 else str(ipaddress.IPv6Address(value))
        management = entry.get("management_address")
        state.hosts[name] = HostState(
            management if isinstance(management, str) else None, addresses
        )
    return state


def _good_backups(config_dir: Path) -> list[Path]:
    directory = backup_dir(config_dir)
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{Path(STATE_FILE).stem}-*.json"), reverse=True)


def newest_good_backup(config_dir: Path) -> Path | None:
    for candidate in _good_backups(config_dir):
        try:
            parse_state(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        return candidate
    return None


def damaged_message(config_dir: Path, reason: str) -> str:
    path = state_path(config_dir)
    lines = [
        f"{path} is damaged: {reason}.",
        "It records the addresses already given to hosts, so the inventory stops rather than "
        "hand out addresses again.",
    ]
    backup = newest_good_backup(config_dir)
    if "OpenStack-Ansible inventory" in reason:
        lines.append(
            "Nimbus keeps its own state file (OpenStack-Ansible did not allocate tunnel or "
            f"storage addresses to hosts, so nothing needs to carry over): mv {path} "
            f"{path}.osa and run again."
        )
    elif backup is not None:
        lines.append(f"The newest good backup is {backup}. Restore it with:")
        lines.append(f"  cp -p {backup} {path}")
        lines.append("then run the command again.")
    else:
        lines.append(
            f"There is no good backup in {backup_dir(config_dir)}. To start over (every "
            "address on the non-management networks may change; hosts already deployed keep "
            f"their old ones until redeployed): mv {path} {path}.damaged and run again."
        )
    return "\n".join(lines)


def read_state(config_dir: Path) -> tuple[State, str | None]:
    """The current state and the exact text it was read from (None when there is no file)."""
    path = state_path(config_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State(), None
    except UnicodeDecodeError:
        raise StateError(damaged_message(config_dir, "it is not UTF-8 text")) from None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}. Fix: make it readable.") from None
    try:
        return parse_state(text), text
    except ValueError as exc:
        raise StateError(damaged_message(config_dir, str(exc))) from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, text: str, mode: int = 0o640) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _backup(config_dir: Path, text: str) -> None:
    directory = backup_dir(config_dir)
    directory.mkdir(mode=0o750, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    _atomic_write(directory / f"{Path(STATE_FILE).stem}-{stamp}.json", text)
    for old in _good_backups(config_dir)[BACKUPS_KEPT:]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()


def write_state(config_dir: Path, text: str, previous_text: str | None) -> bool:
    """Write ``text`` unless it equals ``previous_text``; back up the previous version first."""
    if previous_text is not None and text == previous_text:
        return False
    path = state_path(config_dir)
    try:
        if previous_text is not None:
            _backup(config_dir, previous_text)
        _atomic_write(path, text)
    except OSError as exc:
        raise StateError(
            f"cannot write {path}: {exc.strerror}. Fix: run as a user who can write "
            f"{config_dir} (usually root on the deployment host)."
        ) from None
    return True


@contextlib.contextmanager
def locked(config_dir: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the advisory lock of the configuration directory (one writer at a time)."""
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    path = config_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    except OSError as exc:
        raise LockUnavailableError(
            f"cannot create the lock file {path}: {exc.strerror}. Fix: run as a user who can "
            f"write {config_dir} (usually root on the deployment host)."
        ) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"another inventory run has held {path} for more than {timeout:.0f}s. "
                        "Fix: wait for it to finish (see 'fuser -v "
                        f"{path}'), then run again."
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
