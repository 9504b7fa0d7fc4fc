# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""systemd unit files: the ``Key=value`` lines of a section, and the units of systemd_service.

Pure Python, no Ansible imports; the filters nimbus.cloud.systemd_directives,
nimbus.cloud.systemd_units and nimbus.cloud.systemd_unit_problems are thin wrappers.

Every unit and drop-in the collection writes renders its options through ``directives``, so
the rules live here once: a null value leaves the option out (how an override removes a
default), a list repeats the option once per item, a boolean reads ``true``/``false``.

``unit_problems`` and ``complete_units`` read the units nimbus.cloud.systemd_service handles
in one pass (``systemd_service_units``, or the one unit its ``systemd_service_*`` variables
describe): what is wrong with them, and each with every option filled in.
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


# The options of one unit of nimbus.cloud.systemd_service: the role's variables without their
# systemd_service_ prefix. A unit of systemd_service_units sets any of them; the others come
# from the role's variables (the caller's, else the role's defaults).
UNIT_KEYS = (
    "name",
    "exec_start",
    "description",
    "type",
    "user",
    "group",
    "working_directory",
    "environment",
    "exec_start_pre",
    "exec_reload",
    "restart_policy",
    "restart_sec",
    "after",
    "wants",
    "wanted_by",
    "read_write_paths",
    "state_directory",
    "runtime_directory",
    "logs_directory",
    "cache_directory",
    "hardening",
    "hardening_overrides",
    "unit_options",
    "service_options",
    "socket",
    "timer",
    "restart",
    "defer_restart",
    "enabled",
    "watch_paths",
)

# systemd's unit names (without the suffix this role adds): letters, digits and ":_.@-".
_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@-]+$")
_MAPPINGS = (
    "environment",
    "hardening",
    "hardening_overrides",
    "unit_options",
    "service_options",
    "socket",
    "timer",
)
_LISTS = ("exec_start_pre", "after", "wants", "read_write_paths", "watch_paths")
_PATH_LISTS = ("read_write_paths", "watch_paths")
_BOOLEANS = ("restart", "defer_restart", "enabled")
# Ansible's spellings of a boolean (what its ``bool`` filter reads).
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f", ""}


def _boolean(value: object) -> bool | None:
    """``value`` as a boolean, or None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _plain(value: object) -> object:
    """A copy of ``value`` made of plain dicts and lists (the caller's containers stay its own)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _complete(unit: Mapping[str, object], defaults: Mapping[str, object]) -> dict[str, object]:
    done = {key: _plain(defaults.get(key)) for key in UNIT_KEYS}
    done.update({key: _plain(value) for key, value in unit.items()})
    # A unit that names its user but not its group runs with the user's group, as a single
    # unit does (systemd_service_group defaults to systemd_service_user).
    if "user" in unit and "group" not in unit:
        done["group"] = unit["user"]
    if not done.get("description"):
        done["description"] = done.get("name")
    return done


def _name_problems(unit: dict[str, object]) -> list[tuple[str, str]]:
    name = unit.get("name")
    if not isinstance(name, str) or not _UNIT_NAME.match(name):
        return [("name", f"must be a unit name (letters, digits, ':_.@-'), got {name!r}")]
    if re.search(r"\.(service|socket|timer)$", name):
        return [("name", f"is given without its suffix, got {name!r}")]
    return []


def _shape_problems(unit: dict[str, object]) -> list[tuple[str, str]]:
    """Options that must be mappings (of unit-file options) or lists and are not."""
    problems = []
    for key in _MAPPINGS:
        value = unit.get(key) or {}
        if not isinstance(value, Mapping):
            problems.append((key, f"must be a mapping, got {value!r}"))
        elif key != "environment":
            try:
                directives(value)
            except DirectiveError as err:
                problems.append((key, str(err)))
    for key in _LISTS:
        value = unit.get(key) or []
        if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
            problems.append((key, f"must be a list, got {value!r}"))
    return problems


def _problems_of(unit: dict[str, object]) -> list[tuple[str, str]]:
    """(key, problem) of each thing wrong with a completed unit."""
    problems = _name_problems(unit)
    if not str(unit.get("exec_start") or "").strip():
        problems.append(("exec_start", "must be set (the ExecStart= command line)"))
    problems.extend(_shape_problems(unit))
    for key in _PATH_LISTS:
        paths = unit.get(key) or []
        if isinstance(paths, (list, tuple)):
            relative = [path for path in paths if not str(path).startswith("/")]
            if relative:
                problems.append((key, f"must be absolute paths, got {relative!r}"))
    if unit.get("socket") and unit.get("timer"):
        problems.append(("socket", "and timer: a unit has a socket or a timer, not both"))
    problems.extend(
        (key, f"must be a boolean, got {unit.get(key)!r}")
        for key in _BOOLEANS
        if _boolean(unit.get(key)) is None
    )
    return problems


def unit_problems(units: object, defaults: Mapping[str, object]) -> list[str]:
    """What is wrong with ``units`` (each completed with ``defaults``), one line per problem.

    ``units`` is the role's systemd_service_units: empty, the role handles the one unit its
    variables describe (``defaults``), and a line names the variable (``systemd_service_name
    ...``); else a line names the unit and the key (``systemd_service_units[1]
    (nova-compute).read_write_paths ...``). An empty list means the units can be written.
    """
    if units is None or (isinstance(units, (list, tuple)) and not units):
        single = _complete({}, defaults)
        return [f"systemd_service_{key} {problem}" for key, problem in _problems_of(single)]
    if not isinstance(units, (list, tuple)):
        return [f"systemd_service_units must be a list of mappings, got {units!r}"]
    problems = []
    seen: set[object] = set()
    for index, unit in enumerate(units):
        if not isinstance(unit, Mapping):
            problems.append(f"systemd_service_units[{index}] must be a mapping, got {unit!r}")
            continue
        label = f"systemd_service_units[{index}] ({unit.get('name')})"
        unknown = sorted(str(key) for key in unit if key not in UNIT_KEYS)
        if unknown:
            problems.append(
                f"{label}: unknown key(s) {', '.join(unknown)}; a unit takes {', '.join(UNIT_KEYS)}"
            )
        done = _complete(unit, defaults)
        problems.extend(f"{label}.{key} {problem}" for key, problem in _problems_of(done))
        if done.get("name") in seen:
            problems.append(f"{label}: the name is given twice")
        seen.add(done.get("name"))
    return problems


def complete_units(
    units: list[Mapping[str, object]], defaults: Mapping[str, object]
) -> list[dict[str, object]]:
    """Each unit with every key of ``UNIT_KEYS`` (``defaults`` for those it does not set).

    No units: the one unit ``defaults`` describe.

    ``restart``, ``defer_restart`` and ``enabled`` become booleans, a null mapping or list
    empty. Adds what the role derives from a unit: ``kinds`` (``["socket"]``, ``["timer"]``
    or ``[]``: the unit files beside the service), ``extra_units`` (their file names),
    ``plain`` (neither: the service restarts through its owed-restart marker) and ``watch``
    (what ``nimbus.cloud.restarts_owed`` takes: the name and the watched paths). Call
    ``unit_problems`` first.
    """
    done = []
    for unit in units or [{}]:
        one = _complete(unit, defaults)
        for key in _BOOLEANS:
            one[key] = _boolean(one[key])
        for key in _MAPPINGS:
            one[key] = one[key] or {}
        for key in _LISTS:
            one[key] = one[key] or []
        kinds = [kind for kind in ("socket", "timer") if one.get(kind)]
        one["kinds"] = kinds
        one["extra_units"] = [f"{one['name']}.{kind}" for kind in kinds]
        one["plain"] = not kinds
        one["watch"] = {"name": one["name"], "paths": list(one["watch_paths"])}
        done.append(one)
    return done
