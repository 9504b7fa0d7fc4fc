"""Route collisions, NAT rules and the DNS forwarder's command line."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab import network
from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab.model import NETWORKS, LabError

CASES = yaml.safe_load((Path(__file__).parent / "data" / "route_cases.yml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_route_collisions(case):
    problems = network.route_collisions(NETWORKS, case["routes"], set(case["own"]))
    assert [p.split()[0] for p in problems] == case["collide"]
    for problem in problems:
        assert "ip route del" in problem


def test_collision_message_names_route_and_fix():
    routes = [{"dst": "172.29.236.0/24", "dev": "eth1"}]
    (problem,) = network.route_collisions(NETWORKS[:1], routes, set())
    assert problem.startswith(
        "br-mgmt needs 172.29.236.0/22, but this machine already routes 172.29.236.0/24 via eth1"
    )


def test_interface_conflicts():
    assert network.interface_conflicts(NETWORKS, {"lo", "br-mgmt"}, {"br-mgmt"}) == []
    (problem,) = network.interface_conflicts(NETWORKS, {"br-vxlan"}, set())
    assert "ip link del br-vxlan" in problem


def test_default_uplink():
    routes = [{"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"}]
    assert network.default_uplink(routes) == "eth0"
    with pytest.raises(LabError, match="no IPv4 default route"):
        network.default_uplink([])


def test_nat_rules_cover_every_lab_subnet():
    rules = network.nat_rules(NETWORKS, "eth0")
    nat = [r for r in rules if r.table == "nat"]
    assert [r.args[1] for r in nat] == [str(n.cidr) for n in NETWORKS]
    assert all(r.chain == "POSTROUTING" and r.args[-1] == "MASQUERADE" for r in nat)
    assert all("nimbus-lab" in r.args for r in rules)
    assert all(r.insert for r in rules if r.table == "filter")
    assert network.Rule.from_json(rules[1].to_json()) == rules[1]


def test_dnsmasq_is_bound_to_the_gateway_only():
    command = network.dnsmasq_command(
        ipaddress.IPv4Address("172.29.236.1"), "/run/x/dnsmasq.pid", "/var/lib/x/hosts"
    )
    assert "--listen-address=172.29.236.1" in command
    assert "--bind-interfaces" in command
    assert "--except-interface=lo" in command
    assert not any(arg.startswith("--dhcp") for arg in command)
    cmdline = "\0".join(["/usr/sbin/dnsmasq", *command[1:]]).encode() + b"\0"
    assert network.is_our_dnsmasq(cmdline, "/run/x/dnsmasq.pid")
    assert not network.is_our_dnsmasq(cmdline, "/run/other.pid")
    assert not network.is_our_dnsmasq(
        b"sleep\0--pid-file=/run/x/dnsmasq.pid\0", "/run/x/dnsmasq.pid"
    )


def test_hosts_text():
    text = network.hosts_text({"b": "172.29.236.2", "a": "172.29.236.3"})
    assert text.splitlines()[1:] == ["172.29.236.3 a", "172.29.236.2 b"]


def test_mounts_under_deepest_first():
    mountinfo = (
        "22 1 0:21 / /proc rw - proc proc rw\n"
        "90 1 0:50 / /var/cache/x/build/proc rw - proc proc rw\n"
        "91 90 0:51 / /var/cache/x/build/proc/sys/fs/binfmt_misc rw - binfmt binfmt rw\n"
        "92 1 0:52 / /var/cache/x/build-other rw - tmpfs tmpfs rw\n"
        "93 1 0:53 / /var/cache/x/build/my\\040dir rw - tmpfs tmpfs rw\n"
    )
    assert network.mounts_under(mountinfo, "/var/cache/x/build/") == [
        "/var/cache/x/build/proc/sys/fs/binfmt_misc",
        "/var/cache/x/build/my dir",
        "/var/cache/x/build/proc",
    ]
