# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: swift_ring
short_description: Make a Swift ring's builder file and ring match the inventory
description:
  - Creates or updates C(<name>.builder) in O(builder_dir) with Swift's own ring builder
    (C(swift.common.ring.RingBuilder)) so that it holds exactly O(devices), then writes
    C(<name>.ring.gz) next to it. The builder file is the source of truth; a changed builder
    is first copied to C(backups/) in O(builder_dir).
  - Idempotent. The same devices change nothing and never rebalance. A new, removed or
    re-weighed device, or a changed replica count, rebalances; Swift's builder moves no
    partition that moved less than C(min_part_hours) ago, so a second change within that time
    moves only what the rule allows (RV(min_part_seconds_left) says how long to wait). A device
    whose region or zone changed is removed and added again.
  - The partition power of an existing ring never changes (the module fails and says so).
  - Rebalances with a fixed seed (O(seed)), so the same inventory gives the same ring.
  - Needs the C(swift) Python package; the swift role runs it with the interpreter of a small
    venv on the deployment host.
  - Supports check mode and diff (device names, addresses and weights).
options:
  builder_dir:
    description: Directory of the builder files (created if missing, mode 0750).
    type: path
    required: true
  name:
    description: Ring name (C(account), C(container), C(object), C(object-1), ...).
    type: str
    required: true
  part_power:
    description: Partition power (log2 of the number of partitions).
    type: int
    required: true
  replicas:
    description: Replica count.
    type: int
    required: true
  min_part_hours:
    description: Hours a moved partition stays where it is before it can move again.
    type: int
    default: 1
  devices:
    description:
      - Every device of the ring, as the filter nimbus.cloud.swift_ring_plan returns them.
      - Keys C(region), C(zone), C(ip), C(port), C(replication_ip), C(replication_port),
        C(device), C(weight), C(meta).
    type: list
    elements: dict
    required: true
  seed:
    description: Seed of every rebalance.
    type: int
    default: 0
author:
  - Nimbus developers (@nimbus-cloud)
"""

EXAMPLES = r"""
- name: Build the object ring
  nimbus.cloud.swift_ring:
    builder_dir: /etc/openstack_deploy/swift
    name: object
    part_power: 10
    replicas: 3
    devices:
      - {region: 1, zone: 1, ip: 172.29.244.11, port: 6200, replication_ip: 172.29.244.11,
         replication_port: 6200, device: sdb, weight: 100, meta: infra1}
  vars:
    ansible_python_interpreter: /opt/nimbus-swift-rings/bin/python
"""

RETURN = r"""
changes:
  description: Devices added, removed, re-weighed and updated, as C(ip:port/device).
  returned: always
  type: dict
rebalanced:
  description: Whether partitions were (or would be, in check mode) reassigned.
  returned: always
  type: bool
balance:
  description: The ring's balance after the run (percent; 0 is perfect).
  returned: always
  type: float
min_part_seconds_left:
  description: Seconds before partitions moved by the last rebalance may move again.
  returned: always
  type: int
ring_md5:
  description: md5 of C(<name>.ring.gz) as written (what C(swift-recon --md5) compares).
  returned: always
  type: str
"""

import copy
import hashlib
import os
import shutil
import tempfile
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nimbus.cloud.plugins.module_utils.swift_ring_changes import (
    INFO_KEYS,
    ring_changes,
)

try:  # only in the ring builder's venv (the swift role runs the module with its interpreter)
    from swift.common.ring import RingBuilder
except ImportError as _err:
    RingBuilder = None
    SWIFT_IMPORT_ERROR: ImportError | None = _err
else:
    SWIFT_IMPORT_ERROR = None

BALANCE_GOAL = 1.0  # percent: a ring further off than this is rebalanced once min_part_hours allow
RING_MTIME = 1300507380.0  # Swift's own fixed gzip time: the same ring gives the same bytes


def _label(device: dict[str, Any]) -> str:
    return f"{device['ip']}:{device['port']}/{device['device']}"


def _new_device(device: dict[str, Any]) -> dict[str, Any]:
    return {
        "region": int(device["region"]),
        "zone": int(device["zone"]),
        "ip": str(device["ip"]),
        "port": int(device["port"]),
        "replication_ip": str(device.get("replication_ip") or device["ip"]),
        "replication_port": int(device.get("replication_port") or device["port"]),
        "device": str(device["device"]),
        "weight": float(device["weight"]),
        "meta": str(device.get("meta") or ""),
    }


def _ring_bytes(builder: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ring.gz")
        builder.get_ring().save(path, mtime=RING_MTIME)
        with open(path, "rb") as handle:
            return handle.read()


def _write(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load(builder_path: str, part_power: int, replicas: int, min_part_hours: int) -> Any:
    """The builder of the file, or a new one; refuses a changed partition power."""
    if not os.path.exists(builder_path):
        return RingBuilder(part_power, replicas, min_part_hours)
    builder = RingBuilder.load(builder_path)
    if builder.part_power != part_power:
        raise ValueError(
            f"{builder_path} has part_power {builder.part_power}, the inventory asks for "
            f"{part_power}: the partition power of a ring in use cannot change here. Set "
            f"part_power back to {builder.part_power} in global_overrides.swift"
        )
    return builder


def _apply(builder: Any, changes: dict[str, list[dict[str, Any]]]) -> None:
    for device in changes["remove"]:
        builder.remove_dev(device["id"])
    for device in changes["weight"]:
        builder.set_dev_weight(device["id"], device["weight"])
    for device in changes["info"]:
        target = builder.devs[device["id"]]
        for key in INFO_KEYS:
            target[key] = device[key]
    for device in changes["add"]:
        builder.add_dev(_new_device(device))


def _settings(builder: Any, replicas: int, min_part_hours: int) -> tuple[bool, bool]:
    """Apply the replica count and min_part_hours: (changed, needs a rebalance)."""
    changed = needs_rebalance = False
    if builder.min_part_hours != min_part_hours:
        builder.change_min_part_hours(min_part_hours)
        changed = True
    if float(builder.replicas) != float(replicas):
        builder.set_replicas(float(replicas))
        changed = needs_rebalance = True
    return changed, needs_rebalance


def _rebalance(builder: Any, seed: int, forced: bool) -> bool:
    """Rebalance when asked, or when a rebalance left unfinished by min_part_hours may go on.

    Returns whether partitions moved (or the ring is new).
    """
    has_devices = any(d is not None for d in builder.devs)
    pending = (
        builder.ever_rebalanced
        and builder.min_part_seconds_left == 0
        and builder.get_balance() > BALANCE_GOAL
    )
    if not has_devices or not (forced or pending):
        return False
    new = not builder.ever_rebalanced
    trial = copy.deepcopy(builder) if not forced else builder
    moved, _balance, removed = trial.rebalance(seed=seed)
    if not (moved or removed or new):
        return False
    if trial is not builder:
        builder.copy_from(trial.to_dict())
    builder.validate()
    return True


def _save(
    builder: Any, builder_path: str, ring_path: str, ring_data: bytes, save_builder: bool
) -> None:
    os.makedirs(os.path.dirname(builder_path), mode=0o750, exist_ok=True)
    if save_builder:
        if os.path.exists(builder_path):
            backups = os.path.join(os.path.dirname(builder_path), "backups")
            os.makedirs(backups, mode=0o750, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            name = os.path.basename(builder_path)
            shutil.copy2(builder_path, os.path.join(backups, f"{stamp}.{name}"))
        builder.save(builder_path)
    if ring_data:
        _write(ring_path, ring_data)


def build_ring(  # noqa: PLR0917 - the module's options, one call site each
    builder_dir: str,
    name: str,
    part_power: int,
    replicas: int,
    min_part_hours: int,
    devices: list[dict[str, Any]],
    seed: int = 0,
    check_mode: bool = False,
) -> dict[str, Any]:
    """Make <name>.builder and <name>.ring.gz hold ``devices``; return what changed."""
    builder_path = os.path.join(builder_dir, f"{name}.builder")
    ring_path = os.path.join(builder_dir, f"{name}.ring.gz")
    created = not os.path.exists(builder_path)
    builder = _load(builder_path, part_power, replicas, min_part_hours)
    changes = ring_changes(copy.deepcopy(builder.devs), [_new_device(d) for d in devices])
    settings_changed, replicas_changed = _settings(builder, replicas, min_part_hours)
    _apply(builder, changes)
    devices_changed = any(changes[k] for k in ("add", "remove", "weight", "info"))
    forced = created or replicas_changed or any(changes[k] for k in ("add", "remove", "weight"))
    rebalanced = _rebalance(builder, seed, forced)
    builder_changed = created or settings_changed or rebalanced or devices_changed
    ring_data = _ring_bytes(builder) if any(d is not None for d in builder.devs) else b""
    old_ring = b""
    if os.path.exists(ring_path):
        with open(ring_path, "rb") as handle:
            old_ring = handle.read()
    ring_changed = bool(ring_data) and ring_data != old_ring
    if not check_mode and (builder_changed or ring_changed):
        _save(builder, builder_path, ring_path, ring_data, builder_changed)
    return {
        "changed": builder_changed or ring_changed,
        "created": created,
        "rebalanced": rebalanced,
        "changes": {key: [_label(d) for d in value] for key, value in changes.items()},
        "balance": round(float(builder.get_balance()), 2),
        "min_part_seconds_left": int(builder.min_part_seconds_left),
        "ring_md5": hashlib.md5(ring_data).hexdigest() if ring_data else "",  # noqa: S324
        "devices": len([d for d in builder.devs if d is not None]),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "builder_dir": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "part_power": {"type": "int", "required": True},
            "replicas": {"type": "int", "required": True},
            "min_part_hours": {"type": "int", "default": 1},
            "devices": {"type": "list", "elements": "dict", "required": True},
            "seed": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    params = module.params
    if SWIFT_IMPORT_ERROR is not None:
        module.fail_json(
            msg=f"swift_ring needs the swift package ({SWIFT_IMPORT_ERROR}); run it with the "
            "interpreter of the ring builder venv (swift_ring_builder_venv of the swift role)"
        )
    try:
        result = build_ring(
            params["builder_dir"],
            params["name"],
            params["part_power"],
            params["replicas"],
            params["min_part_hours"],
            params["devices"],
            seed=params["seed"],
            check_mode=module.check_mode,
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    changes = result["changes"]
    if module._diff and result["changed"]:
        lines = [
            f"{kind}: {label}"
            for kind in ("add", "remove", "weight", "info")
            for label in changes[kind]
        ]
        result["diff"] = {
            "before_header": f"{params['name']} ring",
            "after_header": f"{params['name']} ring",
            "before": "",
            "after": "\n".join(lines) + ("\n" if lines else ""),
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
