"""Load, deep-merge and dump YAML and JSON configuration.

Mappings merge key by key, recursively. Any other override value replaces the
template value, except that with ``list_extend`` a list override is appended to
a list already in the template. A null override sets the value to null (both
formats can hold null), it does not remove the key.

Output is normalised: key order is kept, comments in YAML templates are not.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import yaml

from .errors import ConfigMergeError
from .values import to_plain, type_name

ROOT = "config_overrides"
JSON_INDENT = 4
YAML_WIDTH = 4096


def load_yaml(text: str, source: str = "template") -> Any:
    """Parse YAML; errors give position and problem but never the text itself."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        where = _yaml_position(exc)
        msg = f"{source} is not valid YAML{where}: {exc.problem or exc.context}"
        raise ConfigMergeError(msg) from None
    except yaml.YAMLError as exc:
        msg = f"{source} is not valid YAML: {type(exc).__name__}"
        raise ConfigMergeError(msg) from None


def _yaml_position(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return ""
    return f" at line {mark.line + 1}, column {mark.column + 1}"


def load_json(text: str, source: str = "template") -> Any:
    """Parse JSON; errors give position and problem but never the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{source} is not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ConfigMergeError(msg) from None


def validate_overrides(overrides: object) -> dict[str, Any]:
    """Overrides for YAML/JSON must be a mapping (or null for none)."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        msg = f"{ROOT} must be a mapping for YAML and JSON files, got {type_name(overrides)}"
        raise ConfigMergeError(msg)
    plain = to_plain(overrides, ROOT)
    if not isinstance(plain, dict):
        raise AssertionError("to_plain keeps mappings as dicts")
    return plain


def merge_data(base: Any, overrides: object, list_extend: bool = False) -> Any:
    """Return ``base`` with ``overrides`` deep-merged in; neither input is changed."""
    checked = validate_overrides(overrides)
    if not checked:
        return copy.deepcopy(base)
    if base is None:
        base = {}
    if not isinstance(base, Mapping):
        msg = (
            f"{ROOT} can only be merged into a template whose top level is a mapping; "
            f"the template renders a {type_name(base)}"
        )
        raise ConfigMergeError(msg)
    return _merge_mapping(base, checked, list_extend)


def _merge_mapping(
    base: Mapping[str, Any], overrides: Mapping[str, Any], list_extend: bool
) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = _merge_mapping(current, value, list_extend)
        elif list_extend and isinstance(value, list) and isinstance(current, list):
            merged[key] = [*current, *copy.deepcopy(value)]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents lists under their key and never writes anchors."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """Render data as block-style YAML, keeping key order."""
    plain = to_plain(data, "merged YAML")
    return yaml.dump(
        plain,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=YAML_WIDTH,
        explicit_start=True,
    )


def dump_json(data: Any) -> str:
    """Render data as indented JSON, keeping key order."""
    try:
        return json.dumps(data, indent=JSON_INDENT, ensure_ascii=False) + "\n"
    except (TypeError, ValueError) as exc:
        msg = f"merged JSON cannot be written: {exc}"
        raise ConfigMergeError(msg) from None
