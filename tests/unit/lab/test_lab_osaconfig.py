"""The configuration directory a scenario writes: OSA formats, lab facts, inventory."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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


def test_mgmt_only_scenario_has_only_the_container_network():
    only_mgmt = model.parse_scenario(
        "x",
        {
            "vips": {"internal": "172.29.236.150", "external": "172.29.236.150"},
            "hosts": {"h": {"addresses": {"br-mgmt": "172.29.236.151"}, "groups": ["a_hosts"]}},
        },
        "x.yml",
    )
    config = osaconfig.user_config(only_mgmt)
    assert list(config["cidr_networks"]) == ["container"]
    assert len(config["global_overrides"]["provider_networks"]) == 1


def test_user_variables_name_the_lab_facts():
    text = osaconfig.user_variables_text(scenario("aio"))
    assert "# Lab facts" in text
    assert "#   - nova_libvirt_cpu_model" in text
    assert yaml.safe_load(text) == {
        "neutron_ovs_datapath_type": "netdev",
        "nova_libvirt_cpu_mode": "custom",
        "nova_libvirt_cpu_model": "kvm64",
    }


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
