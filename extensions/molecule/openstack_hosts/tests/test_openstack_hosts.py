"""What openstack_hosts leaves on a host (Molecule scenario openstack_hosts; the gate runs the
same module over every host of a deployment: the group ``hosts``)."""

from __future__ import annotations

import pytest

testinfra_hosts = ["hosts"]

SYSCTL_FILE = "/etc/sysctl.d/60-nimbus-openstack-hosts.conf"
PACKAGES = [
    "acl",
    "ca-certificates",
    "chrony",
    "curl",
    "iproute2",
    "iptables",
    "iputils-ping",
    "kmod",
    "lsof",
    "procps",
    "python3",
    "python3-apt",
    "python3-venv",
    "rsync",
    "tcpdump",
]


@pytest.fixture(scope="module")
def variables(host) -> dict:
    return host.ansible.get_variables()


def test_base_packages_installed(host):
    missing = [name for name in PACKAGES if not host.package(name).is_installed]
    assert missing == []


def test_apt_sources(host):
    f = host.file("/etc/apt/sources.list.d/debian.sources")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)
    text = f.content_string
    assert "Suites: trixie trixie-updates" in text
    assert "Suites: trixie-security" in text
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in text


def test_chrony_running_and_enabled(host):
    service = host.service("chrony")
    assert service.is_running
    assert service.is_enabled
    conf = host.file("/etc/chrony/chrony.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", "_chrony", 0o640)


def test_chrony_answers_its_client(host):
    """chronyd runs with its configuration and answers chronyc (whether the NTP sources are
    reachable depends on the network: the lab's is not)."""
    assert "Reference ID" in host.check_output("chronyc -n tracking")
    conf = host.file("/etc/chrony/chrony.conf").content_string.splitlines()
    assert any(line.startswith(("pool ", "server ")) for line in conf), "no NTP source configured"


def test_every_host_of_the_deployment_resolves_to_its_management_address(host, variables):
    """/etc/hosts: every host of the deployment, this one too (no 127.0.1.1 line for it)."""
    for name in sorted(set(variables["groups"]["hosts"])):
        other = host.get_host(f"ansible://{name}", ansible_inventory=host.backend.ansible_inventory)
        address = other.ansible.get_variables()["management_address"]
        resolved = host.check_output("getent ahostsv4 %s", name).split()[0]
        assert resolved == address, f"{name} resolves to {resolved}, not {address}"
    assert "127.0.1.1" not in host.file("/etc/hosts").content_string


def test_pip_trusts_the_system_ca_bundle(host):
    f = host.file("/etc/pip.conf")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)
    lines = [line.replace(" ", "") for line in f.content_string.splitlines()]
    assert "cert=/etc/ssl/certs/ca-certificates.crt" in lines


def test_kernel_parameters_of_the_file_are_in_force(host):
    """Every parameter the role wrote (those this host may set) has its value now."""
    f = host.file(SYSCTL_FILE)
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)
    wanted = dict(
        (part.strip() for part in line.split("=", 1))
        for line in f.content_string.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    assert wanted, f"{SYSCTL_FILE} sets nothing"
    out = host.check_output("sysctl " + " ".join(sorted(wanted)))
    running = dict((part.strip() for part in line.split("=", 1)) for line in out.splitlines())
    differ = {k: (v, running.get(k)) for k, v in wanted.items() if running.get(k) != v}
    assert differ == {}, "file value, running value"
