"""The nimbus.cloud.openstack_deploy inventory plugin, through Ansible itself.

``ansible-inventory --list`` must give the same groups and hostvars as the CLI's ``export``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
ANSIBLE_INVENTORY = BIN / "ansible-inventory"
CLI = REPO / "scripts" / "openstack-ansible-inventory"
EXAMPLE = REPO / "etc" / "openstack_deploy" / "openstack_user_config.yml.example"

pytestmark = pytest.mark.skipif(not ANSIBLE_INVENTORY.exists(), reason="ansible-core not installed")


def environment(tmp_path: Path, config_dir: Path | None) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "OSA_"))
    }
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true",
    )
    if config_dir is not None:
        env["OSA_CONFIG_DIR"] = str(config_dir)
    return env


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "openstack_deploy"
    config.mkdir()
    shutil.copy(EXAMPLE, config / "openstack_user_config.yml")
    source_dir = tmp_path / "inventory"
    source_dir.mkdir()
    shutil.copy(REPO / "inventory" / "openstack_deploy.yml", source_dir / "openstack_deploy.yml")
    return config, source_dir / "openstack_deploy.yml"


def run(
    args: list[str], tmp_path: Path, config_dir: Path | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=tmp_path,
        env=environment(tmp_path, config_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def normalized(document: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"hostvars": document["_meta"]["hostvars"]}
    for name, entry in document.items():
        if name == "_meta":
            continue
        result[name] = {
            key: sorted(value) if isinstance(value, list) else value for key, value in entry.items()
        }
    return result


def test_ansible_inventory_list_equals_cli_export(
    deployment: tuple[Path, Path], tmp_path: Path
) -> None:
    config, source = deployment
    listed = run(
        [str(ANSIBLE_INVENTORY), "-i", str(source), "--list", "--export"], tmp_path, config
    )
    assert listed.returncode == 0, listed.stderr
    exported = run([sys.executable, str(CLI), "export"], tmp_path, config)
    assert exported.returncode == 0, exported.stderr
    plugin, cli = json.loads(listed.stdout), json.loads(exported.stdout)
    assert normalized(plugin) == normalized(cli)
    assert plugin["galera_all"] == {"children": ["galera"]}
    assert sorted(plugin["galera"]["hosts"]) == ["infra1", "infra2", "infra3"]
    assert "no Nimbus role deploys cinder_api" in listed.stderr


def test_ansible_inventory_list_merges_all_vars_into_hostvars(
    deployment: tuple[Path, Path], tmp_path: Path
) -> None:
    config, source = deployment
    listed = run([str(ANSIBLE_INVENTORY), "-i", str(source), "--list"], tmp_path, config)
    assert listed.returncode == 0, listed.stderr
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]["compute1"]
    assert hostvars["internal_lb_vip_address"] == "172.29.236.9"
    assert hostvars["tunnel_address"] == "172.29.240.11"
    assert hostvars["container_networks"]["container_address"]["address"] == "172.29.236.21"
    warnings = hostvars["nimbus_inventory_warnings"]
    assert len([warning for warning in warnings if "cinder" in warning]) == 2
    assert all("cinder" in warning or "no Nimbus role deploys" in warning for warning in warnings)


def test_templates_in_configuration_are_rendered(
    deployment: tuple[Path, Path], tmp_path: Path
) -> None:
    config, source = deployment
    result = run(
        [
            str(BIN / "ansible"),
            "infra1",
            "-i",
            str(source),
            "-m",
            "ansible.builtin.debug",
            "-a",
            "var=cinder_backends.lvm.iscsi_ip_address",
        ],
        tmp_path,
        config,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"cinder_backends.lvm.iscsi_ip_address": "172.29.244.13"' in result.stdout


def test_config_dir_option_in_the_source_file(
    deployment: tuple[Path, Path], tmp_path: Path
) -> None:
    config, source = deployment
    source.write_text(f"---\nplugin: nimbus.cloud.openstack_deploy\nconfig_dir: {config}\n")
    listed = run(
        [str(ANSIBLE_INVENTORY), "-i", str(source), "--graph", "nova_compute"], tmp_path, None
    )
    assert listed.returncode == 0, listed.stderr
    assert "compute1" in listed.stdout
    assert "compute2" in listed.stdout


def test_invalid_configuration_fails_with_the_same_message(
    deployment: tuple[Path, Path], tmp_path: Path
) -> None:
    config, source = deployment
    path = config / "openstack_user_config.yml"
    path.write_text(path.read_text().replace("compute_hosts:", "comptue_hosts:"))
    listed = run([str(ANSIBLE_INVENTORY), "-i", str(source), "--list"], tmp_path, config)
    assert listed.returncode != 0
    flat = " ".join(listed.stderr.split())
    assert "comptue_hosts: no service skeleton defines the host group 'comptue_hosts'." in flat
    assert "Did you mean 'compute_hosts'?" in flat
    assert str(path) in flat
    checked = run([sys.executable, str(CLI), "--check"], tmp_path, config)
    assert checked.returncode == 1
    assert "Did you mean 'compute_hosts'?" in checked.stderr
    assert not (config / "openstack_inventory.json").exists()


# Ansible's collection loader must be set up before anything of the collection is imported, so
# the in-process checks run in a fresh interpreter (other tests import the collection directly).
IN_PROCESS = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible_collections.nimbus.cloud.plugins.inventory.openstack_deploy import InventoryModule

manager = InventoryManager(loader=DataLoader(), sources=[sys.argv[2]])
host = manager.get_host("compute2")
plugin = InventoryModule()
print(json.dumps({
    "nova_compute": sorted(h.name for h in manager.get_hosts("nova_compute")),
    "groups": sorted(manager.get_groups_dict()),
    "northd": sorted(manager.get_groups_dict()["neutron_ovn_northd"]),
    "vars": {k: host.vars[k] for k in ("physical_host", "is_metal", "nova_cpu_allocation_ratio")},
    "verify": [plugin.verify_file(p) for p in sys.argv[3:]],
}))
"""


def test_in_process_inventory_manager_and_verify_file(
    deployment: tuple[Path, Path], tmp_path: Path
) -> None:
    config, source = deployment
    candidates = []
    for name in ("openstack_deploy.yml", "site.openstack_deploy.yaml", "hosts.yml"):
        path = tmp_path / name
        path.write_text("plugin: nimbus.cloud.openstack_deploy\n")
        candidates.append(str(path))
    result = run(
        [sys.executable, "-c", IN_PROCESS, str(REPO / ".build"), str(source), *candidates],
        tmp_path,
        config,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["nova_compute"] == ["compute1", "compute2"]
    assert found["northd"] == ["infra1", "infra2", "infra3"]
    assert not [name for name in found["groups"] if "-" in name]
    assert found["vars"] == {
        "physical_host": "compute2",
        "is_metal": True,
        "nova_cpu_allocation_ratio": 4.0,
    }
    assert found["verify"] == [True, True, False]
