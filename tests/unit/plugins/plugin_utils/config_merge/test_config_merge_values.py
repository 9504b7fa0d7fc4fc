"""Plain-data conversion, INI scalars and summary rendering."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.nimbus.cloud.plugins.plugin_utils.config_merge import (
    ChangeSummary,
    ConfigMergeError,
    merge_config,
)
from ansible_collections.nimbus.cloud.plugins.plugin_utils.config_merge.values import to_plain


class TaggedStr(str):
    """Stands in for Ansible's tagged string type."""


class TaggedInt(int):
    """Stands in for Ansible's tagged int type."""


def test_to_plain_drops_subclasses() -> None:
    plain = to_plain({TaggedStr("k"): [TaggedStr("v"), TaggedInt(3), (1, 2)]})
    assert plain == {"k": ["v", 3, [1, 2]]}
    key = next(iter(plain))
    assert not isinstance(key, TaggedStr)
    assert not isinstance(plain[key][0], TaggedStr)
    assert not isinstance(plain[key][1], TaggedInt)


def test_to_plain_rejects_objects_with_path() -> None:
    with pytest.raises(ConfigMergeError, match=r"config_overrides\['a'\]\[0\]: values of type"):
        to_plain({"a": [object()]}, "config_overrides")


def test_json_cannot_hold_dates() -> None:
    with pytest.raises(ConfigMergeError, match="merged JSON cannot be written"):
        merge_config("{}", {"when": datetime.date(2026, 1, 1)}, "json")


def test_yaml_keeps_dates() -> None:
    assert merge_config("a: 2026-01-01\n", {}, "yaml") == "---\na: 2026-01-01\n"


def test_tagged_values_render_in_ini() -> None:
    merged = merge_config("[DEFAULT]\n", {TaggedStr("DEFAULT"): {"a": TaggedStr("b")}}, "ini")
    assert merged == "[DEFAULT]\na = b\n"


def test_summary_render_lists_names_only() -> None:
    summary = ChangeSummary(added=("[cache] enabled",), changed=("[DEFAULT] debug",))
    assert summary.render("keystone.conf") == (
        "keystone.conf:\n  added    [cache] enabled\n  changed  [DEFAULT] debug\n"
    )
    assert ChangeSummary().render("x") == "x: no section or key changes\n"
