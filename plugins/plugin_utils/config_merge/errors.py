"""Errors raised by the config_merge package."""

from __future__ import annotations


class ConfigMergeError(ValueError):
    """Bad input for a merge: the message names the offending option and the fix.

    Messages never include configuration values, because rendered files and
    overrides often carry passwords.
    """


def option_path(*parts: object) -> str:
    """Return a readable path such as ``config_overrides['database']['connection']``."""
    head, *rest = parts
    return str(head) + "".join(f"[{part!r}]" for part in rest)
