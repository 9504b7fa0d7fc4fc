"""Address pools: which addresses of a network are free, and handing out the lowest free one.

Addresses are plain integers; a pool never expands a range into a list, so a used_ips range
covering a /16 costs nothing.
"""

from __future__ import annotations

import bisect
import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV4 = 4
POINT_TO_POINT = 31  # /31 and /32 have no assignable host addresses here


def address_value(text: str) -> tuple[int, int]:
    """(version, integer) of an address; fast for IPv4. Raises ValueError when invalid."""
    try:
        return IPV4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, TypeError):
        address = ipaddress.ip_address(text)
        return address.version, int(address)


def usable_range(network: IPNetwork) -> tuple[int, int]:
    """First and last assignable address (network and broadcast addresses excluded)."""
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.version == IPV4 and network.prefixlen >= POINT_TO_POINT:
        return first, first - 1  # nothing assignable next to point-to-point links
    if network.version != IPV4:
        return first + 1, last  # IPv6 has no broadcast; the subnet-router anycast is excluded
    return first + 1, last - 1


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + 1:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


@dataclass
class Pool:
    """Free addresses of one cidr_networks entry."""

    network: IPNetwork
    reserved: list[tuple[int, int]] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)
    _starts: list[int] = field(default_factory=list)
    _cursor: int | None = None

    def __post_init__(self) -> None:
        self.first, self.last = usable_range(self.network)
        initial, self.reserved = self.reserved, []
        self.reserve(initial)

    def reserve(self, intervals: list[tuple[int, int]]) -> None:
        """Exclude intervals (used_ips, host addresses, VIPs); parts outside are ignored."""
        clipped = [
            (max(start, self.first), min(end, self.last))
            for start, end in intervals
            if end >= self.first and start <= self.last
        ]
        self.reserved = merge_intervals(self.reserved + clipped)
        self._starts = [interval[0] for interval in self.reserved]
        self._cursor = None

    def is_reserved(self, address: int) -> bool:
        index = bisect.bisect_right(self._starts, address) - 1
        return index >= 0 and self.reserved[index][1] >= address

    def why_unusable(self, address: int) -> str | None:
        """Why an address cannot be (kept) assigned from this pool, or None when it can."""
        if not self.first <= address <= self.last:
            if int(self.network.network_address) <= address <= int(self.network.broadcast_address):
                return f"it is the network or broadcast address of {self.network}"
            return f"it is outside {self.network}"
        if self.is_reserved(address):
            return "it is now reserved (used_ips, a host address or a VIP)"
        if address in self.taken:
            return "another host has it"
        return None

    def take(self, address: int) -> None:
        self.taken.add(address)

    def free_count(self) -> int:
        size = self.last - self.first + 1
        if size <= 0:
            return 0
        blocked = sum(end - start + 1 for start, end in self.reserved)
        blocked += sum(1 for address in self.taken if not self.is_reserved(address))
        return size - blocked

    def reserved_count(self) -> int:
        return sum(end - start + 1 for start, end in self.reserved)

    def _free(self) -> Iterator[int]:
        address = self.first if self._cursor is None else self._cursor
        index = bisect.bisect_right(self._starts, address) - 1
        index = max(index, 0)
        while address <= self.last:
            while index < len(self.reserved) and self.reserved[index][1] < address:
                index += 1
            if index < len(self.reserved) and self.reserved[index][0] <= address:
                address = self.reserved[index][1] + 1
                continue
            if address not in self.taken:
                yield address
            address += 1

    def allocate(self) -> int | None:
        """Lowest free address (marked as taken), or None when the pool is exhausted."""
        for address in self._free():
            self.taken.add(address)
            self._cursor = address + 1
            return address
        return None

    def text(self, address: int) -> str:
        cls = ipaddress.IPv4Address if self.network.version == IPV4 else ipaddress.IPv6Address
        return str(cls(address))


def suggest_prefix(network: IPNetwork, needed_total: int) -> int:
    bits = network.max_prefixlen
    overhead = 2 if network.version == IPV4 else 1
    prefix = network.prefixlen
    while prefix > 0 and 2 ** (bits - prefix) - overhead < needed_total:
        prefix -= 1
    return prefix
