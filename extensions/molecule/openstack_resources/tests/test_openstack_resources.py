"""openstack_resources: every resource the scenario declares (vars/resources.yml, as the
converge passed it) exists through the OpenStack APIs with exactly the declared attributes,
the role's defaults filled in by the role's own plan (plugins/plugin_utils/
openstack_resources.py); the test image is active with the checksum of the file it was
uploaded from; the external network gives floating IPs from its pool; a server of the test
image on a declared flavor and network becomes ACTIVE (QEMU on the lab: generous timeout),
then is deleted.

The APIs are called from the deployment host with a token Keystone issues to the admin, on
the catalog's internal endpoints (the internal VIP, verified with the deployment CA). The
declarations are the scenario's own, so this suite runs only over the scenario's lab host.
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import json
import os
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

testinfra_hosts = ["utility_all"]

SCENARIO = Path(__file__).resolve().parent.parent
DECLARED = yaml.safe_load((SCENARIO / "vars" / "resources.yml").read_text())
# Compute API microversion: flavors with their extra specs, swap as a number.
COMPUTE_VERSION = "compute 2.90"
SERVER_TIMEOUT = float(os.environ.get("NIMBUS_MOLECULE_SERVER_TIMEOUT", "900"))


def _plan() -> dict[str, list[dict[str, Any]]]:
    """The role's plan of DECLARED (the lists its tasks loop over, defaults filled in)."""
    path = SCENARIO.parents[2] / "plugins" / "plugin_utils" / "openstack_resources.py"
    spec = importlib.util.spec_from_file_location("_nimbus_openstack_resources", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plan(DECLARED)["present"]


PLAN = _plan()


def _ids(kind: str) -> list[str]:
    return [entry["name"] for entry in PLAN[kind]]


@pytest.fixture(scope="module")
def api(admin_auth):
    """``api(service_type, path, method='GET', body=None, headers=None)``: (status, JSON) of a
    call to the service's internal endpoint of the admin's catalog."""
    token, catalog = admin_auth
    config_dir = os.environ.get("OSA_CONFIG_DIR") or (
        f"/etc/nimbus-lab/{os.environ.get('NIMBUS_MOLECULE_LAB', 'molecule')}"
    )
    context = ssl.create_default_context(cafile=f"{config_dir}/pki/ca/ca.pem")
    endpoints = {
        service["type"]: endpoint["url"].rstrip("/")
        for service in catalog
        for endpoint in service["endpoints"]
        if endpoint["interface"] == "internal"
    }
    # Keystone's catalog entry is unversioned (paths here are Identity v3's).
    if not endpoints["identity"].endswith("/v3"):
        endpoints["identity"] += "/v3"

    def call(
        service_type: str,
        path: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 (https from the catalog)
            endpoints[service_type] + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "X-Auth-Token": token,
                "Accept": "application/json",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60, context=context) as reply:  # noqa: S310
                status, data = reply.status, reply.read()
        except urllib.error.HTTPError as err:
            status, data = err.code, err.read()
        return status, (json.loads(data) if data.strip() else None)

    return call


@pytest.fixture(scope="module")
def find(api):
    """``find(service_type, collection_path, key, name)``: the one entry of that name."""

    def one(service_type: str, path: str, key: str, name: str, **headers: str) -> dict[str, Any]:
        sep = "&" if "?" in path else "?"
        status, body = api(service_type, f"{path}{sep}name={name}", headers=headers)
        assert status == 200, f"GET {path}?name={name} answered {status}: {body}"
        found = [entry for entry in body[key] if entry["name"] == name]
        assert len(found) == 1, f"{len(found)} {key} named {name!r} (declared once)"
        return found[0]

    return one


@pytest.fixture(scope="module")
def project_ids(find) -> dict[str, str]:
    names = {"admin", *(p["name"] for p in PLAN["projects"])}
    return {name: find("identity", "/projects", "projects", name)["id"] for name in names}


def _entry(kind: str, name: str) -> dict[str, Any]:
    return next(entry for entry in PLAN[kind] if entry["name"] == name)


@pytest.mark.parametrize("name", _ids("projects"))
def test_project_as_declared(find, name):
    declared = _entry("projects", name)
    project = find("identity", "/projects", "projects", name)
    domain = "default" if declared["domain"] == "Default" else declared["domain"]
    assert (project["description"], project["enabled"], project["domain_id"]) == (
        declared["description"],
        declared["enabled"],
        domain,
    )


@pytest.mark.parametrize("name", _ids("users"))
def test_user_as_declared_with_its_roles(api, find, project_ids, name):
    declared = _entry("users", name)
    user = find("identity", "/users", "users", name)
    wanted = {
        "enabled": declared["enabled"],
        "email": declared["email"],
        "description": declared["description"],
        "default_project_id": project_ids.get(declared["default_project"]),
    }
    assert {key: user.get(key) for key in wanted} == wanted
    status, body = api("identity", f"/role_assignments?user.id={user['id']}&include_names=true")
    assert status == 200
    granted = {
        (a["scope"]["project"]["name"], a["role"]["name"])
        for a in body["role_assignments"]
        if "project" in a.get("scope", {})
    }
    assert granted == {(g["project"], g["role"]) for g in declared["roles"]}


@pytest.mark.parametrize("name", _ids("users"))
def test_user_logs_in_with_the_declared_password(api, name):
    password = next(
        u["password"] for u in DECLARED["openstack_user_identity"]["users"] if u["name"] == name
    )
    declared = _entry("users", name)
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": name,
                        "domain": {"name": declared["domain"]},
                        "password": password,
                    }
                },
            },
            "scope": {
                "project": {"name": declared["default_project"], "domain": {"name": "Default"}}
            },
        }
    }
    status, body = api("identity", "/auth/tokens", method="POST", body=auth)
    assert status == 201, f"Keystone answered {status} to {name}'s declared password"
    assert {r["name"] for r in body["token"]["roles"]} >= {"member"}
    wrong = json.loads(json.dumps(auth))
    wrong["auth"]["identity"]["password"]["user"]["password"] = password + "-not"
    assert api("identity", "/auth/tokens", method="POST", body=wrong)[0] == 401


@pytest.mark.parametrize("name", _ids("flavors"))
def test_flavor_as_declared(api, name):
    declared = _entry("flavors", name)
    status, body = api(
        "compute",
        "/flavors/detail?is_public=None",
        headers={"OpenStack-API-Version": COMPUTE_VERSION},
    )
    assert status == 200
    found = [flavor for flavor in body["flavors"] if flavor["name"] == name]
    assert len(found) == 1, f"{len(found)} flavors named {name!r}"
    flavor = found[0]
    seen = {
        "vcpus": flavor["vcpus"],
        "ram": flavor["ram"],
        "disk": flavor["disk"],
        "ephemeral": flavor["OS-FLV-EXT-DATA:ephemeral"],
        "swap": flavor["swap"] or 0,
        "is_public": flavor["os-flavor-access:is_public"],
        "extra_specs": flavor["extra_specs"],
    }
    wanted = {key: declared[key] for key in seen}
    wanted["extra_specs"] = {k: str(v) for k, v in declared["extra_specs"].items()}
    assert seen == wanted
    if declared["id"]:
        assert flavor["id"] == declared["id"]


@pytest.mark.parametrize("name", _ids("images"))
def test_image_active_as_declared_with_the_file_checksum(find, project_ids, name):
    declared = _entry("images", name)
    image = find("image", "/v2/images", "images", name)
    seen = {
        key: image.get(key) for key in ("status", "disk_format", "container_format", "visibility")
    }
    assert seen == {
        "status": "active",
        "disk_format": declared["disk_format"],
        "container_format": declared["container_format"],
        "visibility": declared["visibility"],
    }
    assert (image["min_disk"], image["min_ram"]) == (declared["min_disk"], declared["min_ram"])
    assert {key: image.get(key) for key in declared["properties"]} == {
        key: str(value) for key, value in declared["properties"].items()
    }
    if declared["project"]:
        assert image["owner"] == project_ids[declared["project"]]
    data = Path(declared["file"]).read_bytes()
    assert image["size"] == len(data)
    assert image["checksum"] == hashlib.md5(data).hexdigest()  # noqa: S324 (Glance's own)
    assert image["os_hash_algo"] == "sha512"
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest(), (
        f"{name} in Glance is not the bytes of {declared['file']} on the deployment host"
    )


@pytest.mark.parametrize("name", _ids("networks"))
def test_network_as_declared(find, project_ids, name):
    declared = _entry("networks", name)
    network = find("network", "/v2.0/networks", "networks", name)
    seen = {
        "shared": network["shared"],
        "external": network["router:external"],
        "port_security_enabled": network["port_security_enabled"],
        "project": network["project_id"],
    }
    assert seen == {
        "shared": declared["shared"],
        "external": declared["external"],
        "port_security_enabled": declared["port_security_enabled"],
        "project": project_ids[declared["project"] or "admin"],
    }
    for key in ("provider_network_type", "provider_physical_network", "provider_segmentation_id"):
        if declared[key] is not None:
            assert network[key.replace("provider_", "provider:")] == declared[key], key
    if declared["mtu"]:
        assert network["mtu"] == declared["mtu"]
    # Every declared subnet is there, and only those.
    subnets = {s["name"] for s in PLAN["subnets"] if s["network"] == name}
    assert len(network["subnets"]) == len(subnets)


@pytest.mark.parametrize("name", _ids("subnets"))
def test_subnet_as_declared(api, find, name):
    declared = _entry("subnets", name)
    subnet = find("network", "/v2.0/subnets", "subnets", name)
    network = find("network", "/v2.0/networks", "networks", declared["network"])
    cidr = ipaddress.ip_network(declared["cidr"])
    seen = {
        key: subnet[key]
        for key in ("network_id", "cidr", "ip_version", "enable_dhcp", "dns_nameservers")
    }
    assert seen == {
        "network_id": network["id"],
        "cidr": str(cidr),
        "ip_version": declared["ip_version"] or cidr.version,
        "enable_dhcp": declared["enable_dhcp"],
        "dns_nameservers": declared["dns_nameservers"],
    }
    if declared["no_gateway"]:
        assert subnet["gateway_ip"] is None
    elif declared["gateway_ip"]:
        assert subnet["gateway_ip"] == declared["gateway_ip"]
    if declared["allocation_pools"]:
        assert subnet["allocation_pools"] == declared["allocation_pools"]


@pytest.mark.parametrize("name", _ids("routers"))
def test_router_as_declared(api, find, project_ids, name):
    declared = _entry("routers", name)
    router = find("network", "/v2.0/routers", "routers", name)
    assert router["project_id"] == project_ids[declared["project"] or "admin"]
    gateway = router["external_gateway_info"]
    if declared["external_gateway"]:
        external = find("network", "/v2.0/networks", "networks", declared["external_gateway"])
        assert (gateway["network_id"], gateway["enable_snat"]) == (
            external["id"],
            declared["enable_snat"],
        )
        # Its address on the external network comes from that network's pools.
        pools = [
            pool
            for s in PLAN["subnets"]
            if s["network"] == declared["external_gateway"]
            for pool in s["allocation_pools"]
        ]
        for fixed in gateway["external_fixed_ips"]:
            address = ipaddress.ip_address(fixed["ip_address"])
            assert any(
                ipaddress.ip_address(p["start"]) <= address <= ipaddress.ip_address(p["end"])
                for p in pools
            ), f"{name}'s gateway address {address} is outside the declared pools {pools}"
    else:
        assert gateway is None
    status, body = api(
        "network", f"/v2.0/ports?device_id={router['id']}&device_owner=network:router_interface"
    )
    assert status == 200
    attached = set()
    for port in body["ports"]:
        for fixed in port["fixed_ips"]:
            status, subnet = api("network", f"/v2.0/subnets/{fixed['subnet_id']}")
            assert status == 200
            attached.add(subnet["subnet"]["name"])
            # The router is the subnet's gateway.
            assert fixed["ip_address"] == subnet["subnet"]["gateway_ip"]
    assert attached == set(declared["interfaces"])


def _rule_key(rule: dict[str, Any]) -> tuple:
    return (
        rule["direction"],
        rule["ethertype"],
        rule["protocol"],
        rule["port_range_min"],
        rule["port_range_max"],
        rule["remote_ip_prefix"],
    )


@pytest.mark.parametrize("name", _ids("security_groups"))
def test_security_group_as_declared(find, project_ids, name):
    declared = _entry("security_groups", name)
    group = find("network", "/v2.0/security-groups", "security_groups", name)
    assert (group["description"], group["project_id"]) == (
        declared["description"],
        project_ids[declared["project"] or "admin"],
    )
    wanted = {
        (
            r["direction"],
            r["ethertype"] or ("IPv6" if ":" in (r["remote_ip_prefix"] or "") else "IPv4"),
            r["protocol"],
            r["port_range_min"],
            r["port_range_max"],
            r["remote_ip_prefix"],
        )
        for r in declared["rules"]
    }
    # Neutron adds the two egress rules of every new group.
    wanted |= {
        ("egress", "IPv4", None, None, None, None),
        ("egress", "IPv6", None, None, None, None),
    }
    assert {_rule_key(r) for r in group["security_group_rules"]} == wanted


def test_floating_ip_from_the_declared_pool(api, find):
    externals = [n for n in PLAN["networks"] if n["external"]]
    assert externals, "the scenario declares an external network"
    network = find("network", "/v2.0/networks", "networks", externals[0]["name"])
    status, body = api(
        "network",
        "/v2.0/floatingips",
        method="POST",
        body={"floatingip": {"floating_network_id": network["id"]}},
    )
    assert status == 201, f"no floating IP from {externals[0]['name']}: {status} {body}"
    floating = body["floatingip"]
    try:
        address = ipaddress.ip_address(floating["floating_ip_address"])
        pools = [
            p
            for s in PLAN["subnets"]
            if s["network"] == externals[0]["name"]
            for p in s["allocation_pools"]
        ]
        assert any(
            ipaddress.ip_address(p["start"]) <= address <= ipaddress.ip_address(p["end"])
            for p in pools
        )
    finally:
        assert api("network", f"/v2.0/floatingips/{floating['id']}", method="DELETE")[0] == 204


def test_server_of_the_test_image_becomes_active(api, find):
    """Boot a server of the declared image on the first declared flavor and the first network
    with a subnet that is not external; wait for ACTIVE, check its address, delete it."""
    image = find("image", "/v2/images", "images", PLAN["images"][0]["name"])
    status, body = api("compute", "/flavors/detail?is_public=None")
    flavor = next(f for f in body["flavors"] if f["name"] == PLAN["flavors"][0]["name"])
    declared_net = next(n for n in PLAN["networks"] if not n["external"])
    network = find("network", "/v2.0/networks", "networks", declared_net["name"])
    cidr = ipaddress.ip_network(
        next(s["cidr"] for s in PLAN["subnets"] if s["network"] == declared_net["name"])
    )
    server = {
        "name": "nimbus-molecule-boot",
        "imageRef": image["id"],
        "flavorRef": flavor["id"],
        "networks": [{"uuid": network["id"]}],
    }
    status, body = api("compute", "/servers", method="POST", body={"server": server})
    assert status == 202, f"the server was refused: {status} {body}"
    server_id = body["server"]["id"]
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            status, body = api("compute", f"/servers/{server_id}")
            assert status == 200
            state = body["server"]["status"]
            if state in ("ACTIVE", "ERROR") or time.monotonic() > deadline:
                break
            time.sleep(5)
        assert state == "ACTIVE", f"server {server_id} is {state}: {body['server'].get('fault')}"
        addresses = [a["addr"] for a in body["server"]["addresses"].get(declared_net["name"], [])]
        assert addresses and all(ipaddress.ip_address(a) in cidr for a in addresses), addresses
        assert body["server"]["flavor"]["id"] == flavor["id"]
    finally:
        api("compute", f"/servers/{server_id}", method="DELETE")
        deadline = time.monotonic() + 300
        while api("compute", f"/servers/{server_id}")[0] != 404 and time.monotonic() < deadline:
            time.sleep(5)
    assert api("compute", f"/servers/{server_id}")[0] == 404, "the server was not deleted"
