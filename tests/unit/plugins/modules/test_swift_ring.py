"""nimbus.cloud.swift_ring with Swift's real ring builder: files in a temporary directory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from swift.common.ring import RingBuilder

from ansible_collections.nimbus.cloud.plugins.modules.swift_ring import build_ring


def _devices(hosts: int, drives: int = 1, weight: float = 100.0) -> list[dict[str, Any]]:
    found = []
    for host in range(1, hosts + 1):
        for drive in range(drives):
            ip = f"10.0.{host // 250}.{host % 250 + 1}"
            found.append(
                {
                    "region": 1,
                    "zone": host % 3 + 1,
                    "ip": ip,
                    "port": 6200,
                    "replication_ip": ip,
                    "replication_port": 6200,
                    "device": f"sd{chr(ord('b') + drive)}",
                    "weight": weight,
                    "meta": f"host{host}",
                }
            )
    return found


def _build(folder: Path, devices: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"part_power": 8, "replicas": 3, "min_part_hours": 1}
    args.update(kwargs)
    return build_ring(str(folder), "object", devices=devices, **args)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324


def test_new_ring_is_written_then_unchanged(tmp_path: Path) -> None:
    first = _build(tmp_path, _devices(3))
    assert first["changed"] and first["created"] and first["rebalanced"]
    assert first["devices"] == 3
    builder = tmp_path / "object.builder"
    ring = tmp_path / "object.ring.gz"
    assert builder.is_file() and ring.is_file()
    assert first["ring_md5"] == _md5(ring)
    before = (builder.read_bytes(), ring.read_bytes())
    second = _build(tmp_path, _devices(3))
    assert not second["changed"] and not second["rebalanced"]
    assert (builder.read_bytes(), ring.read_bytes()) == before
    assert not (tmp_path / "backups").exists()


def test_same_inventory_gives_the_same_ring(tmp_path: Path) -> None:
    one = _build(tmp_path / "one", _devices(3, 2))
    two = _build(tmp_path / "two", _devices(3, 2))
    assert one["ring_md5"] == two["ring_md5"]
    assert _md5(tmp_path / "one" / "object.ring.gz") == _md5(tmp_path / "two" / "object.ring.gz")


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    result = _build(tmp_path / "rings", _devices(3), check_mode=True)
    assert result["changed"] and result["rebalanced"]
    assert not (tmp_path / "rings").exists()


def test_weight_change_rebalances_and_keeps_a_backup(tmp_path: Path) -> None:
    _build(tmp_path, _devices(6), min_part_hours=0)
    old_md5 = _md5(tmp_path / "object.ring.gz")
    devices = _devices(6)
    devices[0]["weight"] = 50.0
    result = _build(tmp_path, devices, min_part_hours=0)
    assert result["changed"] and result["rebalanced"]
    assert result["changes"]["weight"] == ["10.0.0.2:6200/sdb"]
    assert _md5(tmp_path / "object.ring.gz") == result["ring_md5"] != old_md5
    assert len(list((tmp_path / "backups").glob("*.object.builder"))) == 1
    assert not _build(tmp_path, devices, min_part_hours=0)["changed"]


def test_weight_change_when_every_device_holds_a_replica_moves_nothing(tmp_path: Path) -> None:
    _build(tmp_path, _devices(3), min_part_hours=0)
    devices = _devices(3)
    devices[0]["weight"] = 50.0
    result = _build(tmp_path, devices, min_part_hours=0)
    assert result["changed"] and not result["rebalanced"]
    assert not _build(tmp_path, devices, min_part_hours=0)["changed"]


def test_new_host_within_min_part_hours_moves_only_what_the_rule_allows(tmp_path: Path) -> None:
    _build(tmp_path, _devices(3, 2), min_part_hours=24)
    result = _build(tmp_path, _devices(4, 2), min_part_hours=24)
    assert result["changed"]
    assert result["changes"]["add"] == ["10.0.0.5:6200/sdb", "10.0.0.5:6200/sdc"]
    assert result["min_part_seconds_left"] > 0
    builder = RingBuilder.load(str(tmp_path / "object.builder"))
    assert len([d for d in builder.devs if d is not None]) == 8


def test_removed_host_leaves_the_ring(tmp_path: Path) -> None:
    _build(tmp_path, _devices(4), min_part_hours=0)
    result = _build(tmp_path, _devices(3), min_part_hours=0)
    assert result["changes"]["remove"] == ["10.0.0.5:6200/sdb"]
    assert result["devices"] == 3


def test_part_power_of_a_ring_in_use_cannot_change(tmp_path: Path) -> None:
    _build(tmp_path, _devices(3))
    with pytest.raises(ValueError, match="part_power 8, the inventory asks for 10"):
        _build(tmp_path, _devices(3), part_power=10)


def test_replica_count_change_rebalances(tmp_path: Path) -> None:
    _build(tmp_path, _devices(3), replicas=2, min_part_hours=0)
    result = _build(tmp_path, _devices(3), replicas=3, min_part_hours=0)
    assert result["changed"] and result["rebalanced"]
    assert RingBuilder.load(str(tmp_path / "object.builder")).replicas == 3


def test_unfinished_rebalance_goes_on_once_min_part_hours_passed(tmp_path: Path) -> None:
    _build(tmp_path, _devices(3, 2), min_part_hours=24)
    first = _build(tmp_path, _devices(4, 2), min_part_hours=24)
    assert first["balance"] > 1.0
    assert not _build(tmp_path, _devices(4, 2), min_part_hours=24)["changed"]
    builder = RingBuilder.load(str(tmp_path / "object.builder"))
    builder.pretend_min_part_hours_passed()
    builder.save(str(tmp_path / "object.builder"))
    second = _build(tmp_path, _devices(4, 2), min_part_hours=24)
    assert second["changed"] and second["rebalanced"]
    assert second["balance"] < first["balance"]
