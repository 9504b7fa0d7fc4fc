"""The lab state file and the base root fs recipe."""

from __future__ import annotations

import json

import pytest

from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab import rootfs, state
from ansible_collections.nimbus.cloud.tests.lab.nimbus_lab.model import LabError


def test_parse_state_fills_missing_keys():
    data = state.parse_state('{"scenarios": {"aio": {"hosts": {}}}}', "s.json")
    assert data["shared"]["bridges"] == {}
    assert data["scenarios"]["aio"] == {"hosts": {}}
    assert state.parse_state("", "s.json") == state.empty_state()


def test_damaged_state_says_what_to_do():
    with pytest.raises(LabError, match=r"s\.json: the lab state is damaged .*by hand"):
        state.parse_state("{", "s.json")


def test_dns_entries_and_claims():
    data = state.empty_state()
    data["scenarios"]["aio"] = {
        "claims": {"names": ["aio1"]},
        "hosts": {"aio1": {"mgmt_address": "172.29.236.100"}},
    }
    assert state.all_dns_entries(data) == {"aio1": "172.29.236.100"}
    assert state.all_claims(data) == {"aio": {"names": ["aio1"]}}


def test_state_file_saved_atomically_and_removed_when_empty(tmp_path):
    path = tmp_path / "lab" / "state.json"
    with state.StateFile(path).locked() as st:
        st.save()
        assert not path.exists()  # nothing recorded, nothing written
        st.data["shared"]["bridges"]["br-mgmt"] = "172.29.236.1/22"
        st.save()
        assert json.loads(path.read_text())["shared"]["bridges"] == {"br-mgmt": "172.29.236.1/22"}
    with state.StateFile(path).locked() as st:
        assert st.data["shared"]["bridges"] == {"br-mgmt": "172.29.236.1/22"}
        st.data["shared"]["bridges"].clear()
        st.save()
    assert not path.exists()
    assert list(path.parent.glob(".state.*")) == []


def test_recipe_key_changes_with_ca_certificates():
    one = rootfs.recipe_key(rootfs.recipe("http://m", "http://s", {"a.crt": b"A"}))
    same = rootfs.recipe_key(rootfs.recipe("http://m", "http://s", {"a.crt": b"A"}))
    other = rootfs.recipe_key(rootfs.recipe("http://m", "http://s", {"a.crt": b"B"}))
    assert one == same != other
    assert one.startswith("trixie-")


def test_build_command():
    command = rootfs.build_command("/t", "http://m/debian")
    assert command[:2] == ["mmdebstrap", "--variant=minbase"]
    assert "--skip=cleanup/apt/lists" in command
    assert command[-3:] == ["trixie", "/t", "http://m/debian"]
    include = next(a for a in command if a.startswith("--include="))
    for package in ("systemd", "openssh-server", "python3", "python3-pip", "ca-certificates"):
        assert package in include.split("=")[1].split(",")


def test_base_files():
    files = rootfs.base_files("http://m/debian", "http://m/debian-security", "172.29.236.1")
    assert files["etc/resolv.conf"].endswith("nameserver 172.29.236.1\n")
    assert "cert = /etc/ssl/certs/ca-certificates.crt" in files["etc/pip.conf"]
    assert (
        'Binary::apt::APT::Keep-Downloaded-Packages "true";'
        in files["etc/apt/apt.conf.d/90nimbus-lab"]
    )
    assert "Suites: trixie-security" in files["etc/apt/sources.list.d/debian.sources"]
    assert files["etc/machine-id"] == ""
    assert files["etc/dpkg/dpkg.cfg.d/90nimbus-lab"] == "force-unsafe-io\n"
    assert "apt-daily.timer" in rootfs.MASKED_UNITS


def test_lock_wait_has_a_deadline(tmp_path):
    path = tmp_path / "state.json"
    with state.StateFile(path).locked():
        waiting = state.StateFile(path, lock_timeout=0.3)
        with pytest.raises(LabError, match=r"another lab\.py run has held"), waiting.locked():
            pass
