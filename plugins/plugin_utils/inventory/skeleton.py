"""The service skeleton (env.d): host groups -> service ("container") groups -> components.

The format is OpenStack-Ansible's:

- ``physical_skel``: host groups an operator lists hosts under (``<name>_hosts``) and their
  ``<name>_containers`` counterparts;
- ``container_skel``: a service placement; it ``belongs_to`` one or more ``<name>_containers``
  groups (its hosts are those of the matching ``<name>_hosts`` groups) and ``contains`` components;
- ``component_skel``: the groups playbooks target (``nova_compute``), with parents such as
  ``nova_all`` in ``belongs_to``.

Nimbus runs every service on the host itself, so a "container" group simply holds the hosts.
Two keys of our own live on components: ``nimbus_deployed`` (does a Nimbus role deploy this
component today?) and ``nimbus_requires`` (groups that must have a host when this one has).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem
from .loader import YamlFile
from .names import did_you_mean, is_valid_group, normalize_group
from .services import load as load_services
from .services import shipped_services_file
from .sources import ENV_D, Merged, load_mapping_files, merge_file, yaml_files

COMPONENT = "component_skel"
CONTAINER = "container_skel"
PHYSICAL = "physical_skel"
SECTIONS = (COMPONENT, CONTAINER, PHYSICAL)
DEPLOYED_KEY = "nimbus_deployed"
REQUIRES_KEY = "nimbus_requires"
HOSTS_SUFFIX = "_hosts"
CONTAINERS_SUFFIX = "_containers"


def shipped_env_dir() -> Path:
    """inventory/env.d of the collection this package belongs to."""
    return Path(__file__).resolve().parents[3] / "inventory" / ENV_D


@dataclass
class Skeleton:
    """The merged, validated skeleton and the group structure derived from it."""

    components: dict[str, dict[str, Any]]
    containers: dict[str, dict[str, Any]]
    physical: dict[str, dict[str, Any]]
    merged: Merged
    parents: dict[str, list[str]] = field(default_factory=dict)
    joins: dict[str, list[str]] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    _ancestors: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def host_groups(self) -> list[str]:
        return [name for name in self.physical if name.endswith(HOSTS_SUFFIX)]

    def ancestors(self, group: str) -> frozenset[str]:
        """Every group that contains ``group``, directly or through other groups."""
        cached = self._ancestors.get(group)
        if cached is not None:
            return cached
        found: set[str] = set()
        stack = list(self.parents.get(group, ()))
        while stack:
            parent = stack.pop()
            if parent not in found:
                found.add(parent)
                stack.extend(self.parents.get(parent, ()))
        result = frozenset(found)
        self._ancestors[group] = result
        return result

    def reach(self, host_group: str) -> set[str]:
        """Every group a host listed under ``host_group`` ends up in."""
        reached: set[str] = set()
        for group in self.joins.get(host_group, ()):
            reached.add(group)
            reached |= self.ancestors(group)
        return reached

    def feeders(self, group: str) -> list[str]:
        """Host groups whose hosts end up in ``group``."""
        return [name for name in self.host_groups if group in self.reach(name)]

    def components_of(self, host_group: str) -> list[str]:
        return [name for name in self.joins.get(host_group, ()) if name in self.components]

    def locate(self, section: str, name: str, *rest: Any) -> tuple[str, int | None]:
        return self.merged.locate((section, name, *rest))


def _normalize_names(value: Any) -> Any:
    if isinstance(value, list):
        return [normalize_group(item) if isinstance(item, str) else item for item in value]
    return value


def _normalize_file(loaded: YamlFile) -> YamlFile:
    """Canonical group names everywhere in one env.d file (keys, belongs_to, contains)."""
    data: dict[str, Any] = {}
    for section, entries in loaded.data.items():
        if section not in SECTIONS or not isinstance(entries, dict):
            data[section] = entries
            continue
        normalized: dict[str, Any] = {}
        for name, entry in entries.items():
            key = normalize_group(name) if isinstance(name, str) else name
            copied = dict(entry) if isinstance(entry, dict) else entry
            if isinstance(copied, dict):
                for list_key in ("belongs_to", "contains", REQUIRES_KEY):
                    if list_key in copied:
                        copied[list_key] = _normalize_names(copied[list_key])
            normalized[key] = copied
        data[section] = normalized
    lines = {}
    for path, line in loaded.lines.items():
        renamed = path
        if len(path) > 1 and path[0] in SECTIONS and isinstance(path[1], str):
            renamed = (path[0], normalize_group(path[1]), *path[2:])
        lines[renamed] = line
    return YamlFile(loaded.path, data, lines)


def _name_list(
    entry: dict[str, Any], key: str, where: tuple[str, int | None], path: str
) -> tuple[list[str], list[Problem]]:
    value = entry.get(key)
    if value is None or value == {}:
        return [], []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value), []
    fix = f"write {key} as a list of group names, e.g. '{key}: [nova_all]'"
    problem = Problem(where[0], where[1], f"{path}.{key}", "must be a list of group names.", fix)
    return [], [problem]


def _check_cycles(parents: dict[str, list[str]]) -> list[list[str]]:
    """Return the cycles in the belongs_to graph (each as a list of groups)."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    for start in sorted(parents):
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                trail.append(node)
            nexts = parents.get(node, [])
            if index < len(nexts):
                stack.append((node, index + 1))
                child = nexts[index]
                if state.get(child) == 1:
                    cycles.append([*trail[trail.index(child) :], child])
                elif not state.get(child):
                    stack.append((child, 0))
            else:
                state[node] = 2
                trail.pop()
    return cycles


def load_skeleton(
    config_dir: Path | None, shipped_dir: Path | None = None
) -> tuple[Skeleton | None, list[Problem]]:
    """Load the shipped env.d, then the operator's env.d on top, and validate the result."""
    shipped = shipped_dir or shipped_env_dir()
    paths = yaml_files(shipped)
    if not paths:
        fix = "reinstall the nimbus.cloud collection (its inventory/env.d/ is missing)"
        return None, [Problem(str(shipped), None, "", "holds no service skeleton files.", fix)]
    if config_dir is not None:
        paths += yaml_files(config_dir / ENV_D)
    files, problems = load_mapping_files(paths, "env.d")
    merged = Merged()
    for loaded in files:
        for key in loaded.data:
            if key not in SECTIONS:
                line = loaded.lines.get((key,))
                hint = did_you_mean(str(key), SECTIONS)
                fix = f"use only {', '.join(SECTIONS)} at the top level of env.d files"
                problems.append(
                    Problem(loaded.path, line, str(key), f"is not an env.d section.{hint}", fix)
                )
        merge_file(merged, _normalize_file(loaded))
    if problems:
        return None, problems
    skeleton, problems = _build(merged)
    if skeleton is not None:
        problems = _apply_services(skeleton, shipped)
    return (None if problems else skeleton), problems


def _apply_services(skeleton: Skeleton, env_dir: Path) -> list[Problem]:
    """Mark the components of every service descriptor deployed or not (services.py)."""
    path = shipped_services_file(env_dir)
    deployment, loaded, problems = load_services(path, path.parents[2] / "roles")
    for component, deployed in deployment.components.items():
        entry = skeleton.components.get(component)
        if entry is None:
            service = deployment.owner[component]
            key = ("nimbus_services", service, "components")
            line = loaded.line(key) if loaded is not None else None
            hint = did_you_mean(component, skeleton.components)
            problems.append(
                Problem(
                    str(path),
                    line,
                    ".".join(key),
                    f"lists {component}, which no component_skel entry defines.{hint}",
                    "name an env.d component (openstack-ansible-inventory list-groups --all)",
                )
            )
            continue
        entry[DEPLOYED_KEY] = deployed
    return problems


def _section(merged: Merged, name: str, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    raw = merged.data.get(name) or {}
    result: dict[str, dict[str, Any]] = {}
    if not isinstance(raw, dict):
        file, line = merged.locate((name,))
        problems.append(
            Problem(file, line, name, "must be a mapping of group names.", "see inventory/env.d")
        )
        return result
    for group, entry in raw.items():
        file, line = merged.locate((name, group))
        if not isinstance(group, str) or not is_valid_group(group):
            fix = "use letters, digits, '_' and '-' only, not starting with a digit"
            problems.append(Problem(file, line, f"{name}.{group}", "is not a valid group.", fix))
            continue
        if entry is not None and not isinstance(entry, dict):
            fix = "write the entry as a mapping with belongs_to (and contains for services)"
            problems.append(Problem(file, line, f"{name}.{group}", "must be a mapping.", fix))
            continue
        result[group] = entry if entry is not None else {}
    return result


_NAME_FIX = "use letters, digits, '_' and '-' only, not starting with a digit"


def _collect_parents(
    merged: Merged, sections: dict[str, dict[str, dict[str, Any]]], problems: list[Problem]
) -> dict[str, list[str]]:
    """belongs_to of every entry (validated), as group -> parents."""
    parents: dict[str, list[str]] = {}
    for section, entries in sections.items():
        for name, entry in entries.items():
            where = merged.locate((section, name))
            belongs, found = _name_list(entry, "belongs_to", where, f"{section}.{name}")
            problems.extend(found)
            for parent in belongs:
                if not is_valid_group(parent):
                    file, line = merged.locate((section, name, "belongs_to"))
                    key = f"{section}.{name}.belongs_to"
                    message = f"{parent!r} is not a valid group."
                    problems.append(Problem(file, line, key, message, _NAME_FIX))
            entry["belongs_to"] = belongs
            known = parents.setdefault(name, [])
            known.extend(item for item in belongs if item not in known)
    return parents


def _unknown_names(
    merged: Merged,
    path: tuple[str, ...],
    names: list[str],
    known: Any,
    *,
    why: str,
    fix: str,
) -> list[Problem]:
    """One problem per entry of NAMES (the list at PATH) that KNOWN does not hold.

    FIX may name the entry as {name}.
    """
    file, line = merged.locate(path)
    return [
        Problem(
            file,
            line,
            ".".join(path),
            f"names {name!r}, {why}.{did_you_mean(name, known)}",
            fix.format(name=name),
        )
        for name in names
        if name not in known
    ]


def _check_containers(
    merged: Merged,
    containers: dict[str, dict[str, Any]],
    components: dict[str, dict[str, Any]],
    problems: list[Problem],
) -> None:
    for name, entry in containers.items():
        where = merged.locate((CONTAINER, name))
        contains, found = _name_list(entry, "contains", where, f"{CONTAINER}.{name}")
        problems.extend(found)
        entry["contains"] = contains
        problems.extend(
            _unknown_names(
                merged,
                (CONTAINER, name, "contains"),
                contains,
                components,
                why="which no component_skel entry defines",
                fix="define {name} under component_skel in an env.d file, or remove it",
            )
        )
        file, line = merged.locate((CONTAINER, name, "belongs_to"))
        for parent in entry["belongs_to"]:
            if not parent.endswith(CONTAINERS_SUFFIX):
                problems.append(
                    Problem(
                        file,
                        line,
                        f"{CONTAINER}.{name}.belongs_to",
                        f"{parent!r} does not end in {CONTAINERS_SUFFIX}, so no host group "
                        "feeds it.",
                        f"place services in '<name>{CONTAINERS_SUFFIX}' groups of physical_skel",
                    )
                )


def _check_components(
    merged: Merged,
    components: dict[str, dict[str, Any]],
    all_groups: set[str],
    problems: list[Problem],
) -> None:
    for name, entry in components.items():
        deployed = entry.get(DEPLOYED_KEY)
        if deployed is not None and not isinstance(deployed, bool):
            file, line = merged.locate((COMPONENT, name, DEPLOYED_KEY))
            key = f"{COMPONENT}.{name}.{DEPLOYED_KEY}"
            problems.append(
                Problem(file, line, key, "must be true or false.", "write true or false")
            )
        where = merged.locate((COMPONENT, name))
        requires, found = _name_list(entry, REQUIRES_KEY, where, f"{COMPONENT}.{name}")
        problems.extend(found)
        entry[REQUIRES_KEY] = requires
        problems.extend(
            _unknown_names(
                merged,
                (COMPONENT, name, REQUIRES_KEY),
                requires,
                all_groups,
                why="which is not a group of the skeleton",
                fix="name an existing group, or remove the entry",
            )
        )


def _build(merged: Merged) -> tuple[Skeleton | None, list[Problem]]:
    problems: list[Problem] = []
    components = _section(merged, COMPONENT, problems)
    containers = _section(merged, CONTAINER, problems)
    physical = _section(merged, PHYSICAL, problems)
    sections = {COMPONENT: components, CONTAINER: containers, PHYSICAL: physical}
    parents = _collect_parents(merged, sections, problems)
    _check_containers(merged, containers, components, problems)
    all_groups = set(parents) | {item for items in parents.values() for item in items}
    derived_all = _derived_all_groups(containers, physical)
    all_groups |= set(derived_all)
    _check_components(merged, components, all_groups, problems)
    for cycle in _check_cycles(parents):
        section = next(
            (name for name, entries in sections.items() if cycle[0] in entries), PHYSICAL
        )
        file, line = merged.locate((section, cycle[0], "belongs_to"))
        problems.append(
            Problem(
                file,
                line,
                f"{cycle[0]}.belongs_to",
                "makes a loop of groups: " + " -> ".join(cycle) + ".",
                "remove one of these belongs_to entries so that no group contains itself",
            )
        )
    if problems:
        return None, problems
    skeleton = Skeleton(components, containers, physical, merged, parents)
    skeleton.joins = _joins(skeleton, derived_all)
    skeleton.groups = sorted(all_groups)
    return skeleton, []


def _derived_all_groups(
    containers: dict[str, dict[str, Any]], physical: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """``<name>_all`` group of each used ``<name>_containers`` group -> its ``<name>_hosts``.

    OpenStack-Ansible creates these (``compute_all``, ``shared_infra_all``...); operators use
    them in --limit, so they are kept.
    """
    derived: dict[str, str] = {}
    for entry in containers.values():
        for parent in entry.get("belongs_to", []):
            if parent.endswith(CONTAINERS_SUFFIX) and parent in physical:
                prefix = parent[: -len(CONTAINERS_SUFFIX)]
                derived[prefix + "_all"] = prefix + HOSTS_SUFFIX
    return derived


def _joins(skeleton: Skeleton, derived_all: dict[str, str]) -> dict[str, list[str]]:
    """For each host group: the groups a listed host is placed in directly (no parents)."""
    joins: dict[str, list[str]] = {name: [name] for name in skeleton.host_groups}
    for all_group, host_group in sorted(derived_all.items()):
        if host_group in joins:
            joins[host_group].append(all_group)
    for container, entry in sorted(skeleton.containers.items()):
        for parent in entry["belongs_to"]:
            host_group = parent[: -len(CONTAINERS_SUFFIX)] + HOSTS_SUFFIX
            if host_group not in joins:
                continue
            targets = joins[host_group]
            for group in (container, *entry["contains"]):
                if group not in targets:
                    targets.append(group)
    return joins
