"""Find and merge the operator's files: openstack_user_config.yml, conf.d/ and env.d/.

Merging follows OpenStack-Ansible: mappings merge key by key (recursively), any other value
(lists included) replaces the earlier one, an empty mapping replaces the earlier mapping. One
deliberate difference: top-level ``used_ips`` lists from several files are concatenated, because
replacing them would silently free reserved addresses.

Every merged value remembers the file and line that defined it, so that a message can point there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem
from .loader import Path_, YamlFile, load_yaml
from .names import normalize_group

USER_CONFIG = "openstack_user_config.yml"
CONF_D = "conf.d"
ENV_D = "env.d"


@dataclass
class Merged:
    """Merged data of several files, with the origin (file, line) of each indexed path."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Path_, tuple[str, int | None]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def locate(self, path: Path_) -> tuple[str, int | None]:
        """File and line where ``path`` (or its nearest known ancestor) was defined."""
        for end in range(len(path), 0, -1):
            found = self.origins.get(tuple(path[:end]))
            if found is not None:
                return found
        return (self.files[0] if self.files else "<no file>", None)


def yaml_files(directory: Path) -> list[Path]:
    """Every *.yml / *.yaml file below ``directory``, in a stable (sorted) order."""
    if not directory.is_dir():
        return []
    found = [
        path
        for path in directory.rglob("*")
        if path.suffix in (".yml", ".yaml")
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    ]
    return sorted(found, key=lambda item: item.relative_to(directory).as_posix())


def merge_into(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """OpenStack-Ansible merge: mappings recursively, everything else replaced."""
    for key, value in new.items():
        current = base.get(key)
        if isinstance(value, dict) and value and isinstance(current, dict):
            base[key] = merge_into(dict(current), value)
        else:
            base[key] = value
    return base


def _normalize_top_level(loaded: YamlFile) -> tuple[dict[str, Any], dict[Path_, int]]:
    """Rename top-level keys to their canonical group form (merging both spellings)."""
    data: dict[str, Any] = {}
    lines: dict[Path_, int] = {}
    renamed: dict[Any, Any] = {}
    for key, value in loaded.data.items():
        new_key = normalize_group(key) if isinstance(key, str) else key
        renamed[key] = new_key
        if new_key in data and isinstance(data[new_key], dict) and isinstance(value, dict):
            data[new_key] = merge_into(dict(data[new_key]), value)
        else:
            data[new_key] = value
    for path, line in loaded.lines.items():
        if path:
            lines[(renamed.get(path[0], path[0]), *path[1:])] = line
    return data, lines


def merge_file(merged: Merged, loaded: YamlFile, concat_keys: tuple[str, ...] = ()) -> None:
    """Merge one top-level mapping into ``merged``, keeping origins."""
    data, lines = _normalize_top_level(loaded)
    offsets: dict[str, int] = {}
    for key in concat_keys:
        old, new = merged.data.get(key), data.get(key)
        if isinstance(old, list) and isinstance(new, list):
            offsets[key] = len(old)
            data[key] = old + new
    merge_into(merged.data, data)
    for path, line in lines.items():
        shifted = path
        if path and path[0] in offsets and len(path) > 1 and isinstance(path[1], int):
            shifted = (path[0], path[1] + offsets[path[0]], *path[2:])
        merged.origins[shifted] = (loaded.path, line)
    merged.files.append(loaded.path)


def load_mapping_files(paths: list[Path], what: str) -> tuple[list[YamlFile], list[Problem]]:
    """Parse files that must each hold a mapping (or nothing)."""
    files: list[YamlFile] = []
    problems: list[Problem] = []
    for path in paths:
        loaded, found = load_yaml(path)
        problems.extend(found)
        if loaded is None:
            continue
        if loaded.data is None:
            loaded.data = {}
        if not isinstance(loaded.data, dict):
            kind = type(loaded.data).__name__
            problems.append(
                Problem(
                    loaded.path,
                    1,
                    "",
                    f"holds a {kind} at the top level, but {what} files hold a mapping.",
                    "write the file as 'key: value' entries (see the .example files).",
                )
            )
            continue
        files.append(loaded)
    return files, problems


def load_user_config(config_dir: Path) -> tuple[Merged, list[Problem]]:
    """openstack_user_config.yml deep-merged with conf.d/*.yml (sorted by name)."""
    main = config_dir / USER_CONFIG
    extra = yaml_files(config_dir / CONF_D)
    paths = ([main] if main.is_file() else []) + extra
    merged = Merged()
    if not paths:
        fix = (
            f"copy etc/openstack_deploy/{USER_CONFIG}.example (or .aio) from the collection to "
            f"{main}, or point OSA_CONFIG_DIR / --config-dir at your configuration directory"
        )
        return merged, [Problem(str(main), None, "", "does not exist (nor any conf.d/*.yml).", fix)]
    files, problems = load_mapping_files(paths, "configuration")
    for loaded in files:
        merge_file(merged, loaded, concat_keys=("used_ips",))
    return merged, problems
