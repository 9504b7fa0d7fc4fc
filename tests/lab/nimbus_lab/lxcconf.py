"""Pure generation of one lab host's LXC config and of the files seeded into its root fs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import PurePosixPath

from .model import DEVICES, MGMT, NETWORKS_BY_BRIDGE, Host
from .osaconfig import Nic

CLONE_METHODS = ("overlay", "copy")


@dataclass(frozen=True)
class Caches:
    """Machine-side cache directories bind-mounted into lab hosts (all optional)."""

    apt_archives: str  # one subdirectory per host: apt locks its archive dir
    pip: str


def mac_address(address: ipaddress.IPv4Address) -> str:
    """A stable, locally administered MAC derived from the interface address."""
    return "02:4e:" + ":".join(f"{b:02x}" for b in address.packed)


def veth_name(address: ipaddress.IPv4Address) -> str:
    """The machine-side veth of a lab interface, named after its address: lab236-100."""
    octets = address.packed
    return f"lab{octets[2]}-{octets[3]}"


def writable_dir(lxc_dir: str, method: str) -> str:
    """Where the host's own files live: the overlay upper dir, or the full copy."""
    return f"{lxc_dir}/delta0" if method == "overlay" else f"{lxc_dir}/rootfs"


def rootfs_spec(base: str, lxc_dir: str, method: str) -> str:
    """The ``lxc.rootfs.path`` value for a clone of BASE."""
    if method not in CLONE_METHODS:
        raise ValueError(f"unknown clone method {method!r}; use one of {CLONE_METHODS}")
    if method == "overlay":
        return f"overlay:{base}:{writable_dir(lxc_dir, method)}"
    return f"dir:{writable_dir(lxc_dir, method)}"


def container_config(
    host: Host,
    nics: list[Nic],
    scenario: str,
    rootfs: str,
    *,
    caches: Caches | None,
    common_conf: str,
) -> str:
    """The LXC config of one lab host: privileged, systemd-friendly, static addresses.

    NICS (osaconfig.host_nics) are the host's interfaces as the inventory wants them.
    """
    lines = [
        f"# Lab host {host.name} of scenario {scenario}, written by tests/lab/lab.py.",
        f"# Do not edit: 'lab.py destroy {scenario}' removes it.",
        f"lxc.include = {common_conf}",
        "lxc.arch = linux64",
        f"lxc.uts.name = {host.name}",
        f"lxc.rootfs.path = {rootfs}",
        # No AppArmor confinement: systemd, OVS and libvirt need mounts and netlink freely.
        "lxc.apparmor.profile = unconfined",
        "lxc.autodev = 1",
        "lxc.start.auto = 0",
    ]
    lines += network_lines(nics)
    for device in host.devices:
        path, major, minor = DEVICES[device]
        lines += [
            f"lxc.cgroup.devices.allow = c {major}:{minor} rwm",
            f"lxc.cgroup2.devices.allow = c {major}:{minor} rwm",
            f"lxc.mount.entry = {path} {path.lstrip('/')} none bind,create=file,optional 0 0",
        ]
    if caches is not None:
        lines += [
            f"lxc.mount.entry = {caches.apt_archives}/{host.name} var/cache/apt/archives"
            " none bind,create=dir,optional 0 0",
            f"lxc.mount.entry = {caches.pip} root/.cache/pip none bind,create=dir,optional 0 0",
        ]
    lines += list(host.lxc_config)
    return "\n".join(lines) + "\n"


def network_lines(nics: list[Nic]) -> list[str]:
    """The ``lxc.net.*`` lines of a host's interfaces (br-mgmt first: the default route)."""
    lines: list[str] = []
    for index, nic in enumerate(nics):
        network = NETWORKS_BY_BRIDGE[nic.bridge]
        prefix = f"lxc.net.{index}"
        lines += [
            f"{prefix}.type = veth",
            f"{prefix}.link = {nic.bridge}",
            f"{prefix}.name = {nic.name}",
            f"{prefix}.flags = up",
            f"{prefix}.veth.pair = {veth_name(nic.slot_address)}",
            f"{prefix}.hwaddr = {mac_address(nic.slot_address)}",
        ]
        if nic.address is not None:
            lines.append(
                f"{prefix}.ipv4.address = {nic.address}/{network.cidr.prefixlen}"
                f" {network.cidr.broadcast_address}"
            )
        if nic.bridge == MGMT.bridge:
            lines.append(f"{prefix}.ipv4.gateway = {network.gateway}")
    return lines


def host_files(host: Host, deploy_public_key: str, machine_id: str) -> dict[str, tuple[str, int]]:
    """Files written into the host's own layer before first boot: path -> (content, mode)."""
    hosts = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        f"{host.mgmt_address}\t{host.name}",
    ]
    return {
        "etc/hostname": (f"{host.name}\n", 0o644),
        "etc/hosts": ("\n".join(hosts) + "\n", 0o644),
        "etc/machine-id": (f"{machine_id}\n", 0o444),
        "root/.ssh/authorized_keys": (deploy_public_key.strip() + "\n", 0o600),
    }


def parent_dirs(relpath: str) -> list[str]:
    """Parent directories of a relative path, outermost first (``a/b/c`` -> a, a/b)."""
    parents = list(PurePosixPath(relpath).parents)[:-1]
    return [str(p) for p in reversed(parents)]
