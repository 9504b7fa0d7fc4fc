"""The shipped skeleton (inventory/env.d) and the example configurations of etc/openstack_deploy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from inventory_helpers import REPO

from ansible_collections.nimbus.cloud.plugins.plugin_utils import inventory as inv
from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory.names import normalize_group
from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory.skeleton import (
    DEPLOYED_KEY,
    Skeleton,
    load_skeleton,
)

EXAMPLES = REPO / "etc" / "openstack_deploy"

# Groups issue 3 asks for by name.
ISSUE_GROUPS = [
    "galera_all", "rabbitmq_all", "memcached_all", "haproxy_all", "repo_all", "utility_all",
    "keystone_all", "glance_all", "placement_all", "nova_api_os_compute", "nova_api_metadata",
    "nova_conductor", "nova_scheduler", "nova_novncproxy", "nova_compute", "neutron_server",
    "neutron_ovn_northd", "neutron_ovn_controller", "neutron_ovn_gateway", "horizon_all",
    "nova_all", "neutron_all",
]  # fmt: skip

# Host groups of the issue, of OpenStack-Ansible's documentation, env.d and example files.
OSA_HOST_GROUPS = [
    "shared-infra_hosts", "repo-infra_hosts", "haproxy_hosts", "load_balancer_hosts",
    "identity_hosts", "image_hosts", "placement-infra_hosts", "compute-infra_hosts",
    "compute_hosts", "network-infra_hosts", "network-northd_hosts", "network-gateway_hosts",
    "dashboard_hosts", "storage-infra_hosts", "storage_hosts", "orchestration_hosts",
    "coordination_hosts", "key-manager_hosts", "dnsaas_hosts", "os-infra_hosts",
    "network_hosts", "network-agent_hosts", "log_hosts", "database_hosts", "mq_hosts",
    "memcaching_hosts", "operator_hosts", "metering-infra_hosts", "metering-alarm_hosts",
    "metering-compute_hosts", "metrics_hosts", "swift_hosts", "swift-proxy_hosts",
    "swift-remote_hosts", "ceph-mon_hosts", "ceph-osd_hosts", "ceph-rgw_hosts", "ceph-mds_hosts",
    "ceph-nfs_hosts", "ironic-infra_hosts", "ironic-server_hosts", "ironic-compute_hosts",
    "ironic-inspector_hosts", "magnum-infra_hosts", "manila-infra_hosts", "manila-data_hosts",
    "masakari-infra_hosts", "masakari-monitor_hosts", "octavia-infra_hosts", "trove-infra_hosts",
    "mistral-infra_hosts",
    "zun-infra_hosts", "zun-compute_hosts", "registration_hosts", "reservation_hosts",
    "mano_hosts", "cloudkitty_hosts", "skyline_dashboard_hosts", "unbound_hosts", "etcd_hosts",
    "kvm-compute_hosts", "qemu-compute_hosts", "cluster-api_hosts", "backup_infra_hosts",
]  # fmt: skip

# Projects OpenStack retired: no longer in the skeleton.
RETIRED_HOST_GROUPS = [
    "murano-infra_hosts", "sahara-infra_hosts", "senlin-infra_hosts", "event-infra_hosts",
    "policy_hosts", "oslomsg-rpc_hosts",
]  # fmt: skip

# Infrastructure the collection deploys (env.d nimbus_deployed), and the components of the
# deployed OpenStack services (group_vars/all/services.yml).
SERVICES = yaml.safe_load((REPO / "group_vars/all/services.yml").read_text())["nimbus_services"]
DEPLOYED = {"galera", "rabbitmq", "memcached", "utility", "haproxy", "pkg_repo"} | {
    component
    for entry in SERVICES.values()
    if entry["deployed"]
    for component in entry["components"]
}
NOT_DEPLOYED = {
    component
    for entry in SERVICES.values()
    if not entry["deployed"]
    for component in entry["components"]
}


@pytest.fixture(scope="module")
def skeleton() -> Skeleton:
    loaded, problems = load_skeleton(None)
    assert problems == []
    return loaded


def test_shipped_skeleton_has_every_group(skeleton: Skeleton) -> None:
    for group in ISSUE_GROUPS:
        assert group in skeleton.groups, group
    host_groups = set(skeleton.host_groups)
    for group in OSA_HOST_GROUPS:
        assert normalize_group(group) in host_groups, group
    for group in RETIRED_HOST_GROUPS:
        assert normalize_group(group) not in host_groups, group


def test_no_group_name_has_a_dash(skeleton: Skeleton) -> None:
    assert [name for name in skeleton.groups if "-" in name] == []


def test_every_component_says_whether_nimbus_deploys_it(skeleton: Skeleton) -> None:
    for name, entry in skeleton.components.items():
        assert isinstance(entry.get(DEPLOYED_KEY), bool), name
    deployed = {name for name, entry in skeleton.components.items() if entry[DEPLOYED_KEY]}
    assert deployed == DEPLOYED


def test_every_shipped_host_group_reaches_a_component(skeleton: Skeleton) -> None:
    for group in skeleton.host_groups:
        assert skeleton.components_of(group), group


def test_haproxy_and_load_balancer_hosts_are_aliases(skeleton: Skeleton) -> None:
    assert set(skeleton.components_of("haproxy_hosts")) == {"haproxy"}
    assert set(skeleton.components_of("load_balancer_hosts")) == {"haproxy"}


def _copy(example: str, directory: Path) -> Path:
    shutil.copy(EXAMPLES / example, directory / "openstack_user_config.yml")
    return directory


def test_multi_node_example_is_valid_and_uses_every_issue_host_group(tmp_path: Path) -> None:
    result = inv.generate(_copy("openstack_user_config.yml.example", tmp_path))
    used = {group for groups in result.host_groups.values() for group in groups}
    for group in OSA_HOST_GROUPS[:15]:
        if group != "load_balancer_hosts":
            assert normalize_group(group) in used, group
    for component in DEPLOYED:
        assert result.groups[component]["hosts"], component
    # The Cinder groups and those of services whose role has not landed warn.
    assert len([warning for warning in result.warnings if "cinder" in warning]) == 2
    _only_not_deployed_warn(result.warnings)


def _only_not_deployed_warn(warnings: list[str]) -> None:
    for warning in warnings:
        if "cinder" in warning:
            continue
        named = warning.split("deploys ", 1)[1].split(" yet", 1)[0].split(", ")
        assert set(named) <= NOT_DEPLOYED, warning


def test_aio_example_is_one_host_warned_only_about_services_not_deployed(tmp_path: Path) -> None:
    result = inv.generate(_copy("openstack_user_config.yml.aio", tmp_path))
    assert list(result.hostvars) == ["aio1"]
    _only_not_deployed_warn(result.warnings)
    assert bool(result.warnings) == bool(NOT_DEPLOYED)
    # Swift is optional: the all-in-one keeps Glance's file store and lists no swift host.
    for component in DEPLOYED - set(SERVICES["swift"]["components"]):
        assert result.groups[component]["hosts"] == ["aio1"], component


@pytest.mark.parametrize(
    "example", sorted(path.name for path in (EXAMPLES / "conf.d").glob("*.example"))
)
def test_conf_d_examples_merge_with_the_multi_node_example(example: str, tmp_path: Path) -> None:
    _copy("openstack_user_config.yml.example", tmp_path)
    (tmp_path / "conf.d").mkdir()
    shutil.copy(
        EXAMPLES / "conf.d" / example, tmp_path / "conf.d" / example.removesuffix(".example")
    )
    inv.generate(tmp_path)
