"""What nova leaves on a host (Molecule scenario nova).

Each host is checked for the units of its component groups (the lab host of the scenario is
in all of them). The functional probes ask the Compute API on the host's management address:
its version document answers without a token and the servers refuse a request without one;
with a token Keystone issues to the admin (the password read on the deployment host from the
configuration directory's user_secrets.yml, OSA_CONFIG_DIR; never part of an assertion or a
message) the conductor, scheduler and compute services are up and enabled, the compute host
is a hypervisor, mapped into cell1 (``nova-manage cell_v2 list_hosts`` on the first conductor
host) and a resource provider of Placement with its VCPU, MEMORY_MB and DISK_GB inventory.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.error
import urllib.request

import pytest

testinfra_hosts = ["nova_all"]

API_PORT = 8774
METADATA_PORT = 8775
NOVNCPROXY_PORT = 6080
PLACEMENT_PORT = 8780
CELL = "cell1"

# Each unit and the component group whose hosts run it.
UNITS = {
    "nova-api-os-compute.service": "nova_api_os_compute",
    "nova-api-metadata.service": "nova_api_metadata",
    "nova-conductor.service": "nova_conductor",
    "nova-scheduler.service": "nova_scheduler",
    "nova-novncproxy.service": "nova_novncproxy",
    "nova-compute.service": "nova_compute",
}
COMPUTE_UNIT = "nova-compute.service"
# What every nova unit reads when it starts, besides its unit file (and an API's uWSGI ini).
READS = [
    "/etc/nova/nova.conf",
    "/etc/nova/nova.conf.d/secrets.conf",
    "/etc/nova/policy.yaml",
    "/etc/nova/api-paste.ini",
]
# Capability numbers (linux/capability.h): those ProtectKernelLogs and ProtectKernelModules
# drop, and those nova's privsep helper uses (file ownership, network devices, mounts).
CAP_SYSLOG = 34
CAP_SYS_MODULE = 16
HELPER_CAPABILITIES = (0, 1, 12, 21)  # CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_NET_ADMIN, CAP_SYS_ADMIN


def call(url: str, token: str | None = None, headers: dict | None = None) -> tuple[int, dict]:
    """(status, JSON body) of a GET; errors are answers too."""
    sent = {"Accept": "application/json", **(headers or {})}
    if token:
        sent["X-Auth-Token"] = token
    req = urllib.request.Request(url, headers=sent)  # noqa: S310 (https to a lab host)
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:  # noqa: S310
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, {}


def in_group(host, group: str) -> bool:
    return group in host.ansible.get_variables()["group_names"]


def needs_group(host, group: str) -> None:
    if not in_group(host, group):
        pytest.skip(f"not a host of {group}")


def group_hosts(host, group: str) -> list[str]:
    return host.ansible.get_variables()["groups"].get(group, [])


def address_of(host, name: str) -> str:
    return host.backend.ansible_runner.get_variables(name)["ansible_host"]


@pytest.fixture
def compute_api(host, management_address) -> str:
    """The Compute API of this host, or of the first API host when this one runs none."""
    if in_group(host, "nova_api_os_compute"):
        return f"https://{management_address}:{API_PORT}"
    return f"https://{address_of(host, group_hosts(host, 'nova_api_os_compute')[0])}:{API_PORT}"


@pytest.fixture
def services(compute_api, admin_token) -> list[dict]:
    status, body = call(f"{compute_api}/v2.1/os-services", admin_token)
    assert status == 200
    return body["services"]


@pytest.mark.parametrize(("unit", "group"), [*UNITS.items(), ("libvirtd.service", "nova_compute")])
def test_unit_running_and_enabled(host, unit, group):
    needs_group(host, group)
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


@pytest.mark.parametrize(
    ("port", "group"),
    [
        (API_PORT, "nova_api_os_compute"),
        (METADATA_PORT, "nova_api_metadata"),
        (NOVNCPROXY_PORT, "nova_novncproxy"),
    ],
)
def test_listens_on_the_management_address_only(host, listeners, management_address, port, group):
    needs_group(host, group)
    assert listeners("tcp", port) == {f"{management_address}:{port}"}


@pytest.mark.parametrize(("unit", "group"), [u for u in UNITS.items() if u[0] != COMPUTE_UNIT])
def test_runs_as_nova_in_its_sandbox(host, process_sandbox, unit_properties, unit, group):
    """Every unit but nova-compute: user nova, no capability, no new privileges, a system-call
    filter (systemd_service's default sandbox, as the kernel applies it)."""
    needs_group(host, group)
    assert unit_properties(unit, "MainPID")["MainPID"] != "0", f"{unit} has no main process"
    assert process_sandbox(unit) == ("nova", 0, "1", "2")


def test_compute_runs_as_nova_in_its_documented_sandbox(host, process_sandbox, unit_properties):
    """nova-compute's exceptions (README, "Service sandboxing"): new privileges allowed and no
    CapabilityBoundingSet (sudo starts its privsep helper as root, which keeps the capabilities
    it needs), ProtectSystem=full, no PrivateTmp or PrivateDevices, UMask 0022; still user nova
    and a system-call filter. Its bounding set is systemd's own but for the two capabilities the
    kept ProtectKernelLogs and ProtectKernelModules take away."""
    needs_group(host, "nova_compute")
    user, capabilities, no_new_privs, seccomp = process_sandbox(COMPUTE_UNIT)
    pid1 = host.file("/proc/1/status").content_string
    systemd_set = int(re.search(r"^CapBnd:\s*(\w+)$", pid1, re.MULTILINE).group(1), 16)
    assert (user, no_new_privs, seccomp) == ("nova", "0", "2")
    assert capabilities == systemd_set & ~(1 << CAP_SYSLOG | 1 << CAP_SYS_MODULE)
    assert all(capabilities & 1 << cap for cap in HELPER_CAPABILITIES)
    assert unit_properties(
        COMPUTE_UNIT, "ProtectSystem", "PrivateTmp", "PrivateDevices", "UMask"
    ) == {"ProtectSystem": "full", "PrivateTmp": "no", "PrivateDevices": "no", "UMask": "0022"}


# The role's drop-in sandboxes of libvirt's daemons (nova_libvirtd_unit_hardening,
# nova_virtlockd_unit_hardening; README, "Service sandboxing"): capabilities (linux/capability.h)
# the bounding set must not hold, and the options systemd must report.
LIBVIRTD_DROPPED = {
    "cap_sys_boot": 22,
    "cap_sys_time": 25,
    "cap_sys_module": 16,
    "cap_syslog": 34,
    "cap_audit_control": 30,
    "cap_linux_immutable": 9,
    "cap_wake_alarm": 35,
}
LIBVIRTD_HELD = {
    "ProtectSystem": "full",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectHostname": "yes",
    "RestrictSUIDSGID": "yes",
    "ReadWritePaths": "/etc/libvirt",
}
VIRTLOCKD_CAPABILITIES = {"cap_dac_override": 1, "cap_dac_read_search": 2}
VIRTLOCKD_HELD = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "full",
    "PrivateNetwork": "yes",
    "PrivateDevices": "yes",
    "MemoryDenyWriteExecute": "yes",
    "RestrictAddressFamilies": "AF_UNIX",
}


def test_libvirtd_runs_in_its_sandbox(host, process_status, unit_properties):
    """libvirtd as systemd holds it and as the kernel applies it to its main process: root,
    without the capabilities the drop-in takes away, a system-call filter (QEMU inherits all
    of it; the healthchecks' server boot is its functional test)."""
    needs_group(host, "nova_compute")
    assert unit_properties("libvirtd.service", *LIBVIRTD_HELD) == LIBVIRTD_HELD
    held = set(
        unit_properties("libvirtd.service", "CapabilityBoundingSet")[
            "CapabilityBoundingSet"
        ].split()
    )
    assert not held & set(LIBVIRTD_DROPPED), held & set(LIBVIRTD_DROPPED)
    status = process_status("libvirtd.service")
    bounding = int(status["CapBnd"], 16)
    assert status["Uid"].split()[0] == "0"
    assert [name for name, bit in LIBVIRTD_DROPPED.items() if bounding & 1 << bit] == []
    assert status["Seccomp"] == "2"


def test_virtlockd_runs_in_its_sandbox_and_answers(host, process_status, unit_properties):
    """virtlockd answers its admin socket (which starts it when it is not running) from its
    sandbox: only the two file-access capabilities, no new privileges, no network."""
    needs_group(host, "nova_compute")
    servers = host.check_output("virt-admin -c virtlockd:///system server-list")
    assert "virtlockd" in servers
    assert unit_properties("virtlockd.service", *VIRTLOCKD_HELD) == VIRTLOCKD_HELD
    held = unit_properties("virtlockd.service", "CapabilityBoundingSet")["CapabilityBoundingSet"]
    assert set(held.split()) == set(VIRTLOCKD_CAPABILITIES)
    status = process_status("virtlockd.service")
    expected = sum(1 << bit for bit in VIRTLOCKD_CAPABILITIES.values())
    assert (int(status["CapBnd"], 16), status["NoNewPrivs"], status["Seccomp"]) == (
        expected,
        "1",
        "2",
    )


# The libvirt hook that brings up a guest's tap Open vSwitch's userspace datapath left down
# (nova_libvirt_ovs_tap_hook; on by default where ovn_ovs_datapath_type is netdev).
TAP_HOOK = "/etc/libvirt/hooks/qemu.d/nimbus-ovs-tap-up"
TAP_HOOK_PROGRAM = "/usr/local/lib/nimbus/nimbus_ovs_tap_up.py"
TEST_TAP = "tap-nimbus-hook"  # at most 15 characters (IFNAMSIZ)
IFF_UP = 0x1


@pytest.fixture
def tap_hook_on(user_variables) -> bool:
    """The role's default (ovn_ovs_datapath_type netdev) unless the deployment chose."""
    chosen = user_variables.get("nova_libvirt_ovs_tap_hook")
    if isinstance(chosen, bool):
        return chosen
    return user_variables.get("ovn_ovs_datapath_type", "system") == "netdev"


def test_tap_hook_installed_exactly_where_it_is_on(host, owner_and_mode, tap_hook_on):
    needs_group(host, "nova_compute")
    if tap_hook_on:
        assert owner_and_mode(TAP_HOOK) == ("root", "root", 0o755)
        assert owner_and_mode(TAP_HOOK_PROGRAM) == ("root", "root", 0o644)
    else:
        assert not host.file(TAP_HOOK).exists
        assert not host.file(TAP_HOOK_PROGRAM).exists


def test_libvirtd_started_after_its_hook_appeared(host, tap_hook_on):
    """libvirt looks for its hooks when it starts: the running libvirtd must be younger than
    the hook (the role restarts it when it adds one; the hook's change time is when it was
    written on the host)."""
    needs_group(host, "nova_compute")
    if not tap_hook_on:
        pytest.skip("nova_libvirt_ovs_tap_hook is off on this host")
    started = int(
        host.check_output(
            'date -d "$(systemctl show libvirtd.service -p ExecMainStartTimestamp --value)" +%s'
        )
    )
    written = int(host.check_output("stat -c %%Z %s", TAP_HOOK))
    assert started >= written


def tap_flags(host, name: str) -> int:
    return int(host.check_output("cat /sys/class/net/%s/flags", name), 16)


def test_tap_hook_brings_up_a_tap_open_vswitch_opened_down(host, tap_hook_on):
    """The hook against the real Open vSwitch: a tap on br-int that is down (as the race
    between libvirt and ovs-vswitchd leaves it) is up after the hook's ``started`` call."""
    needs_group(host, "nova_compute")
    if not tap_hook_on:
        pytest.skip("nova_libvirt_ovs_tap_hook is off on this host")
    if not host.exists("ovs-vsctl"):
        pytest.skip("Open vSwitch is not installed on this host (no chassis)")
    domain = (
        "<domain><name>nimbus-hook-test</name><devices><interface type='ethernet'>"
        f"<target dev='{TEST_TAP}'/></interface></devices></domain>"
    )
    remove = f"ovs-vsctl --if-exists del-port br-int {TEST_TAP}; ip link del {TEST_TAP}"
    host.run(remove)
    try:
        host.check_output("ip tuntap add dev %s mode tap", TEST_TAP)
        host.check_output("ovs-vsctl add-port br-int %s", TEST_TAP)
        assert not tap_flags(host, TEST_TAP) & IFF_UP
        done = host.run(
            f"printf '%s' {shlex.quote(domain)} | {TAP_HOOK} nimbus-hook-test started begin -"
        )
        assert done.rc == 0, done.stderr
        assert tap_flags(host, TEST_TAP) & IFF_UP
    finally:
        host.run(remove)


@pytest.mark.parametrize(
    ("path", "group", "expected"),
    [
        ("/etc/nova", "nova_all", ("root", "nova", 0o750)),
        ("/etc/nova/nova.conf", "nova_all", ("root", "nova", 0o640)),
        ("/etc/nova/nova.conf.d", "nova_all", ("root", "nova", 0o750)),
        ("/etc/nova/nova.conf.d/secrets.conf", "nova_all", ("root", "nova", 0o640)),
        ("/etc/nova/policy.yaml", "nova_all", ("root", "nova", 0o640)),
        ("/etc/nova/api-paste.ini", "nova_api_os_compute", ("root", "nova", 0o640)),
        ("/etc/nova/nova-api-os-compute-uwsgi.ini", "nova_api_os_compute", ("root", "nova", 0o640)),
        ("/etc/nova/nova-api-metadata-uwsgi.ini", "nova_api_metadata", ("root", "nova", 0o640)),
        ("/etc/sudoers.d/nova", "nova_compute", ("root", "root", 0o440)),
        ("/var/lib/nova", "nova_all", ("nova", "nova", 0o755)),
        ("/var/lib/nova/instances", "nova_compute", ("nova", "nova", 0o755)),
        *(
            (
                f"/etc/systemd/system/{unit}.d/nimbus-sandbox.conf",
                "nova_compute",
                ("root", "root", 0o644),
            )
            for unit in ("libvirtd.service", "virtlockd.service")
        ),
    ]
    + [
        (f"/etc/systemd/system/{unit}", grp, ("root", "root", 0o644)) for unit, grp in UNITS.items()
    ],
)
def test_file_owner_and_mode(host, owner_and_mode, path, group, expected):
    needs_group(host, group)
    assert owner_and_mode(path) == expected


@pytest.mark.parametrize(
    ("unit", "group"),
    [
        ("nova-api-os-compute.service", "nova_api_os_compute"),
        ("nova-api-metadata.service", "nova_api_metadata"),
    ],
)
def test_no_failed_writes(host, no_failed_writes, unit, group):
    needs_group(host, group)
    no_failed_writes(unit)


@pytest.mark.parametrize(("unit", "group"), UNITS.items())
def test_runs_the_configuration_on_disk(host, files_newer_than, unit, group):
    """No file the unit reads changed after it started (a restart owed, also by a lost run)."""
    needs_group(host, group)
    name = unit.removesuffix(".service")
    reads = [f"/etc/systemd/system/{unit}", f"/etc/nova/{name}-uwsgi.ini", *READS]
    assert files_newer_than(unit, reads) == []


def test_no_restart_owed(host):
    owed = [
        unit
        for unit, group in UNITS.items()
        if in_group(host, group) and host.file(f"/var/lib/nimbus/restart-owed/{unit}").exists
    ]
    assert owed == []


def test_versions_answer_without_a_token(compute_api):
    status, body = call(f"{compute_api}/")
    assert status == 200
    assert {v["id"]: v["status"] for v in body["versions"]}["v2.1"] == "CURRENT"


def test_servers_need_a_token(compute_api):
    status, _body = call(f"{compute_api}/v2.1/servers")
    assert status == 401


@pytest.mark.parametrize(
    ("binary", "group"),
    [
        ("nova-conductor", "nova_conductor"),
        ("nova-scheduler", "nova_scheduler"),
        ("nova-compute", "nova_compute"),
    ],
)
def test_services_up_and_enabled(host, services, binary, group):
    """Every host of the group reports the binary, up and enabled (once per host checked)."""
    listed = {s["host"]: (s["state"], s["status"]) for s in services if s["binary"] == binary}
    assert listed == {name: ("up", "enabled") for name in group_hosts(host, group)}


def hypervisor_of(host, compute_api, admin_token) -> dict:
    """This compute host's hypervisor record (libvirt names it after the host)."""
    status, body = call(f"{compute_api}/v2.1/os-hypervisors/detail", admin_token)
    assert status == 200
    name = host.ansible.get_variables()["inventory_hostname"]
    mine = [h for h in body["hypervisors"] if h["hypervisor_hostname"].split(".")[0] == name]
    assert len(mine) == 1, [h["hypervisor_hostname"] for h in body["hypervisors"]]
    return mine[0]


def test_compute_host_is_a_hypervisor(host, compute_api, admin_token):
    needs_group(host, "nova_compute")
    hypervisor = hypervisor_of(host, compute_api, admin_token)
    assert (hypervisor["state"], hypervisor["status"]) == ("up", "enabled")
    assert hypervisor["hypervisor_type"] == "QEMU"


def test_compute_host_mapped_into_cell1(host):
    """``nova-manage cell_v2 list_hosts`` (the venv nova-conductor runs) on the first
    conductor host lists this compute host in cell1."""
    needs_group(host, "nova_compute")
    conductor = host.backend.ansible_runner.get_host(group_hosts(host, "nova_conductor")[0])
    exec_start = conductor.check_output(
        "systemctl show nova-conductor.service --property=ExecStart --value"
    )
    nova_manage = re.search(r"path=(\S+)/nova-conductor ", exec_start).group(1) + "/nova-manage"
    table = conductor.check_output("runuser -u nova -- %s cell_v2 list_hosts", nova_manage)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()]
    mapped = {row[2]: row[0] for row in rows if len(row) == 3}
    name = host.ansible.get_variables()["inventory_hostname"]
    assert mapped.get(name) == CELL


def test_compute_host_is_a_placement_resource_provider(host, compute_api, admin_token):
    """Placement (first placement host, management address) knows the compute node as a
    resource provider named after it, with the inventory nova-compute reports."""
    needs_group(host, "nova_compute")
    hypervisor = hypervisor_of(host, compute_api, admin_token)
    placement_host = address_of(host, group_hosts(host, "placement_all")[0])
    placement = f"https://{placement_host}:{PLACEMENT_PORT}"
    status, body = call(
        f"{placement}/resource_providers?name={hypervisor['hypervisor_hostname']}", admin_token
    )
    assert status == 200
    providers = body["resource_providers"]
    assert len(providers) == 1
    status, body = call(
        f"{placement}/resource_providers/{providers[0]['uuid']}/inventories", admin_token
    )
    assert status == 200
    inventories = body["inventories"]
    assert {"VCPU", "MEMORY_MB", "DISK_GB"} <= set(inventories)
    assert all(inventories[rc]["total"] > 0 for rc in ("VCPU", "MEMORY_MB", "DISK_GB"))
