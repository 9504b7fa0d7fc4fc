"""Segment ranges of provider networks (vlan, geneve, vxlan)."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory import segments


@pytest.mark.parametrize(
    ("value", "kind", "ranges", "problem"),
    [
        ("1:1000", "geneve", [(1, 1000)], None),
        ("101:200,301:400", "vlan", [(101, 200), (301, 400)], None),
        (" 5:5 ", "vlan", [(5, 5)], None),
        ("1:16777215", "vxlan", [(1, 16777215)], None),
        ("1:16777216", "geneve", [], "outside 1-16777215"),
        ("0:10", "vlan", [], "outside 1-4094"),
        ("1-1000", "geneve", [], "'1-1000' is not 'first:last'"),
        ("1:2:3", "vlan", [], "is not 'first:last'"),
        ("101:200,", "vlan", [], "'' of '101:200,' is not 'first:last'"),
        ("a:b", "vlan", [], "is not 'first:last'"),
        ("9:1", "vlan", [], "starts after it ends"),
        ("", "vlan", [], "is not a range"),
        (["1:2"], "vlan", [], "is not a range"),
        (100, "vlan", [], "is not 'first:last'"),
    ],
)
def test_parse_ranges(value, kind, ranges, problem):
    got, why = segments.parse_ranges(value, kind)
    assert got == ranges
    if problem is None:
        assert why is None
    else:
        assert problem in why


@pytest.mark.parametrize(
    ("owned", "expected"),
    [
        ([("a", (1, 10)), ("b", (11, 20))], []),
        ([("a", (1, 10)), ("b", (10, 20))], [("a", "b", (10, 10))]),
        ([("a", (1, 100)), ("b", (20, 30))], [("a", "b", (20, 30))]),
        ([("a", (1, 5)), ("a", (3, 8))], [("a", "a", (3, 5))]),
        ([("a", (1, 5)), ("b", (6, 9)), ("c", (4, 7))], [("a", "c", (4, 5)), ("b", "c", (6, 7))]),
    ],
)
def test_overlaps(owned, expected):
    assert segments.overlaps(owned) == expected
