"""Service descriptors (``nimbus_services``): one entry per OpenStack service.

The collection keeps them in ``group_vars/all/services.yml``. Everything about a service
that more than one role needs derives from its entry:

- whether it is deployed: ``deployed: true`` and the collection has its role
  (``roles/<role>``); the inventory marks its env.d ``components`` deployed or not (hosts
  listed only for services that are not deployed get a warning);
- its HAProxy frontends (``haproxy``: names of ``haproxy_<name>_service`` declarations),
  rendered only while it is deployed (:func:`frontends`);
- its wheels on the repo server (``wheels``: ``requirements/services/<wheels>.txt``, built
  for the hosts of ``group`` while it is deployed, :func:`wheel_groups`);
- its catalog entry, database and vhost (``catalog``, ``database``, ``vhost``), which its
  role passes to service_catalog, db_setup and mq_setup.

Pure Python (PyYAML through the inventory loader), no Ansible imports: the inventory reads
the file directly, the filters nimbus.cloud.service_frontends and
nimbus.cloud.service_wheel_groups work on the variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Problem
from .loader import YamlFile, load_yaml

VARIABLE = "nimbus_services"
KEYS = (
    "deployed",
    "held_back",
    "role",
    "components",
    "group",
    "wheels",
    "haproxy",
    "catalog",
    "database",
    "vhost",
)
REQUIRED = ("deployed", "role", "components", "group")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
HAPROXY_VAR_RE = re.compile(r"^haproxy_[a-z0-9_]+_service$")
FILE_HINT = "group_vars/all/services.yml"


class ServiceError(ValueError):
    """The descriptors are inconsistent; the message lists every problem and its fix."""


def shipped_services_file(env_dir: Path) -> Path:
    """group_vars/all/services.yml of the collection whose inventory/env.d is ``env_dir``."""
    return env_dir.resolve().parents[1] / "group_vars" / "all" / "services.yml"


def _is_name_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


def check(services: Any) -> list[tuple[tuple[Any, ...], str, str]]:
    """Every problem of the descriptors as (key path, what is wrong, how to fix it)."""
    found: list[tuple[tuple[Any, ...], str, str]] = []
    if not isinstance(services, Mapping):
        return [((), "must be a mapping of service name to descriptor.", "see " + FILE_HINT)]
    for name, entry in services.items():
        where = (name,)
        if not isinstance(name, str) or not NAME_RE.match(name):
            found.append(
                (where, f"{name!r} is not a service name.", "use lower case letters, digits, _")
            )
            continue
        if not isinstance(entry, Mapping):
            found.append((where, "must be a mapping.", "give the keys " + ", ".join(KEYS)))
            continue
        found.extend(_check_entry(name, entry))
    return found


def _check_held_back(name: str, entry: Mapping[str, Any]) -> list[tuple[Any, str, str]]:
    """held_back: why a service whose role exists is not deployed yet."""
    held_back = entry.get("held_back")
    if held_back is None:
        return []
    if not isinstance(held_back, str) or not held_back.strip():
        return [((name, "held_back"), "must say why.", "write the reason as a sentence")]
    if entry.get("deployed") is True:
        return [((name, "held_back"), "contradicts deployed: true.", "remove held_back")]
    return []


def _check_entry(name: str, entry: Mapping[str, Any]) -> list[tuple[Any, str, str]]:
    """The keys of one descriptor."""
    found: list[tuple[Any, str, str]] = []
    for key in entry:
        if key not in KEYS:
            found.append(((name, key), "is not a descriptor key.", "use only " + ", ".join(KEYS)))
    for key in REQUIRED:
        if key not in entry:
            found.append(((name, key), "is missing.", f"add {key} to the descriptor"))
    if "deployed" in entry and not isinstance(entry["deployed"], bool):
        found.append(((name, "deployed"), "must be true or false.", "write true or false"))
    found.extend(_check_held_back(name, entry))
    for key in ("role", "group", "wheels"):
        if key in entry and entry[key] is not None and not isinstance(entry[key], str):
            found.append(((name, key), "must be a string.", f"write the {key} as a name"))
    for key in ("components", "haproxy"):
        if key in entry and not _is_name_list(entry[key]):
            found.append(((name, key), "must be a list of names.", "write a YAML list"))
    found.extend(_check_registrations(name, entry))
    for variable in entry.get("haproxy") or []:
        if isinstance(variable, str) and not HAPROXY_VAR_RE.match(variable):
            found.append(
                (
                    (name, "haproxy"),
                    f"{variable!r} is not the name of a haproxy_<name>_service variable.",
                    "name the variable that holds the declaration",
                )
            )
    return found


def _check_registrations(name: str, entry: Mapping[str, Any]) -> list[tuple[Any, str, str]]:
    """catalog, database and vhost of one descriptor."""
    found: list[tuple[Any, str, str]] = []
    catalog = entry.get("catalog", [])
    if not isinstance(catalog, list) or not all(
        isinstance(item, Mapping) and {"name", "type"} <= set(item) for item in catalog
    ):
        found.append(
            (
                (name, "catalog"),
                "must be a list of entries with at least name and type.",
                "write e.g. [{name: glance, type: image, port: 9292, path: ''}]",
            )
        )
    if not _is_name_list(entry.get("database", [])):
        found.append(((name, "database"), "must be a list of database names.", "write [name]"))
    vhost = entry.get("vhost")
    if vhost is not None and not (isinstance(vhost, str) and vhost.startswith("/")):
        found.append(((name, "vhost"), f"must start with / or be null, not {vhost!r}.", "fix it"))
    return found


@dataclass(frozen=True)
class Deployment:
    """What the inventory needs from the descriptors."""

    components: dict[str, bool]  # env.d component -> deployed
    owner: dict[str, str]  # env.d component -> service


def load(path: Path, roles_dir: Path) -> tuple[Deployment, YamlFile | None, list[Problem]]:
    """Read ``path`` (a group_vars file holding ``nimbus_services``) for the inventory.

    A service is deployed when its descriptor says ``deployed: true``; saying so for a role
    the collection does not have (``roles_dir/<role>``) is a problem, so turning a service on
    before its role lands stops every run with the fix.
    """
    empty = Deployment({}, {})
    if not path.is_file():
        return empty, None, []
    loaded, problems = load_yaml(path)
    if loaded is None:
        return empty, None, problems
    data = loaded.data if isinstance(loaded.data, dict) else {}
    services = data.get(VARIABLE, {})
    for key_path, message, fix in check(services):
        full = (VARIABLE, *key_path)
        problems.append(
            Problem(loaded.path, loaded.line(full), ".".join(map(str, full)), message, fix)
        )
    if problems:
        return empty, loaded, problems
    components: dict[str, bool] = {}
    owner: dict[str, str] = {}
    for name, entry in services.items():
        deployed = entry["deployed"]
        role = entry["role"]
        if deployed and not (roles_dir / role / "tasks").is_dir():
            full = (VARIABLE, name, "deployed")
            problems.append(
                Problem(
                    loaded.path,
                    loaded.line(full),
                    ".".join(full),
                    f"is true, but the collection has no role {role} ({roles_dir / role}).",
                    "set deployed: false until the role is in the collection",
                )
            )
        for component in entry["components"]:
            if component in owner:
                full = (VARIABLE, name, "components")
                problems.append(
                    Problem(
                        loaded.path,
                        loaded.line(full),
                        ".".join(full),
                        f"lists {component}, which {owner[component]} lists too.",
                        "list each env.d component under one service only",
                    )
                )
            owner[component] = name
            components[component] = deployed
    if problems:
        return empty, loaded, problems
    return Deployment(components, owner), loaded, problems


def deployed(services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Names of the deployed services, sorted."""
    return sorted(name for name, entry in services.items() if entry.get("deployed") is True)


def _raise_if(problems: list[tuple[tuple[Any, ...], str, str]]) -> None:
    if problems:
        raise ServiceError(
            "; ".join(
                f"{'.'.join(map(str, (VARIABLE, *path)))} {message} Fix: {fix}"
                for path, message, fix in problems
            )
        )


def frontends(
    declarations: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]
) -> list[Any]:
    """The HAProxy declarations to render, from ``haproxy_<name>_service`` variables.

    ``declarations`` maps variable name -> declaration. A declaration a descriptor names in
    ``haproxy`` is rendered while that service is deployed and removed (``state: absent``)
    otherwise; the others (infrastructure, an operator's own) are kept as they are. The
    result is in variable-name order. A descriptor naming a variable that is not defined is
    an error.
    """
    _raise_if(check(services))
    owned: dict[str, str] = {}
    missing: list[tuple[tuple[Any, ...], str, str]] = []
    for name, entry in services.items():
        for variable in entry.get("haproxy") or []:
            owned[variable] = name
            if variable not in declarations:
                missing.append(
                    (
                        (name, "haproxy"),
                        f"names {variable}, which is not defined.",
                        f"define {variable} (group_vars/all/haproxy.yml or the service's "
                        "group_vars file) or remove it from the list",
                    )
                )
    _raise_if(missing)
    out: list[Any] = []
    for variable in sorted(declarations):
        declaration = declarations[variable]
        service = owned.get(variable)
        undeployed = service is not None and not services[service]["deployed"]
        if undeployed and isinstance(declaration, Mapping):
            declaration = {**declaration, "state": "absent"}
        out.append(declaration)
    return out


def wheel_groups(services: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """requirements/services/<wheels>.txt name -> inventory group, for deployed services.

    ``wheels`` defaults to the service name; ``wheels: null`` builds none.
    """
    _raise_if(check(services))
    return {
        entry.get("wheels", name): entry["group"]
        for name, entry in sorted(services.items())
        if entry["deployed"] and entry.get("wheels", name) is not None
    }
