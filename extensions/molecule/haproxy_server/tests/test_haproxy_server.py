"""What haproxy_server leaves on a host (Molecule scenario haproxy_server; the gate runs the
same module over every host of haproxy_all of a deployment).

The frontends and backends a host should have are read from the configuration HAProxy runs
(``haproxy.cfg`` and every fragment of ``conf.d``), so the same checks hold for the scenario's
one test service and for a deployment's dozen: every configured bind listens and nothing
else, only on a VIP or (statistics) the management address, and every HTTP frontend whose
backend HAProxy marks UP answers as its backend does.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest

testinfra_hosts = ["haproxy_all"]

CONF = "/etc/haproxy/haproxy.cfg"
FRAGMENT_DIR = "/etc/haproxy/conf.d"
CA = "/etc/nimbus/pki/ca.pem"
STATS_PORT = 1936


@dataclass
class Section:
    """One ``frontend``, ``backend`` or ``listen`` section of HAProxy's configuration."""

    kind: str
    name: str
    mode: str = "http"
    # address, port, options ("ssl crt ..." when TLS)
    binds: list[tuple[str, int, str]] = field(default_factory=list)
    # name, address, port, TLS
    servers: list[tuple[str, str, int, bool]] = field(default_factory=list)
    default_backend: str = ""


def parse_sections(text: str) -> dict[str, Section]:
    """The proxies of a configuration text, keyed ``<kind>/<name>`` (global/defaults left out)."""
    sections: dict[str, Section] = {}
    current: Section | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if not raw[0].isspace():
            current = None
            if words[0] in {"frontend", "backend", "listen"} and len(words) > 1:
                current = Section(kind=words[0], name=words[1])
                sections[f"{words[0]}/{words[1]}"] = current
            continue
        if current is None:
            continue
        if words[0] == "mode":
            current.mode = words[1]
        elif words[0] == "bind":
            address, port = words[1].rsplit(":", 1)
            current.binds.append((address, int(port), " ".join(words[2:])))
        elif words[0] == "server" and len(words) > 2:
            address, port = words[2].rsplit(":", 1)
            current.servers.append((words[1], address, int(port), "ssl" in words[3:]))
        elif words[0] == "default_backend":
            current.default_backend = words[1]
    return sections


@pytest.fixture(scope="module")
def config_text(host) -> str:
    """The configuration HAProxy runs: the main file, then every fragment (one read)."""
    return host.check_output(f"cat {CONF} {FRAGMENT_DIR}/*.cfg")


@pytest.fixture(scope="module")
def sections(config_text) -> dict[str, Section]:
    return parse_sections(config_text)


@pytest.fixture(scope="module")
def variables(host) -> dict:
    return host.ansible.get_variables()


@pytest.fixture(scope="module")
def vips(variables) -> set[str]:
    return {variables["internal_lb_vip_address"], variables["external_lb_vip_address"]}


@pytest.fixture(scope="module")
def stats_auth(config_text) -> str:
    """``user:password`` of the statistics page, as HAProxy has it (root reads the file)."""
    for line in config_text.splitlines():
        words = line.split()
        if words[:2] == ["stats", "auth"]:
            return words[2]
    raise AssertionError(f"no 'stats auth' line in {CONF}")


@pytest.fixture(scope="module")
def stats(variables, stats_auth) -> dict[tuple[str, str], str]:
    """HAProxy's statistics (CSV): (proxy, server or FRONTEND/BACKEND) -> status."""
    request = urllib.request.Request(
        f"http://{variables['management_address']}:{STATS_PORT}/;csv",
        headers={"Authorization": "Basic " + base64.b64encode(stats_auth.encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (lab address)
        text = response.read().decode()
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return {(row["pxname"], row["svname"]): row["status"] for row in rows}


@pytest.fixture(scope="module")
def ca_context(host, tmp_path_factory) -> ssl.SSLContext:
    """A client context trusting only the deployment CA (read from the host)."""
    ca = tmp_path_factory.mktemp("haproxy") / "ca.pem"
    ca.write_text(host.file(CA).content_string)
    return ssl.create_default_context(cafile=str(ca))


def haproxy_listeners(host) -> set[str]:
    """``address:port`` of every TCP socket HAProxy listens on."""
    out = host.check_output("ss -Htlnp")
    return {line.split()[3] for line in out.splitlines() if '(("haproxy"' in line}


@pytest.mark.parametrize("package", ["haproxy", "keepalived"])
def test_package_installed(host, package):
    assert host.package(package).is_installed


@pytest.mark.parametrize("unit", ["haproxy", "keepalived"])
def test_unit_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


# HAProxy's master: CAP_DAC_OVERRIDE, CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE,
# CAP_SYS_CHROOT (bind, chroot, drop to its user, signal its workers, its admin socket).
HAPROXY_CAPABILITIES = (1 << 1) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 18)
# keepalived: CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_ADMIN, CAP_NET_RAW (the VIPs, VRRP,
# gratuitous ARP, its check script).
KEEPALIVED_CAPABILITIES = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 12) | (1 << 13)


@pytest.mark.parametrize(
    ("unit", "capabilities", "options"),
    [
        ("haproxy.service", HAPROXY_CAPABILITIES, ("ProtectKernelTunables",)),
        ("keepalived.service", KEEPALIVED_CAPABILITIES, ("MemoryDenyWriteExecute",)),
    ],
)
def test_runs_in_its_sandbox(process_status, unit_properties, unit, capabilities, options):
    """The role's drop-ins in force (haproxy_server_unit_hardening,
    haproxy_server_keepalived_unit_hardening): as the kernel applies them to the main process
    (no new privileges, only the capabilities it needs) and as systemd reports them."""
    status = process_status(unit)
    assert (status["NoNewPrivs"], int(status["CapBnd"], 16)) == ("1", capabilities)
    names = ("ProtectSystem", "PrivateDevices", "RestrictSUIDSGID", *options)
    expected = {"ProtectSystem": "full", **dict.fromkeys(names[1:], "yes")}
    assert unit_properties(unit, *names) == expected


def test_configuration_is_valid(host):
    """HAProxy itself accepts the main file with every fragment (what the role validates)."""
    result = host.run("haproxy -c -q -f %s -f %s", CONF, FRAGMENT_DIR)
    assert result.rc == 0, result.stderr


def test_listens_on_every_configured_bind_and_nothing_else(host, sections):
    configured = {f"{a}:{p}" for s in sections.values() for a, p, _options in s.binds}
    assert configured, f"no bind line in {CONF} or {FRAGMENT_DIR}"
    assert haproxy_listeners(host) == configured


def test_binds_only_on_the_vips_and_stats_on_the_management_address(sections, vips, variables):
    management_address = variables["management_address"]
    for key, section in sections.items():
        allowed = {management_address} if key == "listen/stats" else vips
        for address, port, _options in section.binds:
            assert address in allowed, f"{key} binds {address}:{port}; allowed: {sorted(allowed)}"
    assert [(a, p) for a, p, _options in sections["listen/stats"].binds] == [
        (management_address, STATS_PORT)
    ]


@pytest.mark.parametrize(
    ("path", "user", "group", "mode"),
    [
        (CONF, "root", "haproxy", 0o640),  # holds the statistics password
        ("/etc/haproxy/ssl/haproxy.pem", "root", "haproxy", 0o640),  # holds the host key
        ("/etc/keepalived/keepalived.conf", "root", "root", 0o600),  # holds the VRRP password
        ("/etc/default/haproxy", "root", "root", 0o644),
    ],
)
def test_file_owner_and_mode(host, path, user, group, mode):
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == (user, group, mode)


def test_fragments_owner_and_mode(host):
    out = host.check_output(f"stat -c '%U %G %a %n' {FRAGMENT_DIR} {FRAGMENT_DIR}/*")
    found = {line.split()[3]: tuple(line.split()[:3]) for line in out.splitlines()}
    assert found.pop(FRAGMENT_DIR) == ("root", "haproxy", "750")
    assert found, f"no fragment in {FRAGMENT_DIR}"
    assert {path: m for path, m in found.items() if m != ("root", "haproxy", "640")} == {}


@pytest.mark.parametrize(
    "line",
    [
        "user haproxy",
        "group haproxy",
        "chroot /var/lib/haproxy",
        "stats socket /run/haproxy/admin.sock mode 660 level admin",
    ],
)
def test_global_values(config_text, line):
    assert line in [raw.strip() for raw in config_text.splitlines()]


def test_tls_frontends_serve_the_host_bundle_with_a_minimum_version(config_text, sections):
    lines = [raw.strip() for raw in config_text.splitlines()]
    assert any(
        re.fullmatch(r"ssl-default-bind-options ssl-min-ver TLSv1\.[23]\b.*", t) for t in lines
    )
    tls_binds = [b for s in sections.values() for b in s.binds if "ssl" in b[2].split()]
    assert tls_binds, "no frontend serves TLS"
    for address, port, options in tls_binds:
        assert "crt /etc/haproxy/ssl/haproxy.pem" in options, f"{address}:{port} {options}"


def test_one_host_holds_each_vip(host, variables, vips):
    """keepalived: every VIP is on exactly one host of haproxy_all."""
    members = sorted(set(variables["groups"]["haproxy_all"]))
    backend = host.backend
    for vip in sorted(vips):
        holders = []
        for name in members:
            member = host.get_host(f"ansible://{name}", ansible_inventory=backend.ansible_inventory)
            if member.run("ip -o -4 addr show to %s/32", vip).stdout.strip():
                holders.append(name)
        assert len(holders) == 1, f"{vip} is held by {holders or 'no host'}"


def test_stats_refuse_a_client_without_the_password(management_address):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://{management_address}:{STATS_PORT}/;csv", timeout=10)
    assert refused.value.code == 401


def test_stats_list_every_configured_proxy(stats, sections):
    """The statistics answer (with the password) and know every frontend and backend."""
    proxies = {name for name, _server in stats}
    configured = {s.name for s in sections.values()}
    assert configured <= proxies, f"missing from the statistics: {sorted(configured - proxies)}"


def get(url: str, context: ssl.SSLContext | None) -> int:
    """The status of a GET of ``url``, redirects not followed."""
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect())
    try:
        with opener.open(url, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_http_frontends_forward_to_their_backends(sections, stats, ca_context, vips):
    """Every HTTP frontend whose backend HAProxy marks UP answers through the VIP (TLS
    verified with the deployment CA for the VIP) what an UP server of it answers directly (a
    TLS backend verified with the same CA for its management address, which its host's
    certificate names)."""
    checked = []
    for section in sections.values():
        if section.kind != "frontend" or section.mode != "http" or not section.default_backend:
            continue
        backend = sections[f"backend/{section.default_backend}"]
        up = [s for s in backend.servers if stats.get((backend.name, s[0])) == "UP"]
        if not up:
            continue
        address, port, options = next(b for b in section.binds if b[0] in vips)
        scheme = "https" if "ssl" in options.split() else "http"
        through = get(f"{scheme}://{address}:{port}/", ca_context)
        _server_name, server_address, server_port, server_tls = up[0]
        direct = get(
            f"{'https' if server_tls else 'http'}://{server_address}:{server_port}/", ca_context
        )
        assert through == direct, (
            f"{section.name}: {address}:{port} answered {through}, its backend server "
            f"{server_address}:{server_port} {direct}"
        )
        checked.append(section.name)
    assert checked, "no HTTP frontend has a backend server HAProxy marks UP"
