"""Pure logic of scripts/build-test-image, and the guest's shell hooks run on the host with
stubbed tools (the image itself is booted by tests/integration/test_test_image.py)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "build-test-image"


def load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("build_test_image", str(SCRIPT))
    spec = importlib.util.spec_from_loader("build_test_image", loader)
    assert spec
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_test_image"] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


bti = load()


# --- cpio -----------------------------------------------------------------------------------


def read_newc(data: bytes) -> list[tuple[str, int, bytes, tuple[int, int]]]:
    """An independent reader of the newc format: (name, mode, data, rdev) per record."""
    out = []
    pos = 0
    while True:
        assert data[pos : pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name = data[pos + 110 : pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        body = data[pos : pos + filesize]
        pos += filesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            assert pos == len(data)
            return out
        assert fields[2] == fields[3] == 0  # owner root
        assert fields[5] == 0  # mtime 0
        out.append((name, fields[1], body, (fields[9], fields[10])))


def test_cpio_parents_first_and_contents() -> None:
    entries = {
        "usr/bin/curl": bti.file_entry(b"#!/bin/sh\n", 0o755),
        "init": bti.symlink_entry("bin/busybox"),
        "dev/console": bti.chardev_entry(5, 1),
        "tmp": bti.dir_entry(0o1777),
    }
    records = read_newc(bti.cpio_newc(entries))
    names = [r[0] for r in records]
    assert names == ["dev", "dev/console", "init", "tmp", "usr", "usr/bin", "usr/bin/curl"]
    by_name = {r[0]: r for r in records}
    assert by_name["usr/bin/curl"][1] == stat.S_IFREG | 0o755
    assert by_name["usr/bin/curl"][2] == b"#!/bin/sh\n"
    assert by_name["init"][1] == stat.S_IFLNK | 0o777
    assert by_name["init"][2] == b"bin/busybox"
    assert by_name["dev/console"][3] == (5, 1)
    assert by_name["tmp"][1] == stat.S_IFDIR | 0o1777
    assert by_name["usr"][1] == stat.S_IFDIR | 0o755


def test_cpio_is_reproducible() -> None:
    entries = {"a/b": bti.file_entry(b"x"), "c": bti.file_entry(b"yz")}
    assert bti.cpio_newc(entries) == bti.cpio_newc(dict(reversed(entries.items())))


@pytest.mark.parametrize("path", ["", "/", "a/../../etc"])
def test_cpio_refuses_paths_outside(path: str) -> None:
    with pytest.raises(bti.BuildError, match="not a relative path"):
        bti.cpio_newc({path: bti.file_entry(b"")})


# --- ELF ------------------------------------------------------------------------------------


def make_elf(sections: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A minimal 64-bit little-endian ELF file holding the given sections."""
    links = links or {}
    names = ["", *sections, ".shstrtab"]
    shstrtab = b"\0"
    name_offsets = {"": 0}
    for name in names[1:]:
        name_offsets[name] = len(shstrtab)
        shstrtab += name.encode() + b"\0"
    blobs = {**sections, ".shstrtab": shstrtab}
    body = b""
    offsets = {}
    for name in names[1:]:
        offsets[name] = 64 + len(body)
        body += blobs[name]
        body += b"\0" * (-len(body) % 8)
    shoff = 64 + len(body)
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    header += struct.pack(
        "<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(names), len(names) - 1
    )
    headers = b""
    for name in names:
        size = len(blobs[name]) if name else 0
        link = names.index(links[name]) if name in links else 0
        headers += struct.pack(
            "<IIQQQQIIQQ", name_offsets[name], 1, 0, 0, offsets.get(name, 0), size, link, 0, 1, 0
        )
    return header + body + headers


def test_modinfo_depends() -> None:
    modinfo = b"license=GPL\0depends=virtio,virtio_ring\0name=virtio_net\0"
    assert bti.modinfo_depends(make_elf({".modinfo": modinfo})) == ["virtio", "virtio_ring"]
    assert bti.modinfo_depends(make_elf({".modinfo": b"depends=\0name=virtio\0"})) == []
    assert bti.modinfo_depends(make_elf({".text": b"\x90"})) == []


def test_elf_needed() -> None:
    dynstr = b"\0libz.so.1\0libc.so.6\0"
    dynamic = struct.pack("<qQqQqQ", 1, 1, 1, 11, 0, 0)
    elf = make_elf({".dynstr": dynstr, ".dynamic": dynamic}, links={".dynamic": ".dynstr"})
    assert bti.elf_needed(elf) == ["libz.so.1", "libc.so.6"]
    assert bti.elf_needed(make_elf({".text": b"\x90"})) == []  # static


def test_not_elf() -> None:
    with pytest.raises(bti.BuildError, match="not a 64-bit"):
        bti.elf_needed(b"#!/bin/sh\n")


# --- modules, apt ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("virtio_net.ko", "virtio_net"),
        ("kernel/drivers/char/hw_random/virtio-rng.ko.xz", "virtio_rng"),
        ("sr_mod.ko.zst", "sr_mod"),
    ],
)
def test_module_name(filename: str, name: str) -> None:
    assert bti.module_name(filename) == name


DEPENDS = {
    "virtio_net": ["net_failover", "virtio", "virtio_ring"],
    "net_failover": ["failover"],
    "failover": [],
    "virtio": [],
    "virtio_ring": ["virtio"],
    "vfat": ["fat"],
    "fat": [],
}


@pytest.mark.parametrize(
    ("roots", "order"),
    [
        (["failover"], ["failover"]),
        (["virtio_net"], ["failover", "net_failover", "virtio", "virtio_ring", "virtio_net"]),
        (["vfat", "virtio_ring"], ["fat", "vfat", "virtio", "virtio_ring"]),
        (
            ["virtio", "virtio_net"],
            ["virtio", "failover", "net_failover", "virtio_ring", "virtio_net"],
        ),
    ],
)
def test_module_load_order(roots: list[str], order: list[str]) -> None:
    assert bti.module_load_order(roots, DEPENDS) == order


def test_module_load_order_skips_builtin_modules() -> None:
    # Debian 13's cloud kernel has virtio and virtio_pci built in: not in the package, no load.
    depends = {"virtio_net": ["net_failover", "virtio", "virtio_ring"], "net_failover": []}
    depends["virtio_ring"] = ["virtio"]
    order = bti.module_load_order(["virtio_pci", "virtio_net"], depends, ["virtio", "virtio_pci"])
    assert order == ["net_failover", "virtio_ring", "virtio_net"]


@pytest.mark.parametrize(
    ("roots", "depends", "message"),
    [
        (["nope"], DEPENDS, "kernel module nope \\(needed by the image's module list\\)"),
        (["a"], {"a": ["b"]}, "kernel module b \\(needed by a\\) is not in the kernel package"),
        (["a"], {"a": ["b"], "b": ["a"]}, "loop: a"),
    ],
)
def test_module_load_order_errors(roots: list[str], depends: dict, message: str) -> None:
    with pytest.raises(bti.BuildError, match=message):
        bti.module_load_order(roots, depends)


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("libc6 (>= 2.34), zlib1g (>= 1:1.1.4)", ["libc6", "zlib1g"]),
        ("initramfs-tools (>= 0.120) | linux-initramfs-tool, kmod", ["initramfs-tools", "kmod"]),
        ("libgcc-s1:amd64", ["libgcc-s1"]),
        ("", []),
    ],
)
def test_depends_names(field: str, names: list[str]) -> None:
    assert bti.depends_names(field) == names


def test_parse_apt_records() -> None:
    text = (
        "Package: dropbear-bin\nVersion: 2022.83-1\nArchitecture: amd64\n"
        "Depends: libc6 (>= 2.34),\n zlib1g\nDescription: x\n more\n\n"
        "Package: busybox-static\nVersion: 1:1.35.0-4\nArchitecture: amd64\n\n"
        "Package: busybox-static\nVersion: 1:1.30.0-1\n"
    )
    records = bti.parse_apt_records(text)
    assert records["dropbear-bin"]["Depends"] == "libc6 (>= 2.34),\nzlib1g"
    assert bti.depends_names(records["dropbear-bin"]["Depends"]) == ["libc6", "zlib1g"]
    assert records["busybox-static"]["Version"] == "1:1.35.0-4"  # the first record wins


def test_deb_filename() -> None:
    assert bti.deb_filename("busybox-static", "1:1.35.0-4", "amd64") == (
        "busybox-static_1%3a1.35.0-4_amd64.deb"
    )


def test_inputs_digest_follows_every_input() -> None:
    base = bti.inputs_digest(b"script", {"a": "1", "b": "2"})
    assert base == bti.inputs_digest(b"script", {"b": "2", "a": "1"})
    assert base != bti.inputs_digest(b"script2", {"a": "1", "b": "2"})
    assert base != bti.inputs_digest(b"script", {"a": "1", "b": "3"})
    assert base != bti.inputs_digest(b"script", {"a": "1"})
    assert len(base) == 16


# --- disk -----------------------------------------------------------------------------------


def test_mbr_partition_table() -> None:
    table = bti.mbr_partition_table(2048, 65536, 0x12345678)
    assert len(table) == 72  # bytes 440..511
    assert table[-2:] == b"\x55\xaa"
    assert struct.unpack_from("<I", table, 0)[0] == 0x12345678
    entry = table[6:22]
    assert entry[0] == 0x80  # bootable
    assert entry[1:4] == bytes((32, 33, 0))  # CHS of LBA 2048 (255 heads, 63 sectors)
    assert entry[4] == 0x0E  # FAT16 LBA
    assert struct.unpack_from("<II", entry, 8) == (2048, 65536)
    assert table[22:70] == b"\0" * 48  # the other three entries are empty


def test_mbr_chs_beyond_1024_cylinders() -> None:
    entry = bti.mbr_partition_table(2048, 20_000_000, 1)[6:22]
    assert entry[5:8] == bytes((254, 0xFF, 0xFF))


@pytest.mark.parametrize(
    ("payload", "mib"),
    [(0, 32), (17_000_000, 32), (40 * 2**20, 54)],
)
def test_fat_partition_sectors(payload: int, mib: int) -> None:
    assert bti.fat_partition_sectors(payload) * 512 == mib * 2**20


# --- the guest's shell hooks, run with /bin/sh and a stub `ip` ------------------------------


def run_hook(tmp_path: Path, text: str, args: list[str], env: dict[str, str], stub: str):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    tool = bindir / stub
    tool.write_text(f'#!/bin/sh\necho "{stub} $*" >> {calls}\n')
    tool.chmod(0o755)
    hook = tmp_path / "hook"
    hook.write_text(text)
    result = subprocess.run(
        ["/bin/sh", str(hook), *args],
        env={"PATH": f"{bindir}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines() if calls.exists() else []


LEASE = {"interface": "eth0", "ip": "10.0.0.5", "mask": "24"}

UDHCPC_CASES = {
    "router only": (
        {"router": "10.0.0.1 10.0.0.254", "mtu": ""},
        [
            "ip -4 addr flush dev eth0",
            "ip addr replace 10.0.0.5/24 dev eth0",
            "ip route replace default via 10.0.0.1 dev eth0",
        ],
    ),
    "MTU and classless routes (router ignored), on-link first": (
        {
            "mtu": "1442",
            "router": "10.0.0.1",
            "broadcast": "10.0.0.255",
            "staticroutes": "169.254.169.254/32 10.0.0.2 0.0.0.0/0 10.0.0.1 10.9.0.0/16 0.0.0.0",
        },
        [
            "ip link set dev eth0 mtu 1442",
            "ip -4 addr flush dev eth0",
            "ip addr replace 10.0.0.5/24 broadcast 10.0.0.255 dev eth0",
            "ip route replace 10.9.0.0/16 dev eth0",
            "ip route replace 169.254.169.254/32 via 10.0.0.2 dev eth0",
            "ip route replace 0.0.0.0/0 via 10.0.0.1 dev eth0",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(UDHCPC_CASES))
def test_udhcpc_bound(tmp_path: Path, case: str) -> None:
    lease, calls = UDHCPC_CASES[case]
    resolv = tmp_path / "resolv.conf"
    env = {**LEASE, **lease, "dns": "10.0.0.3 10.0.0.4", "domain": "example.org"}
    env["RESOLV_CONF"] = str(resolv)
    assert run_hook(tmp_path, bti.UDHCPC_SCRIPT, ["bound"], env, "ip") == calls
    assert resolv.read_text() == ("search example.org\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n")


def test_udhcpc_renew_keeps_the_address(tmp_path: Path) -> None:
    env = {**LEASE, "router": "10.0.0.1", "RESOLV_CONF": str(tmp_path / "r")}
    calls = run_hook(tmp_path, bti.UDHCPC_SCRIPT, ["renew"], env, "ip")
    assert "ip -4 addr flush dev eth0" not in calls
    assert calls[0] == "ip addr replace 10.0.0.5/24 dev eth0"


def test_udhcpc_deconfig(tmp_path: Path) -> None:
    calls = run_hook(tmp_path, bti.UDHCPC_SCRIPT, ["deconfig"], {"interface": "eth0"}, "ip")
    assert calls == ["ip -4 addr flush dev eth0", "ip link set dev eth0 up"]


@pytest.mark.parametrize(
    ("args", "calls"),
    [
        (["-s", "http://h/x"], ["wget -q -O - http://h/x"]),
        (
            ["-sf", "-m", "5", "-o", "out.txt", "http://h/x"],
            ["timeout 5 wget -q -O out.txt http://h/x"],
        ),
        (["-H", "Accept: a", "http://h/x"], ["wget -q --header Accept: a -O - http://h/x"]),
        # tempest's metadata password check: curl -X POST -d DATA URL
        (
            ["-X", "POST", "-d", "secret", "http://h/pw"],
            ["wget -q --post-data secret -O - http://h/pw"],
        ),
        (["-d", "a=b", "http://h/x"], ["wget -q --post-data a=b -O - http://h/x"]),
        (["-X", "POST", "http://h/x"], ["wget -q --post-data  -O - http://h/x"]),
        (["-X", "GET", "http://h/x"], ["wget -q -O - http://h/x"]),
    ],
)
def test_curl_on_wget(tmp_path: Path, args: list[str], calls: list[str]) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "timeout").write_text(
        f'#!/bin/sh\necho "timeout $1" >> {tmp_path / "t"}\nshift\nexec "$@"\n'
    )
    (bindir / "timeout").chmod(0o755)
    wget = run_hook(tmp_path, bti.CURL, args, {}, "wget")
    timeout = (tmp_path / "t").read_text().split() if (tmp_path / "t").exists() else []
    assert [" ".join(timeout + wget)] == calls


def test_curl_refuses_other_methods(tmp_path: Path) -> None:
    script = tmp_path / "curl"
    script.write_text(bti.CURL)
    script.chmod(0o755)
    result = subprocess.run(
        [str(script), "-X", "PUT", "http://h/x"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "GET and POST only, not PUT" in result.stderr


def test_sudo_runs_the_command(tmp_path: Path) -> None:
    calls = run_hook(tmp_path, bti.SUDO, ["-n", "-E", "ip", "addr"], {}, "ip")
    assert calls == ["ip addr"]


def test_syslinux_config_boots_with_both_consoles() -> None:
    assert "console=tty0 console=ttyS0" in bti.SYSLINUX_CFG
    assert bti.READY_LINE == "nimbus-test-image: ready"
    assert bti.READY_LINE in bti.READY
    assert os.path.basename("/etc/init.d/rcS") in bti.INITTAB


@pytest.mark.parametrize("name", ["RCS", "SSHD", "READY", "UDHCPC_SCRIPT", "CURL", "SUDO"])
def test_guest_scripts_are_shellcheck_clean(tmp_path: Path, name: str) -> None:
    tool = shutil.which("shellcheck")
    if tool is None:
        pytest.skip("shellcheck is not installed (scripts/run-tests.sh installs it)")
    script = tmp_path / name
    script.write_text(getattr(bti, name))
    result = subprocess.run(
        [tool, "-s", "sh", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
