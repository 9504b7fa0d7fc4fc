"""Read YAML files with enough position information to point an operator at the right line.

Each file yields its data plus an index ``path -> line`` for the first levels of the document
(path is a tuple of mapping keys and list positions). Duplicate keys in one mapping are reported:
PyYAML would otherwise silently keep the last one, which hides a lost host entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem

try:  # libyaml makes parsing of large configurations several times faster
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_MERGE_TAG = "tag:yaml.org,2002:merge"
_INDEX_DEPTH = 5

Path_ = tuple[Any, ...]


@dataclass
class YamlFile:
    """One parsed file: its data and where each key of the first levels is defined."""

    path: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """Line of ``path``, or of its nearest ancestor that is indexed."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None


def _scalar_key(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return node.value
    return None


def _is_merge(key_node: yaml.Node) -> bool:
    return key_node.tag == _MERGE_TAG or (
        isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<"
    )


@dataclass
class _Indexer:
    """Walks a node tree: records lines of the first levels, finds duplicate keys."""

    lines: dict[Path_, int] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    duplicates: list[tuple[Path_, int, int]] = field(default_factory=list)

    def walk(self, node: yaml.Node, path: Path_, depth: int, record: bool = True) -> None:
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, path, depth, record)
        elif isinstance(node, yaml.SequenceNode):
            self._sequence(node, path, depth, record)

    def _descend(self, node: yaml.Node, path: Path_, depth: int, record: bool, line: int) -> None:
        """Index below the depth limit only to find duplicates, once per node."""
        if record and depth < _INDEX_DEPTH:
            self.lines[path] = line
            self.walk(node, path, depth + 1)
        elif id(node) not in self.seen:
            self.walk(node, path, _INDEX_DEPTH, record=False)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int, record: bool) -> None:
        first_visit = id(node) not in self.seen
        self.seen.add(id(node))
        explicit: dict[Any, int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if _is_merge(key_node):
                is_list = isinstance(value_node, yaml.SequenceNode)
                merges.extend(value_node.value if is_list else [value_node])
                continue
            key = _scalar_key(key_node)
            line = key_node.start_mark.line + 1
            if key in explicit and first_visit:
                self.duplicates.append(((*path, key), explicit[key], line))
            explicit[key] = line
            self._descend(value_node, (*path, key), depth, record and key is not None, line)
        if not record or depth >= _INDEX_DEPTH:
            return
        for merged in merges:
            if isinstance(merged, yaml.MappingNode):
                sub = _Indexer(seen=self.seen, duplicates=self.duplicates)
                sub.walk(merged, path, depth)
                for sub_path, line in sub.lines.items():
                    self.lines.setdefault(sub_path, line)

    def _sequence(self, node: yaml.SequenceNode, path: Path_, depth: int, record: bool) -> None:
        if id(node) in self.seen and not (record and depth < _INDEX_DEPTH):
            return
        self.seen.add(id(node))
        for position, item in enumerate(node.value):
            self._descend(item, (*path, position), depth, record, item.start_mark.line + 1)


def _format_path(path: Path_) -> str:
    parts: list[str] = []
    for item in path:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _read(path: Path) -> tuple[str | None, list[Problem]]:
    shown = str(path)
    try:
        return path.read_text(encoding="utf-8"), []
    except OSError as exc:
        fix = "make the file readable by the user running the deployment, or remove it"
        return None, [Problem(shown, None, "", f"cannot be read: {exc.strerror}.", fix)]
    except UnicodeDecodeError as exc:
        fix = "save the file as UTF-8 text"
        return None, [Problem(shown, None, "", f"is not UTF-8 text ({exc.reason}).", fix)]


def _duplicate_problems(shown: str, duplicates: list[tuple[Path_, int, int]]) -> list[Problem]:
    return [
        Problem(
            shown,
            second,
            _format_path(key_path),
            f"is defined twice in one mapping (lines {first} and {second}); YAML keeps only "
            "the last one, so the first entry would be silently lost.",
            "keep a single entry for this key (merge the two entries into one).",
        )
        for key_path, first, second in duplicates
    ]


def _syntax_problem(shown: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        fix = (
            f"correct the YAML syntax near line {line} (indentation, a missing ':' or an "
            "unclosed quote are the usual causes)"
        )
        return Problem(shown, line, "", f"is not valid YAML: {detail}.", fix)
    return Problem(shown, None, "", f"is not valid YAML: {exc}.", "correct the YAML syntax")


def load_yaml(path: Path) -> tuple[YamlFile | None, list[Problem]]:
    """Parse one YAML file. Returns the file (or None) and the problems found in it."""
    shown = str(path)
    text, problems = _read(path)
    if text is None:
        return None, problems
    loader = _Loader(text)
    result: YamlFile | None = None
    try:
        node = loader.get_single_node()
        if node is None:
            result = YamlFile(shown, None)
        else:
            indexer = _Indexer()
            indexer.walk(node, (), 0)
            problems = _duplicate_problems(shown, indexer.duplicates)
            if not problems:
                result = YamlFile(shown, loader.construct_document(node), indexer.lines)
    except yaml.YAMLError as exc:
        problems = [_syntax_problem(shown, exc)]
    finally:
        loader.dispose()
    return result, problems


def format_path(path: Path_) -> str:
    """Dotted form of a key path, for messages: ``global_overrides.provider_networks[1]``."""
    return _format_path(path)
