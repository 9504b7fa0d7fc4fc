"""What service_catalog leaves in Keystone (Molecule scenario service_catalog).

converge.yml registers a test service with the values of vars/test_values.yml as a service
role does; the suite reads Keystone's state back through the Identity API on the internal VIP
(HAProxy, TLS verified with the deployment CA), with the token Keystone issues to the admin
(the shared ``admin_token`` fixture): the service, exactly the endpoints asked, the service user
with exactly the roles asked on its project, able to log in with its password and refused with
another. On the setup host, the role's digest of the registration; on the deployment host, the
results of every run of the scenario (community.general.log_plays, molecule.yml), none showing
the password.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path

import jinja2
import pytest
import yaml

# The setup host (the first utility host) makes the role's API calls and keeps its digest.
testinfra_hosts = ["utility_all"]

KEYSTONE_PORT = 5000
DEPLOYMENT_CA = "/usr/local/share/ca-certificates/nimbus-ca.crt"
DIGEST_DIR = "/var/lib/nimbus/service_catalog"
ROOT = Path(__file__).resolve().parents[4]
VALUES = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "vars" / "test_values.yml").read_text()
)
ASKED = VALUES["molecule_catalog"]


def call(
    context: ssl.SSLContext, url: str, token: str | None = None, body: dict | None = None
) -> tuple[int, Message, dict]:
    """(status, headers, JSON body) of a GET, or of a POST when there is a body."""
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (lab VIP)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as reply:  # noqa: S310
            return reply.status, reply.headers, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, {}


@pytest.fixture(scope="module")
def variables(host) -> dict:
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def identity(host, variables):
    """``identity(path, token=None, body=None, **query)``: (status, headers, JSON body) of the
    Identity API (``/v3/<path>``) on the internal VIP, the certificate verified with the
    deployment CA as the host has it."""
    context = ssl.create_default_context(cadata=host.file(DEPLOYMENT_CA).content_string)
    base = f"https://{variables['internal_lb_vip_address']}:{KEYSTONE_PORT}/v3"

    def run(path: str, token: str | None = None, body: dict | None = None, **query: str):
        url = f"{base}/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return call(context, url, token, body)

    return run


@pytest.fixture(scope="module")
def endpoints_asked(variables) -> set[tuple[str, str, str]]:
    """(interface, URL, region) of each endpoint asked, the URLs rendered with the host's
    inventory variables (the VIPs) as Ansible renders them in converge.yml."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    return {
        (interface, env.from_string(url).render(variables), ASKED["region"])
        for interface, url in ASKED["endpoints"].items()
    }


@pytest.fixture(scope="module")
def service(identity, admin_token) -> dict:
    status, _headers, body = identity("services", admin_token, type=ASKED["type"])
    assert status == 200
    services = body["services"]
    assert len(services) == 1, f"{len(services)} services of type {ASKED['type']}"
    return services[0]


@pytest.fixture(scope="module")
def project(identity, admin_token) -> dict:
    status, _headers, body = identity("projects", admin_token, name=ASKED["project"])
    assert status == 200
    (found,) = body["projects"]
    return found


@pytest.fixture(scope="module")
def user(identity, admin_token, project) -> dict:
    """The service user, in the domain of the service project (both the default domain)."""
    status, _headers, body = identity(
        "users", admin_token, name=ASKED["user"], domain_id=project["domain_id"]
    )
    assert status == 200
    users = body["users"]
    assert len(users) == 1, f"{len(users)} users named {ASKED['user']}"
    return users[0]


def login(identity, project: dict, password: str) -> tuple[int, Message, dict]:
    """The service user asks for a token scoped to its project, with ``password``."""
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": ASKED["user"],
                        "domain": {"id": project["domain_id"]},
                        "password": password,
                    }
                },
            },
            "scope": {"project": {"id": project["id"]}},
        }
    }
    return identity("auth/tokens", body=auth)


def test_service_registered(service):
    assert (service["name"], service["type"]) == (ASKED["name"], ASKED["type"])
    assert service["description"] == ASKED["description"]
    assert service["enabled"] is True


def test_exactly_the_endpoints_asked(identity, admin_token, service, endpoints_asked):
    status, _headers, body = identity("endpoints", admin_token, service_id=service["id"])
    assert status == 200
    found = [(e["interface"], e["url"], e["region_id"]) for e in body["endpoints"]]
    assert len(found) == len(set(found)), f"an endpoint twice: {sorted(found)}"
    assert set(found) == endpoints_asked
    assert all(e["enabled"] for e in body["endpoints"])


def test_the_catalog_of_a_token_lists_them(admin_auth, endpoints_asked):
    """What clients see: the catalog of the token Keystone issued to the admin."""
    _token, catalog = admin_auth
    entries = [e for e in catalog if e["type"] == ASKED["type"]]
    assert [e["name"] for e in entries] == [ASKED["name"]]
    found = {(e["interface"], e["url"], e["region_id"]) for e in entries[0]["endpoints"]}
    assert found == endpoints_asked


def test_service_user_exists(user, project):
    assert user["enabled"] is True
    assert user["default_project_id"] == project["id"]


def test_logs_in_with_its_password(identity, project):
    status, headers, body = login(identity, project, ASKED["password"])
    assert status == 201
    assert headers["X-Subject-Token"]
    token = body["token"]
    assert token["user"]["name"] == ASKED["user"]
    assert token["project"]["id"] == project["id"]
    assert {r["name"] for r in token["roles"]} >= set(ASKED["roles"])


def test_another_password_refused(identity, project):
    status, headers, _body = login(identity, project, ASKED["password"][::-1])
    assert status == 401
    assert "X-Subject-Token" not in headers


def test_exactly_the_roles_asked(identity, admin_token, user, project):
    """Every role given to the user directly, anywhere: the roles asked, on its project."""
    status, _headers, body = identity(
        "role_assignments", admin_token, **{"user.id": user["id"], "include_names": "true"}
    )
    assert status == 200
    found = sorted(
        (a["scope"].get("project", {}).get("id", json.dumps(a["scope"])), a["role"]["name"])
        for a in body["role_assignments"]
    )
    assert found == sorted((project["id"], role) for role in ASKED["roles"])


def test_digest_of_the_registration_on_the_setup_host(host, variables):
    """The setup host keeps the digest of the registration (root-only), never the password."""
    digest = host.file(f"{DIGEST_DIR}/{ASKED['name']}.sha256")
    if variables["inventory_hostname"] != variables["groups"]["utility_all"][0]:
        assert not digest.exists
        return
    directory = host.file(DIGEST_DIR)
    assert (directory.user, directory.group, directory.mode) == ("root", "root", 0o700)
    assert (digest.user, digest.group, digest.mode) == ("root", "root", 0o600)
    text = digest.content_string
    assert len(text.strip()) == 64
    assert int(text, 16) >= 0
    assert ASKED["password"] not in text


def test_no_run_showed_the_password():
    """The results of every run of the scenario as Ansible holds them after no_log (what
    ``-vvv`` would print; community.general.log_plays, molecule.yml): the registration is in
    them, the password is not."""
    logs = ROOT / VALUES["molecule_catalog_log_dir"]
    assert logs.is_dir(), f"no log of the scenario's runs in {logs} (converge first)"
    assert logs.stat().st_mode & 0o777 == 0o700
    text = "".join(p.read_text(errors="replace") for p in sorted(logs.iterdir()) if p.is_file())
    assert f"Create the service user {ASKED['user']}" in text
    assert "Log in as the service user" in text
    assert ASKED["password"] not in text, f"the password of {ASKED['user']} is in a log of {logs}"
