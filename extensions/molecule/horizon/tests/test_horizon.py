"""What horizon leaves on a host (Molecule scenario horizon).

The functional probe talks to uWSGI on the host's management address as HAProxy does (HTTPS
verified with the deployment CA, ``horizon_backend_tls``, with ``X-Forwarded-Proto: https``:
HAProxy terminates the users' TLS, and Django then sets its cookies ``Secure`` and checks the
``Referer`` of a form as on HTTPS). The login page answers
with Django's CSRF token and links compressed stylesheets that uWSGI serves; the admin logs in
through the form (the password read on the deployment host from the configuration directory's
user_secrets.yml, OSA_CONFIG_DIR; never part of an assertion or a message), is sent to a
dashboard's home, sees the Identity dashboard (it needs Keystone only: the Project dashboard's
home needs Nova) name the user and offer the logout, logs out, and is then sent back to the login
page. A form posted without its CSRF token is refused. Users' way in, HTTPS on the external VIP
(HAProxy, verified with the deployment CA), answers with the login form.
"""

from __future__ import annotations

import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from html.parser import HTMLParser
from http.cookiejar import CookieJar, DefaultCookiePolicy

import pytest

testinfra_hosts = ["horizon_all"]

PORT = 8080
UNIT = "horizon.service"
HOME = "/var/lib/horizon"
STATIC_ROOT = f"{HOME}/static"
SETTINGS = "/etc/horizon/local_settings.py"
CA = "/etc/nimbus/pki/ca.pem"
USER = "admin"
MANIFEST = f"{STATIC_ROOT}/dashboard/manifest.json"
BUNDLE = re.compile(r"dashboard/(?:css|js)/output\.[0-9a-f]+\.(?:css|js)")
# A page of the dashboard that needs Keystone only (the project dashboard's home needs Nova).
IDENTITY = "/identity/"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers: the probe follows them itself, so it sees each one."""

    def redirect_request(self, *_args: object) -> None:
        return None


class BehindTLSProxy(DefaultCookiePolicy):
    """Sends the dashboard's ``Secure`` cookies over the plain hop HAProxy uses too (the
    browser's side of it is HTTPS)."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


class Forms(HTMLParser):
    """The forms of a page: action -> {input name: value}, and the stylesheets it links."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self.stylesheets: list[str] = []
        self._action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._action = a.get("action", "")
            self.forms.setdefault(self._action, {})
        elif tag == "input" and self._action is not None and a.get("name"):
            self.forms[self._action][a["name"]] = a.get("value", "")
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._action = None


def parse(page: str) -> Forms:
    forms = Forms()
    forms.feed(page)
    return forms


class Browser:
    """A cookie-keeping HTTP client of the dashboard's backend (standard library only)."""

    def __init__(self, base: str, context: ssl.SSLContext) -> None:
        self.base = base
        self.cookies = CookieJar(BehindTLSProxy())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies),
            NoRedirect(),
            urllib.request.HTTPSHandler(context=context),
        )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def request(
        self, path: str, form: dict[str, str] | None = None, referer: str | None = None
    ) -> tuple[int, Message, str]:
        """(status, headers, body) of a GET, or of a POST of a form; no redirect followed."""
        headers = {"X-Forwarded-Proto": "https"}
        if referer:
            headers["Referer"] = referer
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(  # noqa: S310 (https to a lab host's management address)
            urllib.parse.urljoin(self.base, path), data=data, headers=headers
        )
        try:
            with self.opener.open(req, timeout=60) as reply:
                return reply.status, reply.headers, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode("utf-8", "replace")

    def follow(self, path: str, limit: int = 5) -> tuple[str, int, str]:
        """(path, status, body) of the page a GET of path ends on after redirects."""
        for _hop in range(limit):
            status, headers, body = self.request(path)
            if status not in (301, 302, 303) or not headers["Location"]:
                return path, status, body
            path = urllib.parse.urlsplit(
                urllib.parse.urljoin(self.base + path, headers["Location"])
            ).path
        raise AssertionError(f"more than {limit} redirects from {path}")


def offline_bundles(host) -> set[str]:
    """The compressed bundles (paths under the static root) of django-compressor's offline
    manifest (horizon's COMPRESS_OUTPUT_DIR: dashboard/)."""
    manifest = host.file(MANIFEST)
    assert manifest.exists, f"no {MANIFEST}: compress --force did not run"
    return set(BUNDLE.findall(manifest.content_string))


@pytest.fixture
def base(management_address) -> str:
    return f"https://{management_address}:{PORT}"


@pytest.fixture
def browser(base, tls_context) -> Browser:
    return Browser(base, tls_context)


def test_unit_running_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running
    assert service.is_enabled


def test_listens_on_the_management_address_only(listeners, management_address):
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}


def test_runs_as_horizon_in_its_sandbox(process_sandbox):
    """uWSGI's main process: user horizon, no capability, no new privileges, a system-call
    filter (systemd_service's default sandbox, as the kernel applies it)."""
    assert process_sandbox(UNIT) == ("horizon", 0, "1", "2")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc/horizon", ("root", "horizon", 0o750)),
        (SETTINGS, ("root", "horizon", 0o640)),
        ("/etc/horizon/secret_key", ("root", "horizon", 0o640)),
        ("/etc/horizon/horizon-uwsgi.ini", ("root", "horizon", 0o640)),
        (f"/etc/systemd/system/{UNIT}", ("root", "root", 0o644)),
        (HOME, ("horizon", "horizon", 0o750)),
        (f"{HOME}/uploads", ("horizon", "horizon", 0o750)),
        # Built by the deployment (root), only read by the dashboard.
        (STATIC_ROOT, ("root", "horizon", 0o750)),
        (f"{HOME}/static.stamp", ("root", "horizon", 0o640)),
    ],
)
def test_file_owner_and_mode(owner_and_mode, path, expected):
    assert owner_and_mode(path) == expected


def test_running_code_reads_the_settings_from_etc(host, unit_properties):
    """The venv the unit runs is the version the static files were built for, and its
    openstack_dashboard reads its local settings through a link to /etc/horizon."""
    exec_start = unit_properties(UNIT, "ExecStart")["ExecStart"]
    venv = re.search(r"path=(\S+)/bin/uwsgi ", exec_start)
    assert venv, exec_start
    version = host.file(f"{HOME}/static.stamp").content_string.split()[1]
    assert venv.group(1).endswith(f"/horizon-{version}")
    links = host.check_output(
        "find %s/lib -maxdepth 5 -path '*/openstack_dashboard/local/local_settings.py'",
        venv.group(1),
    ).split()
    assert len(links) == 1, links
    assert host.file(links[0]).is_symlink
    assert host.file(links[0]).linked_to == SETTINGS


def test_secret_key_not_in_the_settings(host):
    """local_settings.py reads SECRET_KEY from its own file and holds no secret."""
    settings = host.file(SETTINGS).content_string
    assert "SECRET_KEY = _secret_key_file.read().strip()" in settings
    assert len(host.file("/etc/horizon/secret_key").content_string.strip()) >= 32


def test_static_files_collected_and_compressed_for_these_settings(host):
    """collectstatic and compress (offline) ran for this local_settings.py: the stamp names its
    checksum, and every bundle of the offline manifest is in the static root."""
    stamp = host.file(f"{HOME}/static.stamp").content_string.split()
    assert stamp[0] == "horizon"
    assert stamp[2:] == ["settings", host.file(SETTINGS).sha256sum]
    assert host.file(f"{STATIC_ROOT}/horizon/js").is_directory
    bundles = offline_bundles(host)
    assert any(b.endswith(".css") for b in bundles)
    assert any(b.endswith(".js") for b in bundles)
    assert all(host.file(f"{STATIC_ROOT}/{b}").is_file for b in bundles)


def test_no_restart_owed(host):
    assert not host.file(f"/var/lib/nimbus/restart-owed/{UNIT}").exists


def test_login_page_answers_with_a_csrf_token(browser):
    status, headers, page = browser.request("/auth/login/")
    assert status == 200
    login = parse(page).forms.get("/auth/login/")
    assert login is not None, "no form posting to /auth/login/"
    assert {"csrfmiddlewaretoken", "username", "password"} <= login.keys()
    assert len(login["csrfmiddlewaretoken"]) == 64
    cookie = headers.get_all("Set-Cookie") or []
    assert any(c.startswith("csrftoken=") and "Secure" in c for c in cookie)
    assert browser.cookie("csrftoken")


def test_login_page_stylesheets_served_compressed(host, browser):
    """The page links only offline-compressed stylesheets, which uWSGI serves from the static
    root with an expiry."""
    _status, _headers, page = browser.request("/auth/login/")
    css = parse(page).stylesheets
    assert css
    bundles = offline_bundles(host)
    for href in css:
        assert href.removeprefix("/static/") in bundles, href
        status, headers, body = browser.request(href)
        assert status == 200, href
        assert headers["Expires"], href
        assert body.strip(), href


def test_login_refused_without_the_csrf_token(browser, base):
    """A login form posted without its CSRF token is refused: horizon's CSRF failure view
    sends the browser back to the login page, and no session starts."""
    browser.request("/auth/login/")
    status, headers, _body = browser.request(
        "/auth/login/",
        {"username": USER, "password": "not-the-password", "region": "default"},
        referer=f"{base}/auth/login/",
    )
    assert status == 302
    assert headers["Location"].startswith("/auth/login/?csrf_failure=")
    assert browser.cookie("sessionid") is None


def test_admin_logs_in_and_out(browser, base, admin_password):
    """The admin logs in through Django's login form (its CSRF token, the Referer a browser
    sends), is sent to the dashboard, sees a page that names the user and offers the logout
    (a POST with the CSRF token, as the user menu does), then is logged out."""
    _status, _headers, page = browser.request("/auth/login/")
    form = dict(parse(page).forms["/auth/login/"])
    form.update(username=USER, password=admin_password)
    status, headers, _body = browser.request("/auth/login/", form, referer=f"{base}/auth/login/")
    # Never the password in a message: only the status and where it sends the browser.
    assert status == 302, f"the login answered {status}, not a redirect"
    assert headers["Location"] == "/"
    assert browser.cookie("sessionid")
    # The user's home: a dashboard, not the login page.
    status, headers, _body = browser.request("/")
    assert status == 302
    assert re.fullmatch(r"/(project|identity|admin)/", headers["Location"])
    # Logged in, the login page sends the browser to the dashboard.
    assert browser.request("/auth/login/")[0] == 302

    status, _headers, page = browser.request(IDENTITY)
    assert status == 200
    assert re.search(rf'class="user-name">\s*{USER}\s*<', page), "the page does not name the user"
    logout = parse(page).forms.get("/auth/logout/")
    assert logout is not None, "no logout form"
    assert logout.get("csrfmiddlewaretoken")

    status, headers, _body = browser.request("/auth/logout/", logout, referer=f"{base}{IDENTITY}")
    assert status == 302
    assert headers["Location"].startswith("/auth/login/")
    path, status, page = browser.follow(IDENTITY)
    assert (path, status) == ("/auth/login/", 200)
    assert 'name="password"' in page


def test_login_page_through_the_external_vip(host, tmp_path):
    """What users reach: HTTPS on the external VIP (HAProxy, verified with the deployment
    CA) answers with the login form."""
    vip = host.ansible.get_variables()["external_lb_vip_address"]
    ca = tmp_path / "ca.pem"
    ca.write_text(host.file(CA).content_string)
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"https://{vip}/auth/login/", timeout=30, context=context) as reply:
        assert reply.status == 200
        assert 'name="password"' in reply.read().decode("utf-8", "replace")
