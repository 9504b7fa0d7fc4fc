"""Thin wrappers around the machine's tools (apt, ip, iptables, lxc, dnsmasq, ssh-keygen)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .model import LabError
from .network import Rule, is_our_dnsmasq, mounts_under

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def run(
    command: list[str],
    *,
    check: bool = True,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.PIPE,
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise LabError with the command and its error output."""
    try:
        result = subprocess.run(
            command,
            check=False,
            text=True,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=timeout,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError:
        raise LabError(f"{command[0]} is not installed (needed for: {' '.join(command)})") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"timed out after {timeout:.0f}s: {' '.join(command)}") from None
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip() or (result.stdout or "").strip()
        raise LabError(f"'{' '.join(command)}' failed (exit {result.returncode}): {detail}")
    return result


def write_file(path: Path, content: str, mode: int = 0o644) -> None:
    """Write atomically (temp file + rename) with MODE."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    Path(tmp).replace(path)


# --- packages ---------------------------------------------------------------------------


def missing_packages(packages: list[str]) -> list[str]:
    missing = []
    for package in packages:
        result = run(["dpkg-query", "-W", "-f=${Status}", package], check=False)
        if result.returncode != 0 or "install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def apt_install(packages: list[str]) -> None:
    run(["apt-get", "update", "-q"], env=APT_ENV, timeout=600)
    run(
        [
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "-o",
            "DPkg::Lock::Timeout=300",  # another lab.py run may be installing right now
            *packages,
        ],
        env=APT_ENV,
        timeout=1200,
    )


# --- links, routes, NAT -----------------------------------------------------------------


def ip_json(args: list[str]) -> list[dict[str, Any]]:
    return json.loads(run(["ip", "-j", *args]).stdout or "[]")


def link_names() -> set[str]:
    return {str(link["ifname"]) for link in ip_json(["link", "show"])}


def bridge_addresses(name: str) -> list[str]:
    found = ip_json(["-4", "addr", "show", "dev", name])
    return [f"{a['local']}/{a['prefixlen']}" for link in found for a in link.get("addr_info", [])]


def ensure_bridge(name: str, address: str) -> bool:
    """Create bridge NAME with ADDRESS (up); return True when something changed."""
    changed = False
    if name not in link_names():
        run(["ip", "link", "add", name, "type", "bridge"])
        changed = True
    if address not in bridge_addresses(name):
        run(["ip", "addr", "add", address, "dev", name])
        changed = True
    state = ip_json(["link", "show", "dev", name])[0]
    if "UP" not in state.get("flags", []):
        run(["ip", "link", "set", name, "up"])
        changed = True
    return changed


def delete_bridge(name: str) -> None:
    if name in link_names():
        run(["ip", "link", "del", name])


def _rule_args(rule: Rule, action: str) -> list[str]:
    return ["iptables", "-w", "5", "-t", rule.table, action, rule.chain, *rule.args]


def rule_present(rule: Rule) -> bool:
    return run(_rule_args(rule, "-C"), check=False).returncode == 0


def add_rule(rule: Rule) -> None:
    run(_rule_args(rule, "-I" if rule.insert else "-A"))


def delete_rule(rule: Rule) -> None:
    while rule_present(rule):
        run(_rule_args(rule, "-D"))


IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def ip_forward() -> str:
    return IP_FORWARD.read_text().strip()


def set_ip_forward(value: str) -> None:
    IP_FORWARD.write_text(f"{value}\n")


# --- dnsmasq ----------------------------------------------------------------------------


def process_is_our_dnsmasq(pid: int, pid_file: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return is_our_dnsmasq(cmdline, pid_file)


def start_dnsmasq(command: list[str], pid_file: Path, deadline: float = 10) -> int:
    """Start the DNS forwarder (it daemonizes) and return its PID from the pid file."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.unlink(missing_ok=True)
    result = run(command, check=False, timeout=deadline)
    if result.returncode != 0:
        raise LabError(
            f"the lab DNS forwarder did not start: {result.stderr.strip()}. Is another DNS server"
            " bound to port 53 on every address? Stop it or bind it to specific addresses"
        )
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.05)
            continue
        if process_is_our_dnsmasq(pid, str(pid_file)):
            return pid
        time.sleep(0.05)
    raise LabError(f"the lab DNS forwarder started but wrote no usable pid file {pid_file}")


def signal_pid(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def stop_pid(pid: int, deadline: float = 5) -> None:
    """SIGTERM, wait up to DEADLINE seconds, then SIGKILL."""
    signal_pid(pid, signal.SIGTERM)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    signal_pid(pid, signal.SIGKILL)


# --- LXC --------------------------------------------------------------------------------


def lxc_path() -> Path:
    result = run(["lxc-config", "lxc.lxcpath"], check=False)
    return Path(result.stdout.strip() or "/var/lib/lxc")


def lxc_state(name: str) -> str | None:
    """RUNNING, STOPPED, ... or None when no such container exists."""
    result = run(["lxc-info", "-n", name, "-sH"], check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def lxc_start(name: str, log: Path) -> None:
    run(["lxc-start", "-n", name, "--logfile", str(log), "--logpriority", "WARN"], timeout=60)


def lxc_stop(name: str) -> None:
    if lxc_state(name) not in (None, "STOPPED"):
        run(["lxc-stop", "-n", name, "--kill"], timeout=60)


def lxc_attach(name: str, command: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return run(
        ["lxc-attach", "-n", name, "--clear-env", "--", *command], check=False, timeout=timeout
    )


def port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_ready(hosts: dict[str, str], deadline: float) -> dict[str, str]:
    """Wait until each host (name -> address) has booted and listens for SSH.

    Returns name -> final systemd state ("running" or "degraded"); raises LabError naming
    what each late host was still doing when DEADLINE seconds ran out.
    """
    end = time.monotonic() + deadline
    pending = dict(hosts)
    result: dict[str, str] = {}
    last: dict[str, str] = {}
    while pending:
        for name, address in list(pending.items()):
            state = lxc_attach(name, ["systemctl", "is-system-running"], timeout=10).stdout
            last[name] = state.strip() or "no answer"
            if last[name] in ("running", "degraded") and port_open(address, 22):
                result[name] = last[name]
                del pending[name]
        if not pending:
            break
        if time.monotonic() > end:
            late = ", ".join(f"{n} (systemd: {last.get(n)})" for n in pending)
            raise LabError(
                f"lab hosts not ready after {deadline:.0f}s: {late}. Look inside with"
                f" 'lxc-attach -n {next(iter(pending))} -- systemctl list-jobs'"
            )
        time.sleep(0.2)
    return result


# --- files and keys ---------------------------------------------------------------------


def remove_tree(path: Path) -> None:
    """Remove a directory tree after unmounting anything left mounted below it."""
    if not path.exists():
        return
    for point in mounts_under(Path("/proc/self/mountinfo").read_text(), str(path)):
        run(["umount", "-l", point], check=False)
    if mounts_under(Path("/proc/self/mountinfo").read_text(), str(path)):
        raise LabError(f"cannot remove {path}: something is still mounted below it")
    shutil.rmtree(path)


def ssh_keygen(path: Path, comment: str) -> None:
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
