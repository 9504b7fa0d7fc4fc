"""Segment ranges of provider networks: the ``range`` of a vlan, geneve or vxlan network.

OSA writes them as ``"first:last"`` items joined by commas (``"101:200,301:400"``); Neutron
turns them into ``network_vlan_ranges`` and ``vni_ranges``, where an overlap or a malformed
item is only found when neutron-server starts. These helpers find both before any host
changes.
"""

from __future__ import annotations

from typing import Any

# Segment ids each network type allows (VLAN 802.1Q ids; GENEVE and VXLAN 24-bit VNIs).
LIMITS: dict[str, tuple[int, int]] = {
    "vlan": (1, 4094),
    "geneve": (1, 2**24 - 1),
    "vxlan": (1, 2**24 - 1),
}
TUNNEL_TYPES = ("geneve", "vxlan")


def parse_ranges(value: Any, network_type: str) -> tuple[list[tuple[int, int]], str | None]:
    """``"a:b,c:d"`` -> [(a, b), (c, d)], or ([], why it is not valid)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return [], f"{value!r} is not a range."
    low, high = LIMITS.get(network_type, (1, 2**24 - 1))
    ranges: list[tuple[int, int]] = []
    for item in value.split(","):
        name = (
            repr(item.strip())
            if item.strip() == value.strip()
            else f"{item.strip()!r} of {value!r}"
        )
        first_text, colon, last_text = item.strip().partition(":")
        if not colon or not first_text.strip().isdigit() or not last_text.strip().isdigit():
            return [], f"{name} is not 'first:last'."
        first, last = int(first_text), int(last_text)
        if first > last:
            return [], f"{name} starts after it ends."
        if first < low or last > high:
            return (
                [],
                f"{item.strip()!r} of {value!r} is outside {low}-{high} ({network_type} ids).",
            )
        ranges.append((first, last))
    return ranges, None


def overlaps(owned: list[tuple[Any, tuple[int, int]]]) -> list[tuple[Any, Any, tuple[int, int]]]:
    """Pairs of (owner, range) that share ids: (first owner, second owner, the shared part)."""
    found = []
    for index, (owner, (first, last)) in enumerate(owned):
        for other, (other_first, other_last) in owned[:index]:
            start, end = max(first, other_first), min(last, other_last)
            if start <= end:
                found.append((other, owner, (start, end)))
    return found
