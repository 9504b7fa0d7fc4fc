"""Pure network planning: route collisions, NAT/forward rules, the DNS forwarder's command."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .model import LabError, LabNetwork

RULE_COMMENT = "nimbus-lab"


@dataclass(frozen=True)
class Rule:
    """One iptables rule the lab adds: ``iptables -t TABLE -I/-A CHAIN ARGS``."""

    table: str
    chain: str
    args: tuple[str, ...]
    insert: bool = False  # -I (top of the chain) instead of -A

    def to_json(self) -> list[Any]:
        return [self.table, self.chain, list(self.args), self.insert]

    @classmethod
    def from_json(cls, data: list[Any]) -> Rule:
        table, chain, args, insert = data
        return cls(str(table), str(chain), tuple(str(a) for a in args), bool(insert))


def broadcast(network: LabNetwork) -> ipaddress.IPv4Address:
    return network.cidr.broadcast_address


def default_uplink(routes: list[dict[str, Any]]) -> str:
    """The interface of the IPv4 default route, from ``ip -j -4 route show default``."""
    for route in routes:
        if route.get("dst") in ("default", "0.0.0.0/0") and route.get("dev"):
            return str(route["dev"])
    raise LabError(
        "this machine has no IPv4 default route, so lab hosts could not reach the package"
        " registries through NAT; configure the machine's network first"
    )


def route_collisions(
    networks: Iterable[LabNetwork], routes: list[dict[str, Any]], own_devices: set[str]
) -> list[str]:
    """Routes of the machine (``ip -j -4 route show table all``) that overlap a lab subnet.

    Routes through the lab's own bridges and default routes are not collisions.
    """
    problems = []
    for network in networks:
        for route in routes:
            dst = route.get("dst")
            dev = route.get("dev", "?")
            if dst in (None, "default") or dev in own_devices:
                continue
            try:
                routed = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
            except ValueError:
                continue
            if routed.prefixlen == 0 or not routed.overlaps(network.cidr):
                continue
            table = route.get("table", "main")
            problems.append(
                f"{network.bridge} needs {network.cidr}, but this machine already routes"
                f" {dst} via {dev} (table {table}); the lab will not take a subnet that is in use."
                f" Remove that route/address (ip route del {dst} dev {dev}) or run the lab"
                " on another machine"
            )
    return problems


def interface_conflicts(
    networks: Iterable[LabNetwork], links: set[str], own: set[str]
) -> list[str]:
    """Lab bridge names that exist on the machine but were not made by the lab."""
    return [
        f"an interface named {n.bridge} already exists and the lab did not create it;"
        f" remove it (ip link del {n.bridge}) or use a machine without one"
        for n in networks
        if n.bridge in links and n.bridge not in own
    ]


def nat_rules(networks: Iterable[LabNetwork], uplink: str) -> list[Rule]:
    """MASQUERADE lab subnets out of the uplink, and let their traffic through FORWARD."""
    comment = ("-m", "comment", "--comment", RULE_COMMENT)
    rules: list[Rule] = []
    for network in networks:
        cidr = str(network.cidr)
        rules.append(
            Rule("nat", "POSTROUTING", ("-s", cidr, "-o", uplink, *comment, "-j", "MASQUERADE"))
        )
        rules.append(
            Rule("filter", "FORWARD", ("-i", network.bridge, *comment, "-j", "ACCEPT"), True)
        )
        rules.append(
            Rule(
                "filter",
                "FORWARD",
                (
                    "-o",
                    network.bridge,
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "RELATED,ESTABLISHED",
                    *comment,
                    "-j",
                    "ACCEPT",
                ),
                True,
            )
        )
    return rules


def dnsmasq_command(
    listen: ipaddress.IPv4Address, pid_file: str, hosts_file: str, binary: str = "dnsmasq"
) -> list[str]:
    """A DNS-only dnsmasq on the lab gateway address, forwarding to the machine's resolvers."""
    return [
        binary,
        "--conf-file=/dev/null",
        f"--pid-file={pid_file}",
        f"--listen-address={listen}",
        "--bind-interfaces",
        "--except-interface=lo",
        "--no-hosts",
        f"--addn-hosts={hosts_file}",
        "--domain-needed",
        "--cache-size=1000",
        "--user=nobody",
        "--group=nogroup",
    ]


def is_our_dnsmasq(cmdline: bytes, pid_file: str) -> bool:
    """Whether a /proc/PID/cmdline is the dnsmasq the lab started (guards against PID reuse)."""
    args = cmdline.decode(errors="replace").split("\0")
    return bool(args) and args[0].endswith("dnsmasq") and f"--pid-file={pid_file}" in args


def hosts_text(entries: dict[str, str]) -> str:
    """The lab DNS names file: ``address name`` lines, sorted by name."""
    lines = ["# Lab hosts, served by the nimbus-lab DNS forwarder (generated)."]
    lines += [f"{address} {name}" for name, address in sorted(entries.items())]
    return "\n".join(lines) + "\n"


def mounts_under(mountinfo: str, path: str) -> list[str]:
    """Mount points at or below PATH in /proc/self/mountinfo text, deepest first."""
    root = path.rstrip("/")
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        if point == root or point.startswith(root + "/"):
            found.append(point)
    return sorted(set(found), key=lambda p: (-p.count("/"), p))
