"""roles/nova/files/nimbus_ovs_tap_up.py: the libvirt hook that brings up a guest tap Open
vSwitch's userspace datapath left down (the host replaced by a scripted stand-in)."""

from __future__ import annotations

import importlib.util
import sys
import syslog
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROGRAM = HERE.parents[2] / "roles" / "nova" / "files" / "nimbus_ovs_tap_up.py"
_spec = importlib.util.spec_from_file_location("nimbus_ovs_tap_up", PROGRAM)
assert _spec and _spec.loader
hook = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = hook  # dataclasses look their module up
_spec.loader.exec_module(hook)

DOMAIN_XML = """
<domain type='qemu'>
  <name>instance-00000002</name>
  <devices>
    <disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>
    <interface type='ethernet'>
      <mac address='fa:16:3e:37:31:eb'/>
      <target dev='tap697f65de-81'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <source bridge='br-int'/>
      <target dev='tap11111111-22'/>
    </interface>
    <interface type='user'><model type='virtio'/></interface>
  </devices>
</domain>
"""
UP, DOWN_PROMISC = 0x1103, 0x1102


class FakeHost:
    """A host whose answers are scripted per call; records what the hook did."""

    def __init__(self, views, flags, ifindex=7):
        self.views = list(views)
        self.flag_answers = list(flags)
        self.index = ifindex
        self.raised: list[str] = []
        self.logged: list[tuple[int, str]] = []
        self.now = 0.0

    def ovs_view(self, tap):
        return self.views.pop(0) if len(self.views) > 1 else self.views[0]

    def flags(self, tap):
        return self.flag_answers.pop(0) if len(self.flag_answers) > 1 else self.flag_answers[0]

    def as_host(self):
        return hook.Host(
            ovs_view=self.ovs_view,
            ifindex=lambda tap: self.index,
            flags=self.flags,
            set_up=self.raised.append,
            log=lambda priority, message: self.logged.append((priority, message)),
            clock=lambda: self.now,
            sleep=self.advance,
        )

    def advance(self, seconds):
        self.now += seconds


def test_guest_taps_are_the_interfaces_target_devices():
    assert hook.guest_taps(DOMAIN_XML) == ["tap697f65de-81", "tap11111111-22"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("2\n7\n", hook.OvsView(ofport=2, ifindex=7)),
        ("[]\n[]\n", hook.OvsView(ofport=-1, ifindex=0)),
        ("-1\n0\n", hook.OvsView(ofport=-1, ifindex=0)),
        ("", None),
        ("2\n", None),
    ],
    ids=["opened", "not-yet", "failed-open", "no-such-interface", "truncated"],
)
def test_parse_ovs_view(output, expected):
    assert hook.parse_ovs_view(output) == expected


def test_a_tap_left_down_is_brought_up_and_logged():
    fake = FakeHost(views=[hook.OvsView(2, 7)], flags=[DOWN_PROMISC, UP])
    assert hook.ensure_up(fake.as_host(), "instance-1", "tapx") == "raised"
    assert fake.raised == ["tapx"]
    assert [p for p, _m in fake.logged] == [syslog.LOG_WARNING]
    assert "tapx was down" in fake.logged[0][1]


def test_a_tap_already_up_is_left_alone_and_nothing_logged():
    fake = FakeHost(views=[hook.OvsView(2, 7)], flags=[UP])
    assert hook.ensure_up(fake.as_host(), "instance-1", "tapx") == "up"
    assert (fake.raised, fake.logged) == ([], [])


def test_waits_until_open_vswitch_has_opened_this_very_tap():
    """Before ovs-vswitchd opens the device the flags it may still write back are unknown: the
    hook reads them only once the interface has an OpenFlow port and the tap's ifindex (an
    older tap of the same name, replaced on a hard reboot, has another)."""
    views = [hook.OvsView(-1, 0), hook.OvsView(5, 3), hook.OvsView(5, 7)]
    fake = FakeHost(views=views, flags=[DOWN_PROMISC, UP])
    assert hook.ensure_up(fake.as_host(), "instance-1", "tapx") == "raised"
    assert fake.now == pytest.approx(2 * hook.POLL)
    assert fake.raised == ["tapx"]


def test_a_tap_open_vswitch_does_not_know_is_not_touched():
    fake = FakeHost(views=[None], flags=[DOWN_PROMISC])
    assert hook.ensure_up(fake.as_host(), "instance-1", "tapx") == "not-ovs"
    assert (fake.raised, fake.logged) == ([], [])


def test_gives_up_at_the_deadline_with_an_error_naming_the_tap():
    fake = FakeHost(views=[hook.OvsView(-1, 0)], flags=[DOWN_PROMISC])
    assert hook.ensure_up(fake.as_host(), "instance-1", "tapx", deadline=1.0) == "timeout"
    assert fake.raised == []
    assert fake.now >= 1.0
    ((priority, message),) = fake.logged
    assert priority == syslog.LOG_ERR
    assert "has not opened tapx after 1 s" in message


def test_a_tap_that_stays_down_is_an_error():
    fake = FakeHost(views=[hook.OvsView(2, 7)], flags=[DOWN_PROMISC, DOWN_PROMISC])
    assert hook.ensure_up(fake.as_host(), "instance-1", "tapx") == "still-down"
    assert fake.logged[0][0] == syslog.LOG_ERR


def test_a_vanished_tap_is_an_error():
    fake = FakeHost(views=[hook.OvsView(2, 7)], flags=[UP])
    fake.index = None
    assert hook.ensure_up(fake.as_host(), "instance-1", "tapx") == "missing"
    assert fake.logged[0][0] == syslog.LOG_ERR


@pytest.mark.parametrize("operation", ["prepare", "start", "stopped", "release", "reconnect"])
def test_only_the_started_operation_acts(operation):
    fake = FakeHost(views=[hook.OvsView(2, 7)], flags=[DOWN_PROMISC, UP])
    argv = ["qemu", "instance-1", operation, "begin", "-"]
    assert hook.run(argv, DOMAIN_XML, fake.as_host()) == {}
    assert fake.raised == []


def test_started_checks_every_tap_of_the_domain():
    fake = FakeHost(views=[hook.OvsView(2, 7)], flags=[DOWN_PROMISC, UP, UP])
    argv = ["qemu", "instance-00000002", "started", "begin", "-"]
    assert hook.run(argv, DOMAIN_XML, fake.as_host()) == {
        "tap697f65de-81": "raised",
        "tap11111111-22": "up",
    }


def test_main_never_fails_a_start(monkeypatch, capsys):
    """Unreadable XML is logged, and the hook still exits 0."""
    logged = []
    monkeypatch.setattr(hook.sys, "argv", ["qemu", "instance-1", "started", "begin", "-"])
    monkeypatch.setattr(hook.sys, "stdin", __import__("io").StringIO("<domain"))
    monkeypatch.setattr(hook, "_log", lambda priority, message: logged.append((priority, message)))
    monkeypatch.setattr(hook.syslog, "openlog", lambda *args: None)
    assert hook.main() == 0
    assert logged and logged[0][0] == syslog.LOG_ERR
    assert "ParseError" in logged[0][1]
