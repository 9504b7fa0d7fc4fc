"""Horizon in a real browser, through the external VIP of a deployed lab.

Headless Chromium from Debian (``chromium``, ``chromium-driver``), driven by Selenium from the
test venv, with the deployment CA trusted in the browser's own certificate store (a scratch
NSS database made with ``certutil``, package ``libnss3-tools``): nothing is downloaded from
outside the package registries, and a certificate error fails the test.

- A wrong password stays on the login page with Horizon's error text.
- admin logs in, lands on the dashboard, opens the project overview, opens Images and sees
  an image this test created through the Image API (so the table shows the cloud's data, not
  a cached page), and logs out: the dashboard asks for a login again.

Every page is saved as a screenshot (``NIMBUS_HORIZON_SCREENSHOTS``, default
``.build/horizon-screenshots`` of this checkout) and the test prints their names, with the
login page's time to first byte and full load in the browser (Navigation Timing).

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
def cloud() -> dict[str, str]:
    overrides = _load("openstack_user_config.yml").get("global_overrides", {})
    secrets = _load("user_secrets.yml")
    vip = str(overrides.get("external_lb_vip_address", ""))
    password = str(secrets.get("keystone_auth_admin_password") or "")
    assert vip, f"external_lb_vip_address is not set in {CONFIG_DIR}/openstack_user_config.yml"
    assert password, f"keystone_auth_admin_password is empty in {CONFIG_DIR}/user_secrets.yml"
    assert CA.is_file(), f"the deployment CA {CA} is missing (set NIMBUS_HORIZON_CA)"
    return {"vip": vip, "url": f"https://{vip}", "password": password}


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


@pytest.fixture(scope="module")
def test_image(cloud: dict[str, str]) -> Iterator[str]:
    """A small private image of the admin project, made through the Image API, deleted after."""
    ctx = ssl.create_default_context(cafile=str(CA))
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": cloud["password"],
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    headers, _body = _api(ctx, "POST", f"https://{cloud['vip']}:5000/v3/auth/tokens", data=auth)
    token = {"X-Auth-Token": headers["X-Subject-Token"]}
    glance = f"https://{cloud['vip']}:9292/v2/images"
    name = f"nimbus-browser-{int(time.time())}"
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
    try:
        yield name
    finally:
        _api(ctx, "DELETE", f"{glance}/{image['id']}", headers=token)


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


def log_in(driver: Any, url: str, password: str) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver.delete_all_cookies()
    driver.get(f"{url}/auth/login/")
    wait_for(driver, "the login form", lambda d: d.find_elements(By.ID, "id_password"))
    driver.find_element(By.ID, "id_username").send_keys("admin")
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.ID, "loginBtn").click()


def test_wrong_password_shows_the_login_error(browser: Any, cloud: dict[str, str]) -> None:
    log_in(browser, cloud["url"], cloud["password"] + "-wrong")
    wait_for(browser, "the login error", lambda d: LOGIN_ERROR in d.page_source)
    shot(browser, "01-login-wrong-password")
    assert "/auth/login/" in browser.current_url
    # Still logged out: the dashboard sends the browser back to the login page.
    browser.get(f"{cloud['url']}/project/")
    wait_for(browser, "the login page for /project/", lambda d: "/auth/login/" in d.current_url)


def test_admin_logs_in_sees_images_and_logs_out(
    browser: Any, cloud: dict[str, str], test_image: str
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    url = cloud["url"]
    started = time.monotonic()
    browser.get(f"{url}/auth/login/")
    timing = browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return [n.responseStart - n.requestStart, n.loadEventEnd - n.startTime];"
    )
    print(f"login page: first byte {timing[0]:.0f} ms, full load {timing[1]:.0f} ms (warm)")
    shot(browser, "02-login-page")
    css = [
        e.get_attribute("href")
        for e in browser.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]")
    ]
    assert any("/static/" in href for href in css), (
        f"no stylesheet from /static/ on the login page: {css}"
    )

    log_in(browser, url, cloud["password"])
    wait_for(browser, "the dashboard after login", lambda d: "/auth/login" not in d.current_url)
    browser.get(f"{url}/project/")
    wait_for(browser, "the project overview", lambda d: "Limit Summary" in d.page_source)
    assert "admin" in browser.find_element(By.CSS_SELECTOR, "body").text
    shot(browser, "03-project-overview")

    browser.get(f"{url}/project/images")
    wait_for(browser, "the images table", lambda d: d.find_elements(By.CSS_SELECTOR, "table"))
    wait_for(browser, f"the image {test_image} in the table", lambda d: test_image in d.page_source)
    shot(browser, "04-project-images")

    browser.get(f"{url}/auth/logout/")
    wait_for(
        browser, "the login page after logout", lambda d: d.find_elements(By.ID, "id_password")
    )
    shot(browser, "05-logged-out")
    browser.get(f"{url}/project/")
    wait_for(
        browser,
        "the login page for /project/ after logout",
        lambda d: "/auth/login/" in d.current_url,
    )
    print(f"browser test: {time.monotonic() - started:.1f} s from the login page to the logout")
