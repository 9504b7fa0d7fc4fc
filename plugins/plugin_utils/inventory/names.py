"""Group and host names: normalisation, validity and "did you mean" suggestions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_NATURAL_RE = re.compile(r"(\d+)")

# Suggestions: similar enough, and not much worse than the best one.
_CUTOFF = 0.6
_CLOSE = 0.05

# Linux limits a host name to 64 bytes including the terminating NUL.
HOSTNAME_MAX = 63


def normalize_group(name: str) -> str:
    """Return the canonical form of a group name, as OpenStack-Ansible does.

    ``shared-infra_hosts`` and ``shared_infra_hosts`` are one group. Dashes are not valid in
    Ansible group names, so the underscore form is the canonical one.
    """
    return name.replace("-", "_")


def is_valid_group(name: str) -> bool:
    return bool(_GROUP_RE.match(name))


def hostname_problem(name: object) -> str | None:
    """Return why ``name`` is not a valid host name, or None when it is valid."""
    if not isinstance(name, str) or not name:
        return f"host name {name!r} is not a text value"
    if len(name) > HOSTNAME_MAX:
        return f"host name {name!r} is {len(name)} characters long; the maximum is {HOSTNAME_MAX}"
    for label in name.split("."):
        if not _LABEL_RE.match(label):
            if "_" in label:
                return f"host name {name!r} contains '_', which is not allowed in host names"
            return (
                f"host name {name!r} is not a valid host name (letters, digits and '-' only, "
                "not starting or ending with '-')"
            )
    return None


def hostname_fix(name: object) -> str:
    if isinstance(name, str):
        candidate = re.sub(r"[^A-Za-z0-9.-]", "-", name).strip("-.")[:HOSTNAME_MAX].strip("-.")
        if candidate and candidate != name and hostname_problem(candidate) is None:
            return f"rename the host, for example to {candidate!r}"
    return "rename the host to a short name of letters, digits and '-' (at most 63 characters)"


def suggestions(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Close matches for ``name`` among ``candidates`` (compared in canonical form)."""
    wanted = normalize_group(name)
    scored = []
    for candidate in sorted(set(candidates)):
        matcher = difflib.SequenceMatcher(None, wanted, candidate)
        if matcher.real_quick_ratio() >= _CUTOFF and matcher.ratio() >= _CUTOFF:
            scored.append((matcher.ratio(), candidate))
    if not scored:
        return []
    best = max(item[0] for item in scored)
    close = sorted((item for item in scored if item[0] >= best - _CLOSE), key=lambda i: -i[0])
    return [item[1] for item in close[:limit]]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    found = suggestions(name, candidates)
    if not found:
        return ""
    return " Did you mean " + " or ".join(repr(item) for item in found) + "?"


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key that orders compute2 before compute10."""
    return tuple(int(part) if part.isdigit() else part for part in _NATURAL_RE.split(name))
