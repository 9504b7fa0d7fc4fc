"""Merge a mapping of overrides into an INI document.

Override shape: ``{section: {key: value}}`` where value is

* a string, number or boolean: one ``key = value`` line;
* a list: ``key = a,b,c`` -- or, for a multi-value key, one ``key = item`` line
  per item. A key is multi-value when it already appears more than once in its
  section of the template, or when ``multi_keys`` names it;
* a mapping whose values are all null (the openstack-ansible spelling
  ``{value1: null, value2: null}``): one line per mapping key;
* null: the key is removed (all its lines) -- or, with ``ignore_none_type``
  false, written as a bare key without ``=`` (as my.cnf needs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import ConfigMergeError, option_path
from .ini import DEFAULT_SECTION, IniDocument, Option, Section, Trivia, section_ident
from .values import ini_scalar, type_name

ROOT = "config_overrides"
_BAD_KEY_START = ("[", "#", ";")


@dataclass(frozen=True)
class IniOptions:
    """Switches for the INI merge."""

    ignore_none_type: bool = True
    multi_keys: frozenset[str] = frozenset()


# A planned write for one key: None removes the key, a tuple holds the values
# (an inner None is a bare key), and ``multi`` forces one line per value.
@dataclass(frozen=True)
class _Write:
    values: tuple[str | None, ...] | None
    multi: bool


def merge_ini(doc: IniDocument, overrides: object, options: IniOptions) -> IniDocument:
    """Apply ``overrides`` to ``doc`` in place and return it."""
    for section_name, items in validate_overrides(overrides).items():
        _merge_section(doc, section_name, items, options)
    return doc


def validate_overrides(overrides: object) -> Mapping[str, Mapping[str, object]]:
    """Check the override shape; messages name the option and say how to fix it."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        msg = (
            f"{ROOT} must be a mapping of INI section names to mappings of options, "
            f"got {type_name(overrides)}"
        )
        raise ConfigMergeError(msg)
    for section_name, items in overrides.items():
        _check_section_name(section_name)
        if not isinstance(items, Mapping):
            msg = (
                f"{option_path(ROOT, section_name)} must be a mapping of option names to values "
                f"(an INI section), got {type_name(items)}; write it as "
                f"{section_name}: {{option: value}}"
            )
            raise ConfigMergeError(msg)
        for key in items:
            _check_key(section_name, key)
    return overrides


def _check_section_name(name: object) -> None:
    text = str(name)
    if not isinstance(name, str) or not text.strip() or any(c in text for c in "[]\n"):
        msg = (
            f"{option_path(ROOT, text)}: an INI section name must be a non-empty string "
            "without '[', ']' or line breaks"
        )
        raise ConfigMergeError(msg)


def _check_key(section_name: str, key: object) -> None:
    text = str(key)
    bad = (
        not text.strip()
        or text != text.strip()
        or text.startswith(_BAD_KEY_START)
        or any(c in text for c in "=:\n")
    )
    if bad:
        msg = (
            f"{option_path(ROOT, section_name, text)}: an INI option name must be non-empty, "
            "without surrounding spaces, '=', ':' or line breaks, and must not start with "
            "'[', '#' or ';'"
        )
        raise ConfigMergeError(msg)


def _merge_section(
    doc: IniDocument, name: str, items: Mapping[str, object], options: IniOptions
) -> None:
    sections = doc.find(name)
    if not sections and not items:
        _add_section(doc, name)
        return
    for raw_key, value in items.items():
        key = str(raw_key)
        multi = _is_multi(sections, name, key, options.multi_keys)
        write = _plan_write(value, multi, options, name, key)
        if not write.values:
            _remove_key(sections, key)
            continue
        if not sections:
            sections = [_add_section(doc, name)]
        _write_key(sections, key, write.values)


def _is_multi(sections: list[Section], name: str, key: str, multi_keys: Iterable[str]) -> bool:
    ident = section_ident(name)
    for entry in multi_keys:
        scope, _dot, entry_key = entry.rpartition(".")
        if entry_key == key and (not scope or section_ident(scope) == ident):
            return True
    return sum(1 for section in sections for option in section.options() if option.key == key) > 1


def _plan_write(value: object, multi: bool, options: IniOptions, section: str, key: str) -> _Write:
    if value is None:
        return _Write(None if options.ignore_none_type else (None,), multi=False)
    if isinstance(value, Mapping):
        return _Write(_null_mapping_values(value, section, key), multi=True)
    if isinstance(value, (list, tuple)):
        items = tuple(
            ini_scalar(item, ROOT, section, key, index) for index, item in enumerate(value)
        )
        if multi:
            return _Write(items, multi=True)
        return _Write((",".join(items),), multi=False)
    return _Write((ini_scalar(value, ROOT, section, key),), multi=False)


def _null_mapping_values(value: Mapping[object, object], section: str, key: str) -> tuple[str, ...]:
    if not value or any(item is not None for item in value.values()):
        msg = (
            f"{option_path(ROOT, section, key)}: a mapping is only accepted as a multi-value "
            "list in the form {value1: null, value2: null}; use a list, a string or "
            "multi_keys instead"
        )
        raise ConfigMergeError(msg)
    return tuple(ini_scalar(item, ROOT, section, key) for item in value)


def _options_named(sections: list[Section], key: str) -> list[tuple[Section, Option]]:
    return [
        (section, option)
        for section in sections
        for option in section.options()
        if option.key == key
    ]


def _remove_key(sections: list[Section], key: str) -> None:
    for section, option in _options_named(sections, key):
        section.body.remove(option)


def _write_key(sections: list[Section], key: str, values: tuple[str | None, ...]) -> None:
    existing = _options_named(sections, key)
    for (_section, option), value in zip(existing, values, strict=False):
        option.set_value(value)
    for section, option in existing[len(values) :]:
        section.body.remove(option)
    extra = [Option(key=key, value=value) for value in values[len(existing) :]]
    if not extra:
        return
    if existing:
        section, last = existing[-1]
        position = section.body.index(last) + 1
    else:
        section, position = _insert_point(sections, key)
    section.body[position:position] = extra


def _insert_point(sections: list[Section], key: str) -> tuple[Section, int]:
    """Where a new key goes: after its commented-out sample line, else after the last option."""
    sample = re.compile(r"[#;]\s*" + re.escape(key) + r"\s*([=:]|$)")
    for section in sections:
        for index, entry in enumerate(section.body):
            if isinstance(entry, Trivia) and sample.match(entry.text.strip()):
                return section, index + 1
    section = sections[-1]
    options = [index for index, entry in enumerate(section.body) if isinstance(entry, Option)]
    if options:
        return section, options[-1] + 1
    filled = [index for index, entry in enumerate(section.body) if entry.render()[0].strip()]
    return section, (filled[-1] + 1 if filled else 0)


def _add_section(doc: IniDocument, name: str) -> Section:
    """Append a new section; DEFAULT goes first, as oslo.config sample files do."""
    section = Section(name=name, header=f"[{name}]", body=[Trivia("")])
    if section_ident(name) == DEFAULT_SECTION:
        doc.sections.insert(0, section)
        return section
    if doc.sections:
        last = doc.sections[-1]
        if not last.body or last.body[-1].render()[-1].strip():
            last.body.append(Trivia(""))
    elif doc.preamble and doc.preamble[-1].text.strip():
        doc.preamble.append(Trivia(""))
    doc.sections.append(section)
    return section
