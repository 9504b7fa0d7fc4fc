"""scripts/openstack-ansible-inventory: commands, output, exit codes (0 ok, 1 invalid, 2 usage)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
CLI = REPO / "scripts" / "openstack-ansible-inventory"
EXAMPLE = REPO / "etc" / "openstack_deploy" / "openstack_user_config.yml.example"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    directory = tmp_path / "openstack_deploy"
    directory.mkdir()
    shutil.copy(EXAMPLE, directory / "openstack_user_config.yml")
    return directory


def cli(
    *args: str, config: Path | None = None, program: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OSA_CONFIG_DIR"}
    if config is not None:
        env["OSA_CONFIG_DIR"] = str(config)
    return subprocess.run(
        [*(program or [sys.executable, str(CLI)]), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_ok_prints_warnings_and_writes_nothing(config: Path) -> None:
    result = cli("--check", config=config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "configuration ok"
    assert "warning: storage_infra_hosts (infra1, infra2, infra3)" in result.stderr
    assert not (config / "openstack_inventory.json").exists()


def test_check_lists_every_problem_and_exits_1(config: Path) -> None:
    path = config / "openstack_user_config.yml"
    text = path.read_text()
    text = text.replace("tunnel: 172.29.240.0/22", "tunnel: 172.29.240.1/22")
    text = text.replace("compute1:\n", "compute_1:\n", 1)
    text = text.replace(
        "internal_lb_vip_address: 172.29.236.9", "internal_lb_vip_address: 10.0.0.9"
    )
    path.write_text(text)
    result = cli("--check", "--config-dir", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("3 problems in the inventory configuration:")
    assert "cidr_networks.tunnel: '172.29.240.1/22' has host bits set" in result.stderr
    assert "compute_hosts.compute_1: host name 'compute_1' contains '_'" in result.stderr
    assert (
        "global_overrides.internal_lb_vip_address: 10.0.0.9 is not on the management network"
        in result.stderr
    )
    assert result.stderr.count("Fix: ") == 3
    assert result.stdout == ""


def test_yaml_error_exits_1_with_file_and_line(config: Path) -> None:
    (config / "conf.d").mkdir()
    (config / "conf.d" / "broken.yml").write_text("compute_hosts:\n  compute3: {ip: 1\n")
    result = cli("--check", config=config)
    assert result.returncode == 1
    assert f"{config / 'conf.d' / 'broken.yml'}:3: is not valid YAML" in result.stderr


@pytest.mark.parametrize("args", [[], ["bogus"], ["--check", "list-hosts"], ["show"]])
def test_usage_errors_exit_2(args: list[str], config: Path) -> None:
    result = cli(*args, config=config)
    assert result.returncode == 2
    assert "usage: openstack-ansible-inventory" in result.stderr


def test_list_hosts_table(config: Path) -> None:
    result = cli("list-hosts", config=config)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["HOST", "GROUPS", "MANAGEMENT", "OTHER", "ADDRESSES"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert list(rows) == ["infra1", "infra2", "infra3", "compute1", "compute2"]
    assert rows["compute1"][1:] == [
        "compute_hosts,network_gateway_hosts",
        "172.29.236.21",
        "tunnel=172.29.240.11",
        "storage=172.29.244.11",
    ]


def test_list_groups_and_all(config: Path) -> None:
    short = cli("list-groups", config=config)
    assert short.returncode == 0, short.stderr
    names = [line.split()[0] for line in short.stdout.splitlines()[2:]]
    assert "galera_all" in names
    assert "heat_all" not in names
    galera = next(line for line in short.stdout.splitlines() if line.startswith("galera_all "))
    assert galera.split() == ["galera_all", "3", "galera"]
    full = cli("list-groups", "--all", config=config)
    assert "heat_all " in full.stdout


def test_show_host_and_unknown_host(config: Path) -> None:
    result = cli("show", "compute2", config=config)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["host_groups"] == ["compute_hosts", "network_gateway_hosts"]
    assert "nova_compute" in shown["groups"]
    assert "neutron_ovn_gateway" in shown["groups"]
    assert shown["hostvars"]["nova_cpu_allocation_ratio"] == 4.0
    missing = cli("show", "compute9", config=config)
    assert missing.returncode == 1
    assert "no host 'compute9'" in missing.stderr


def test_export_records_state_and_remove_host_frees_addresses(config: Path) -> None:
    exported = cli("export", config=config)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["_meta"]["hostvars"]["compute2"]["tunnel_address"] == "172.29.240.12"
    assert (config / "openstack_inventory.json").exists()

    refused = cli("remove-host", "compute2", config=config)
    assert refused.returncode == 1
    assert "still in the configuration" in refused.stderr

    path = config / "openstack_user_config.yml"
    text = path.read_text().replace(
        "  compute2:\n    ip: 172.29.236.22\n    host_vars:\n"
        "      # any variable, for this host only\n"
        "      nova_cpu_allocation_ratio: 4.0\n",
        "",
    )
    path.write_text(text)
    kept = cli("--check", config=config)
    assert "keep their addresses reserved: compute2" in kept.stderr
    removed = cli("remove-host", "compute2", config=config)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == (
        "removed compute2 from the inventory state; "
        "freed storage 172.29.244.12, tunnel 172.29.240.12"
    )
    again = cli("remove-host", "compute2", config=config)
    assert again.returncode == 1
    assert "no host 'compute2' is recorded" in again.stderr


def test_runs_through_a_symlink_on_path(config: Path, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "openstack-ansible-inventory").symlink_to(CLI)
    result = cli("--check", config=config, program=[str(bindir / "openstack-ansible-inventory")])
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout
