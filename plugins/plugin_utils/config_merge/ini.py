"""A small INI model that keeps every line of the original text.

Parsing follows the rules of oslo.config's own parser, which is what OpenStack
services use to read these files:

* ``[name]`` starts a section; section names are matched case-insensitively,
  except ``DEFAULT`` which is a plain section of its own (no inheritance into
  other sections, unlike Python's configparser);
* ``#`` or ``;`` at the start of a line starts a comment;
* an indented line continues the value of the option just above it;
  a blank line or a comment ends that value;
* ``key = value`` or ``key: value`` (whichever separator comes first);
  a key may appear several times (oslo MultiStrOpt);
* a line without a separator is a value-less key (as in my.cnf).

Lines that an override does not touch are rendered byte for byte as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import ConfigMergeError

DEFAULT_SECTION = "DEFAULT"
COMMENT_PREFIXES = ("#", ";")
CONTINUATION_INDENT = "    "


@dataclass(eq=False)
class Trivia:
    """A blank or comment line, kept as written."""

    text: str

    def render(self) -> list[str]:
        return [self.text]


@dataclass(eq=False)
class Option:
    """One ``key = value`` assignment; ``value`` is None for a value-less key.

    ``lines`` holds the original text; it is emptied when the value changes so the
    option is rendered from ``key`` and ``value`` instead.
    """

    key: str
    value: str | None
    lines: list[str] = field(default_factory=list)

    def render(self) -> list[str]:
        if self.lines:
            return list(self.lines)
        return render_option(self.key, self.value)

    def set_value(self, value: str | None) -> None:
        if value != self.value:
            self.value = value
            self.lines = []


Entry = Trivia | Option


@dataclass(eq=False)
class Section:
    """A ``[name]`` header and the lines up to the next header."""

    name: str
    header: str
    body: list[Entry] = field(default_factory=list)

    @property
    def ident(self) -> str:
        return section_ident(self.name)

    def options(self) -> Iterator[Option]:
        return (entry for entry in self.body if isinstance(entry, Option))

    def render(self) -> list[str]:
        lines = [self.header]
        for entry in self.body:
            lines.extend(entry.render())
        return lines


@dataclass(eq=False)
class IniDocument:
    """Lines before the first header, then the sections in file order."""

    preamble: list[Trivia] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def find(self, name: str) -> list[Section]:
        """All sections that oslo.config would read as section ``name``."""
        ident = section_ident(name)
        return [section for section in self.sections if section.ident == ident]

    def render(self) -> str:
        lines = [trivia.text for trivia in self.preamble]
        for section in self.sections:
            lines.extend(section.render())
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines) + "\n" if lines else ""


def section_ident(name: str) -> str:
    """The identity oslo.config gives a section name: DEFAULT exact, others lowercased."""
    name = name.strip()
    return name if name == DEFAULT_SECTION else name.lower()


def render_option(key: str, value: str | None) -> list[str]:
    """Render an assignment; continuation lines of a multi-line value are indented."""
    if value is None:
        return [key]
    first, *rest = value.split("\n")
    head = f"{key} = {first}" if first else f"{key} ="
    return [head, *(CONTINUATION_INDENT + line.strip() for line in rest)]


def is_comment(stripped: str) -> bool:
    return stripped.startswith(COMMENT_PREFIXES)


class _Parser:
    """Line-by-line parser building an IniDocument (see module docstring)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.doc = IniDocument()
        self.section: Section | None = None
        self.option: Option | None = None

    def error(self, lineno: int, problem: str) -> ConfigMergeError:
        return ConfigMergeError(f"{self.source} line {lineno}: {problem}")

    def add(self, entry: Entry) -> None:
        if self.section is None:
            if isinstance(entry, Option):
                raise AssertionError("options are only added inside a section")
            self.doc.preamble.append(entry)
        else:
            self.section.body.append(entry)

    def feed(self, lineno: int, line: str) -> None:
        stripped = line.strip()
        if not stripped:
            self.option = None
            self.add(Trivia(line))
        elif line[0] in " \t" and self.option is not None:
            self.option.lines.append(line)
            extra = stripped
            current = self.option.value or ""
            self.option.value = f"{current}\n{extra}" if current else extra
        elif is_comment(stripped):
            self.option = None
            self.add(Trivia(line))
        elif line[0] in " \t":
            raise self.error(lineno, "indented line does not follow an option; unindent it")
        elif stripped.startswith("["):
            self.start_section(lineno, line)
        else:
            self.start_option(lineno, line)

    def start_section(self, lineno: int, line: str) -> None:
        stripped = line.rstrip()
        if not stripped.endswith("]") or len(stripped) <= len("[]"):
            raise self.error(lineno, "a section header must look like [name]")
        self.option = None
        self.section = Section(name=stripped[1:-1].strip(), header=line)
        self.doc.sections.append(self.section)

    def start_option(self, lineno: int, line: str) -> None:
        if self.section is None:
            raise self.error(lineno, "option appears before the first [section] header")
        key, value = split_assignment(line)
        if not key:
            raise self.error(lineno, "option has an empty name")
        self.option = Option(key=key, value=value, lines=[line])
        self.add(self.option)


def split_assignment(line: str) -> tuple[str, str | None]:
    """Split ``key = value`` / ``key: value`` at the first separator."""
    positions = [pos for pos in (line.find("="), line.find(":")) if pos >= 0]
    if not positions:
        return line.strip(), None
    cut = min(positions)
    return line[:cut].strip(), line[cut + 1 :].strip()


def parse_ini(text: str, source: str = "template") -> IniDocument:
    """Parse INI text; ``source`` names the text in error messages."""
    parser = _Parser(source)
    for lineno, line in enumerate(text.splitlines(), start=1):
        parser.feed(lineno, line)
    return parser.doc


def logical_view(doc: IniDocument) -> dict[str, tuple[str, dict[str, tuple[str | None, ...]]]]:
    """Map section identity -> (display name, key -> values), merging repeated sections."""
    view: dict[str, tuple[str, dict[str, tuple[str | None, ...]]]] = {}
    for section in doc.sections:
        _name, keys = view.setdefault(section.ident, (section.name, {}))
        for option in section.options():
            keys[option.key] = (*keys.get(option.key, ()), option.value)
    return view
