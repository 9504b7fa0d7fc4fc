"""The configuration directory a scenario writes: OSA formats, lab facts, inventory."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils import inventory
from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab import model, osaconfig

DATA = Path(__file__).parent / "data"
SCENARIOS = Path(__file__).resolve().parents[2] / "lab" / "scenarios"
PLAN_CASES = yaml.safe_load((DATA / "config_plan_cases.yml").read_text())


def scenario(name):
    return model.load_scenario(SCENARIOS / f"{name}.yml")


def test_aio_user_config_matches_expected():
    expected = yaml.safe_load((DATA / "aio_user_config.yml").read_text())
    text = osaconfig.user_config_text(scenario("aio"))
    assert text.startswith("---\n# Lab scenario 'aio'")
    assert yaml.safe_load(text) == expected


def test_ha_groups():
    config = osaconfig.user_config(scenario("ha"))
    assert list(config["compute_hosts"]) == ["compute1", "compute2"]
    assert config["shared-infra_hosts"] == {
        "infra1": {"ip": "172.29.236.111"},
        "infra2": {"ip": "172.29.236.112"},
        "infra3": {"ip": "172.29.236.113"},
    }
    assert config["global_overrides"]["internal_lb_vip_address"] == "172.29.236.109"


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ([246], ["172.29.240.1,172.29.240.245", "172.29.240.247,172.29.243.254"]),
        (
            [121, 111, 112],
            [
                "172.29.240.1,172.29.240.110",
                "172.29.240.113,172.29.240.120",
                "172.29.240.122,172.29.243.254",
            ],
        ),
        ([1], ["172.29.240.2,172.29.243.254"]),
        ([2], ["172.29.240.1", "172.29.240.3,172.29.243.254"]),
    ],
)
def test_slot_reservations_leave_only_the_scenarios_slots(slots, expected):
    assert osaconfig.slot_reservations(model.NETWORKS_BY_BRIDGE["br-vxlan"], slots) == expected


def test_provider_network_on_br_vlan():
    config = osaconfig.user_config(scenario("dev6"))
    (vlan,) = [
        item["network"]
        for item in config["global_overrides"]["provider_networks"]
        if item["network"]["container_bridge"] == "br-vlan"
    ]
    assert vlan["net_name"] == "physnet1"
    assert vlan["range"] == "101:200,301:400"
    assert "ip_from_q" not in vlan, "hosts get no address on the provider network"
    assert "provider" not in config["cidr_networks"]


def _inventory(name, tmp_path):
    """The real inventory (its pure code) on the configuration a scenario writes."""
    chosen = scenario(name)
    for file, text in osaconfig.generated_files(chosen).items():
        (tmp_path / file).write_text(text)
    export = inventory.generate(tmp_path, write=True).export()
    return chosen, osaconfig.user_config(chosen), export


@pytest.mark.parametrize("name", ["aio", "ha", "dev6"])
def test_hosts_get_the_inventorys_addresses_in_their_slots(name, tmp_path):
    chosen, config, export = _inventory(name, tmp_path)
    nics = osaconfig.host_nics(chosen, config, export)
    slots = {host.slot for host in chosen.hosts}
    hostvars = export["_meta"]["hostvars"]
    for host in chosen.hosts:
        by_bridge = {nic.bridge: nic for nic in nics[host.name]}
        assert list(by_bridge) == ["br-mgmt", "br-vxlan", "br-storage", "br-vlan"]
        tunnel = by_bridge["br-vxlan"].address
        assert str(tunnel) == hostvars[host.name]["tunnel_address"]
        assert int(tunnel) - int(model.NETWORKS_BY_BRIDGE["br-vxlan"].cidr.network_address) in slots
        assert by_bridge["br-vlan"].name == "eth12"
        assert by_bridge["br-vlan"].address is None
    state = (tmp_path / "openstack_inventory.json").read_text()
    assert all(str(nic.address) in state for n in nics.values() for nic in n[1:3])


def test_dev6_addresses(tmp_path):
    chosen, config, export = _inventory("dev6", tmp_path)
    nics = next(iter(osaconfig.host_nics(chosen, config, export).values()))
    assert [str(nic.address) for nic in nics] == [
        "172.29.236.246",
        "172.29.240.246",
        "172.29.244.246",
        "None",
    ]


def test_an_address_outside_the_slots_is_refused(tmp_path):
    chosen, config, export = _inventory("dev6", tmp_path)
    export["_meta"]["hostvars"]["dev6"]["container_networks"]["tunnel_address"]["address"] = (
        "172.29.240.51"
    )
    with pytest.raises(model.LabError, match=r"gave dev6 172\.29\.240\.51 on br-vxlan, outside"):
        osaconfig.host_nics(chosen, config, export)


def test_provider_network_nic_only_for_its_group_binds(tmp_path):
    chosen, config, export = _inventory("dev6", tmp_path)
    export["neutron_ovn_controller"]["hosts"] = []
    nics = next(iter(osaconfig.host_nics(chosen, config, export).values()))
    assert [nic.bridge for nic in nics] == ["br-mgmt", "br-vxlan", "br-storage"]


def test_user_variables_name_the_lab_facts():
    text = osaconfig.user_variables_text(scenario("aio"))
    assert "# Lab facts" in text
    assert "#   - nova_libvirt_cpu_model" in text
    values = yaml.safe_load(text)
    assert {name: values[name] for name in list(values)[:3]} == {
        "ovn_ovs_datapath_type": "netdev",
        "nova_libvirt_cpu_mode": "custom",
        "nova_libvirt_cpu_model": "kvm64",
    }
    # The day-one resources of the aio (openstack-resources.yml): the demo project, the test image.
    assert values["openstack_user_identity"]["projects"][0]["name"] == "demo"
    assert values["openstack_user_image"]["images"][0]["file"].endswith("nimbus-test-image.qcow2")


def test_inventory():
    lines = osaconfig.inventory_text(scenario("ha")).splitlines()
    assert "[ha]" in lines
    assert "compute2 ansible_host=172.29.236.122 ansible_user=root" in lines
    assert "ansible_python_interpreter=/usr/bin/python3" in lines


def test_known_hosts_line():
    line = osaconfig.known_hosts_line("aio1", "172.29.236.100", "ssh-ed25519 AAAAkey root@aio1\n")
    assert line == "aio1,172.29.236.100 ssh-ed25519 AAAAkey"


def _digests(marker):
    if marker is None:
        return None
    files = {k: osaconfig.digest(v["digest-of"]) for k, v in marker["files"].items()}
    return {"scenario": marker["scenario"], "files": files}


@pytest.mark.parametrize("case", PLAN_CASES, ids=[c["id"] for c in PLAN_CASES])
def test_plan_config_files(case):
    wanted = {"a.yml": "A", "b.yml": "B"}
    args = (wanted, case["current"], _digests(case["marker"]), "aio", case.get("force", False))
    if "error" in case:
        with pytest.raises(FileExistsError, match=case["error"]):
            osaconfig.plan_config_files(*args)
        return
    to_write, notes, marker = osaconfig.plan_config_files(*args)
    assert sorted(to_write) == case["write"]
    assert notes == case.get("notes", [])
    assert marker["scenario"] == "aio"
    for name in to_write:
        assert marker["files"][name] == osaconfig.digest(wanted[name])


def test_plan_is_stable_after_writing():
    wanted = osaconfig.generated_files(scenario("dev1"))
    current = dict.fromkeys(wanted)
    to_write, notes, marker = osaconfig.plan_config_files(wanted, current, None, "dev1", False)
    assert notes == []
    again = osaconfig.plan_config_files(wanted, dict(to_write), marker, "dev1", False)
    assert again == ({}, [], marker)


def one_host_scenario(name, first, groups, host=None, **extra):
    """A scenario NAME with VIPs .FIRST and .FIRST+1 and one host NAME1 at .FIRST+2 of the
    management network, in GROUPS (HOST: more host keys; EXTRA: more scenario keys)."""
    net = "172.29.236."
    data = {
        "vips": {"internal": f"{net}{first}", "external": f"{net}{first + 1}"},
        "hosts": {
            f"{name}1": {
                "addresses": {"br-mgmt": f"{net}{first + 2}"},
                "groups": groups,
                **(host or {}),
            }
        },
        **extra,
    }
    return model.parse_scenario(name, data, f"{name}.yml")


def test_swift_section_and_swift_vars_reach_the_user_config():
    scenario = one_host_scenario(
        "s",
        150,
        ["swift_hosts", "swift-proxy_hosts"],
        host={"swift_vars": {"zone": 2}},
        swift={"part_power": 8, "drives": [{"name": "swift1"}]},
    )
    config = osaconfig.user_config(scenario)
    assert config["global_overrides"]["swift"] == {"part_power": 8, "drives": [{"name": "swift1"}]}
    assert config["swift_hosts"]["s1"] == {
        "ip": "172.29.236.152",
        "container_vars": {"swift_vars": {"zone": 2}},
    }
    assert config["swift-proxy_hosts"]["s1"] == {"ip": "172.29.236.152"}


def test_user_variables_of_a_scenario_without_any_are_an_empty_mapping():
    # Ansible refuses an extra-vars file that is not a mapping (the wrapper passes it with -e @).
    bare = one_host_scenario("bare", 190, ["shared-infra_hosts"])
    assert yaml.safe_load(osaconfig.user_variables_text(bare)) == {}
