# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""libvirt QEMU hook: bring up a guest's tap that Open vSwitch's userspace datapath left down.

Installed as /usr/local/lib/nimbus/nimbus_ovs_tap_up.py on compute hosts whose Open vSwitch
runs the userspace datapath (netdev), and run by the hook /etc/libvirt/hooks/qemu.d/
nimbus-ovs-tap-up (``exec python3 -I`` of this file). libvirt runs the hook as
``<hook> <domain> <operation> <sub-operation> <extra>`` with the domain's XML on stdin; it acts
on the ``started`` operation only (QEMU runs, its CPUs have not started yet).

Why: Nova's os-vif adds the Open vSwitch port before libvirt creates the tap. libvirt then
creates the tap and sets it up, while ovs-vswitchd, told of the new device, opens it and turns
on promiscuous mode by writing back the flags it read when the tap was still down. When the two
interleave, the tap ends promiscuous but down: ovs-vswitchd cannot send to the guest ("error
sending Ethernet packet ...: Network is down"), so the guest never gets its DHCP answer. The
kernel datapath sets promiscuous mode inside the kernel and has no such window.

For every tap of the domain that is an Open vSwitch interface, the hook waits (at most
DEADLINE seconds) until ovs-vswitchd has opened this very device (the interface's ifindex is
the tap's, and it has an OpenFlow port), then brings the tap up if it is down. ovs-vswitchd
writes the tap's flags only while it opens the device, so once it has, the tap stays up.

It never fails a start: an error is logged (syslog, identifier nimbus-libvirt-hook) and the
hook exits 0.
"""

from __future__ import annotations

import subprocess
import sys
import syslog
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

OVS_VSCTL = "/usr/bin/ovs-vsctl"
IP = "/usr/sbin/ip"
SYS_NET = "/sys/class/net"
IFF_UP = 0x1
DEADLINE = 10.0
POLL = 0.05


def guest_taps(domain_xml: str) -> list[str]:
    """The host-side device names of the domain's network interfaces, in order."""
    root = ET.fromstring(domain_xml)  # noqa: S314 (libvirt's own XML, on libvirt's stdin)
    names = []
    for iface in root.iterfind("./devices/interface"):
        target = iface.find("target")
        dev = target.get("dev") if target is not None else None
        if dev and dev not in names:
            names.append(dev)
    return names


@dataclass(frozen=True)
class OvsView:
    """What ovs-vswitchd reports of one interface (None: not an Open vSwitch interface)."""

    ofport: int
    ifindex: int


def parse_ovs_view(output: str) -> OvsView | None:
    """``ovs-vsctl --if-exists get Interface DEV ofport ifindex`` -> OvsView or None.

    An interface not (yet) opened reports ``[]`` or ``-1`` for ofport and ``[]`` or ``0`` for
    ifindex; both become -1 / 0 here.
    """
    lines = output.split()
    if len(lines) != len(("ofport", "ifindex")):
        return None

    def number(text: str, missing: int) -> int:
        try:
            return int(text)
        except ValueError:
            return missing

    return OvsView(ofport=number(lines[0], -1), ifindex=number(lines[1], 0))


@dataclass
class Host:
    """The host operations the hook needs (replaced in the unit tests)."""

    ovs_view: Callable[[str], OvsView | None]
    ifindex: Callable[[str], int | None]
    flags: Callable[[str], int | None]
    set_up: Callable[[str], None]
    log: Callable[[int, str], None]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def wait_until_opened(host: Host, domain: str, tap: str, deadline: float) -> str | None:
    """None once ovs-vswitchd has opened this very tap, else the outcome (a word)."""
    end = host.clock() + deadline
    while True:
        view = host.ovs_view(tap)
        if view is None:
            return "not-ovs"
        index = host.ifindex(tap)
        if index is None:
            host.log(syslog.LOG_ERR, f"{domain}: {tap} does not exist")
            return "missing"
        if view.ofport > 0 and view.ifindex == index:
            return None
        if host.clock() >= end:
            host.log(
                syslog.LOG_ERR,
                f"{domain}: Open vSwitch has not opened {tap} after {deadline:g} s "
                f"(ofport {view.ofport}, ifindex {view.ifindex}, the tap's {index}); "
                "left as it is",
            )
            return "timeout"
        host.sleep(POLL)


def ensure_up(host: Host, domain: str, tap: str, deadline: float = DEADLINE) -> str:
    """Bring one tap up once ovs-vswitchd has opened it; returns what happened (a word)."""
    waited = wait_until_opened(host, domain, tap, deadline)
    if waited:
        return waited
    flags = host.flags(tap)
    if flags is None:
        host.log(syslog.LOG_ERR, f"{domain}: cannot read the flags of {tap}")
        return "missing"
    if flags & IFF_UP:
        return "up"
    host.set_up(tap)
    after = host.flags(tap)
    if after is None or not after & IFF_UP:
        host.log(syslog.LOG_ERR, f"{domain}: {tap} is still down after 'ip link set up'")
        return "still-down"
    host.log(
        syslog.LOG_WARNING,
        f"{domain}: {tap} was down once Open vSwitch opened it (flags {flags:#x}); brought it up",
    )
    return "raised"


def run(argv: list[str], stdin: str, host: Host) -> dict[str, str]:
    """The hook's work for one call: tap -> outcome (empty unless the operation is started)."""
    if argv[2:3] != ["started"]:
        return {}
    domain = argv[1]
    return {tap: ensure_up(host, domain, tap) for tap in guest_taps(stdin)}


def _read_int(path: str, base: int) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip(), base)
    except (OSError, ValueError):
        return None


def _ovs_view(tap: str) -> OvsView | None:
    try:
        done = subprocess.run(  # a fixed program; the tap's name comes from libvirt
            [OVS_VSCTL, "--timeout=5", "--if-exists", "get", "Interface", tap, "ofport", "ifindex"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_ovs_view(done.stdout) if done.returncode == 0 else None


def _set_up(tap: str) -> None:
    subprocess.run([IP, "link", "set", "dev", tap, "up"], timeout=10, check=False)


def _log(priority: int, message: str) -> None:
    syslog.syslog(priority, message)


def system_host() -> Host:
    return Host(
        ovs_view=_ovs_view,
        ifindex=lambda tap: _read_int(f"{SYS_NET}/{tap}/ifindex", 10),
        flags=lambda tap: _read_int(f"{SYS_NET}/{tap}/flags", 16),
        set_up=_set_up,
        log=_log,
    )


def main() -> int:
    syslog.openlog("nimbus-libvirt-hook", 0, syslog.LOG_DAEMON)
    try:
        run(sys.argv, sys.stdin.read(), system_host())
    except Exception as err:  # a hook must never fail a guest's start
        _log(syslog.LOG_ERR, f"{' '.join(sys.argv[1:3])}: {type(err).__name__}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
