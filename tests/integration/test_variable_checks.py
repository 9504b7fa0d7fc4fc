"""Variable checks on a deployed lab.

- Bad values stop setup-everything.yml in the prechecks with nothing changed: the cases of
  issue 18 (rows of bad_values named in ISSUE_IDS, from
  tests/unit/plugins/plugin_utils/variable_checks_cases.yml) in one ``-e @bad.yml`` file.
- What the hosts must have (issues 11 and 12): an OVN tunnel endpoint outside the tunnel
  network stops setup-everything.yml in the prechecks' OVN play, nothing changed; a provider
  network range that is not first:last, and overlapping VNI ranges, stop it before any play.
- Misspelt names: a warning, an error when strict, nothing with the ignore list.
- Bad day-one resources (openstack-resources.yml): every problem named, no API call.
- Last line of defence: a configuration that MariaDB or memcached rejects (injected through
  an override, or with the checks skipped) never replaces the running one: the run fails with
  the service's own error, the file and the running process stay.

Runs against an existing lab whose configuration directory is OSA_CONFIG_DIR (default
/etc/openstack_deploy, the aio lab), with this checkout as the collection:

    NIMBUS_TEST_VARIABLE_CHECKS=1 OSA_CONFIG_DIR=/etc/nimbus-lab/dev1 \\
        pytest -v tests/integration/test_variable_checks.py

Takes about two minutes; never changes a host (that is what it checks).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = Path(os.environ.get("OSA_CONFIG_DIR", "/etc/openstack_deploy"))
CASES = yaml.safe_load(
    (REPO / "tests/unit/plugins/plugin_utils/variable_checks_cases.yml").read_text(encoding="utf-8")
)
# The bad values of issue 18 (rows of the unit table), each of a role the prechecks check.
ISSUE_IDS = (
    "memcached-port-out-of-range",
    "galera-negative-max-connections",
    "keystone-token-expiration-not-a-number",
    "vrrp-router-id-300",
    "memcached-zero-memory",
    "zero-uwsgi-processes",
    "unknown-sst-method",
    "bind-address-not-an-address",
    "negative-apt-cache-time",
    # and a sandbox option that would add a directive to haproxy.service's drop-in
    "sandbox-option-with-a-line-break",
)
ISSUE_CASES = [case for case in CASES["bad_values"] if case["id"] in ISSUE_IDS]
# Files the setup playbooks write early; a failed precheck must leave them as they were.
WATCHED = (
    "/etc/memcached.conf",
    "/etc/mysql/mariadb.conf.d/99-nimbus-galera.cnf",
    "/etc/hosts",
    "/etc/systemd/system/haproxy.service.d/nimbus.conf",
)
RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("NIMBUS_TEST_VARIABLE_CHECKS") != "1",
        reason="set NIMBUS_TEST_VARIABLE_CHECKS=1 (and OSA_CONFIG_DIR) to use an existing lab",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
]


def run(
    playbook: str, extra: Path, *args: str, config_dir: Path = CONFIG_DIR
) -> subprocess.CompletedProcess[str]:
    build = REPO / ".build" / "ansible_collections" / "nimbus"
    build.mkdir(parents=True, exist_ok=True)
    link = build / "cloud"
    if not link.exists():
        link.symlink_to(REPO)
    env = {
        **os.environ,
        "NIMBUS_COLLECTIONS": str(REPO / ".build"),
        "OSA_CONFIG_DIR": str(config_dir),
        "ANSIBLE_NOCOLOR": "1",
    }
    env.pop("ANSIBLE_FORCE_COLOR", None)
    result = subprocess.run(
        [str(REPO / "scripts" / "openstack-ansible"), playbook, "-e", f"@{extra}", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    print(result.stdout[-12000:], result.stderr[-4000:])
    return result


def hosts() -> list[str]:
    out = subprocess.run(
        [
            str(REPO / "scripts" / "openstack-ansible-inventory"),
            "--config-dir",
            str(CONFIG_DIR),
            "list-hosts",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    return [row for row in rows if not row.startswith("-")]


def fingerprints() -> dict[str, str]:
    """sha256 and mtime of the watched files on every host (lxc-attach: lab hosts are LXC)."""
    found = {}
    for host in hosts():
        for path in WATCHED:
            out = subprocess.run(
                ["lxc-attach", "-n", host, "--", "stat", "-c", "%Y", path],
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            ).stdout.strip()
            body = subprocess.run(
                ["lxc-attach", "-n", host, "--", "cat", path],
                capture_output=True,
                check=False,
                timeout=60,
            ).stdout
            found[f"{host}:{path}"] = f"{out} {hashlib.sha256(body).hexdigest()}"
    return found


@pytest.fixture(scope="module")
def lab() -> None:
    if not (CONFIG_DIR / "openstack_user_config.yml").is_file():
        pytest.skip(f"no lab configuration in {CONFIG_DIR}")


def test_bad_values_stop_everything_before_any_change(lab: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    values: dict = {}
    for case in ISSUE_CASES:
        values.update(case["values"])
    bad.write_text(yaml.safe_dump(values), encoding="utf-8")
    before = fingerprints()
    result = run("setup-everything.yml", bad)
    assert result.returncode != 0
    recaps = RECAP.findall(result.stdout)
    assert recaps, "no PLAY RECAP"
    assert all(changed == "0" for _host, _ok, changed, _u, _f in recaps), recaps
    assert "TASK [Check the variables of every role this host will run]" in result.stdout
    # Nothing after the prechecks ran: no role task at all.
    assert "TASK [nimbus.cloud." not in result.stdout
    problems = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    for case in ISSUE_CASES:
        lines = [line for line in problems if all(part in line for part in case["expect"])]
        assert lines, f"{case['id']}: no line naming {case['expect']}"
        assert f"(from {bad})" in lines[0]
    assert "argument_spec_data" not in result.stdout  # no dump of a spec
    assert fingerprints() == before


def test_chassis_check_stops_everything_before_any_change(lab: None, tmp_path: Path) -> None:
    """The prechecks run the OVN role's host checks too: a bad ovn_encap_ip stops the run there."""
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"ovn_encap_ip": "192.0.2.1"}), encoding="utf-8")
    before = fingerprints()
    result = run("setup-everything.yml", bad)
    assert result.returncode != 0
    out = result.stdout
    recaps = RECAP.findall(out)
    assert recaps, "no PLAY RECAP"
    assert all(changed == "0" for _host, _ok, changed, _u, _f in recaps), recaps
    plays = re.findall(r"^PLAY \[(.+?)\]", out, re.M)
    assert plays[-1] == "Check OVN's input and chassis before changing anything", plays
    assert "ovn_encap_ip 192.0.2.1 is outside the host's tunnel network" in out
    assert fingerprints() == before


def test_bad_provider_ranges_stop_everything_before_any_play(lab: None, tmp_path: Path) -> None:
    """A range that is not first:last and overlapping VNIs: the inventory's errors, no play."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for name in ("openstack_user_config.yml", "user_variables.yml", "user_secrets.yml"):
        if (CONFIG_DIR / name).is_file():
            (config_dir / name).write_bytes((CONFIG_DIR / name).read_bytes())
    user_config = yaml.safe_load((config_dir / "openstack_user_config.yml").read_text())
    networks = user_config["global_overrides"]["provider_networks"]
    networks += [
        {
            "network": {
                "container_bridge": "br-badrange",
                "type": "geneve",
                "range": "1-1000",
                "group_binds": ["neutron_ovn_controller"],
            }
        },
        {
            "network": {
                "container_bridge": "br-vx2",
                "type": "vxlan",
                "range": "20000:20500",
                "group_binds": ["neutron_ovn_controller"],
            }
        },
        {
            "network": {
                "container_bridge": "br-vx3",
                "type": "vxlan",
                "range": "20400:20600",
                "group_binds": ["neutron_ovn_controller"],
            }
        },
    ]
    (config_dir / "openstack_user_config.yml").write_text(yaml.safe_dump(user_config))
    extra = tmp_path / "empty.yml"
    extra.write_text("{}\n", encoding="utf-8")
    result = run("setup-everything.yml", extra, config_dir=config_dir)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    first, second, third = len(networks) - 3, len(networks) - 2, len(networks) - 1
    assert f"provider_networks[{first}].network.range: '1-1000' is not 'first:last'." in out
    assert (
        f"provider_networks[{third}].network.range: claims VNIs 20400:20500, as "
        f"global_overrides.provider_networks[{second}] (br-vx2) does already." in out
    )
    assert "PLAY [" not in out


def test_misspelt_name_warns_then_fails_when_strict(lab: None, tmp_path: Path) -> None:
    typo = tmp_path / "user_typo.yml"
    typo.write_text(
        "keystone_keystone_conf_overides:\n  DEFAULT:\n    debug: true\n", encoding="utf-8"
    )
    hint = "did you mean keystone_keystone_conf_overrides?"
    warned = run("prechecks.yml", typo)
    assert warned.returncode == 0
    assert hint in warned.stdout + warned.stderr
    strict = run("prechecks.yml", typo, "-e", "nimbus_strict_variable_names=true")
    assert strict.returncode != 0
    assert hint in strict.stdout
    assert all(changed == "0" for _h, _o, changed, _u, _f in RECAP.findall(strict.stdout))
    # The lab's own files may hold names of roles not written yet: ignore those too.
    unknown = set(re.findall(r"^\s+- (\w+) \(from ", warned.stdout + warned.stderr, re.M))
    assert "keystone_keystone_conf_overides" in unknown
    ignore = json.dumps(
        {"nimbus_strict_variable_names": True, "nimbus_variable_names_ignore": sorted(unknown)}
    )
    ignored = run("prechecks.yml", typo, "-e", ignore)
    assert ignored.returncode == 0


def test_bad_resources_stop_before_any_api_call(lab: None, tmp_path: Path) -> None:
    """Day-one resources (openstack-resources.yml): every bad entry named, no API call made."""
    bad = tmp_path / "bad_resources.yml"
    bad.write_text(
        yaml.safe_dump(
            {
                "openstack_user_identity": {
                    "projects": [{"name": "demo", "quotas": {"cores": -5}}]
                },
                "openstack_user_image": {
                    "images": [{"name": "ghost", "file": str(tmp_path / "no-such.qcow2")}]
                },
            }
        ),
        encoding="utf-8",
    )
    result = run("openstack-resources.yml", bad)
    assert result.returncode != 0
    out = result.stdout
    assert "openstack_user_identity.projects[0] (demo): quota cores must be an integer >= -1" in out
    assert f"openstack_user_image.images[0] (ghost): file {tmp_path}/no-such.qcow2 does not" in out
    assert f"set openstack_user_image in {bad}" in out
    assert "TASK [nimbus.cloud.openstack_resources : Create or update the projects]" not in out
    assert all(changed == "0" for _h, _o, changed, _u, _f in RECAP.findall(out))


def on_host(host: str, *command: str) -> str:
    return subprocess.run(
        ["lxc-attach", "-n", host, "--", *command],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()


def service_state(host: str, unit: str, path: str) -> tuple[str, str]:
    """(main PID of the unit, sha256 of its configuration file)."""
    pid = on_host(host, "systemctl", "show", "-p", "MainPID", "--value", unit)
    digest = on_host(host, "sha256sum", path).split()[0]
    assert pid not in ("", "0"), f"{unit} is not running on {host}"
    return pid, digest


REJECTED = {
    "galera": {
        "playbook": "galera.yml",
        "unit": "mariadb",
        "path": "/etc/mysql/mariadb.conf.d/99-nimbus-galera.cnf",
        "bad": {"galera_server_mysqld_options": {"no_such_option": 1}},
        "args": (),
        "error": "unknown variable 'no_such_option=1'",
    },
    "memcached": {
        "playbook": "memcached.yml",
        "unit": "memcached",
        "path": "/etc/memcached.conf",
        "bad": {"memcached_server_threads": 0},
        "args": ("--skip-tags", "always"),  # past the variable checks, as an operator could
        "error": "Number of threads must be greater than 0",
    },
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_configuration_never_replaces_the_running_one(
    lab: None, tmp_path: Path, name: str
) -> None:
    case = REJECTED[name]
    playbook, unit, path = case["playbook"], case["unit"], case["path"]
    bad, args, error = case["bad"], case["args"], case["error"]
    host = hosts()[0]
    before = service_state(host, unit, path)
    extra = tmp_path / "bad.yml"
    extra.write_text(yaml.safe_dump(bad), encoding="utf-8")
    result = run(playbook, extra, "--limit", host, *args)
    assert result.returncode != 0
    assert error in result.stdout
    assert path in result.stdout  # the failing task names the file
    assert service_state(host, unit, path) == before
