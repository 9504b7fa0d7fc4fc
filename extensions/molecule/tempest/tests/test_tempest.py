"""tempest: the venv, the workspace and tempest.conf on the first utility host, and one real
tempest run of a few identity tests whose subunit stream is read back (the collection's own
reader, plugins/plugin_utils/tempest_results.py), not just its exit code.

tempest.conf holds the admin password: root 0600. Its values point at Keystone on the
internal VIP over HTTPS, verified with the deployment CA, and at the test image, flavors and
external network the day-one resources made (looked up through the APIs here too).
"""

from __future__ import annotations

import base64
import configparser
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

testinfra_hosts = ["utility_all"]

ROOT = Path(__file__).resolve().parents[4]
WORKSPACE = "/var/lib/tempest"
CONF = f"{WORKSPACE}/etc/tempest.conf"
VERSION = "47.0.0"
# A few quick identity tests (dynamic credentials: tempest makes and deletes its own project
# and user with the admin's token).
RUN_REGEX = r"^tempest\.api\.identity\.v3\.test_tokens\."


def _results_module():
    path = ROOT / "plugins" / "plugin_utils" / "tempest_results.py"
    spec = importlib.util.spec_from_file_location("_nimbus_tempest_results", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def variables(host):
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def venv(variables) -> str:
    return f"{variables.get('nimbus_venv_root', '/openstack/venvs')}/tempest-{VERSION}"


@pytest.fixture(scope="module")
def conf(host) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(host.file(CONF).content_string)
    return parser


@pytest.fixture(scope="module")
def config_dir() -> Path:
    lab = os.environ.get("NIMBUS_MOLECULE_LAB", "molecule")
    return Path(os.environ.get("OSA_CONFIG_DIR") or f"/etc/nimbus-lab/{lab}")


def openstack_id(host, *args: str) -> str:
    return host.check_output(
        "openstack --os-cloud default" + " %s" * len(args) + " -f value -c id", *args
    ).strip()


@pytest.mark.parametrize(
    ("path", "user", "group", "mode"),
    [
        (WORKSPACE, "root", "root", 0o700),
        (f"{WORKSPACE}/etc", "root", "root", 0o700),
        (f"{WORKSPACE}/logs", "root", "root", 0o700),
        (CONF, "root", "root", 0o600),
        (f"{WORKSPACE}/etc/include-list.txt", "root", "root", 0o644),
        (f"{WORKSPACE}/etc/exclude-list.txt", "root", "root", 0o644),
        (f"{WORKSPACE}/.stestr.conf", "root", "root", 0o644),
    ],
)
def test_file_owner_and_mode(owner_and_mode, path, user, group, mode):
    assert owner_and_mode(path) == (user, group, mode)


def test_venv_runs_the_pinned_tempest(host, venv):
    assert host.file(venv).is_directory
    out = host.check_output("%s/bin/tempest --version", venv)
    assert out.split()[-1] == VERSION


def test_conf_points_at_the_internal_vip_with_the_ca(host, conf, variables, config_dir):
    vip = variables["internal_lb_vip_address"]
    assert conf["identity"]["uri_v3"] == f"https://{vip}:5000/v3"
    assert conf["identity"]["v3_endpoint_type"] == "internal"
    assert conf["identity"]["disable_ssl_certificate_validation"] == "false"
    for section in ("image", "compute", "network", "placement"):
        assert conf[section]["endpoint_type"] == "internal", section
    # The CA file on the host is the deployment CA.
    ca = conf["identity"]["ca_certificates_file"]
    assert (
        host.file(ca).content_string.strip() == (config_dir / "pki/ca/ca.pem").read_text().strip()
    )
    # ... and it verifies the internal VIP (the openssl client on the host, exit code 0).
    out = host.check_output(
        "openssl s_client -connect %s:5000 -CAfile %s -verify_return_error -brief </dev/null 2>&1",
        vip,
        ca,
    )
    assert "Verification: OK" in out


def test_conf_admin_credentials_are_the_deployment_s(conf, admin_password):
    auth = conf["auth"]
    assert (auth["admin_username"], auth["admin_project_name"]) == ("admin", "admin")
    assert auth["admin_password"] == admin_password, (
        "tempest.conf's admin password is not user_secrets.yml's"
    )


def test_conf_names_the_services_and_the_day_one_resources(host, conf):
    available = conf["service_available"]
    assert {name: available[name] for name in ("glance", "nova", "neutron", "cinder", "swift")} == {
        "glance": "True",
        "nova": "True",
        "neutron": "True",
        "cinder": "false",
        "swift": "false",
    }
    assert conf["compute"]["image_ref"] == openstack_id(host, "image", "show", "nimbus-test-image")
    assert conf["compute"]["flavor_ref"] == openstack_id(host, "flavor", "show", "m1.nano")
    assert conf["compute"]["flavor_ref_alt"] == openstack_id(host, "flavor", "show", "m1.micro")
    assert conf["network"]["public_network_id"] == openstack_id(host, "network", "show", "public")
    assert conf["validation"]["image_ssh_user"] == "root"


def test_include_list_is_the_smoke_set_of_the_deployed_services(host):
    lines = host.file(f"{WORKSPACE}/etc/include-list.txt").content_string.splitlines()
    defaults = yaml.safe_load((ROOT / "roles/tempest/defaults/main.yml").read_text())
    # keystone, glance, nova and neutron are deployed: every entry of the set counts.
    wanted = [t for entry in defaults["tempest_test_sets"]["smoke"] for t in entry["tests"]]
    assert lines == list(dict.fromkeys(wanted))
    for line in lines:
        re.compile(line)


def test_a_real_run_passes(host, venv):
    """tempest run --regex on a few identity tests, in the workspace with its tempest.conf;
    the run's subunit stream (stestr's last run) is read back: every test that ran passed,
    none failed, and each matches the regex."""
    run = host.run(
        "cd %s && %s/bin/tempest run --config-file %s --regex '%s' --concurrency 1",
        WORKSPACE,
        venv,
        CONF,
        RUN_REGEX,
    )
    stream = host.check_output(
        "cd %s && %s/bin/stestr last --subunit | base64 -w0", WORKSPACE, venv
    )
    results = _results_module()
    data = base64.b64decode(stream)
    summary = results.summarize(data)
    final = {
        p.test_id: p.status
        for p in results.packets(data)
        if p.test_id and p.status in results.FINAL
    }
    assert summary["failed"] == 0, (
        f"failed: {[t['test'] for t in summary['failures']]}\n{run.stdout[-2000:]}"
    )
    assert summary["passed"] >= 3, (
        f"{summary['passed']} passed (exit {run.rc}): {run.stdout[-2000:]}"
    )
    assert summary["total"] == len(final) == summary["passed"] + summary["skipped"]
    # Only the tests asked for ran (the test id carries its tags after the name).
    assert all(re.match(RUN_REGEX, test) for test in final), sorted(final)
    assert run.rc == 0
