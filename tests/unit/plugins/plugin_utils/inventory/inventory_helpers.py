"""Shared helpers of the inventory tests: build a configuration directory from a case."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[4]
# A valid, empty state file as an earlier run left it (the name of a host that no longer
# exists keeps it distinct from anything a run could write).
STATE_SENTINEL = (
    '{"format": "nimbus.cloud/openstack_inventory", "version": 1, "hosts": '
    '{"gone1": {"management_address": "172.29.236.250", "addresses": {}}}}\n'
)


def load_table(name: str) -> dict[str, Any]:
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8"))


def deep_merge(base: Any, patch: Any) -> Any:
    """Mappings merge key by key; a value of None deletes the key; anything else replaces."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def write_case(directory: Path, case: dict[str, Any], bases: dict[str, Any]) -> None:
    """Write openstack_user_config.yml (base + patch) and any extra files of a case."""
    files: dict[str, Any] = dict(case.get("files") or {})
    if "config" in case or "base" in case:
        config = deep_merge(bases[case.get("base", "multi")], case.get("config") or {})
        files.setdefault("openstack_user_config.yml", config)
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")


def is_subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and is_subset(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual
