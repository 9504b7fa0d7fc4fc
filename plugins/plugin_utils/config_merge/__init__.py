"""Merge operator overrides into rendered INI, YAML or JSON configuration.

Pure Python (PyYAML only), no Ansible imports: the nimbus.cloud.config_template
action plugin is a thin wrapper around :func:`merge_config`, and scripts or
tests can load this package straight from the repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ConfigMergeError
from .ini import parse_ini
from .ini_merge import IniOptions, merge_ini
from .ini_merge import validate_overrides as validate_ini_overrides
from .structured import dump_json, dump_yaml, load_json, load_yaml, merge_data
from .structured import validate_overrides as validate_data_overrides
from .summary import ChangeSummary, summarize
from .values import to_plain, type_name

__all__ = [
    "CONFIG_TYPES",
    "ChangeSummary",
    "ConfigMergeError",
    "MergeOptions",
    "check_config_type",
    "merge_config",
    "summarize",
    "to_plain",
    "type_name",
    "validate_overrides",
]

CONFIG_TYPES = ("ini", "yaml", "json")


@dataclass(frozen=True)
class MergeOptions:
    """Switches for :func:`merge_config`.

    list_extend: YAML/JSON only; append list overrides to template lists.
    ignore_none_type: INI only; a null override removes the key (true) or
        writes it as a bare key without ``=`` (false).
    multi_keys: INI only; keys written one line per list item, as ``key`` (any
        section) or ``section.key``.
    """

    list_extend: bool = False
    ignore_none_type: bool = True
    multi_keys: tuple[str, ...] = ()


def check_config_type(config_type: object) -> str:
    """Return ``config_type`` if it is supported, else raise a helpful error."""
    if config_type not in CONFIG_TYPES:
        msg = f"config_type must be one of {', '.join(CONFIG_TYPES)}; got {config_type!r}"
        raise ConfigMergeError(msg)
    return str(config_type)


def check_multi_keys(multi_keys: object) -> tuple[str, ...]:
    """``multi_keys`` must be a list of non-empty strings."""
    if multi_keys is None:
        return ()
    if isinstance(multi_keys, str) or not isinstance(multi_keys, Sequence):
        msg = f"multi_keys must be a list of option names, got {type_name(multi_keys)}"
        raise ConfigMergeError(msg)
    bad = [entry for entry in multi_keys if not isinstance(entry, str) or not entry.strip()]
    if bad:
        msg = "multi_keys entries must be non-empty strings such as 'key' or 'section.key'"
        raise ConfigMergeError(msg)
    return tuple(str(entry) for entry in multi_keys)


def validate_overrides(overrides: object, config_type: str) -> None:
    """Check the shape of ``overrides`` for ``config_type`` without merging."""
    if check_config_type(config_type) == "ini":
        validate_ini_overrides(to_plain(overrides, "config_overrides"))
    else:
        validate_data_overrides(overrides)


def merge_config(
    content: str,
    overrides: object,
    config_type: str,
    options: MergeOptions | None = None,
    source: str = "template",
) -> str:
    """Merge ``overrides`` into ``content`` (already rendered) and return the new text.

    ``source`` names the content in parse errors. Raises ConfigMergeError.
    """
    options = options or MergeOptions()
    config_type = check_config_type(config_type)
    plain = to_plain(overrides, "config_overrides")
    if config_type == "ini":
        ini_options = IniOptions(
            ignore_none_type=options.ignore_none_type,
            multi_keys=frozenset(check_multi_keys(options.multi_keys)),
        )
        return merge_ini(parse_ini(content, source), plain, ini_options).render()
    if config_type == "json":
        return dump_json(merge_data(load_json(content, source), plain, options.list_extend))
    return dump_yaml(merge_data(load_yaml(content, source), plain, options.list_extend))
