"""What pki leaves on a host and on the deployment host (Molecule scenario pki; the gate runs
the same module over every host of a deployment: the group ``hosts``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

testinfra_hosts = ["hosts"]

DEST = "/etc/nimbus/pki"
CA = f"{DEST}/ca.pem"
CERT = f"{DEST}/server.pem"
CHAIN = f"{DEST}/server-chain.pem"
KEY = f"{DEST}/server.key"
TRUSTED = "/usr/local/share/ca-certificates/nimbus-ca.crt"
RENEW_DAYS = 30  # pki_renew_days: a certificate closer to its end is re-issued by the next run


@pytest.fixture
def variables(host) -> dict:
    return host.ansible.get_variables()


@pytest.mark.parametrize("package", ["ca-certificates", "openssl"])
def test_package_installed(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize(
    ("path", "mode"),
    [(DEST, 0o755), (CA, 0o644), (CERT, 0o644), (CHAIN, 0o644), (TRUSTED, 0o644), (KEY, 0o640)],
)
def test_file_owner_and_mode(host, path, mode):
    f = host.file(path)
    assert f.exists
    assert (f.user, f.group, f.mode) == ("root", "root", mode)


def test_certificate_verifies_against_the_deployment_ca(host):
    result = host.run("openssl verify -purpose sslserver -CAfile %s %s", CA, CERT)
    assert result.rc == 0, result.stdout + result.stderr


def test_the_ca_is_trusted_system_wide(host):
    """A client that knows only the system store (pip, requests, OpenSSL) trusts the host."""
    assert host.file(TRUSTED).content_string.strip() == host.file(CA).content_string.strip()
    result = host.run("openssl verify -purpose sslserver %s", CERT)
    assert result.rc == 0, result.stdout + result.stderr


def test_key_belongs_to_the_certificate(host):
    from_key = host.check_output("openssl pkey -in %s -pubout", KEY)
    from_cert = host.check_output("openssl x509 -in %s -noout -pubkey", CERT)
    assert from_key == from_cert


def test_chain_is_the_certificate_then_the_ca(host):
    chain = host.file(CHAIN).content_string.split()
    assert chain == (host.file(CERT).content_string + host.file(CA).content_string).split()


def test_certificate_names_the_host_and_its_addresses(host, variables):
    sans = host.check_output("openssl x509 -in %s -noout -ext subjectAltName", CERT)
    names = {item.strip() for item in sans.splitlines()[-1].split(",")}
    wanted = {f"DNS:{variables['inventory_hostname']}", f"IP Address:{variables['ansible_host']}"}
    groups = variables["groups"]
    if variables["inventory_hostname"] in groups.get("haproxy_all", []) + groups.get(
        "galera_all", []
    ):
        # Load balancers serve the VIPs, and database clients reach the Galera members through
        # the internal VIP: an address, or a DNS name.
        for vip in (variables["internal_lb_vip_address"], variables["external_lb_vip_address"]):
            wanted.add(f"IP Address:{vip}" if vip.replace(".", "").isdigit() else f"DNS:{vip}")
    assert wanted <= names, f"missing from subjectAltName: {sorted(wanted - names)}"


def test_certificate_is_not_due_for_renewal(host):
    result = host.run("openssl x509 -in %s -noout -checkend %s", CERT, str(RENEW_DAYS * 86400))
    assert result.rc == 0, result.stdout


def test_ca_key_stays_on_the_deployment_host(host):
    """The CA key is never copied to a host."""
    found = host.run("grep -rls 'PRIVATE KEY' %s", DEST).stdout.split()
    assert found == [KEY]


def test_deployment_host_keeps_the_ca_private():
    """On the deployment host (this machine): the PKI directory 0700, the CA key 0600."""
    pki = Path(os.environ.get("OSA_CONFIG_DIR", "/etc/openstack_deploy")) / "pki"
    assert stat.S_IMODE(pki.stat().st_mode) == 0o700
    assert stat.S_IMODE((pki / "ca").stat().st_mode) == 0o700
    assert stat.S_IMODE((pki / "ca" / "ca.key").stat().st_mode) == 0o600
