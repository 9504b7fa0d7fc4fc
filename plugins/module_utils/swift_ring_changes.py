# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""What changes in a Swift ring's devices.

Pure Python, shared by the module nimbus.cloud.swift_ring (which runs in the ring builder's
venv and can import only module_utils) and plugins/plugin_utils/swift_rings.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

INFO_KEYS = ("replication_ip", "replication_port", "meta")


def device_key(device: Mapping[str, Any]) -> tuple[str, int, str]:
    """What names a device in a ring: address, port and device name."""
    return (str(device["ip"]), int(device["port"]), str(device["device"]))


def _place(device: Mapping[str, Any]) -> tuple[int, int]:
    return (int(device["region"]), int(device["zone"]))


def ring_changes(
    current: Sequence[Mapping[str, Any] | None], wanted: Sequence[Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Devices to add, remove, reweigh and update (replication address, meta) in a ring.

    ``current`` is the builder's device list (removed devices are None there). A device whose
    region or zone changed is removed and added again: Swift cannot move a device between
    zones in place.
    """
    have = {device_key(d): d for d in current if d is not None}
    want = {device_key(d): d for d in wanted}
    changes: dict[str, list[dict[str, Any]]] = {"add": [], "remove": [], "weight": [], "info": []}
    for key in sorted(have):
        old = have[key]
        new = want.get(key)
        if new is None or _place(old) != _place(new):
            changes["remove"].append(dict(old))
    for key in sorted(want):
        new = want[key]
        old = have.get(key)
        if old is None or _place(old) != _place(new):
            changes["add"].append(dict(new))
            continue
        if float(old["weight"]) != float(new["weight"]):
            changes["weight"].append({**old, "weight": float(new["weight"])})
        if any(str(old.get(k)) != str(new.get(k)) for k in INFO_KEYS):
            changes["info"].append({**old, **{k: new[k] for k in INFO_KEYS}})
    return changes
