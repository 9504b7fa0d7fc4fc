"""Summarise what changes between two versions of a config file.

The summary names sections and keys only, never values, so it is safe to show
for files that carry secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .ini import logical_view, parse_ini
from .structured import load_json, load_yaml


@dataclass(frozen=True)
class ChangeSummary:
    """Paths such as ``[DEFAULT] debug`` (INI) or ``a.b`` (YAML/JSON)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
        }

    def render(self, title: str) -> str:
        """Human-readable text for ``--diff`` output."""
        if self.empty:
            return f"{title}: no section or key changes\n"
        lines = [f"{title}:"]
        for label, paths in self.as_dict().items():
            lines.extend(f"  {label:<8} {path}" for path in paths)
        return "\n".join(lines) + "\n"


def summarize(before: str | None, after: str, config_type: str) -> ChangeSummary:
    """Compare two texts of ``config_type``; ``before`` is None when there was no file."""
    if config_type == "ini":
        return _summarize_ini(before or "", after)
    load = load_json if config_type == "json" else load_yaml
    old = load(before, "current file") if before and before.strip() else {}
    new = load(after, "new file")
    return _summarize_data(old, new)


def _summarize_ini(before: str, after: str) -> ChangeSummary:
    old = logical_view(parse_ini(before, "current file"))
    new = logical_view(parse_ini(after, "new file"))
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    for ident, (name, keys) in new.items():
        if ident not in old:
            added.append(f"[{name}]")
            added.extend(f"[{name}] {key}" for key in keys)
            continue
        old_keys = old[ident][1]
        added.extend(f"[{name}] {key}" for key in keys if key not in old_keys)
        changed.extend(
            f"[{name}] {key}" for key in keys if key in old_keys and old_keys[key] != keys[key]
        )
        removed.extend(f"[{name}] {key}" for key in old_keys if key not in keys)
    for ident, (name, keys) in old.items():
        if ident not in new:
            removed.append(f"[{name}]")
            removed.extend(f"[{name}] {key}" for key in keys)
    return ChangeSummary(tuple(added), tuple(removed), tuple(changed))


def _summarize_data(old: Any, new: Any) -> ChangeSummary:
    found = _Found()
    _walk(old, new, (), found)
    return ChangeSummary(tuple(found.added), tuple(found.removed), tuple(found.changed))


@dataclass
class _Found:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def _walk(old: Any, new: Any, path: tuple[str, ...], found: _Found) -> None:
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        if old != new:
            found.changed.append(".".join(path) or "(whole document)")
        return
    for key, value in new.items():
        if key in old:
            _walk(old[key], value, (*path, str(key)), found)
        else:
            found.added.append(".".join((*path, str(key))))
    found.removed.extend(".".join((*path, str(key))) for key in old if key not in new)
