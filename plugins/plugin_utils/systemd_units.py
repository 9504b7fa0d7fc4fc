# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""systemd unit files: the ``Key=value`` lines of one section, written from a mapping.

Pure Python, no Ansible imports; the filter nimbus.cloud.systemd_directives is a thin wrapper.
Every unit and drop-in the collection writes renders its options through ``directives``, so
the rules live here once: a null value leaves the option out (how an override removes a
default), a list repeats the option once per item, a boolean reads ``true``/``false``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# systemd's own rule for a key: letters, digits, '-' and '_' (e.g. ExecStartPre, X-Foo).
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class DirectiveError(ValueError):
    """A key or value that cannot be written as a unit-file line."""


def _text(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise DirectiveError(
            f"{key}: a value must be a string, number, boolean or list of them, not "
            f"{type(value).__name__}"
        )
    if "\n" in text or "\r" in text:
        # A line break would start a new directive of the caller's choosing.
        raise DirectiveError(f"{key}: a value must be one line, got {text!r}")
    return text


def directives(options: Mapping[str, object], overrides: Mapping[str, object] | None = None) -> str:
    """``Key=value`` lines, each ending in a newline, of ``options`` changed by ``overrides``.

    Keys keep their order (an override of a key keeps its place; a new key comes last). A
    null value leaves the key out; a list (or tuple) writes the key once per item, an empty
    list not at all.
    """
    if not isinstance(options, Mapping):
        raise DirectiveError(f"options must be a mapping, not {type(options).__name__}")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise DirectiveError(f"overrides must be a mapping, not {type(overrides).__name__}")
    merged = {**options, **(overrides or {})}
    lines = []
    for key, value in merged.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise DirectiveError(f"{key!r} is not a unit-file key (letters, digits, '-', '_')")
        if value is None:
            continue
        for one in value if isinstance(value, (list, tuple)) else [value]:
            lines.append(f"{key}={_text(key, one)}\n")
    return "".join(lines)
