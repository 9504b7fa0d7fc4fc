# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""sysctl.d files: what they set, and how the running kernel differs from it.

Pure Python, no Ansible imports; the filters nimbus.cloud.sysctl_settings and
nimbus.cloud.sysctl_mismatches are thin wrappers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_SPACES = re.compile(r"\s+")


def settings(text: str) -> dict[str, str]:
    """``key = value`` lines of a sysctl.d file, in file order (a later line wins).

    Blank lines, comments (``#``) and lines without ``=`` are skipped; keys and values are
    stripped.
    """
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        found[key.strip()] = value.strip()
    return found


def mismatches(wanted: Mapping[str, str], current: Sequence[str]) -> list[str]:
    """``key=current (want value)`` for every key of ``wanted`` the kernel does not have.

    ``current`` is the output of ``sysctl -n KEY...`` for the keys of ``wanted`` in order, one
    line each; runs of white space (tabs in multi-value keys) count as one space. A missing
    line reads as "?".
    """
    now = {key: _SPACES.sub(" ", line).strip() for key, line in zip(wanted, current, strict=False)}
    return [
        f"{key}={now.get(key, '?')} (want {value})"
        for key, value in wanted.items()
        if now.get(key, "") != str(value)
    ]
