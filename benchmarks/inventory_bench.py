"""Benchmark of the Nimbus inventory on generated configurations.

For 10, 100, 1,000 and 5,000 hosts (three infrastructure hosts, the rest compute hosts that are
also OVN gateways) it prints:

- the pure Python generation time, in process (best of several runs): a first run that
  allocates every address and writes the state file, and a repeated run with the state
  present;
- wall time and peak RSS of ``openstack-ansible-inventory --check`` and of
  ``ansible-inventory --list``, each in its own child process.

Target (issue 3): 1,000 hosts under 0.5 s for the Python generation, linear growth.

Usage: python3 benchmarks/inventory_bench.py [--sizes 10,100,1000,5000] [--repeat 3]
                                     [--ansible-inventory PATH]

The configurations only contain addresses; nothing is contacted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / "scripts" / "openstack-ansible-inventory"

# Runs a command and reports its wall time and the peak RSS of that one child.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
elapsed = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "seconds": elapsed, "peak_kib": peak_kib,
                  "stderr": done.stderr[-2000:]}))
"""


def load_package() -> ModuleType:
    package_dir = REPO / "plugins" / "plugin_utils" / "inventory"
    spec = importlib.util.spec_from_file_location(
        "nimbus_inventory_bench",
        package_dir / "__init__.py",
        submodule_search_locations=[str(package_dir)],
    )
    assert spec is not None and spec.loader is not None  # noqa: S101 - a bench script
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def host_address(network: str, index: int) -> str:
    """index-th address of a /18 starting at 172.29.<network>.0 (index 0 -> .10)."""
    value = 10 + index
    return f"172.29.{network + value // 256}.{value % 256}"


def make_config(hosts: int) -> dict[str, Any]:
    infra = {f"infra{n}": {"ip": host_address(0, n)} for n in range(1, 4)}
    computes = {
        f"compute{n}": {"ip": host_address(0, 100 + n)} for n in range(1, max(hosts - 3, 1) + 1)
    }
    config: dict[str, Any] = {
        "cidr_networks": {
            "container": "172.29.0.0/18",
            "tunnel": "172.29.64.0/18",
            "storage": "172.29.128.0/18",
        },
        "used_ips": [
            "172.29.0.1,172.29.0.9",
            "172.29.64.1,172.29.64.9",
            "172.29.128.1,172.29.128.9",
        ],
        "global_overrides": {
            "internal_lb_vip_address": "172.29.0.5",
            "external_lb_vip_address": "cloud.example.com",
            "management_bridge": "br-mgmt",
            "provider_networks": [
                {"network": {"container_bridge": "br-mgmt", "container_interface": "eth1",
                             "container_type": "veth", "ip_from_q": "container", "type": "raw",
                             "group_binds": ["all_containers", "hosts"],
                             "is_management_address": True}},
                {"network": {"container_bridge": "br-vxlan", "container_interface": "eth10",
                             "container_type": "veth", "ip_from_q": "tunnel", "type": "geneve",
                             "range": "1:1000", "group_binds": ["neutron_ovn_controller"]}},
                {"network": {"container_bridge": "br-storage", "container_interface": "eth2",
                             "container_type": "veth", "ip_from_q": "storage", "type": "raw",
                             "group_binds": ["glance_api", "nova_compute"]}},
            ],
        },
    }  # fmt: skip
    for group in (
        "shared-infra_hosts", "repo-infra_hosts", "haproxy_hosts", "identity_hosts",
        "image_hosts", "placement-infra_hosts", "compute-infra_hosts", "network-infra_hosts",
        "network-northd_hosts", "dashboard_hosts",
    ):  # fmt: skip
        config[group] = infra
    config["compute_hosts"] = computes
    config["network-gateway_hosts"] = computes
    return config


def write_config(directory: Path, hosts: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(make_config(hosts), sort_keys=False)
    (directory / "openstack_user_config.yml").write_text(text, encoding="utf-8")


def in_process(inventory: ModuleType, directory: Path, repeat: int) -> dict[str, float]:
    """Best wall and CPU times of a first run (allocating, writing state) and a repeated run."""
    times: dict[str, list[float]] = {"cold": [], "warm": [], "warm_cpu": []}
    count = 0
    for _round in range(repeat):
        (directory / inventory.STATE_FILE).unlink(missing_ok=True)
        shutil.rmtree(directory / inventory.BACKUP_DIR, ignore_errors=True)
        start = time.perf_counter()
        result = inventory.generate(directory, write=True)
        times["cold"].append(time.perf_counter() - start)
        count = len(result.hostvars)
    for _round in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        inventory.generate(directory, write=True)
        times["warm"].append(time.perf_counter() - start)
        times["warm_cpu"].append(time.process_time() - cpu)
    best = {key: min(values) for key, values in times.items()}
    best["hosts"] = count
    return best


def measure(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result['stderr']}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--ansible-inventory",
        default=str(Path(sys.executable).parent / "ansible-inventory"),
        help="ansible-inventory to measure (default: next to this Python)",
    )
    parser.add_argument(
        "--collections-path",
        default=str(REPO / ".build"),
        help="ANSIBLE_COLLECTIONS_PATH holding ansible_collections/nimbus/cloud",
    )
    args = parser.parse_args()
    sizes = [int(item) for item in args.sizes.split(",")]
    inventory = load_package()
    have_ansible = Path(args.ansible_inventory).exists()

    header = (
        f"{'hosts':>6} {'gen first':>10} {'gen again':>10} {'again CPU':>10} {'CPU us/host':>12} "
        f"{'--check s':>10} {'--check MiB':>12} {'a-i --list s':>13} {'a-i MiB':>8}"
    )
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="nimbus-inventory-bench-") as temp:
        for size in sizes:
            directory = Path(temp) / f"hosts-{size}"
            write_config(directory, size)
            best = in_process(inventory, directory, args.repeat)
            count = int(best["hosts"])
            env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
            env.update(
                OSA_CONFIG_DIR=str(directory),
                ANSIBLE_COLLECTIONS_PATH=args.collections_path,
                ANSIBLE_LOCAL_TEMP=str(Path(temp) / "tmp"),
                ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
            )
            check = measure([sys.executable, str(CLI), "--check"], env)
            row = (
                f"{count:>6} {best['cold']:>10.3f} {best['warm']:>10.3f} {best['warm_cpu']:>10.3f} "
                f"{best['warm_cpu'] / count * 1e6:>12.0f} "
                f"{check['seconds']:>10.2f} {check['peak_kib'] / 1024:>12.1f}"
            )
            if have_ansible:
                source = directory / "openstack_deploy.yml"
                source.write_text("plugin: nimbus.cloud.openstack_deploy\n", encoding="utf-8")
                listed = measure([args.ansible_inventory, "-i", str(source), "--list"], env)
                row += f" {listed['seconds']:>13.2f} {listed['peak_kib'] / 1024:>8.1f}"
            print(row, flush=True)
    print(
        "\ngen first: in-process generate() allocating every address and writing the state; "
        "gen again: with the state present (the usual run), wall and CPU seconds (best of "
        f"{args.repeat}).\n--check / a-i --list: whole process (interpreter start included), "
        "wall time and peak RSS."
    )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
