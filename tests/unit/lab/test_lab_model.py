"""Scenario files -> validated scenarios (data-driven), and the shipped scenarios."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab import model

DATA = Path(__file__).parent / "data"
SCENARIOS = Path(__file__).resolve().parents[2] / "lab" / "scenarios"
CASES = yaml.safe_load((DATA / "scenario_cases.yml").read_text())
ALL_GROUPS = {
    "shared-infra_hosts",
    "repo-infra_hosts",
    "haproxy_hosts",
    "identity_hosts",
    "image_hosts",
    "placement-infra_hosts",
    "compute-infra_hosts",
    "compute_hosts",
    "network-infra_hosts",
    "network-northd_hosts",
    "network-gateway_hosts",
    "dashboard_hosts",
}
# Swift (dev1 and the ha infra hosts): proxies and storage.
SWIFT_GROUPS = {"swift-proxy_hosts", "swift_hosts"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_parse_scenario(case):
    if case.get("ok"):
        scenario = model.parse_scenario("case", case["scenario"], "case.yml")
        assert scenario.hosts[0].mgmt_address in model.MGMT.cidr
        return
    with pytest.raises(model.ScenarioError) as exc:
        model.parse_scenario("case", case["scenario"], "case.yml")
    assert str(exc.value).startswith("case.yml: ")
    assert case["error"] in str(exc.value)


def shipped():
    return {p.stem: model.load_scenario(p) for p in sorted(SCENARIOS.glob("*.yml"))}


def test_shipped_scenarios_load():
    assert set(shipped()) >= {"aio", "ha", "dev1", "dev2", "dev3", "dev4", "dev6"}


def test_shipped_scenarios_can_run_together():
    scenarios = shipped()
    for one, other in itertools.combinations(scenarios.values(), 2):
        existing = {other.name: model.claims(other)}
        assert model.claim_conflicts(one.name, model.claims(one), existing) == []


def test_aio_and_dev_hosts_are_in_every_group_with_devices():
    scenarios = shipped()
    for name in ("aio", "dev1", "dev2", "dev3", "dev4", "dev6", "molecule"):
        (host,) = scenarios[name].hosts
        assert set(host.groups) - SWIFT_GROUPS == ALL_GROUPS
        assert host.devices == ("kvm", "tun")
        assert scenarios[name].bridges == ("br-mgmt", "br-vxlan", "br-storage", "br-vlan")
        assert list(host.addresses) == ["br-mgmt"], "the inventory allocates the others"
    assert scenarios["aio"].hosts[0].name == "aio1"


def test_ha_layout():
    ha = shipped()["ha"]
    names = [h.name for h in ha.hosts]
    assert names == ["infra1", "infra2", "infra3", "compute1", "compute2"]
    for host in ha.hosts[:3]:
        assert set(host.groups) == (ALL_GROUPS - {"compute_hosts"}) | SWIFT_GROUPS
    for host in ha.hosts[3:]:
        assert host.groups == ("compute_hosts",)
        assert "kvm" in host.devices


def test_swift_on_dev1_and_on_the_three_ha_infra_hosts_in_three_zones():
    scenarios = shipped()
    assert "swift_hosts" not in scenarios["aio"].hosts[0].groups, "aio keeps the file store"
    (dev1,) = scenarios["dev1"].hosts
    assert set(dev1.groups) >= SWIFT_GROUPS
    assert scenarios["dev1"].swift["repl_number"] == 1
    ha = scenarios["ha"]
    assert ha.swift["repl_number"] == 3
    assert sorted(h.swift_vars["zone"] for h in ha.hosts if "swift_hosts" in h.groups) == [1, 2, 3]
    for scenario in ("dev1", "ha"):
        assert scenarios[scenario].user_variables["swift_mount_check"] is False


def test_lab_facts_in_every_scenario():
    for scenario in shipped().values():
        assert scenario.user_variables["ovn_ovs_datapath_type"] == "netdev"
        assert scenario.user_variables["nova_libvirt_cpu_model"] == "kvm64"


def test_conflicts_name_both_scenarios():
    problems = model.claim_conflicts(
        "new",
        {"names": ["aio1"], "addresses": ["172.29.236.100"]},
        {"aio": {"names": ["aio1"], "addresses": ["172.29.236.100"]}},
    )
    assert len(problems) == 2
    assert "host name aio1 of scenario 'new' is in use by the running scenario 'aio'" in problems[0]


def test_unknown_scenario_lists_known(tmp_path):
    (tmp_path / "one.yml").write_text("{}")
    with pytest.raises(model.ScenarioError, match="known scenarios: one"):
        model.scenario_path("two", tmp_path)


def test_yaml_error_names_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("hosts:\n  a: [\n")
    with pytest.raises(model.ScenarioError, match=r"bad.yml: line \d+: not valid YAML"):
        model.load_scenario(path)


def test_aio_and_ha_share_the_day_one_resources():
    scenarios = shipped()
    for name in ("openstack_user_identity", "openstack_user_compute", "openstack_user_network"):
        assert scenarios["aio"].user_variables[name] == scenarios["ha"].user_variables[name]
    assert "openstack_user_image" in scenarios["aio"].user_variables
    assert "openstack_user_image" not in scenarios["ha"].user_variables


SCENARIO = "hosts:\n  h1: {addresses: {br-mgmt: 172.29.236.200}, groups: [a_hosts]}\n"
SCENARIO += "vips: {internal: 172.29.236.201, external: 172.29.236.202}\n"


def test_user_variables_files_add_to_the_scenario_whose_own_win(tmp_path):
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "shared.yml").write_text("a: shared\nb: shared\n")
    path = tmp_path / "one.yml"
    path.write_text(
        SCENARIO + "user_variables_files: [common/shared.yml]\nuser_variables: {b: own}\n"
    )
    assert model.load_scenario(path).user_variables == {"a": "shared", "b": "own"}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ("common/missing.yml", "expected a list of file names"),
        ("[common/missing.yml]", r"user_variables_files: cannot read .*missing.yml"),
        ("[list.yml]", r"user_variables_files: .*list.yml is not a mapping"),
    ],
)
def test_user_variables_files_errors_name_the_key(tmp_path, files, message):
    (tmp_path / "list.yml").write_text("- a\n")
    path = tmp_path / "one.yml"
    path.write_text(SCENARIO + f"user_variables_files: {files}\n")
    with pytest.raises(model.ScenarioError, match=message):
        model.load_scenario(path)
