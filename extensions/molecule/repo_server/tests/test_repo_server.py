"""What repo_server leaves on a host (Molecule scenario repo_server).

nginx serves the wheel directory of each OS/architecture as a listing pip reads with
``--find-links``, over HTTPS only (the host's certificate from the deployment PKI) on the
management address only, from Debian's unit with the role's sandbox drop-in; next to the
wheels, a lock per requirement list (``name==version --hash=sha256:...``). The functional
probe is pip itself on the repo host: it downloads the utility host's lock from the repo's
address alone (``--no-index --require-hashes``, verified with the deployment CA), as role
python_venv installs a venv.
"""

from __future__ import annotations

import hashlib
import re
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
# The deployment CA (role pki) and the host's certificate nginx serves. Debian's curl also reads
# the system's CA directory besides --cacert: "--capath /nonexistent" keeps it to the file given.
CA = "/etc/nimbus/pki/ca.pem"
HOST_CERT = "/etc/nimbus/pki/server.pem"
LOCK_LINE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:-[a-z0-9]+)*)==(?P<version>\S+) --hash=sha256:(?P<digest>[0-9a-f]{64})"
    r"(?:  # requested)?$"
)


def get(host, url: str, *curl_args: str) -> tuple[int, str]:
    """(status, body) of a GET from the repo host with curl: over HTTPS, verified with the
    deployment CA alone (not the system bundle)."""
    out = host.check_output(
        "curl -sS --max-time 30 --capath /nonexistent --cacert %s"
        + " %s" * len(curl_args)
        + " -w %s %s",
        CA,
        *curl_args,
        "\n%{http_code}",
        url,
    )
    body, _sep, status = out.rpartition("\n")
    return int(status), body


def canonical(name: str) -> str:
    """A distribution name in its canonical form (PEP 503), as the locks spell it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(host, path: str) -> list[re.Match]:
    lines = host.file(path).content_string.splitlines()
    assert lines, f"{path} is empty"
    bad = [line for line in lines if not LOCK_LINE.match(line)]
    assert not bad, f"{path}: not lock lines: {bad}"
    return [LOCK_LINE.match(line) for line in lines]


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


def test_https_with_the_hosts_certificate(host, management_address):
    """The repo port speaks TLS with the host's certificate from the deployment PKI, which the
    deployment CA verifies for the management address."""
    status, _body = get(host, f"https://{management_address}:{PORT}/", "-o", "/dev/null")
    assert status == 200
    served = host.check_output(
        "openssl s_client -connect %s -CAfile %s -no-CApath -verify_return_error -verify_ip %s"
        " </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256",
        f"{management_address}:{PORT}",
        CA,
        management_address,
    )
    assert served
    assert served == host.check_output("openssl x509 -noout -fingerprint -sha256 -in %s", HOST_CERT)


def test_https_refused_to_a_client_without_the_ca(host, management_address):
    """A client that trusts another CA alone does not get through the handshake."""
    other = host.check_output("mktemp /tmp/nimbus-repo-ca.XXXXXX")
    try:
        host.check_output(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
            " -subj /CN=other -keyout /dev/null -out %s 2>/dev/null",
            other,
        )
        cmd = host.run(
            "curl -sS --max-time 30 --capath /nonexistent --cacert %s -o /dev/null %s",
            other,
            f"https://{management_address}:{PORT}/",
        )
        assert cmd.rc == 60, cmd.stderr  # curl: peer certificate cannot be authenticated
    finally:
        host.run("rm -f %s", other)


def test_plain_http_refused(host, management_address, wheel_dirs):
    """Plain HTTP on the repo port gets nginx's 400, no redirect and nothing of the repo."""
    cmd = host.run(
        "curl -sS --max-time 30 -w %s %s",
        "\n%{http_code} %{redirect_url}",
        f"http://{management_address}:{PORT}/wheels/{wheel_dirs[0]}/",
    )
    body, _sep, tail = cmd.stdout.rpartition("\n")
    assert tail.strip() == "400", cmd.stdout
    assert "plain HTTP request was sent to HTTPS port" in body
    assert ".whl" not in body


def test_listing_names_every_wheel(host, management_address, wheel_dirs):
    """The page pip reads with --find-links links exactly the wheels of the directory."""
    for name in wheel_dirs:
        status, body = get(host, f"https://{management_address}:{PORT}/wheels/{name}/")
        assert status == 200
        linked = set(re.findall(r'href="([^"/?]+\.whl)"', body))
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
        served = host.check_output(
            "curl -sS --max-time 60 --fail --capath /nonexistent --cacert %s %s | sha256sum",
            CA,
            f"https://{management_address}:{PORT}/wheels/{name}/{files[0]}",
        ).split()[0]
        on_host = host.check_output("sha256sum %s", f"{directory}/{files[0]}").split()[0]
        assert served == on_host


def test_hidden_files_refused(host, management_address):
    status, _body = get(
        host, f"https://{management_address}:{PORT}/wheels/.nimbus-probe", "-o", "/dev/null"
    )
    assert status == 403


def test_locks_root_owned_and_read_only_for_others(host, owner_and_mode, wheel_dirs):
    """A lock per requirement list next to the wheels (the utility host's at least), root's,
    0644; and the listing links it."""
    for name in wheel_dirs:
        directory = f"{WWW_ROOT}/wheels/{name}"
        locks = host.check_output(
            "find %s -maxdepth 1 -name '*.lock' -printf '%%f\\n'", directory
        ).split()
        assert f"{PROBE_LIST}.lock" in locks, f"no {PROBE_LIST}.lock in {directory}: {locks}"
        for lock in locks:
            assert owner_and_mode(f"{directory}/{lock}") == ("root", "root", 0o644), lock


def test_every_locked_wheel_matches_its_hash(host, wheel_dirs):
    """Each lock line names one wheel of the directory (name and version) whose sha256 is the
    line's: the lock is exactly the wheels the repo built, as they are now."""
    for name in wheel_dirs:
        directory = f"{WWW_ROOT}/wheels/{name}"
        digests = {}
        for line in host.check_output("cd %s && sha256sum -- *.whl", directory).splitlines():
            digest, filename = line.split(maxsplit=1)
            dist, version = filename.lstrip("*").split("-")[:2]
            digests.setdefault(f"{canonical(dist)}=={version}", set()).add(digest)
        locks = host.check_output("find %s -maxdepth 1 -name '*.lock'", directory).split()
        for lock in locks:
            for match in read_lock(host, lock):
                key = f"{match['name']}=={match['version']}"
                assert match["digest"] in digests.get(key, set()), (
                    f"{lock}: {key} {digests.get(key)}"
                )


def test_the_utility_lock_names_its_list_and_the_pinned_client(host, wheel_dirs):
    """The lock of the utility host's list marks the list's own lines as requested and pins the
    client at the constraints' version."""
    requested = {
        canonical(re.split(r"[<>=!~;\[ ]", line.split("#", 1)[0].strip(), maxsplit=1)[0])
        for line in host.file(
            f"{BUILD_DIR}/requirements/{PROBE_LIST}.txt"
        ).content_string.splitlines()
        if line.split("#", 1)[0].strip()
    }
    for name in wheel_dirs:
        lines = host.file(f"{WWW_ROOT}/wheels/{name}/{PROBE_LIST}.lock").content_string.splitlines()
        marked = {line.split("==", 1)[0] for line in lines if line.endswith("  # requested")}
        assert marked == requested
        client = f"{canonical(PROBE_PACKAGE)}=={constrained_version(PROBE_PACKAGE)} --hash=sha256:"
        assert any(line.startswith(client) for line in lines), client


def test_pip_downloads_a_lock_from_the_repo_alone(host, management_address, wheel_dirs):
    """pip on the repo host, with no index but the repo's page over HTTPS (the deployment CA):
    the utility host's lock downloads completely with every hash checked, the pinned client
    among the downloads."""
    build = host.system_info
    name = f"{build.distribution}-{build.release.split('.')[0]}-{host.check_output('uname -m')}"
    assert name in wheel_dirs
    dest = host.check_output("mktemp -d /tmp/nimbus-repo-probe.XXXXXX")
    try:
        cmd = host.run(
            "%s download --no-input --progress-bar off --disable-pip-version-check"
            " --no-cache-dir --no-index --only-binary :all: --require-hashes"
            " --find-links %s --cert %s --use-deprecated=legacy-certs -r %s --dest %s",
            f"{BUILD_DIR}/venv/bin/pip",
            f"https://{management_address}:{PORT}/wheels/{name}/",
            CA,
            f"{WWW_ROOT}/wheels/{name}/{PROBE_LIST}.lock",
            dest,
        )
        assert cmd.rc == 0, cmd.stderr[-2000:]
        got = host.check_output("ls %s", dest).split()
        version = constrained_version(PROBE_PACKAGE)
        assert any(f.startswith(f"{normalized(PROBE_PACKAGE)}-{version}-") for f in got), got
        assert len(got) == len(read_lock(host, f"{WWW_ROOT}/wheels/{name}/{PROBE_LIST}.lock"))
    finally:
        host.run("rm -rf %s", dest)
