"""The cached Debian 13 base root fs: its recipe (pure) and the files that tailor it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

SUITE = "trixie"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
# Bump when the build or the tailoring below changes, so cached bases are rebuilt.
RECIPE_VERSION = 2
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-pip",
    "ca-certificates",
    "iproute2",
    "iputils-ping",
    "sudo",
    "apt-transport-https",
    "gnupg",
    "curl",
    "less",
    "procps",
)
# Units that only slow a lab host down or fight Ansible for the apt lock.
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "fstrim.timer",
    "e2scrub_all.timer",
    "systemd-pstore.service",
    "systemd-networkd-wait-online.service",
    "sshd-keygen.service",
)


def recipe(mirror: str, security_mirror: str, ca_certs: dict[str, bytes]) -> dict[str, Any]:
    """Everything that decides the base's content; CA certs by name and digest."""
    return {
        "version": RECIPE_VERSION,
        "suite": SUITE,
        "variant": "minbase",
        "mirror": mirror,
        "security_mirror": security_mirror,
        "packages": list(PACKAGES),
        "ca_certs": {n: hashlib.sha256(d).hexdigest() for n, d in sorted(ca_certs.items())},
    }


def recipe_key(data: dict[str, Any]) -> str:
    """A short stable name for a recipe: the cache directory name of its base."""
    blob = json.dumps(data, sort_keys=True).encode()
    return f"{SUITE}-{hashlib.sha256(blob).hexdigest()[:12]}"


def build_command(target: str, mirror: str) -> list[str]:
    """mmdebstrap, debootstrap's apt-based successor: measured twice as fast here (86 s
    against 182 s for the same packages on a loaded 2-core machine), mostly through dpkg's
    unsafe I/O and one apt run instead of one dpkg call per package."""
    return [
        "mmdebstrap",
        "--variant=minbase",
        "--mode=root",
        "--format=directory",
        "--dpkgopt=force-unsafe-io",
        # Keep the package lists, so apt in a new host works before its first update.
        "--skip=cleanup/apt/lists",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        target,
        mirror,
    ]


def base_files(mirror: str, security_mirror: str, nameserver: str) -> dict[str, str]:
    """Files that tailor the base for the lab: path (relative to the root fs) -> content."""
    sources = (
        f"Types: deb\nURIs: {mirror}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {security_mirror}\nSuites: {SUITE}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    return {
        "etc/apt/sources.list.d/debian.sources": sources,
        # apt-get keeps .debs by default; 'apt' does not. The archive dir may be a
        # machine-side cache shared across re-created labs, so keep them always.
        "etc/apt/apt.conf.d/90nimbus-lab": (
            'APT::Keep-Downloaded-Packages "true";\n'
            'Binary::apt::APT::Keep-Downloaded-Packages "true";\n'
        ),
        # pip brings its own CA bundle; point it at the system one, which trusts the
        # machine's extra CAs (an intercepting proxy may sit between lab hosts and PyPI).
        "etc/pip.conf": "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n",
        "etc/resolv.conf": f"# The lab DNS forwarder on br-mgmt.\nnameserver {nameserver}\n",
        "etc/ssh/sshd_config.d/nimbus-lab.conf": (
            "# Lab hosts get one host key, made and recorded by the lab tool.\n"
            "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        ),
        # Lab hosts are disposable: dpkg need not fsync every file (faster deployments).
        "etc/dpkg/dpkg.cfg.d/90nimbus-lab": "force-unsafe-io\n",
        "etc/hostname": "nimbus-lab-base\n",
        "etc/machine-id": "",
    }
