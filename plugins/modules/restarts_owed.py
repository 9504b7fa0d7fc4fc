#!/usr/bin/python
# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Which units owe a restart: their marker is there, or they run older than a file they read."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restarts_owed
short_description: Tell which units owe a restart, and record those that run stale
version_added: "0.1.0"
author:
  - Nimbus developers (@nimbus-cloud)
description:
  - A unit owes a restart when its owed-restart marker (C(<marker_dir>/<name>.service)) is
    there, or when it runs (active, activating or reloading) and one of the files it watches
    (its unit file, its drop-ins, I(paths)) was modified after its main process started.
  - The second rule covers a run that wrote a configuration file, or installed new code, and
    was lost (its controller killed) before it recorded the restart. The next run finds the
    file unchanged, but the unit older than it. For such a unit the marker is written, so
    that a deferred restart (a rolling restart out of HAProxy) pays it like any other.
  - The start of the main process is systemd's C(ExecMainStartTimestamp), read in
    microseconds; a file's time is its modification time. Missing files are ignored.
options:
  marker_dir:
    description: The directory of the owed-restart markers.
    type: path
    required: true
  record:
    description: >-
      Write the marker of a unit that runs stale. Off for a role that pays its restarts at
      once, without markers (the unit stays stale, and owing, until it restarts).
    type: bool
    default: true
  unit_dir:
    description: Where the units' files and drop-in directories are.
    type: path
    default: /etc/systemd/system
  units:
    description: The services (names without C(.service)) and the files each one reads.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The service's name, without C(.service).
        type: str
        required: true
      paths:
        description: >-
          Absolute paths of files the service reads at start: its configuration, the report of
          its venv. The unit file and its drop-ins are always watched.
        type: list
        elements: path
        default: []
attributes:
  check_mode:
    description: Reports the units that run stale without writing their markers.
    support: full
  diff_mode:
    description: Writes only markers, which have nothing to show.
    support: none
"""

EXAMPLES = r"""
- name: Look for the restarts keystone-uwsgi owes
  nimbus.cloud.restarts_owed:
    marker_dir: /var/lib/nimbus/restart-owed
    units:
      - name: keystone-uwsgi
        paths: [/etc/keystone/keystone.conf, /etc/keystone/keystone-uwsgi.ini]
  register: _owed
"""

RETURN = r"""
owed:
  description: The units that owe a restart (a marker, or running stale), in the order given.
  returned: always
  type: list
  elements: str
  sample: [keystone-uwsgi]
stale:
  description: The units that run older than a file they watch, with the newest such file.
  returned: always
  type: list
  elements: dict
  sample: [{name: keystone-uwsgi, path: /etc/keystone/keystone.conf}]
"""

import os
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

RUNNING = ("active", "activating", "reloading")
# systemctl show --timestamp=us+utc: "Sat 2026-12-05 18:03:51.123456 UTC".
TIMESTAMP_FORMAT = "%a %Y-%m-%d %H:%M:%S.%f UTC"


def parse_show(text: str) -> dict[str, dict[str, str]]:
    """Unit id -> properties, from ``systemctl show -p Id,...`` of several units (blank lines
    between them)."""
    units: dict[str, dict[str, str]] = {}
    for block in text.split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def started_at(props: dict[str, str]) -> float | None:
    """When the unit's main process started (seconds since the epoch), or None when the unit
    does not run or never started one."""
    if props.get("ActiveState") not in RUNNING:
        return None
    text = props.get("ExecMainStartTimestamp", "").strip()
    try:
        moment = datetime.strptime(text, TIMESTAMP_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()  # noqa: UP017 (targets' Python)


def watched(name: str, paths: list[str], unit_dir: str, dropins: list[str]) -> list[str]:
    """The files a unit watches: its unit file, its drop-ins (file names in its .d directory),
    then ``paths``."""
    unit = os.path.join(unit_dir, f"{name}.service")
    conf_dir = f"{unit}.d"
    return [
        unit,
        *(os.path.join(conf_dir, d) for d in sorted(dropins) if d.endswith(".conf")),
        *paths,
    ]


def stale_file(start: float | None, mtimes: dict[str, float | None]) -> str | None:
    """The newest of the files modified after ``start``, or None (not running, or every file
    older)."""
    if start is None:
        return None
    newer = [(mtime, path) for path, mtime in mtimes.items() if mtime is not None and mtime > start]
    return max(newer)[1] if newer else None


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _dropins(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "marker_dir": {"type": "path", "required": True},
            "record": {"type": "bool", "default": True},
            "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
            "units": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "paths": {"type": "list", "elements": "path", "default": []},
                },
            },
        },
        supports_check_mode=True,
    )
    marker_dir, unit_dir = module.params["marker_dir"], module.params["unit_dir"]
    units = module.params["units"]
    if not units:
        module.exit_json(changed=False, owed=[], stale=[])
    ids = [f"{unit['name']}.service" for unit in units]
    rc, out, err = module.run_command(
        [
            "systemctl",
            "show",
            "--timestamp=us+utc",
            "-p",
            "Id,ActiveState,ExecMainStartTimestamp",
            *ids,
        ]
    )
    if rc != 0:
        module.fail_json(msg=f"systemctl show {' '.join(ids)} failed: {err.strip()}")
    props = parse_show(out)
    owed, stale, written = [], [], []
    for unit in units:
        name = unit["name"]
        unit_id = f"{name}.service"
        marker = os.path.join(marker_dir, unit_id)
        files = watched(
            name, unit["paths"], unit_dir, _dropins(os.path.join(unit_dir, f"{unit_id}.d"))
        )
        path = stale_file(started_at(props.get(unit_id, {})), {f: _mtime(f) for f in files})
        if path is not None:
            stale.append({"name": name, "path": path})
        if os.path.exists(marker):
            owed.append(name)
        elif path is not None:
            owed.append(name)
            if module.params["record"]:
                written.append(
                    (marker, f"{unit_id} must restart: {path} changed after it started\n")
                )
    if written and not module.check_mode:
        os.makedirs(marker_dir, mode=0o700, exist_ok=True)
        for marker, text in written:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
    module.exit_json(changed=bool(written), owed=owed, stale=stale)


if __name__ == "__main__":
    main()
