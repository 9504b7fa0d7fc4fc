"""Django settings as Python source: the mapping -> ``NAME = literal`` lines of a settings file.

Horizon's ``local_settings.py`` is Python, not INI or YAML, so the operator's overrides
(``horizon_local_settings_overrides``: setting name -> value) cannot go through
config_template. The role merges them into its own settings and renders every setting with
:func:`render`. Values are what YAML can say (strings, numbers, booleans, null, lists,
mappings); each becomes the Python literal of the same value, so nothing an operator writes is
ever executed. Pure Python, no Ansible imports (tests in tests/unit/plugins/plugin_utils/).
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class SettingsError(ValueError):
    """A setting name or value cannot be written as Python; the message names it."""


def literal(value: Any, where: str = "value") -> str:
    """The Python literal of a YAML value (str, int, float, bool, None, list, mapping)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):  # NaN has no literal
            raise SettingsError(f"{where}: NaN has no Python literal")
        return repr(value)
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)):
                raise SettingsError(f"{where}: key {key!r} must be a string or a number")
            items.append(f"{literal(key, where)}: {literal(item, f'{where}.{key}')}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(item, f"{where}[{i}]") for i, item in enumerate(value)) + "]"
    raise SettingsError(
        f"{where}: {type(value).__name__} is not a YAML value (string, number, boolean, null, "
        "list or mapping)"
    )


def problems(settings: Any) -> list[str]:
    """Every setting name that is not a Django setting name (upper case), in one list."""
    if not isinstance(settings, Mapping):
        return [f"must be a mapping of setting name to value, not {type(settings).__name__}"]
    found = []
    for name in settings:
        if not isinstance(name, str) or not NAME_RE.match(name) or keyword.iskeyword(name):
            found.append(
                f"{name!r} is not a Django setting name (upper case letters, digits and _, "
                "starting with a letter, e.g. SESSION_TIMEOUT)"
            )
    return found


def render(settings: Mapping[str, Any]) -> str:
    """``NAME = literal`` lines, one per setting, in the mapping's order."""
    found = problems(settings)
    if found:
        raise SettingsError("; ".join(found))
    return "".join(f"{name} = {literal(value, name)}\n" for name, value in settings.items())
