"""nimbus.cloud.packages_missing: which requested packages dpkg's status file lacks."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.cloud.plugins.modules.packages_missing import (
    installed_packages,
    missing_packages,
)

STATUS = """\
Package: python3
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 3.13.5-1
Description: interactive high-level object-oriented language
 (default version) with a continuation line: Package: fake

Package: libvirt-dev
Status: deinstall ok config-files
Architecture: amd64
Version: 11.3.0-1

Package: ca-certificates
Status: hold ok installed
Architecture: all
Version: 20250419

Package: half
Status: install reinstreq half-installed
Architecture: amd64
Version: 1

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.41-10
"""


def test_installed_packages_reads_only_installed_stanzas() -> None:
    assert installed_packages(STATUS) == {
        ("python3", "amd64"): "3.13.5-1",
        ("ca-certificates", "all"): "20250419",
        ("libc6", "i386"): "2.41-10",
    }


@pytest.mark.parametrize(
    ("names", "missing"),
    [
        (["python3", "ca-certificates"], []),
        (["python3", "libvirt-dev"], ["libvirt-dev"]),
        (["half"], ["half"]),
        (["fake"], ["fake"]),
        (["nosuch", "nosuch", "python3"], ["nosuch"]),
        (["libc6:i386", "libc6:amd64"], ["libc6:amd64"]),
        (["python3=3.13.5-1", "python3=3.12.0-1"], ["python3=3.12.0-1"]),
        ([], []),
    ],
)
def test_missing_packages(names: list[str], missing: list[str]) -> None:
    assert missing_packages(names, STATUS) == missing


def test_empty_status_file_lacks_everything() -> None:
    assert missing_packages(["python3"], "") == ["python3"]
