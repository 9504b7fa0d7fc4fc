# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Check role variables against their declarations, before any host changes.

Each role declares its variables in ``meta/argument_specs.yml``. Ansible checks the types
of those; this module checks the same types and ``choices`` (so the messages are one line
each, never a dump of the spec), and the value constraints a spec cannot express, declared
per variable in the sibling file ``meta/variable_checks.yml`` (ansible-lint's schema allows
no extra key in an argument spec)::

    memcached_server_port: listen_port                    # a name alone ...
    galera_server_max_connections: {min: 1, max: 100000}  # ... or a mapping of constraints

Constraints (all of a mapping apply; ``fix`` adds the operator's fix to the message):

- ``min`` / ``max``: bounds of an int or float.
- ``port``: 1-65535. ``listen_port``: the same, and no other listen port of a role on the
  same host may have the same value.
- ``size``: a MariaDB-style size (``64M``, ``1G``, a number of bytes); with ``{min, max}``.
- ``address``: an IP address; ``address: <network>`` (``management``, ``tunnel``,
  ``storage``): an address of the host on that network (never a wildcard or loopback).
- ``cidr``: ``address/prefix``. ``url``: http(s) URL with a host.
- ``duration``: a time like ``5s``, ``100ms``, ``2m``, ``1h``, ``1d`` (or a number of ms).
- ``mode``: a file mode in octal (``"0640"``).
- ``calendar``: a systemd ``OnCalendar`` expression (``weekly``, ``Mon *-*-* 03:00``); with
  ``{allow_empty: true}`` the empty string is allowed too.
- ``overrides: ini``: section -> option -> scalar, list of scalars or null.
  ``overrides: flat``: key -> scalar or null.
  ``overrides: systemd``: unit-file options, key -> one-line scalar, list of them, or null
  (the rules of ``systemd_units.directives``, which writes them).
- ``pattern``: a regular expression the whole (string) value must match.
- ``regex``: the value is itself a regular expression Python compiles (``re``), e.g. a test
  filter (``each: regex`` for a list of them).
- ``more_than``: the name of another variable of the role that the value must exceed.
- ``each: <constraint>``: the constraint for every value of a mapping (or item of a list).
- ``secret``: ``true``, or the name of a boolean variable of the role that makes it needed:
  the value must be a non-empty string. Missing secrets of a host are reported in one line.

No Ansible imports: the action plugin ``nimbus.cloud.validate_variables`` gathers the values
(templated) and where they came from, and turns the problems into one failure message.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.nimbus.cloud.plugins.plugin_utils.systemd_units import (
    DirectiveError,
    directives,
)

CHECK_KEY = "nimbus_check"  # where merge_checks puts a variable's constraint
BOOL_TRUE = frozenset({"yes", "on", "1", "true", "y", "t"})
BOOL_FALSE = frozenset({"no", "off", "0", "false", "n", "f"})
# Network names of ``address: <network>`` -> key in the inventory's container_networks.
NETWORKS = {
    "management": "container_address",
    "tunnel": "tunnel_address",
    "storage": "storage_address",
}
SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
DURATION_UNITS = {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
CALENDAR_SHORTHANDS = frozenset(
    {
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "annually",
        "quarterly",
        "semiannually",
    }
)
WEEKDAY_NAMES = {
    "mon": "monday",
    "tue": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}
PORT_MAX = 65535
MAX_VALUE_CHARS = 60
NOT_SET = object()  # a value that is absent, as opposed to null


class SpecError(Exception):
    """A constraint declaration that this module cannot use (a bug in a role)."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with one variable, printed as one line."""

    variable: str
    value: str
    allowed: str
    fix: str = ""
    origin: str = ""
    role: str = ""

    def line(self) -> str:
        where = f" (from {self.origin})" if self.origin else ""
        text = f"{self.variable}{where} is {self.value}: {self.allowed}"
        return f"{text}; {self.fix}" if self.fix else text


@dataclasses.dataclass(frozen=True)
class HostContext:
    """What a host's checks need to know about the host: name and network addresses."""

    name: str = ""
    networks: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)


def show(value: Any, secret: bool = False) -> str:
    """A short, one-line rendering of a value for a message; secrets are never shown."""
    if value is NOT_SET:
        return "not set"
    if secret:
        return "(secret, not shown)"
    if value is None:
        return "null"
    if isinstance(value, str):
        text = repr(value) if value else "empty"
    else:
        text = repr(value) if not isinstance(value, bool) else str(value).lower()
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


# --- types (a subset of Ansible's type checks, with its conversions) ----------------------


def _as_str(value: Any) -> tuple[bool, Any]:
    return not isinstance(value, (Mapping, list)), str(value)


def _as_int(value: Any) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return False, value
    if isinstance(value, int):
        return True, value
    if isinstance(value, float) and value.is_integer():
        return True, int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        return True, int(value)
    return False, value


def _as_float(value: Any) -> tuple[bool, Any]:
    if isinstance(value, (bool, Mapping, list)):
        return False, value
    try:
        return True, float(value)
    except (TypeError, ValueError):
        return False, value


def _as_bool(value: Any) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return True, value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in BOOL_TRUE or text in BOOL_FALSE:
        return True, text in BOOL_TRUE
    return False, value


def _as_list(value: Any) -> tuple[bool, Any]:
    if isinstance(value, list):
        return True, value
    if isinstance(value, str):
        return True, [part.strip() for part in value.split(",")] if value else []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True, [str(value)]
    return False, value


def _as_dict(value: Any) -> tuple[bool, Any]:
    return isinstance(value, Mapping), value


COERCE = {
    "str": _as_str,
    "path": _as_str,
    "int": _as_int,
    "float": _as_float,
    "bool": _as_bool,
    "list": _as_list,
    "dict": _as_dict,
}


def coerce(value: Any, type_name: str) -> tuple[bool, Any]:
    """Return (ok, converted value) for an argument spec ``type``, as Ansible converts."""
    if value is None or type_name in ("raw", ""):
        return True, value
    if type_name not in COERCE:
        raise SpecError(f"unknown argument spec type {type_name!r}")
    return COERCE[type_name](value)


TYPE_WORDS = {
    "str": "a string",
    "path": "a path",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list",
    "dict": "a mapping (key: value)",
}


# --- constraints -------------------------------------------------------------------------


def parse_size(value: Any) -> int | None:
    """Bytes of a MariaDB-style size (``64M``, ``1G``, ``1048576``), None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)B?\s*", str(value), re.IGNORECASE)
    if not match:
        return None
    return int(match.group(1)) * SIZE_UNITS[match.group(2).upper()]


def parse_duration(value: Any) -> float | None:
    """Milliseconds of a duration (``5s``, ``100ms``, ``2m``; a bare number is ms)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h|d)?\s*", str(value))
    if not match:
        return None
    return float(match.group(1)) * DURATION_UNITS[match.group(2) or "ms"]


def _calendar_part_ok(part: str, low: int, high: int) -> bool:
    # "*", "5", "1,15", "1..5", "*/2", "0/15", with numbers in range.
    for item in part.split(","):
        base, _slash, step = item.partition("/")
        if not base or (step and not step.isdigit()):
            return False
        for bound in base.split(".."):
            if bound == "*":
                continue
            if not bound.isdigit() or not low <= int(bound) <= high:
                return False
    return True


def _weekday_ok(token: str) -> bool:
    names = {day for pair in WEEKDAY_NAMES.items() for day in pair}
    return all(name in names for item in token.lower().split(",") for name in item.split(".."))


def _date_ok(date: str) -> bool:
    parts = date.split("-")
    if len(parts) == len(("month", "day")):
        parts = ["*", *parts]
    if len(parts) != len(("year", "month", "day")):
        return False
    year, month, day = parts
    return (
        _calendar_part_ok(year, 1970, 2199)
        and _calendar_part_ok(month, 1, 12)
        and _calendar_part_ok(day.replace("~", ""), 1, 31)
    )


def _time_ok(time: str) -> bool:
    parts = time.split(":")
    if len(parts) not in (2, 3):
        return False
    limits = ((0, 23), (0, 59), (0, 59))
    return all(
        _calendar_part_ok(part.split(".")[0], low, high)
        for part, (low, high) in zip(parts, limits, strict=False)
    )


def calendar_ok(text: str) -> bool:
    """Whether ``text`` is a systemd calendar expression (shorthand or weekday date time)."""
    tokens = text.split()
    if len(tokens) == 1 and tokens[0].lower() in CALENDAR_SHORTHANDS:
        return True
    if tokens and tokens[0][:3].lower() in WEEKDAY_NAMES:
        if not _weekday_ok(tokens.pop(0)):
            return False
        if not tokens:
            return True  # "Mon": every Monday at midnight
    if tokens and re.fullmatch(r"UTC|[A-Z][A-Za-z_]+/[A-Za-z_/+-]+", tokens[-1]):
        tokens.pop()  # a time zone
    dates = [t for t in tokens if "-" in t and ":" not in t]
    times = [t for t in tokens if ":" in t]
    if not tokens or len(dates) > 1 or len(times) > 1 or len(dates) + len(times) != len(tokens):
        return False
    return all(_date_ok(d) for d in dates) and all(_time_ok(t) for t in times)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _unit_options_problem(value: Mapping[str, Any]) -> str:
    try:
        directives(value)
    except DirectiveError as err:
        return f"is not a set of unit-file options: {err}"
    return ""


def overrides_problem(value: Any, shape: str) -> str:
    """Why ``value`` is not an override mapping of ``shape``, or ''.

    Shapes: ``ini``, ``flat``, ``systemd`` (unit-file options).
    """
    if not isinstance(value, Mapping):
        return "must be a mapping"
    if shape == "systemd":
        return _unit_options_problem(value)
    for key, inner in value.items():
        if shape == "flat":
            if not _scalar(inner):
                return f"key {key!r} has {show(inner)}; each value must be a scalar or null"
            continue
        if not isinstance(inner, Mapping):
            return (
                f"section {key!r} is {show(inner)}; each section must be a mapping option -> value"
            )
        for option, item in inner.items():
            if _scalar(item):
                continue
            if isinstance(item, list) and all(_scalar(x) and x is not None for x in item):
                continue
            allowed = "values are scalars, lists of scalars or null"
            return f"option {key}.{option} is {show(item)}; {allowed}"
    return ""


def merge_checks(
    role: str, options: Mapping[str, Mapping[str, Any]], checks: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """The argument spec options with each variable's constraint under ``CHECK_KEY``.

    A constraint for a variable the spec does not declare is a bug of the role.
    """
    merged = {name: dict(spec) for name, spec in options.items()}
    for name, check in (checks or {}).items():
        if name not in merged:
            near = closest(str(name), merged)
            hint = f"; did you mean {near}?" if near else ""
            raise SpecError(
                f"{role}: meta/variable_checks.yml constrains {name}, which"
                f" meta/argument_specs.yml does not declare{hint}"
            )
        _normalize(check, str(name))
        merged[name][CHECK_KEY] = check
    return merged


def _normalize(check: Any, variable: str) -> dict[str, Any]:
    if check is None:
        return {}
    if isinstance(check, str):
        return {check: True}
    if isinstance(check, Mapping):
        return dict(check)
    raise SpecError(f"{variable}: a constraint must be a name or a mapping, not {show(check)}")


def _bounds(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    low, high = check.get("min"), check.get("max")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    if (low is not None and value < low) or (high is not None and value > high):
        return _range_words(low, high)
    return ""


def _port(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    if not arg or (
        isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= PORT_MAX
    ):
        return ""
    return f"a TCP/UDP port is 1-{PORT_MAX}"


def _size(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    limits = arg if isinstance(arg, Mapping) else {}
    size = parse_size(value)
    low = parse_size(limits.get("min", 1)) or 0
    high = parse_size(limits["max"]) if "max" in limits else None
    if size is None:
        return "a size is a number of bytes or a number with K, M, G or T (64M, 1G)"
    if size < low or (high is not None and size > high):
        return f"between {limits.get('min', 1)} and {limits.get('max', 'any')}"
    return ""


def _cidr(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    try:
        ipaddress.ip_interface(str(value))
    except ValueError:
        pass
    else:
        if "/" in str(value):
            return ""
    return "an address with its prefix length, e.g. 192.0.2.10/24"


def _url(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    schemes = arg if isinstance(arg, list) else ["http", "https"]
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts and parts.scheme in schemes and parts.hostname:
        return ""
    return f"a URL {' or '.join(s + '://host/...' for s in schemes)}"


def _duration(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    if parse_duration(value) is not None:
        return ""
    return "a duration: a number and a unit (100ms, 5s, 2m, 1h, 1d)"


def _mode(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    if isinstance(value, str) and re.fullmatch(r"0?[0-7]{3}|[0-7]{4}", value):
        return ""
    return 'a file mode in octal, quoted ("0640")'


def _calendar(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    allow_empty = isinstance(arg, Mapping) and bool(arg.get("allow_empty"))
    text = "" if value is None else str(value)
    if (allow_empty and not text.strip()) or calendar_ok(text):
        return ""
    empty = ", or empty to disable" if allow_empty else ""
    return f"a systemd OnCalendar expression (daily, weekly, Mon *-*-* 03:00){empty}"


def _overrides(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    return overrides_problem(value, arg)


def _pattern(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    return "" if re.fullmatch(arg, str(value)) else f"must match {arg}"


def _regex(value: Any, arg: Any, check: Mapping[str, Any]) -> str:
    if not arg:
        return ""
    try:
        re.compile(str(value))
    except re.error as err:
        return f"a regular expression Python compiles ({err})"
    return ""


# Constraint -> function(value, argument, whole check) returning what is allowed, or "".
# address and more_than need the host and the other values: see check_constraints.
CONSTRAINTS = {
    "min": _bounds,
    "port": _port,
    "listen_port": _port,
    "size": _size,
    "cidr": _cidr,
    "url": _url,
    "duration": _duration,
    "mode": _mode,
    "calendar": _calendar,
    "overrides": _overrides,
    "pattern": _pattern,
    "regex": _regex,
}
OTHER_KEYS = frozenset({"max", "address", "more_than", "secret", "fix", "each"})


def check_constraints(
    variable: str,
    value: Any,
    check: Mapping[str, Any],
    values: Mapping[str, Any],
    host: HostContext,
) -> list[tuple[str, str]]:
    """(allowed, fix) for every constraint ``value`` breaks; ``value`` is already typed."""
    unknown = set(check) - set(CONSTRAINTS) - OTHER_KEYS
    if unknown:
        names = ", ".join(sorted(unknown))
        raise SpecError(f"{variable}: unknown constraint(s) {names}")
    if "max" in check and "min" not in check:
        check = {**check, "min": None}
    fix = str(check.get("fix", ""))
    found = [
        CONSTRAINTS[key](value, arg, check) for key, arg in check.items() if key in CONSTRAINTS
    ]
    if "address" in check:
        found.append(_address_problem(value, check["address"], host))
    if "each" in check:
        found.extend(_each_problems(variable, value, check["each"], values, host))
    if "more_than" in check:
        other = check["more_than"]
        ok, limit = coerce(values.get(other), "int")
        if isinstance(value, int) and ok and limit is not None and value <= limit:
            found.append(f"must be more than {other} ({limit})")
    return [(allowed, fix) for allowed in found if allowed]


def _each_problems(
    variable: str, value: Any, each: Any, values: Mapping[str, Any], host: HostContext
) -> list[str]:
    """``each: <constraint>``: the constraint for every value of a mapping or item of a list."""
    items = value.items() if isinstance(value, Mapping) else enumerate(value or [])
    inner = _normalize(each, variable)
    found = []
    for key, item in items:
        for allowed, _fix in check_constraints(variable, item, inner, values, host):
            found.append(f"{key!r} is {show(item)}: {allowed}")
    return found


def _range_words(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"allowed is {low} to {high}"
    if low is not None:
        return f"allowed is {low} or more"
    return f"allowed is {high} or less"


def _address_problem(value: Any, network: Any, host: HostContext) -> str:
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        where = f" of the {network} network" if isinstance(network, str) else ""
        return f"must be an IP address{where}"
    if network is True:
        return ""
    if address.is_unspecified or address.is_loopback:
        return f"must be this host's {network} address, not a wildcard or loopback address"
    net = host.networks.get(NETWORKS.get(str(network), str(network)))
    if not net or not net.get("address"):
        return ""  # the inventory does not say: nothing to compare with
    interface = ipaddress.ip_interface(f"{net['address']}/{net.get('prefix', 32)}")
    if address not in interface.network:
        net_text = f"{interface.network} (this host: {interface.ip})"
        return f"must be an address of the {network} network {net_text}"
    return ""


# --- one role, one host ------------------------------------------------------------------


def _element_problems(
    variable: str, items: list[Any], spec: Mapping[str, Any]
) -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = []
    elements = spec.get("elements")
    for index, item in enumerate(items):
        label = f"{variable}[{index}]"
        ok, typed = coerce(item, elements) if elements else (True, item)
        if not ok:
            out.append((label, item, f"must be {TYPE_WORDS.get(elements, elements)}"))
            continue
        if spec.get("choices") is not None and typed not in spec["choices"]:
            out.append((label, item, f"allowed are {_choices(spec['choices'])}"))
        if elements == "dict" and spec.get("options"):
            out.extend(_suboption_problems(label, typed, spec["options"]))
    return out


def _suboption_problems(
    label: str, item: Mapping[str, Any], options: Mapping[str, Any]
) -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = []
    for key in item:
        if key not in options:
            near = closest(str(key), options)
            hint = f"; did you mean {near}?" if near else ""
            out.append(
                (
                    f"{label}.{key}",
                    item[key],
                    f"not a known key ({', '.join(sorted(options))}){hint}",
                )
            )
    for key, sub in options.items():
        if key not in item:
            if sub.get("required"):
                out.append((f"{label}.{key}", NOT_SET, "the key is required"))
            continue
        ok, _typed = coerce(item[key], sub.get("type", "str"))
        if not ok:
            out.append(
                (f"{label}.{key}", item[key], f"must be {TYPE_WORDS.get(sub.get('type', 'str'))}")
            )
    return out


def _choices(choices: Iterable[Any]) -> str:
    return ", ".join(str(c) for c in choices)


def _variable_problems(
    name: str,
    spec: Mapping[str, Any],
    check: Mapping[str, Any],
    values: Mapping[str, Any],
    host: HostContext,
) -> list[tuple[str, Any, str, str]]:
    """(variable label, value shown, allowed, fix) for each problem of one variable."""
    value = values.get(name, NOT_SET)
    if value is NOT_SET:
        return [(name, NOT_SET, "the variable is required", "")] if spec.get("required") else []
    if value is None:
        return []
    type_name = spec.get("type", "str")
    ok, typed = coerce(value, type_name)
    if not ok:
        return [(name, value, f"must be {TYPE_WORDS.get(type_name, type_name)}", "")]
    choices = spec.get("choices")
    if choices is not None and type_name != "list" and typed not in choices:
        return [(name, value, f"allowed are {_choices(choices)}", "")]
    found: list[tuple[str, Any, str, str]] = []
    if type_name == "list":
        found.extend((*p, "") for p in _element_problems(name, typed, spec))
    elif type_name == "dict" and spec.get("options"):
        found.extend((*p, "") for p in _suboption_problems(name, typed, spec["options"]))
    for allowed, fix in check_constraints(name, typed, check, values, host):
        found.append((name, value, allowed, fix))
    return found


def default_fix(name: str, origin: str) -> str:
    """Where the operator changes a variable: the file it came from, else user_variables.yml."""
    if origin == "-e":
        return f"change the -e value of {name}"
    if origin.startswith("group_vars/"):
        return f"set {name} in user_variables.yml (it wins over {origin})"
    return f"set {name} in {origin or 'user_variables.yml'}"


def _secret_missing(name: str, check: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    needed = check.get("secret")
    if needed is not True and not _truthy(values.get(str(needed))):
        return False
    value = values.get(name)
    return not isinstance(value, str) or not value.strip()


def check_role(
    role: str,
    options: Mapping[str, Mapping[str, Any]],
    values: Mapping[str, Any],
    host: HostContext | None = None,
    origins: Mapping[str, str] | None = None,
) -> tuple[list[Problem], list[str]]:
    """Problems of one role's variables, and the names of its missing secrets.

    ``values`` holds the defined variables (templated); an undefined one is absent.
    """
    host = host or HostContext()
    origins = origins or {}
    problems: list[Problem] = []
    missing: list[str] = []
    for name, spec in options.items():
        check = _normalize(spec.get(CHECK_KEY), name)
        if check.get("secret"):
            if _secret_missing(name, check, values):
                missing.append(name)
            continue
        origin = origins.get(name, "")
        for label, shown, allowed, fix in _variable_problems(name, spec, check, values, host):
            problems.append(
                Problem(
                    variable=label,
                    value=show(shown, bool(spec.get("no_log"))),
                    allowed=allowed,
                    fix=fix or default_fix(name, origin),
                    origin=origin,
                    role=role,
                )
            )
    return problems, missing


def _truthy(value: Any) -> bool:
    ok, typed = coerce(value, "bool")
    return bool(typed) if ok else bool(value)


def listen_ports(
    options: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any]
) -> dict[str, int]:
    """Variable -> port of the role's ``listen_port`` variables that have a valid value."""
    ports = {}
    for name, spec in options.items():
        if _normalize(spec.get(CHECK_KEY), name).get("listen_port"):
            ok, port = coerce(values.get(name), "int")
            if ok and isinstance(port, int) and 1 <= port <= PORT_MAX:
                ports[name] = port
    return ports


def port_clashes(
    ports: Mapping[str, int], origins: Mapping[str, str] | None = None
) -> list[Problem]:
    """Two listen ports of one host with the same number."""
    origins = origins or {}
    by_port: dict[int, list[str]] = {}
    for name, port in sorted(ports.items()):
        by_port.setdefault(port, []).append(name)
    problems = []
    for port, names in sorted(by_port.items()):
        for name in names[1:]:
            problems.append(
                Problem(
                    variable=name,
                    value=str(port),
                    allowed=f"{names[0]} listens on the same port on this host",
                    fix=f"give {name} or {names[0]} another port",
                    origin=origins.get(name, ""),
                )
            )
    return problems


def check_host(
    roles: Mapping[str, Mapping[str, Mapping[str, Any]]],
    values: Mapping[str, Any],
    host: HostContext | None = None,
    origins: Mapping[str, str] | None = None,
) -> tuple[list[Problem], list[str]]:
    """Every problem of every role a host runs (``roles``: role -> argument spec options)."""
    problems: list[Problem] = []
    missing: list[str] = []
    ports: dict[str, int] = {}
    for role, options in roles.items():
        found, absent = check_role(role, options, values, host, origins)
        problems.extend(found)
        missing.extend(n for n in absent if n not in missing)
        ports.update(listen_ports(options, values))
    problems.extend(port_clashes(ports, origins))
    return problems, missing


def report(host: str, problems: list[Problem], missing: list[str], config_dir: str) -> str:
    """The failure message of a host: one line per problem, secrets in one line."""
    lines = []
    if missing:
        lines.append(
            f"missing secrets: {', '.join(missing)}; set them in {config_dir}/user_secrets.yml "
            f"(pw-token-gen --file {config_dir}/user_secrets.yml fills every empty one)"
        )
    lines.extend(p.line() for p in problems)
    count = len(lines)
    head = f"{host}: {count} variable problem{'s' if count != 1 else ''} (nothing was changed):"
    return "\n".join([head, *(f"  - {line}" for line in lines)])


# --- names -------------------------------------------------------------------------------


def closest(name: str, known: Iterable[str]) -> str:
    """The known name most like ``name``, or '' when none is close."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return matches[0] if matches else ""


def unknown_names(
    given: Mapping[str, str],
    known: Iterable[str],
    ignore: Iterable[str] = (),
) -> list[str]:
    """One line per name of the operator's files (name -> file) that nothing knows.

    ``ignore`` holds names or shell-style prefixes ending in ``*`` (``my_*``).
    """
    known_set = set(known)
    patterns = list(ignore)
    lines = []
    for name, origin in sorted(given.items()):
        if name in known_set or _ignored(name, patterns):
            continue
        near = closest(name, known_set)
        hint = f"; did you mean {near}?" if near else ""
        lines.append(
            f"{name} (from {origin}) is not a variable of any role, playbook or group_vars{hint}"
        )
    return lines


def _ignored(name: str, patterns: list[str]) -> bool:
    return any(name == p or (p.endswith("*") and name.startswith(p[:-1])) for p in patterns)
