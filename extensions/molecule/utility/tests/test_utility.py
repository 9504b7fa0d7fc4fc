"""What utility leaves on a host (Molecule scenario utility).

The operator's CLI: openstackclient in a venv from the repo server's wheels, on the PATH, and
the admin's clouds.yaml and openrc, which must get a token from Keystone through the internal
VIP with TLS verified by the deployment CA. The admin password is read on the deployment host
from the configuration directory's user_secrets.yml (OSA_CONFIG_DIR, else the Molecule lab's)
and only ever compared: never part of an assertion's values or a message; the client prints
the token's expiry, never the token.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

testinfra_hosts = ["utility_all"]

COMMAND = "/usr/local/bin/openstack"
CONFIG_DIR = "/root/.config/openstack"
CLOUDS = f"{CONFIG_DIR}/clouds.yaml"
OPENRC = "/root/openrc"
CLOUD = "default"
KEYSTONE_PORT = 5000
# The collection's constraints, read on the deployment host.
CONSTRAINTS = Path(__file__).resolve().parents[4] / "requirements" / "services" / "constraints.txt"


def pinned(package: str) -> str:
    for line in CONSTRAINTS.read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep and name.strip().lower() == package:
            return version.split(";", 1)[0].strip()
    raise AssertionError(f"{package} has no pin in {CONSTRAINTS}")


@pytest.fixture
def venv(host) -> str:
    """The venv the command on the PATH comes from."""
    link = host.file(COMMAND)
    assert link.is_symlink, f"{COMMAND} is not a link into the client venv"
    target = link.linked_to
    match = re.fullmatch(r"(/openstack/venvs/utility-[^/]+)/bin/openstack", target)
    assert match, f"{COMMAND} points to {target}"
    return match.group(1)


@pytest.fixture
def clouds(host) -> dict:
    return yaml.safe_load(host.file(CLOUDS).content_string)["clouds"][CLOUD]


@pytest.fixture
def openrc(host) -> dict[str, str]:
    """The variables openrc exports, unquoted as the shell reads them."""
    exports = {}
    for line in host.file(OPENRC).content_string.splitlines():
        if line.startswith("export "):
            name, _sep, value = line[len("export ") :].partition("=")
            (exports[name],) = shlex.split(value) or [""]
    return exports


def test_client_venv_from_the_pinned_wheels(host, venv):
    """The client and the placement plugin at the constraints' versions, every dependency
    satisfied (pip check)."""
    freeze = host.check_output("%s/bin/python -m pip freeze --disable-pip-version-check", venv)
    installed = dict(line.lower().split("==", 1) for line in freeze.splitlines() if "==" in line)
    for package in ("python-openstackclient", "osc-placement"):
        assert installed.get(package) == pinned(package), package
    check = host.run("%s/bin/python -m pip check --disable-pip-version-check", venv)
    assert check.rc == 0, check.stdout


def test_openstack_version(host):
    out = host.check_output("%s --version 2>&1", COMMAND)
    assert out.split() == ["openstack", pinned("python-openstackclient")]


def test_venv_written_by_root_only(host, owner_and_mode, venv):
    assert owner_and_mode(venv) == ("root", "root", 0o755)
    odd = host.check_output(
        "find %s \\( ! -user root -o -perm /022 \\) ! -type l -printf '%%p\\n'", venv
    )
    assert odd.splitlines() == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (CONFIG_DIR, ("root", "root", 0o700)),
        (CLOUDS, ("root", "root", 0o600)),
        (OPENRC, ("root", "root", 0o600)),
    ],
)
def test_file_owner_and_mode(owner_and_mode, path, expected):
    assert owner_and_mode(path) == expected


def test_clouds_yaml_points_at_keystone_on_the_internal_vip(host, clouds, admin_password):
    vip = host.ansible.get_variables()["internal_lb_vip_address"]
    auth = clouds["auth"]
    assert auth["auth_url"] == f"https://{vip}:{KEYSTONE_PORT}/v3"
    assert (auth["username"], auth["project_name"]) == ("admin", "admin")
    assert (clouds["interface"], clouds["identity_api_version"]) == ("internal", 3)
    assert host.file(clouds["cacert"]).is_file
    same = auth["password"] == admin_password
    assert same, "clouds.yaml's password is not keystone_auth_admin_password"


def test_openrc_says_what_clouds_yaml_says(clouds, openrc):
    auth = clouds["auth"]
    assert (
        openrc["OS_AUTH_URL"],
        openrc["OS_USERNAME"],
        openrc["OS_PROJECT_NAME"],
        openrc["OS_USER_DOMAIN_NAME"],
        openrc["OS_PROJECT_DOMAIN_NAME"],
        openrc["OS_REGION_NAME"],
        openrc["OS_INTERFACE"],
        openrc["OS_CACERT"],
    ) == (
        auth["auth_url"],
        auth["username"],
        auth["project_name"],
        auth["user_domain_name"],
        auth["project_domain_name"],
        clouds["region_name"],
        clouds["interface"],
        clouds["cacert"],
    )
    same = openrc["OS_PASSWORD"] == auth["password"]
    assert same, "openrc's password is not clouds.yaml's"


def test_token_issued_with_clouds_yaml(host):
    cmd = host.run("%s --os-cloud %s token issue -f value -c expires", COMMAND, CLOUD)
    assert cmd.rc == 0, cmd.stderr
    assert re.match(r"\d{4}-\d\d-\d\dT", cmd.stdout)


def test_token_issued_with_openrc(host):
    cmd = host.run("bash -c %s", f". {OPENRC} && {COMMAND} token issue -f value -c expires")
    assert cmd.rc == 0, cmd.stderr
    assert re.match(r"\d{4}-\d\d-\d\dT", cmd.stdout)


def test_wrong_password_refused(host):
    cmd = host.run(
        "bash -c %s",
        f". {OPENRC} && OS_PASSWORD=nimbus-molecule-wrong"
        f" {COMMAND} token issue -f value -c expires",
    )
    assert cmd.rc != 0
    assert "401" in cmd.stderr


def test_identity_endpoint_through_the_vip(host):
    """The catalog the client reads (over TLS, verified with the deployment CA) gives the
    internal identity endpoint on the internal VIP."""
    vip = host.ansible.get_variables()["internal_lb_vip_address"]
    cmd = host.run(
        "%s --os-cloud %s endpoint list --service identity --interface internal -f value -c URL",
        COMMAND,
        CLOUD,
    )
    assert cmd.rc == 0, cmd.stderr
    # Keystone registers its endpoints without the version (the client appends it).
    urls = [re.sub(r"/v3$", "", url.rstrip("/")) for url in cmd.stdout.split()]
    assert urls == [f"https://{vip}:{KEYSTONE_PORT}"]
