"""The test image for real: build it (twice: the second run is a cache hit), boot it with
qemu-system-x86_64 and log in over SSH with a key it could only have learnt from the "metadata
service" (case 1) or from a config drive (case 2).

Needs root on a Debian 12/13 deployment host (apt, qemu-system-x86); run with
``pytest tests/integration/test_test_image.py`` (the ``integration`` stage of run-tests.sh does).
KVM (``-cpu kvm64``) is used when /dev/kvm works; a KVM that cannot run the guest (nested
hypervisors without "unrestricted guest" fail inside the boot loader) falls back to TCG, and the
test says so; so does a KVM under which the guest's init has said nothing after two minutes.
``NIMBUS_TEST_IMAGE_ACCEL=kvm`` or ``tcg`` forces one. Images are cached in
``NIMBUS_TEST_IMAGE_DIR`` (default: the script's own cache, /var/cache/nimbus/images).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build-test-image"
READY = "nimbus-test-image: ready"
USER = "root"
METADATA_HOSTNAME = "nimbus-md-vm.novalocal"
DRIVE_HOSTNAME = "nimbus-cd-vm"
BOOT_TIMEOUT = float(os.environ.get("NIMBUS_TEST_IMAGE_BOOT_TIMEOUT", "420"))
KVM_PROBE = 120  # under KVM the init's first line comes within seconds, or KVM cannot run it

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="building the image needs root (apt)")

# Serves one HTTP request on stdin/stdout (qemu's guestfwd spawns it per connection) from the
# files of a directory, like Nova's metadata API, and logs the paths asked for.
METADATA_HANDLER = r"""
import sys
from pathlib import Path

root = Path(sys.argv[1])
request = sys.stdin.buffer.readline().decode("latin-1").split()
while sys.stdin.buffer.readline().strip():
    pass
path = request[1] if len(request) > 1 else "/"
with open(root / "requests.log", "a") as log:
    log.write(path + "\n")
target = (root / "www" / path.lstrip("/")).resolve()
index = target / "index"
if target.is_dir() and index.is_file():
    target = index
if str(target).startswith(str(root / "www")) and target.is_file():
    body, status = target.read_bytes(), "200 OK"
else:
    body, status = b"Not Found", "404 Not Found"
head = f"HTTP/1.0 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
sys.stdout.buffer.write(head.encode() + body)
sys.stdout.buffer.flush()
"""


def run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    print(f"$ {' '.join(command)}  (exit {result.returncode}, {time.monotonic() - started:.1f}s)")
    print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
    return result


def build(output_dir: Path) -> tuple[Path, str, float]:
    started = time.monotonic()
    result = run([sys.executable, str(SCRIPT), "--output-dir", str(output_dir)], timeout=1800)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    return Path(lines[-1]), result.stdout, took


@pytest.fixture(scope="module")
def image() -> Path:
    output_dir = Path(os.environ.get("NIMBUS_TEST_IMAGE_DIR", "/var/cache/nimbus/images"))
    path, _output, took = build(output_dir)
    print(f"first build: {took:.1f}s, {path.stat().st_size / 1e6:.1f} MB")
    assert path.is_file()
    assert path.name.startswith("nimbus-test-image-")
    assert path.name.endswith(".qcow2")
    assert (output_dir / "nimbus-test-image.qcow2").resolve() == path
    info = json.loads(run(["qemu-img", "info", "--output=json", str(path)], 60).stdout)
    assert info["format"] == "qcow2"
    assert 2e6 < path.stat().st_size < 60e6
    return path


def test_second_build_is_a_cache_hit(image: Path) -> None:
    again, out, took = build(image.parent)
    assert again == image
    assert "up to date" in out
    assert took < 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kvm_usable() -> bool:
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


class Guest:
    """One qemu-system-x86_64 run of the image (on a throwaway overlay), serial in a file."""

    def __init__(
        self, image: Path, work: Path, accel: str, extra: list[str], net: str | None
    ) -> None:
        self.work = work
        self.accel = accel
        self.console = work / f"console-{accel}.log"
        self.ssh_port = free_port()
        overlay = work / f"disk-{accel}.qcow2"
        overlay.unlink(missing_ok=True)
        subprocess.run(
            [
                *("qemu-img", "create", "-q", "-f", "qcow2"),
                "-F",
                "qcow2",
                "-b",
                str(image),
                str(overlay),
            ],
            check=True,
        )
        command = [
            "qemu-system-x86_64",
            "-machine",
            f"pc,accel={accel}",
            "-cpu",
            "kvm64",
            "-m",
            "256",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            f"file:{self.console}",
            "-drive",
            f"file={overlay},if=virtio,format=qcow2",
            *(
                [
                    "-netdev",
                    f"user,id=n0,{net},hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
                    "-device",
                    "virtio-net-pci,netdev=n0",
                ]
                if net is not None
                else ["-nic", "none"]
            ),
            *extra,
        ]
        print("$", " ".join(command))
        self.stderr = (work / f"qemu-{accel}.err").open("w+")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(command, stdout=self.stderr, stderr=self.stderr)

    def text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def errors(self) -> str:
        self.stderr.flush()
        return (self.work / f"qemu-{self.accel}.err").read_text(errors="replace")

    def wait_ready(self, timeout: float) -> float:
        """Seconds from start to the ready line; KvmBrokenError if KVM cannot run the guest."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if READY in self.text():
                return time.monotonic() - self.started
            if "KVM internal error" in self.errors():
                lines = self.errors().splitlines()
                raise KvmBrokenError(next(x for x in lines if "KVM internal error" in x))
            waited = time.monotonic() - self.started
            if (
                self.accel == "kvm"
                and waited > KVM_PROBE
                and "nimbus-test-image:" not in self.text()
            ):
                raise KvmBrokenError(f"the guest's init said nothing after {waited:.0f}s")
            if self.proc.poll() is not None:
                pytest.fail(f"qemu exited ({self.proc.returncode}): {self.errors()}")
            time.sleep(0.5)
        pytest.fail(f"no '{READY}' after {timeout:.0f}s ({self.accel}); console:\n{self.text()}")

    def ssh(self, key: Path, command: str) -> subprocess.CompletedProcess[str]:
        return run(
            [
                "ssh",
                "-i",
                str(key),
                "-p",
                str(self.ssh_port),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=20",
                f"{USER}@127.0.0.1",
                command,
            ],
            timeout=120,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


class KvmBrokenError(Exception):
    pass


KVM_BROKEN: list[str] = []  # once KVM failed, later boots of this run go straight to TCG


def boot(image: Path, work: Path, extra: list[str], net: str | None) -> tuple[Guest, float]:
    """Boot with KVM when it works (else TCG), wait for the ready line."""
    forced = os.environ.get("NIMBUS_TEST_IMAGE_ACCEL")
    kvm = kvm_usable() and not KVM_BROKEN
    accels = [forced] if forced else (["kvm", "tcg"] if kvm else ["tcg"])
    for accel in accels:
        guest = Guest(image, work, accel, extra, net)
        try:
            took = guest.wait_ready(BOOT_TIMEOUT)
        except KvmBrokenError as exc:
            guest.stop()
            KVM_BROKEN.append(str(exc))
            print(f"KVM cannot run the guest on this machine ({exc}); falling back to TCG")
            continue
        except BaseException:
            guest.stop()
            raise
        print(f"boot to '{READY}' under {accel}: {took:.1f}s")
        print(guest.text())
        return guest, took
    pytest.fail("no accelerator could boot the image")


@pytest.fixture
def ssh_key(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    key = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nimbus-test", "-f", str(key)],
        check=True,
    )
    yield key, (tmp_path / "id_ed25519.pub").read_text().strip()


def test_boots_with_key_from_metadata_service(
    image: Path, tmp_path: Path, ssh_key: tuple[Path, str]
) -> None:
    key, public = ssh_key
    md = tmp_path / "md"
    www = md / "www" / "latest" / "meta-data"
    (www / "public-keys" / "0").mkdir(parents=True)
    (www / "index").write_text("hostname\npublic-keys/\n")
    (www / "hostname").write_text(METADATA_HOSTNAME)
    (www / "public-keys" / "0" / "openssh-key").write_text(public + "\n")
    handler = md / "handler.py"
    handler.write_text(METADATA_HANDLER)
    # slirp forwards only addresses inside its network: the guest's network is 169.254/16.
    net = (
        "net=169.254.0.0/16,host=169.254.0.2,dhcpstart=169.254.0.15,"
        f"guestfwd=tcp:169.254.169.254:80-cmd:{sys.executable} {handler} {md}"
    )
    guest, _took = boot(image, tmp_path, [], net)
    try:
        asked = (md / "requests.log").read_text().split()
        assert "/latest/meta-data/public-keys/0/openssh-key" in asked
        result = guest.ssh(key, "cat /proc/version; hostname; ip -4 addr show; id -un")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Linux version ")
        lines = result.stdout.splitlines()
        assert lines[1] == METADATA_HOSTNAME.split(".", maxsplit=1)[0]
        assert "inet 169.254.0.15/16" in result.stdout
        assert lines[-1] == USER
        # What tempest does inside: fetch from the metadata service, ping the gateway.
        fetched = guest.ssh(
            key,
            "curl -s http://169.254.169.254/latest/meta-data/hostname; echo; "
            "ping -c 1 -W 5 169.254.0.2 >/dev/null && echo ping-ok",
        )
        assert fetched.stdout.split() == [METADATA_HOSTNAME, "ping-ok"]
        # A key that is not the one from metadata is refused.
        other = tmp_path / "other"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
        )
        assert guest.ssh(other, "true").returncode != 0
    finally:
        guest.stop()


def make_config_drive(tmp_path: Path, public: str) -> Path:
    tree = tmp_path / "cd"
    latest = tree / "openstack" / "latest"
    latest.mkdir(parents=True)
    meta = {
        "uuid": "00000000-0000-0000-0000-000000000001",
        "hostname": DRIVE_HOSTNAME,
        "name": DRIVE_HOSTNAME,
        "public_keys": {"nimbus-test": public + "\n"},
        "keys": [{"name": "nimbus-test", "type": "ssh", "data": public + "\n"}],
    }
    (latest / "meta_data.json").write_text(json.dumps(meta))
    iso = tmp_path / "config-drive.iso"
    tool = shutil.which("xorriso")
    assert tool, "xorriso is not installed (scripts/run-tests.sh installs it)"
    result = run(
        [tool, "-as", "mkisofs", "-quiet", "-V", "config-2", "-r", "-J", "-o", str(iso), str(tree)],
        timeout=120,
    )
    assert result.returncode == 0
    return iso


def test_boots_with_key_from_config_drive(
    image: Path, tmp_path: Path, ssh_key: tuple[Path, str]
) -> None:
    key, public = ssh_key
    iso = make_config_drive(tmp_path, public)
    # As Nova attaches it on a pc machine: an IDE CD-ROM. No metadata service at all.
    extra = ["-drive", f"file={iso},if=ide,media=cdrom,format=raw,readonly=on"]
    guest, _took = boot(image, tmp_path, extra, "net=10.0.2.0/24,restrict=on")
    try:
        assert "config drive" in guest.text()
        result = guest.ssh(
            key,
            "hostname; dev=$(findfs LABEL=config-2); mkdir -p /mnt/cd; "
            "sudo mount -o ro $dev /mnt/cd && cat /mnt/cd/openstack/latest/meta_data.json",
        )
        assert result.returncode == 0, result.stderr
        hostname, _sep, meta = result.stdout.partition("\n")
        assert hostname == DRIVE_HOSTNAME
        assert json.loads(meta)["hostname"] == DRIVE_HOSTNAME
    finally:
        guest.stop()


def test_boots_without_nic_quickly(image: Path, tmp_path: Path) -> None:
    # What Nova's healthcheck may boot before Neutron exists (--nic none): no DHCP, no
    # metadata to wait for, the ready line all the same.
    guest, _took = boot(image, tmp_path, [], None)
    try:
        console = guest.text()
        assert "no network interface" in console
        assert "no metadata service" not in console
        assert "WARNING: no SSH key" in console
        assert READY in console
    finally:
        guest.stop()
