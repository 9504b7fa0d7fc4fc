"""The state file: stable addresses, atomic writes, backups, damage, the lock, remove-host."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from inventory_helpers import deep_merge, load_table

from ansible_collections.nimbus.cloud.plugins.plugin_utils import inventory as inv
from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory import state as state_mod

BASE = load_table("inventory_cases.yml")["bases"]["multi"]


def write_config(directory: Path, patch: dict[str, Any] | None = None) -> None:
    config = deep_merge(BASE, patch or {})
    (directory / "openstack_user_config.yml").write_text(
        yaml.safe_dump(config, sort_keys=False), encoding="utf-8"
    )


def addresses(result: inv.Inventory) -> dict[str, tuple[str | None, str | None]]:
    return {
        host: (variables.get("tunnel_address"), variables.get("storage_address"))
        for host, variables in result.hostvars.items()
    }


def test_adding_and_removing_hosts_never_moves_another_address(tmp_path: Path) -> None:
    write_config(tmp_path)
    first = addresses(inv.generate(tmp_path))

    # compute0 sorts before compute1: it still must not take compute1's address.
    write_config(tmp_path, {"compute_hosts": {"compute0": {"ip": "172.29.236.20"}}})
    second = addresses(inv.generate(tmp_path))
    for host, pair in first.items():
        assert second[host] == pair
    assert second["compute0"] == ("172.29.240.53", "172.29.244.56")

    # compute1 leaves the configuration: everybody else keeps their address and compute1's
    # addresses stay reserved until remove-host.
    write_config(
        tmp_path,
        {
            "compute_hosts": {"compute0": {"ip": "172.29.236.20"}, "compute1": None},
            "network-gateway_hosts": {"compute1": None},
        },
    )
    third = inv.generate(tmp_path)
    for host, pair in addresses(third).items():
        assert pair == second[host]
    assert any("keep their addresses reserved: compute1" in w for w in third.warnings)

    write_config(
        tmp_path,
        {
            "compute_hosts": {
                "compute0": {"ip": "172.29.236.20"},
                "compute1": None,
                "compute9": {"ip": "172.29.236.29"},
            },
            "network-gateway_hosts": {"compute1": None},
        },
    )
    fourth = addresses(inv.generate(tmp_path))
    assert fourth["compute9"] == ("172.29.240.54", "172.29.244.57"), "compute1 keeps its own"

    freed = inv.remove_host(tmp_path, "compute1")
    assert freed == {"storage": "172.29.244.51", "tunnel": "172.29.240.51"}
    write_config(
        tmp_path,
        {
            "compute_hosts": {
                "compute0": {"ip": "172.29.236.20"},
                "compute1": None,
                "compute9": {"ip": "172.29.236.29"},
                "compute10": {"ip": "172.29.236.30"},
            },
            "network-gateway_hosts": {"compute1": None},
        },
    )
    fifth = addresses(inv.generate(tmp_path))
    assert fifth["compute10"] == ("172.29.240.51", "172.29.244.51"), "freed addresses are reused"
    for host in ("compute0", "compute2", "compute9", "infra1", "infra2", "infra3"):
        assert fifth[host] == fourth[host]


def test_first_allocation_does_not_depend_on_file_order(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    write_config(one)
    reordered = dict(reversed(list(deep_merge(BASE, {}).items())))
    (two / "openstack_user_config.yml").write_text(yaml.safe_dump(reordered, sort_keys=False))
    assert addresses(inv.generate(one)) == addresses(inv.generate(two))


def test_nothing_is_written_when_unchanged_or_without_write(tmp_path: Path) -> None:
    write_config(tmp_path)
    inv.generate(tmp_path, write=False)
    assert not (tmp_path / inv.STATE_FILE).exists()

    result = inv.generate(tmp_path)
    assert result.state_written
    path = tmp_path / inv.STATE_FILE
    before = path.stat().st_mtime_ns
    again = inv.generate(tmp_path)
    assert not again.state_written
    assert path.stat().st_mtime_ns == before
    assert not (tmp_path / inv.BACKUP_DIR).exists(), "no backup without a change"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_backups_keep_the_last_fifteen_versions(tmp_path: Path) -> None:
    previous = []
    for number in range(20):
        write_config(
            tmp_path,
            {"compute_hosts": {f"compute{100 + number}": {"ip": f"172.29.237.{number + 1}"}}},
        )
        if (tmp_path / inv.STATE_FILE).exists():
            previous.append((tmp_path / inv.STATE_FILE).read_text())
        assert inv.generate(tmp_path).state_written
    backups = sorted((tmp_path / inv.BACKUP_DIR).iterdir())
    assert len(backups) == inv.BACKUPS_KEPT
    assert [b.read_text() for b in backups] == previous[-inv.BACKUPS_KEPT :]


def test_damaged_state_names_the_newest_good_backup_and_is_not_touched(tmp_path: Path) -> None:
    write_config(tmp_path)
    inv.generate(tmp_path)
    write_config(tmp_path, {"compute_hosts": {"compute3": {"ip": "172.29.236.23"}}})
    inv.generate(tmp_path)
    newest = sorted((tmp_path / inv.BACKUP_DIR).iterdir())[-1]

    path = tmp_path / inv.STATE_FILE
    path.write_text('{"format": "nimbus.cloud/openstack_inventory", "hosts": {', encoding="utf-8")
    before = path.stat().st_mtime_ns
    with pytest.raises(inv.StateError) as caught:
        inv.generate(tmp_path)
    message = str(caught.value)
    assert f"{path} is damaged: it is not valid JSON (line 1" in message
    assert f"The newest good backup is {newest}" in message
    assert f"cp -p {newest} {path}" in message
    assert path.stat().st_mtime_ns == before
    assert len(list((tmp_path / inv.BACKUP_DIR).iterdir())) == 1

    # A damaged newest backup is skipped in favour of an older good one.
    newest.with_name("openstack_inventory-99999999T999999999999Z.json").write_text("garbage")
    with pytest.raises(inv.StateError) as again:
        inv.generate(tmp_path, write=False)
    assert f"The newest good backup is {newest}" in str(again.value)


def test_damaged_state_without_backup_says_how_to_start_over(tmp_path: Path) -> None:
    write_config(tmp_path)
    path = tmp_path / inv.STATE_FILE
    path.write_text(
        json.dumps(
            {
                "format": "nimbus.cloud/openstack_inventory",
                "version": 1,
                "hosts": {"a": {"addresses": {"tunnel": "x"}}},
            }
        )
    )
    with pytest.raises(inv.StateError) as caught:
        inv.generate(tmp_path)
    message = str(caught.value)
    assert "host 'a' has 'x' on 'tunnel', not an address" in message
    assert "There is no good backup" in message
    assert f"mv {path} {path}.damaged" in message


def test_openstack_ansible_inventory_file_is_recognised(tmp_path: Path) -> None:
    write_config(tmp_path)
    path = tmp_path / inv.STATE_FILE
    path.write_text(json.dumps({"_meta": {"hostvars": {}}, "all": {"vars": {}}}))
    with pytest.raises(inv.StateError) as caught:
        inv.generate(tmp_path)
    assert "OpenStack-Ansible inventory" in str(caught.value)
    assert f"mv {path} {path}.osa" in str(caught.value)


def test_address_that_became_reserved_moves_with_a_warning(tmp_path: Path) -> None:
    write_config(tmp_path)
    before = addresses(inv.generate(tmp_path))
    assert before["compute1"][0] == "172.29.240.51"
    write_config(tmp_path, {"used_ips": [*BASE["used_ips"], "172.29.240.51"]})
    result = inv.generate(tmp_path)
    after = addresses(result)
    assert after["compute1"][0] == "172.29.240.53"
    assert after["compute2"] == before["compute2"]
    assert any(
        "addresses on tunnel had to change for: compute1 (172.29.240.51" in w
        for w in result.warnings
    )


def test_lock_timeout_names_the_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path)
    monkeypatch.setattr(state_mod, "LOCK_TIMEOUT", 0.2)
    lock = tmp_path / state_mod.LOCK_FILE
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(inv.LockTimeoutError) as caught:
            inv.generate(tmp_path)
        assert str(lock) in str(caught.value)
        assert not (tmp_path / inv.STATE_FILE).exists()
    finally:
        os.close(fd)
    assert inv.generate(tmp_path).state_written


def _worker(directory: str, number: int) -> None:
    for round_ in range(5):
        inv.generate(directory)
        state = json.loads((Path(directory) / inv.STATE_FILE).read_text())
        assert state["format"] == "nimbus.cloud/openstack_inventory", (number, round_)


def test_concurrent_runs_leave_a_valid_state(tmp_path: Path) -> None:
    write_config(tmp_path)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_worker, args=(str(tmp_path), n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    final = json.loads((tmp_path / inv.STATE_FILE).read_text())
    assert sorted(final["hosts"]) == ["compute1", "compute2", "infra1", "infra2", "infra3"]


def test_remove_host_refuses_a_configured_or_unknown_host(tmp_path: Path) -> None:
    write_config(tmp_path)
    inv.generate(tmp_path)
    before = (tmp_path / inv.STATE_FILE).read_text()
    with pytest.raises(inv.InventoryError) as configured:
        inv.remove_host(tmp_path, "compute1")
    assert "still in the configuration (under compute_hosts, network_gateway_hosts)" in str(
        configured.value
    )
    with pytest.raises(inv.InventoryError) as unknown:
        inv.remove_host(tmp_path, "nosuchhost")
    assert "no host 'nosuchhost' is recorded" in str(unknown.value)
    assert (tmp_path / inv.STATE_FILE).read_text() == before


def test_read_only_user_can_read_a_recorded_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory import (  # noqa: PLC0415
        build,
    )

    write_config(tmp_path)
    recorded = addresses(inv.generate(tmp_path))

    def no_lock(config_dir: Path) -> None:
        raise inv.errors.LockUnavailableError(f"cannot create the lock file in {config_dir}")

    monkeypatch.setattr(build, "locked", no_lock)
    assert addresses(inv.generate(tmp_path)) == recorded
    write_config(tmp_path, {"compute_hosts": {"compute3": {"ip": "172.29.236.23"}}})
    with pytest.raises(inv.StateError) as caught:
        inv.generate(tmp_path)
    assert "new addresses must be recorded in" in str(caught.value)
    assert "cannot create the lock file" in str(caught.value)
