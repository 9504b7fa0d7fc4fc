"""What repo_server leaves on a host (Molecule scenario repo_server).

nginx serves the wheel directory of each OS/architecture as a listing pip reads with
``--find-links``, on the management address only, from Debian's unit with the role's sandbox
drop-in. The functional probe is pip itself on the repo host: it resolves the utility host's
requirement list with the deployment's constraints from the repo's address alone
(``--no-index``), as role python_venv installs a venv.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

testinfra_hosts = ["repo_all"]

PORT = 8181
UNIT = "nginx.service"
WWW_ROOT = "/var/www/repo"
BUILD_DIR = "/var/lib/nimbus-repo"
SITE = "/etc/nginx/sites-available/nimbus-repo.conf"
DROP_IN = "/etc/systemd/system/nginx.service.d/nimbus.conf"
# The collection's constraints, read on the deployment host.
CONSTRAINTS = Path(__file__).resolve().parents[4] / "requirements" / "services" / "constraints.txt"
# The list the probe resolves: the utility host's, built whenever utility_all has hosts.
PROBE_LIST = "utility"
PROBE_PACKAGE = "python-openstackclient"


def http_get(url: str) -> tuple[int, bytes]:
    """(status, body) of a GET from the deployment host."""
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:  # noqa: S310 (lab host)
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def normalized(name: str) -> str:
    """A distribution name as wheel file names spell it (PEP 427/503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def constrained_version(package: str) -> str:
    for line in CONSTRAINTS.read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep and normalized(name) == normalized(package):
            return version.split(";", 1)[0].strip()
    raise AssertionError(f"{package} has no pin in {CONSTRAINTS}")


@pytest.fixture
def wheel_dirs(host) -> list[str]:
    """The OS/architecture wheel directories the host serves (e.g. debian-13-x86_64)."""
    names = host.check_output(
        "find %s/wheels -mindepth 1 -maxdepth 1 -type d -printf '%%f\\n'", WWW_ROOT
    )
    names = sorted(names.split())
    assert names, f"no wheel directory under {WWW_ROOT}/wheels"
    return names


@pytest.mark.parametrize(
    "package",
    [
        "nginx",
        "build-essential",
        "libffi-dev",
        "libpcre2-dev",
        "libssl-dev",
        "pkg-config",
        "python3-dev",
        "python3-venv",
    ],
)
def test_package_installed(host, package):
    assert host.package(package).is_installed


def test_nginx_running_and_enabled(host):
    service = host.service(UNIT)
    assert service.is_running
    assert service.is_enabled


def test_nginx_accepts_its_configuration(host):
    assert host.run("nginx -t -q").rc == 0


def test_nginx_in_its_sandbox(host, process_sandbox, unit_properties):
    """The drop-in's sandbox (repo_server_nginx_unit_hardening) as systemd loaded it and as the
    kernel applies it: the master runs as root with only the capabilities it needs, no new
    privileges, and the seccomp filter systemd installs for the architecture and address-family
    restrictions; the workers run as www-data."""
    props = unit_properties(
        UNIT, "DropInPaths", "NeedDaemonReload", "ProtectSystem", "ProtectHome", "PrivateTmp"
    )
    assert DROP_IN in props["DropInPaths"].split()
    assert props["NeedDaemonReload"] == "no", "the drop-in changed since systemd loaded it"
    assert (props["ProtectSystem"], props["ProtectHome"], props["PrivateTmp"]) == (
        "full",
        "yes",
        "yes",
    )
    cap_chown, cap_dac_override, cap_kill, cap_setgid, cap_setuid, cap_net_bind_service = (
        0,
        1,
        5,
        6,
        7,
        10,
    )
    wanted = sum(
        1 << cap
        for cap in (
            cap_chown,
            cap_dac_override,
            cap_kill,
            cap_setgid,
            cap_setuid,
            cap_net_bind_service,
        )
    )
    assert process_sandbox(UNIT) == ("root", wanted, "1", "2")
    master = unit_properties(UNIT, "MainPID")["MainPID"]
    workers = host.process.filter(ppid=int(master), comm="nginx")
    assert workers, "nginx has no worker process"
    assert {w.user for w in workers} == {"www-data"}


def test_listens_on_the_management_address_only(host, listeners, management_address):
    """Port 8181 on the management address, and no other socket of nginx (the package's
    default site, port 80 of every address, is off)."""
    assert listeners("tcp", PORT) == {f"{management_address}:{PORT}"}
    out = host.check_output("ss -Htlnp")
    nginx = {line.split()[3] for line in out.splitlines() if '(("nginx"' in line}
    assert nginx == {f"{management_address}:{PORT}"}


def test_only_the_repo_site_enabled(host):
    enabled = host.file("/etc/nginx/sites-enabled/nimbus-repo.conf")
    assert enabled.is_symlink
    assert enabled.linked_to == SITE
    assert host.check_output("ls -A /etc/nginx/sites-enabled").split() == ["nimbus-repo.conf"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (SITE, ("root", "root", 0o644)),
        (DROP_IN, ("root", "root", 0o644)),
        (WWW_ROOT, ("root", "root", 0o755)),
        (f"{WWW_ROOT}/wheels", ("root", "root", 0o755)),
        (BUILD_DIR, ("root", "root", 0o755)),
        (f"{BUILD_DIR}/requirements", ("root", "root", 0o755)),
        (f"{BUILD_DIR}/requirements/constraints.txt", ("root", "root", 0o644)),
    ],
)
def test_file_owner_and_mode(owner_and_mode, path, expected):
    assert owner_and_mode(path) == expected


def test_served_files_belong_to_root_and_only_root_writes(host, owner_and_mode, wheel_dirs):
    """nginx (www-data) only reads: every served file is root's and writable by root alone."""
    for name in wheel_dirs:
        assert owner_and_mode(f"{WWW_ROOT}/wheels/{name}") == ("root", "root", 0o755)
    odd = host.check_output(
        "find %s \\( ! -user root -o -perm /022 \\) -printf '%%p %%u %%m\\n'", WWW_ROOT
    )
    assert odd.splitlines() == []


def test_built_for_the_current_constraints(host):
    """The host's copy of the constraints (written by the last build) is the collection's:
    the wheels were built for them, no build is owed."""
    on_host = host.check_output(
        "sha256sum %s", f"{BUILD_DIR}/requirements/constraints.txt"
    ).split()[0]
    assert on_host == hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()


def test_listing_names_every_wheel(host, management_address, wheel_dirs):
    """The page pip reads with --find-links links exactly the wheels of the directory."""
    for name in wheel_dirs:
        status, body = http_get(f"http://{management_address}:{PORT}/wheels/{name}/")
        assert status == 200
        linked = set(re.findall(r'href="([^"/?]+\.whl)"', body.decode()))
        on_disk = set(
            host.check_output(
                "find %s -maxdepth 1 -name '*.whl' -printf '%%f\\n'", f"{WWW_ROOT}/wheels/{name}"
            ).split()
        )
        assert on_disk, f"no wheel in {WWW_ROOT}/wheels/{name}"
        assert {urllib.request.url2pathname(link) for link in linked} == on_disk


def test_wheel_served_unchanged(host, management_address, wheel_dirs):
    """The constrained version of the probe package is there and served byte for byte."""
    version = constrained_version(PROBE_PACKAGE)
    for name in wheel_dirs:
        directory = f"{WWW_ROOT}/wheels/{name}"
        files = host.check_output(
            "find %s -maxdepth 1 -name %s -printf '%%f\\n'",
            directory,
            f"{normalized(PROBE_PACKAGE)}-{version}-*.whl",
        ).split()
        assert len(files) == 1, f"{PROBE_PACKAGE} {version} in {directory}: {files}"
        status, body = http_get(f"http://{management_address}:{PORT}/wheels/{name}/{files[0]}")
        assert status == 200
        on_host = host.check_output("sha256sum %s", f"{directory}/{files[0]}").split()[0]
        assert hashlib.sha256(body).hexdigest() == on_host


def test_hidden_files_refused(management_address):
    status, _body = http_get(f"http://{management_address}:{PORT}/wheels/.nimbus-probe")
    assert status == 403


def test_pip_resolves_a_requirement_list_from_the_repo_alone(host, management_address, wheel_dirs):
    """pip on the repo host, with no index but the repo's page: the utility host's list with the
    deployment's constraints resolves completely, the pinned client among the downloads."""
    build = host.system_info
    name = f"{build.distribution}-{build.release.split('.')[0]}-{host.check_output('uname -m')}"
    assert name in wheel_dirs
    dest = host.check_output("mktemp -d /tmp/nimbus-repo-probe.XXXXXX")
    try:
        cmd = host.run(
            "%s download --no-input --progress-bar off --disable-pip-version-check"
            " --no-cache-dir --no-index --only-binary :all:"
            " --find-links %s --trusted-host %s -c %s -r %s --dest %s",
            f"{BUILD_DIR}/venv/bin/pip",
            f"http://{management_address}:{PORT}/wheels/{name}/",
            management_address,
            f"{BUILD_DIR}/requirements/constraints.txt",
            f"{BUILD_DIR}/requirements/{PROBE_LIST}.txt",
            dest,
        )
        assert cmd.rc == 0, cmd.stderr[-2000:]
        got = host.check_output("ls %s", dest).split()
        version = constrained_version(PROBE_PACKAGE)
        assert any(f.startswith(f"{normalized(PROBE_PACKAGE)}-{version}-") for f in got), got
    finally:
        host.run("rm -rf %s", dest)
