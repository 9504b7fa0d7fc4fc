# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Action plugin for nimbus.cloud.validate_variables.

Gathers, on the controller, the values of every variable a host's roles declare in their
``meta/argument_specs.yml`` (operator values, inventory and group_vars, else the role's
default templated with the host's variables) and where the operator set them, then lets
plugins/plugin_utils/variable_checks decide. Never contacts the host.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml
from ansible import context
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.nimbus.cloud.plugins.plugin_utils import variable_checks as vc

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 has no template trust

    def trust_as_template(value: Any) -> Any:
        return value


display = Display()

COLLECTION = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES_DIR = os.path.join(COLLECTION, "roles")
ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "roles": {"type": "list", "elements": "str"},
    "scope": {"type": "str", "choices": ["values", "names"], "default": "values"},
    "skip_checked": {"type": "bool", "default": True},
    "strict": {"type": "bool", "default": False},
    "ignore": {"type": "list", "elements": "str", "default": []},
}
# Names every host has that no role declares: Ansible's and the inventory plugin's.
INVENTORY_NAMES = (
    "ansible_host",
    "management_address",
    "physical_host",
    "container_networks",
    "is_metal",
    "tunnel_address",
    "storage_address",
)
WORD = re.compile(r"\b[a-z_][a-z0-9_]{2,}\b")


def _trusted(value: Any) -> Any:
    """A role default as Ansible loads it: its strings may be templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, Mapping):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def _read_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as err:
        raise AnsibleError(f"validate_variables: cannot read {path}: {err}") from err


@cache
def role_options(role: str) -> dict[str, Any]:
    """The options of the ``main`` entry point of a role's argument spec, with constraints."""
    path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
    data = _read_yaml(path)
    if not isinstance(data, Mapping):
        raise AnsibleError(f"validate_variables: no role {role!r} (no {path})")
    options = ((data.get("argument_specs") or {}).get("main") or {}).get("options") or {}
    checks = _read_yaml(os.path.join(ROLES_DIR, role, "meta", "variable_checks.yml"))
    try:
        return vc.merge_checks(role, options, checks if isinstance(checks, Mapping) else {})
    except vc.SpecError as err:
        raise AnsibleError(f"validate_variables: {err}") from err


@cache
def role_defaults(role: str) -> dict[str, Any]:
    data = _read_yaml(os.path.join(ROLES_DIR, role, "defaults", "main.yml"))
    return dict(data) if isinstance(data, Mapping) else {}


@cache
def collection_names() -> frozenset[str]:
    """Every variable name the collection knows: role specs, defaults and vars, group_vars,
    the examples of etc/openstack_deploy, and the words of playbooks and role tasks."""
    names: set[str] = set(INVENTORY_NAMES)
    for role in sorted(os.listdir(ROLES_DIR)):
        names.update(
            role_options(role) if os.path.isdir(os.path.join(ROLES_DIR, role, "meta")) else {}
        )
        names.update(role_defaults(role))
        for sub in ("vars", "tasks", "handlers", "templates"):
            names.update(_words_under(os.path.join(ROLES_DIR, role, sub)))
    for sub in ("group_vars", "etc/openstack_deploy"):
        for path in _files_under(os.path.join(COLLECTION, sub)):
            data = _read_yaml(path) if path.endswith((".yml", ".yaml")) else None
            if isinstance(data, Mapping):
                names.update(str(k) for k in data)
    names.update(_words_under(os.path.join(COLLECTION, "playbooks")))
    return frozenset(names)


def _files_under(top: str) -> list[str]:
    found = []
    for base, _dirs, files in os.walk(top):
        found.extend(os.path.join(base, f) for f in sorted(files))
    return found


def _words_under(top: str) -> set[str]:
    words: set[str] = set()
    for path in _files_under(top):
        try:
            with open(path, encoding="utf-8") as handle:
                words.update(WORD.findall(handle.read()))
        except (OSError, UnicodeDecodeError):
            continue
    return words


@cache
def group_vars_origins() -> dict[str, str]:
    """Variable -> the collection's group_vars file that sets it."""
    origins: dict[str, str] = {}
    top = os.path.join(COLLECTION, "group_vars")
    for path in _files_under(top):
        data = _read_yaml(path) if path.endswith((".yml", ".yaml")) else None
        for name in data if isinstance(data, Mapping) else {}:
            origins[str(name)] = os.path.relpath(path, COLLECTION)
    return origins


def extra_vars_origins() -> dict[str, str]:
    """Variable -> where the command line set it: the ``-e @file`` path, or ``-e``."""
    origins: dict[str, str] = {}
    for item in context.CLIARGS.get("extra_vars", ()) or ():
        text = str(item).strip()
        if text.startswith("@"):
            path = text[1:]
            data = _read_yaml(path)
            names = data if isinstance(data, Mapping) else {}
            origin = path
        else:
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                data = None
            if not isinstance(data, Mapping):
                data = dict(part.split("=", 1) for part in text.split() if "=" in part)
            names, origin = data, "-e"
        for name in names:
            origins[str(name)] = origin
    return origins


class ActionModule(ActionBase):
    """Check variables (scope values, per host) or names (scope names, once per run)."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars if task_vars is not None else {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["scope"] == "names":
            return self._check_names(result, args, task_vars)
        return self._check_values(result, args, task_vars)

    # --- values ---------------------------------------------------------------------------

    def _host_roles(self, args: dict[str, Any], task_vars: dict[str, Any]) -> list[str]:
        if args["roles"] is not None:
            return list(args["roles"])
        groups = set(task_vars.get("group_names", [])) | {"all"}
        role_groups = self._templar.template(task_vars.get("nimbus_role_groups", {}))
        return [role for role, group in role_groups.items() if group in groups]

    def _check_values(
        self, result: dict[str, Any], args: dict[str, Any], task_vars: dict[str, Any]
    ) -> dict[str, Any]:
        roles = self._host_roles(args, task_vars)
        checked = (
            set(task_vars.get("nimbus_prechecks_checked_roles") or [])
            if args["skip_checked"]
            else set()
        )
        todo = [role for role in roles if role not in checked]
        result.update(changed=False, roles=todo, skipped_roles=sorted(set(roles) - set(todo)))
        if not todo:
            result["msg"] = f"already checked by the prechecks of this run: {', '.join(roles)}"
            return result
        origins = {**group_vars_origins(), **extra_vars_origins()}
        specs = {role: role_options(role) for role in todo}
        values: dict[str, Any] = {}
        problems: list[vc.Problem] = []
        for role in todo:
            role_values, role_problems = self._values(role, specs[role], task_vars, origins)
            values.update(role_values)
            problems.extend(role_problems)
        host = vc.HostContext(
            name=str(task_vars.get("inventory_hostname", "")),
            networks=self._templar.template(task_vars.get("container_networks", {})) or {},
        )
        try:
            found, missing = vc.check_host(specs, values, host, origins)
        except vc.SpecError as err:
            raise AnsibleError(
                f"validate_variables: bad declaration in a role's argument spec: {err}"
            ) from err
        problems.extend(found)
        if problems or missing:
            config_dir = str(
                self._templar.template(task_vars.get("nimbus_config_dir", "/etc/openstack_deploy"))
            )
            result["failed"] = True
            # The message alone: every other key would repeat it in the failure output.
            return {
                "failed": True,
                "changed": False,
                "msg": vc.report(host.name, problems, missing, config_dir),
            }
        result["msg"] = f"variables of {', '.join(todo)}: ok"
        return result

    def _values(
        self,
        role: str,
        options: Mapping[str, Any],
        task_vars: dict[str, Any],
        origins: Mapping[str, str],
    ) -> tuple[dict[str, Any], list[vc.Problem]]:
        """Templated values of a role's variables: the host's, else the role's default."""
        defaults = role_defaults(role)
        env = {k: _trusted(v) for k, v in defaults.items()}
        env.update(task_vars)
        templar = self._templar.copy_with_new_env(available_variables=env)
        values: dict[str, Any] = {}
        problems: list[vc.Problem] = []
        for name in options:
            if name in task_vars:
                raw, from_default = task_vars[name], False
            elif name in defaults:
                raw, from_default = env[name], True
            else:
                continue
            try:
                values[name] = templar.template(raw)
            except Exception as err:  # any templating error is a problem of the value
                if from_default:
                    continue  # a default that needs facts of a later task: the role checks it
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                secret = bool(options[name].get("no_log"))
                problems.append(
                    vc.Problem(
                        variable=name,
                        value="(secret, not shown)" if secret else vc.show(raw),
                        allowed=f"cannot be worked out ({first})",
                        fix=vc.default_fix(name, origins.get(name, "")),
                        origin=origins.get(name, ""),
                        role=role,
                    )
                )
        return values, problems

    # --- names ----------------------------------------------------------------------------

    def _check_names(
        self, result: dict[str, Any], args: dict[str, Any], task_vars: dict[str, Any]
    ) -> dict[str, Any]:
        origins = extra_vars_origins()
        given = {name: origin for name, origin in origins.items() if origin != "-e"}
        known = set(collection_names()) | self._inventory_names()
        lines = vc.unknown_names(given, known, args["ignore"] + ["ansible_*"])
        result.update(changed=False, unknown=lines)
        if not lines:
            result["msg"] = f"every name of the operator's files is known ({len(given)} checked)"
            return result
        text = "\n".join(f"  - {line}" for line in lines)
        fix = (
            "Fix the spelling, or list names of your own in nimbus_variable_names_ignore"
            " (user_variables.yml)."
        )
        if args["strict"]:
            result["failed"] = True
            head = f"{len(lines)} unknown variable name(s) (nimbus_strict_variable_names is on)"
            result["msg"] = f"{head}:\n{text}\n{fix}"
        else:
            display.warning(
                f"{len(lines)} variable name(s) no role knows (ignored by Ansible):\n{text}\n{fix}"
            )
            result["msg"] = f"{len(lines)} unknown variable name(s), see the warning"
        return result

    def _inventory_names(self) -> set[str]:
        """Names the inventory sets (host and group variables, e.g. global_overrides)."""
        names: set[str] = set()
        manager = getattr(self._task, "_variable_manager", None)
        inventory = getattr(manager, "_inventory", None)
        if inventory is None:
            return names
        for group in inventory.groups.values():
            names.update(group.get_vars())
        for host in inventory.hosts.values():
            names.update(host.get_vars())
        return names
