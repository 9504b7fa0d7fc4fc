"""Turn Ansible-flavoured data into plain Python data and INI value strings."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ConfigMergeError, option_path

Plain = None | bool | int | float | str | datetime.date | list[Any] | dict[str, Any]


_TYPE_NAMES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),
    ((int, float), "number"),
    (str, "string"),
    (Mapping, "mapping"),
    (Sequence, "list"),
)

_SCALARS = (str, int, float, datetime.date)


def type_name(value: object) -> str:
    """Name the kind of ``value`` the way a YAML author would."""
    if value is None:
        return "null"
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def to_plain(value: object, path: str = "value") -> Plain:
    """Copy ``value`` into builtin types, dropping subclasses such as tagged strings.

    Raises ConfigMergeError for types that no configuration format can hold.
    """
    if value is None or isinstance(value, (bool, datetime.date)):
        return value
    if isinstance(value, _SCALARS):
        # int/float/str subclasses (Ansible's tagged values) become the builtin type
        return next(kind for kind in (str, int, float) if isinstance(value, kind))(value)
    if isinstance(value, Mapping):
        return {str(key): to_plain(item, f"{path}[{str(key)!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(item, f"{path}[{index}]") for index, item in enumerate(value)]
    msg = f"{path}: values of type {type(value).__name__} cannot be written to a config file"
    raise ConfigMergeError(msg)


def ini_scalar(value: object, *path: object) -> str:
    """Render one INI value: booleans as true/false, numbers and strings as text.

    Multi-line strings are allowed (they become continuation lines) but not blank
    lines inside them, because a blank line ends a value in oslo.config files.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str, datetime.date)):
        text = str(value).strip("\n")
        if any(not line.strip() for line in text.split("\n")) and "\n" in text:
            msg = (
                f"{option_path(*path)}: a multi-line INI value cannot contain blank lines "
                "(a blank line ends the value); remove them"
            )
            raise ConfigMergeError(msg)
        return text
    msg = (
        f"{option_path(*path)}: expected a string, number or boolean, got {type_name(value)}; "
        "INI values cannot nest"
    )
    raise ConfigMergeError(msg)
