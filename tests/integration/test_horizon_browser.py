"""Horizon in a real browser, through the external VIP of a deployed lab.

Headless Chromium from Debian (``chromium``, ``chromium-driver``), driven by Selenium from the
test venv, with the deployment CA trusted in the browser's own certificate store (a scratch
NSS database made with ``certutil``, package ``libnss3-tools``): nothing is downloaded from
outside the package registries, and a certificate error fails the test.

- A wrong password stays on the login page with Horizon's error text.
- admin logs in, lands on the project overview, opens Project > Compute > Instances (when the
  catalog has a compute service: the servers the Compute API lists are in the table; without
  one the dashboard must not offer the panel), opens Images and sees an image this test
  created through the Image API (so the table shows the cloud's data, not a cached page) and
  the day-one image ``nimbus-test-image`` when Glance has it, opens Network Topology (when the
  catalog has a network service; otherwise the panel must not be offered), and logs out: the
  dashboard asks for a login again.
- A member of the project ``demo`` (a user this test makes, with the ``member`` role there
  only) sees demo's own private image and not admin's.

Every page is saved as a screenshot (``NIMBUS_HORIZON_SCREENSHOTS``, default
``.build/horizon-screenshots`` of this checkout; the gate puts them in its run directory) and
the test prints their names, with the login page's time to first byte and full load in the
browser (Navigation Timing, the second load: warm), also written to ``timings.json`` there.

Runs against an existing lab whose configuration directory is OSA_CONFIG_DIR, from the
deployment host (the VIP, ``user_secrets.yml`` and the CA ``pki/ca/ca.pem`` come from it):

    scripts/run-tests.sh installs the browser (ensure_browser_prerequisites), or:
    apt-get install chromium chromium-driver libnss3-tools
    NIMBUS_TEST_HORIZON=1 OSA_CONFIG_DIR=/etc/nimbus-lab/dev2 \\
        pytest -v -s tests/integration/test_horizon_browser.py
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = Path(os.environ.get("OSA_CONFIG_DIR", "/etc/openstack_deploy"))
CA = Path(os.environ.get("NIMBUS_HORIZON_CA", str(CONFIG_DIR / "pki" / "ca" / "ca.pem")))
SHOTS = Path(
    os.environ.get("NIMBUS_HORIZON_SCREENSHOTS", str(REPO / ".build" / "horizon-screenshots"))
)
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = float(os.environ.get("NIMBUS_HORIZON_WAIT", "60"))
# What Horizon (openstack_auth) says when Keystone refuses the user name or password.
LOGIN_ERROR = "Invalid credentials."

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("NIMBUS_TEST_HORIZON") != "1",
        reason="set NIMBUS_TEST_HORIZON=1 (and OSA_CONFIG_DIR) to use a lab with horizon deployed",
    ),
]


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIG_DIR / name).read_text(encoding="utf-8")) or {}


@pytest.fixture(scope="module")
def cloud() -> dict[str, Any]:
    overrides = _load("openstack_user_config.yml").get("global_overrides", {})
    secrets_ = _load("user_secrets.yml")
    vip = str(overrides.get("external_lb_vip_address", ""))
    password = str(secrets_.get("keystone_auth_admin_password") or "")
    assert vip, f"external_lb_vip_address is not set in {CONFIG_DIR}/openstack_user_config.yml"
    assert password, f"keystone_auth_admin_password is empty in {CONFIG_DIR}/user_secrets.yml"
    assert CA.is_file(), f"the deployment CA {CA} is missing (set NIMBUS_HORIZON_CA)"
    ctx = ssl.create_default_context(cafile=str(CA))
    token, catalog = _token(ctx, vip, "admin", password, "admin")
    return {
        "vip": vip,
        "url": f"https://{vip}",
        "password": password,
        "ctx": ctx,
        "token": token,
        "services": {entry["type"] for entry in catalog},
    }


def _api(ctx: ssl.SSLContext, method: str, url: str, **kwargs: Any) -> tuple[Any, Any]:
    headers = kwargs.get("headers", {})
    data = kwargs.get("data")
    if isinstance(data, dict):
        data = json.dumps(data).encode()
        headers = {"Content-Type": "application/json", **headers}
    # https URLs built from the configuration directory only.
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, context=ctx, timeout=30) as answer:  # noqa: S310
        body = answer.read()
        return answer.headers, json.loads(body) if body else None


def _token(
    ctx: ssl.SSLContext, vip: str, user: str, password: str, project: str
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A project-scoped token (as the X-Auth-Token header) and the catalog that came with it."""
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"id": "default"}, "password": password}
                },
            },
            "scope": {"project": {"name": project, "domain": {"id": "default"}}},
        }
    }
    headers, body = _api(ctx, "POST", f"https://{vip}:5000/v3/auth/tokens", data=auth)
    return {"X-Auth-Token": headers["X-Subject-Token"]}, body["token"].get("catalog", [])


def _image(ctx: ssl.SSLContext, vip: str, token: dict[str, str], name: str) -> str:
    """A small private raw image of the token's project, uploaded; its id."""
    glance = f"https://{vip}:9292/v2/images"
    _h, image = _api(
        ctx,
        "POST",
        glance,
        headers=token,
        data={
            "name": name,
            "disk_format": "raw",
            "container_format": "bare",
            "visibility": "private",
        },
    )
    _api(
        ctx,
        "PUT",
        f"{glance}/{image['id']}/file",
        headers={**token, "Content-Type": "application/octet-stream"},
        data=os.urandom(4096),
    )
    return str(image["id"])


@pytest.fixture(scope="module")
def test_image(cloud: dict[str, Any]) -> Iterator[str]:
    """A small private image of the admin project, made through the Image API, deleted after."""
    ctx, vip, token = cloud["ctx"], cloud["vip"], cloud["token"]
    name = f"nimbus-browser-{int(time.time())}"
    image = _image(ctx, vip, token, name)
    try:
        yield name
    finally:
        _api(ctx, "DELETE", f"https://{vip}:9292/v2/images/{image}", headers=token)


@pytest.fixture(scope="module")
def demo_member(cloud: dict[str, Any]) -> Iterator[dict[str, str]]:
    """A user with the member role on the project demo only, and a private image of demo's."""
    ctx, vip, token = cloud["ctx"], cloud["vip"], cloud["token"]
    keystone = f"https://{vip}:5000/v3"
    _h, projects = _api(ctx, "GET", f"{keystone}/projects?name=demo", headers=token)
    assert projects["projects"], (
        "the project demo does not exist: declare it in openstack_user_identity (user_variables, "
        "as the aio scenario does) and run openstack-resources.yml"
    )
    _h, roles = _api(ctx, "GET", f"{keystone}/roles?name=member", headers=token)
    assert roles["roles"], "Keystone has no role named member (keystone bootstrap makes it)"
    project, role = projects["projects"][0]["id"], roles["roles"][0]["id"]
    stamp = int(time.time())
    user = {"name": f"nimbus-browser-demo-{stamp}", "password": secrets.token_urlsafe(24)}
    _h, made = _api(
        ctx,
        "POST",
        f"{keystone}/users",
        headers=token,
        data={"user": {**user, "domain_id": "default", "default_project_id": project}},
    )
    user_id = made["user"]["id"]
    image = ""
    try:
        _api(
            ctx, "PUT", f"{keystone}/projects/{project}/users/{user_id}/roles/{role}", headers=token
        )
        demo_token, _catalog = _token(ctx, vip, user["name"], user["password"], "demo")
        user["image"] = f"nimbus-browser-demo-image-{stamp}"
        image = _image(ctx, vip, demo_token, user["image"])
        yield user
    finally:
        if image:
            _api(ctx, "DELETE", f"https://{vip}:9292/v2/images/{image}", headers=token)
        _api(ctx, "DELETE", f"{keystone}/users/{user_id}", headers=token)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if not shutil.which("certutil"):
        missing.append("certutil")
    assert not missing, (
        f"{', '.join(missing)} missing: install chromium, chromium-driver and libnss3-tools "
        "(scripts/run-tests.sh does it in ensure_browser_prerequisites)"
    )
    from selenium import webdriver  # noqa: PLC0415 - only where the browser is wanted
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    home = tmp_path_factory.mktemp("browser-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "nimbus-ca", "-i", str(CA)],
        check=True,
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root on the deployment host
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={home / 'profile'}",
    ):
        options.add_argument(arg)
    # HOME: Chromium reads the CA from $HOME/.pki/nssdb. SE_OFFLINE: Selenium never downloads.
    env = {**os.environ, "HOME": str(home), "SE_OFFLINE": "true"}
    os.environ["SE_OFFLINE"] = "true"
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER, env=env))
    driver.set_page_load_timeout(WAIT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str) -> None:
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path} ({driver.current_url})")


def wait_for(driver: Any, what: str, check: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    try:
        return WebDriverWait(driver, WAIT).until(check)
    except Exception as exc:
        shot(driver, "failed-" + what.replace(" ", "-"))
        raise AssertionError(
            f"{what}: not seen within {WAIT:.0f} s at {driver.current_url}"
        ) from exc


def log_in(driver: Any, url: str, password: str, user: str = "admin") -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver.delete_all_cookies()
    driver.get(f"{url}/auth/login/")
    wait_for(driver, "the login form", lambda d: d.find_elements(By.ID, "id_password"))
    driver.find_element(By.ID, "id_username").send_keys(user)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.ID, "loginBtn").click()
    wait_for(
        driver,
        f"the end of {user}'s login",
        lambda d: "/auth/login" not in d.current_url or LOGIN_ERROR in d.page_source,
    )


def log_out(driver: Any, url: str, name: str) -> None:
    """Sign out as the user menu does (a POST with the page's CSRF token: GET is refused)."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    forms = driver.find_elements(By.CSS_SELECTOR, "form[action$='/auth/logout/']")
    assert forms, f"no Sign Out form in the user menu at {driver.current_url}"
    driver.execute_script("arguments[0].requestSubmit();", forms[0])
    wait_for(driver, "the login page after logout", lambda d: d.find_elements(By.ID, "id_password"))
    shot(driver, name)
    driver.get(f"{url}/project/")
    wait_for(
        driver,
        "the login page for /project/ after logout",
        lambda d: "/auth/login/" in d.current_url,
    )


def offered(driver: Any, path: str) -> bool:
    """Whether the dashboard's navigation links the panel at path (e.g. /project/instances/)."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return bool(driver.find_elements(By.CSS_SELECTOR, f"a[href$='{path}']"))


def check_instances(browser: Any, cloud: dict[str, Any]) -> None:
    """Project > Compute > Instances: the Compute API's servers, or no panel without Nova."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    url, ctx, vip, token = cloud["url"], cloud["ctx"], cloud["vip"], cloud["token"]
    if "compute" in cloud["services"]:
        # The project overview shows compute usage: Horizon offers it only with Nova.
        browser.get(f"{url}/project/")
        wait_for(browser, "the project overview", lambda d: "Limit Summary" in d.page_source)
        shot(browser, "03-project-overview")
        assert offered(browser, "/project/instances/"), "the Instances panel is not offered"
        compute = f"https://{vip}:8774/v2.1/servers"
        _h, servers = _api(ctx, "GET", compute, headers=token)
        names = [server["name"] for server in servers["servers"]]
        browser.get(f"{url}/project/instances/")
        wait_for(browser, "the instances table", lambda d: d.find_elements(By.ID, "instances"))
        for name in names:
            wait_for(
                browser, f"the server {name} in the table", lambda d, n=name: n in d.page_source
            )
        if not names:
            wait_for(browser, "an empty table", lambda d: "No items to display" in d.page_source)
        shot(browser, "04-project-instances")
        print(f"instances: {len(names)} server(s) listed by the Compute API shown: {names}")
    else:
        assert not offered(browser, "/project/instances/"), (
            "the catalog has no compute service but the dashboard offers Instances"
        )
        print("instances: no compute service in the catalog; the panel is rightly not offered")


def check_network_topology(browser: Any, cloud: dict[str, Any]) -> None:
    """Project > Network > Network Topology, or no panel without Neutron."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    if "network" in cloud["services"]:
        assert offered(browser, "/project/network_topology/"), "Network Topology is not offered"
        browser.get(f"{cloud['url']}/project/network_topology/")
        wait_for(
            browser,
            "the network topology",
            lambda d: d.find_elements(By.CSS_SELECTOR, "#topologyCanvasContainer, svg"),
        )
        shot(browser, "06-project-network-topology")
    else:
        assert not offered(browser, "/project/network_topology/"), (
            "the catalog has no network service but the dashboard offers Network Topology"
        )
        print("network topology: no network service in the catalog; rightly not offered")


def test_wrong_password_shows_the_login_error(browser: Any, cloud: dict[str, Any]) -> None:
    log_in(browser, cloud["url"], cloud["password"] + "-wrong")
    wait_for(browser, "the login error", lambda d: LOGIN_ERROR in d.page_source)
    shot(browser, "01-login-wrong-password")
    assert "/auth/login/" in browser.current_url
    # Still logged out: the dashboard sends the browser back to the login page.
    browser.get(f"{cloud['url']}/project/")
    wait_for(browser, "the login page for /project/", lambda d: "/auth/login/" in d.current_url)


def test_admin_logs_in_sees_instances_images_topology_and_logs_out(
    browser: Any, cloud: dict[str, Any], test_image: str
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    url, ctx, vip, token = cloud["url"], cloud["ctx"], cloud["vip"], cloud["token"]
    started = time.monotonic()
    # The first load fills the browser's cache and the server's; the second is measured.
    browser.delete_all_cookies()
    browser.get(f"{url}/auth/login/")
    browser.get(f"{url}/auth/login/")
    first_byte, full_load = browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return [n.responseStart - n.requestStart, n.loadEventEnd - n.startTime];"
    )
    print(f"login page: first byte {first_byte:.0f} ms, full load {full_load:.0f} ms (warm)")
    SHOTS.joinpath("timings.json").write_text(
        json.dumps({"login_first_byte_ms": first_byte, "login_full_load_ms": full_load}) + "\n"
    )
    shot(browser, "02-login-page")
    css = [
        e.get_attribute("href")
        for e in browser.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]")
    ]
    assert any("/static/" in href for href in css), (
        f"no stylesheet from /static/ on the login page: {css}"
    )

    log_in(browser, url, cloud["password"])
    assert "/auth/login" not in browser.current_url, "admin's login was refused"
    wait_for(
        browser,
        "admin's user menu",
        lambda d: "admin" in d.find_element(By.CSS_SELECTOR, ".navbar").text,
    )
    shot(browser, "03-dashboard")

    check_instances(browser, cloud)

    images_api = f"https://{vip}:9292/v2/images?name=nimbus-test-image"
    _h, day_one = _api(ctx, "GET", images_api, headers=token)
    expected = [test_image] + [image["name"] for image in day_one["images"]]
    browser.get(f"{url}/project/images")
    wait_for(browser, "the images table", lambda d: d.find_elements(By.CSS_SELECTOR, "table"))
    for name in expected:
        wait_for(browser, f"the image {name} in the table", lambda d, n=name: n in d.page_source)
    shot(browser, "05-project-images")
    print(f"images: {expected} in the table")

    check_network_topology(browser, cloud)

    log_out(browser, url, "07-logged-out")
    print(f"browser test: {time.monotonic() - started:.1f} s from the login page to the logout")


def test_demo_member_sees_only_demo(
    browser: Any, cloud: dict[str, Any], test_image: str, demo_member: dict[str, str]
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    url = cloud["url"]
    log_in(browser, url, demo_member["password"], demo_member["name"])
    assert "/auth/login" not in browser.current_url, f"{demo_member['name']}'s login was refused"
    browser.get(f"{url}/project/images")
    wait_for(browser, "demo's images table", lambda d: d.find_elements(By.CSS_SELECTOR, "table"))
    wait_for(
        browser,
        f"demo's image {demo_member['image']} in the table",
        lambda d: demo_member["image"] in d.page_source,
    )
    shot(browser, "08-demo-member-images")
    assert test_image not in browser.page_source, (
        f"a member of demo sees admin's private image {test_image}"
    )
    admin_links = browser.find_elements(By.CSS_SELECTOR, "a[href*='/admin/']")
    assert not admin_links, "a member of demo is offered the Admin dashboard"
    log_out(browser, url, "09-demo-logged-out")
