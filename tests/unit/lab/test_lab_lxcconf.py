"""One lab host's LXC config and seeded files."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab import lxcconf
from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab.model import Host
from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab.osaconfig import Nic

A = ipaddress.IPv4Address
HOST = Host(
    "aio1",
    {"br-mgmt": A("172.29.236.100")},
    ("kvm", "tun"),
    ("identity_hosts",),
    ("lxc.environment = LAB=1",),
)
NICS = [
    Nic("br-mgmt", "br-mgmt", A("172.29.236.100"), A("172.29.236.100")),
    Nic("br-vxlan", "br-vxlan", A("172.29.240.100"), A("172.29.240.100")),
    Nic("br-vlan", "eth12", None, A("172.29.248.100")),
]
CACHES = lxcconf.Caches("/var/cache/lab/apt-archives", "/var/cache/lab/pip")


def config(caches=CACHES):
    return lxcconf.container_config(
        HOST,
        NICS,
        "aio",
        "overlay:/base:/var/lib/lxc/aio1/delta0",
        caches=caches,
        common_conf="/common.conf",
    ).splitlines()


def test_networks_static_with_gateway_on_mgmt_only():
    lines = config()
    assert "lxc.net.0.link = br-mgmt" in lines
    assert "lxc.net.0.name = br-mgmt" in lines
    assert "lxc.net.0.ipv4.address = 172.29.236.100/22 172.29.239.255" in lines
    assert "lxc.net.0.ipv4.gateway = 172.29.236.1" in lines
    assert "lxc.net.0.veth.pair = lab236-100" in lines
    assert "lxc.net.1.ipv4.address = 172.29.240.100/22 172.29.243.255" in lines
    assert not any(line.startswith("lxc.net.1.ipv4.gateway") for line in lines)
    assert "lxc.net.0.hwaddr = 02:4e:ac:1d:ec:64" in lines


def test_provider_network_nic_has_no_address():
    lines = config()
    assert "lxc.net.2.link = br-vlan" in lines
    assert "lxc.net.2.name = eth12" in lines
    assert "lxc.net.2.veth.pair = lab248-100" in lines
    assert "lxc.net.2.hwaddr = 02:4e:ac:1d:f8:64" in lines
    assert not any(line.startswith("lxc.net.2.ipv4") for line in lines)


def test_devices_allowed_and_bound():
    lines = config()
    for major_minor, path in (("10:232", "/dev/kvm"), ("10:200", "/dev/net/tun")):
        assert f"lxc.cgroup.devices.allow = c {major_minor} rwm" in lines
        assert f"lxc.cgroup2.devices.allow = c {major_minor} rwm" in lines
        assert f"lxc.mount.entry = {path} {path[1:]} none bind,create=file,optional 0 0" in lines


def test_caches_are_optional_bind_mounts():
    lines = config()
    assert (
        "lxc.mount.entry = /var/cache/lab/apt-archives/aio1 var/cache/apt/archives"
        " none bind,create=dir,optional 0 0"
    ) in lines
    assert any("root/.cache/pip" in line for line in lines)
    assert not any(".cache/pip" in line or "archives" in line for line in config(None))


def test_base_settings_and_extra_lines():
    lines = config()
    assert lines[2] == "lxc.include = /common.conf"
    assert "lxc.rootfs.path = overlay:/base:/var/lib/lxc/aio1/delta0" in lines
    assert "lxc.apparmor.profile = unconfined" in lines
    assert lines[-1] == "lxc.environment = LAB=1"


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("overlay", "overlay:/base:/var/lib/lxc/h/delta0"),
        ("copy", "dir:/var/lib/lxc/h/rootfs"),
    ],
)
def test_rootfs_spec(method, expected):
    assert lxcconf.rootfs_spec("/base", "/var/lib/lxc/h", method) == expected


def test_rootfs_spec_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown clone method"):
        lxcconf.rootfs_spec("/base", "/x", "zfs")


def test_host_files():
    files = lxcconf.host_files(HOST, "ssh-ed25519 AAAA deploy\n", "0" * 32)
    assert files["etc/hostname"] == ("aio1\n", 0o644)
    assert "172.29.236.100\taio1" in files["etc/hosts"][0]
    assert files["root/.ssh/authorized_keys"] == ("ssh-ed25519 AAAA deploy\n", 0o600)
    assert files["etc/machine-id"][0] == "0" * 32 + "\n"


def test_parent_dirs():
    assert lxcconf.parent_dirs("root/.ssh/authorized_keys") == ["root", "root/.ssh"]
    assert lxcconf.parent_dirs("etc/hostname") == ["etc"]
