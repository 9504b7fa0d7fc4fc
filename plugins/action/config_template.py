# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Action plugin for nimbus.cloud.config_template.

Render ``src`` on the controller like ansible.builtin.template, merge
``config_overrides`` into the result (plugins/plugin_utils/config_merge), then
hand the text to ansible.legacy.copy so owner, group, mode, backup, validate,
check mode and diff behave exactly as they do for copy.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import pwd
import time
from collections.abc import Mapping
from typing import Any

from ansible import constants
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.nimbus.cloud.plugins.plugin_utils.config_merge import (
    CONFIG_TYPES,
    ChangeSummary,
    ConfigMergeError,
    MergeOptions,
    merge_config,
    summarize,
    to_plain,
    type_name,
    validate_overrides,
)

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 has no template trust

    def trust_as_template(value: str) -> str:
        return value


display = Display()

# Options handed through to ansible.legacy.copy unchanged.
COPY_OPTIONS = (
    "attributes",
    "backup",
    "follow",
    "force",
    "group",
    "mode",
    "owner",
    "selevel",
    "serole",
    "setype",
    "seuser",
    "unsafe_writes",
    "validate",
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "src": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "config_type": {"type": "str", "required": True, "choices": list(CONFIG_TYPES)},
    "config_overrides": {"type": "raw", "default": {}},
    "list_extend": {"type": "bool", "default": False},
    "ignore_none_type": {"type": "bool", "default": True},
    "multi_keys": {"type": "list", "elements": "str", "default": []},
    "attributes": {"type": "str", "aliases": ["attr"]},
    "backup": {"type": "bool", "default": False},
    "follow": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": True},
    "group": {"type": "str"},
    "mode": {"type": "raw"},
    "owner": {"type": "str"},
    "selevel": {"type": "str"},
    "serole": {"type": "str"},
    "setype": {"type": "str"},
    "seuser": {"type": "str"},
    "unsafe_writes": {"type": "bool", "default": False},
    "validate": {"type": "str"},
}

JINJA_OVERRIDES = {"trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"}


class ActionModule(ActionBase):
    """Render, merge overrides, write through ansible.legacy.copy."""

    TRANSFERS_FILES = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars if task_vars is not None else {}
        # Everything that can fail on bad input runs on the controller, before the
        # target is touched (super().run() creates the remote temporary directory).
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        content = self._merged_content(args, task_vars)
        super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        try:
            before = None
            if self._want_summary():
                before = self._current_content(args["dest"], args["follow"], task_vars)
            result = self._copy(content, args, task_vars)
            if before is not None and not result.get("failed"):
                self._add_summary(result, before, content, args)
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _merged_content(self, args: dict[str, Any], task_vars: dict[str, Any]) -> str:
        """Validate overrides, render the template, merge; errors name dest and option."""
        where = f"config_template for {args['dest']} (src {args['src']})"
        try:
            validate_overrides(args["config_overrides"], args["config_type"])
            source = self._find_needle("templates", args["src"])
            rendered = self._render(source, args, task_vars)
            options = MergeOptions(
                list_extend=args["list_extend"],
                ignore_none_type=args["ignore_none_type"],
                multi_keys=tuple(args["multi_keys"]),
            )
            overrides, config_type = args["config_overrides"], args["config_type"]
            return merge_config(rendered, overrides, config_type, options, "rendered template")
        except ConfigMergeError as exc:
            message = f"{where}: {exc}"
            if self._task.no_log:
                # no_log hides the task result; this message carries names, never values.
                display.error(message)
            raise AnsibleActionFail(message) from None
        except AnsibleError as exc:
            raise AnsibleActionFail(f"{where}: {exc.message}") from None

    def _render(self, source: str, args: dict[str, Any], task_vars: dict[str, Any]) -> str:
        """Template ``source`` with the play's variables, as ansible.builtin.template does."""
        data = trust_as_template(self._loader.get_text_file_contents(source))
        variables = task_vars.copy()
        variables.update(template_vars(args["src"], source, args["dest"], task_vars))
        templar = self._templar.copy_with_new_env(
            searchpath=self._search_path(source, task_vars), available_variables=variables
        )
        rendered = templar.template(data, escape_backslashes=False, overrides=JINJA_OVERRIDES)
        return rendered_text(rendered, args["config_type"])

    def _search_path(self, source: str, task_vars: dict[str, Any]) -> list[str]:
        bases = [*task_vars.get("ansible_search_path", []), self._loader._basedir]
        bases.append(os.path.dirname(source))
        return [path for base in bases for path in (os.path.join(base, "templates"), base)]

    def _want_summary(self) -> bool:
        return bool(self._task.diff) and not self._task.no_log

    def _current_content(self, dest: str, follow: bool, task_vars: dict[str, Any]) -> str | None:
        """Text of ``dest`` on the target ('' when absent), None when it cannot be read."""
        stat = self._execute_remote_stat(dest, all_vars=task_vars, follow=follow, checksum=False)
        if not stat.get("exists"):
            return ""
        if not stat.get("isreg"):
            return None
        found = self._execute_module(
            module_name="ansible.legacy.slurp", module_args={"path": dest}, task_vars=task_vars
        )
        if found.get("failed") or "content" not in found:
            return None
        return base64.b64decode(found["content"]).decode("utf-8", errors="replace")

    def _copy(
        self, content: str, args: dict[str, Any], task_vars: dict[str, Any]
    ) -> dict[str, Any]:
        new_task = self._task.copy()
        new_task.args = {key: args[key] for key in COPY_OPTIONS if args.get(key) is not None}
        new_task.args.update(content=content, dest=args["dest"])
        copy_action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy",
            task=new_task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        return copy_action.run(task_vars=task_vars)

    def _add_summary(
        self, result: dict[str, Any], before: str, after: str, args: dict[str, Any]
    ) -> None:
        """Attach which sections/keys changed (names only) to the result and --diff output."""
        summary = ChangeSummary()
        if result.get("changed"):
            try:
                summary = summarize(before, after, args["config_type"])
            except ConfigMergeError as exc:
                display.warning(f"config_template for {args['dest']}: no change summary: {exc}")
                return
        result["config_changes"] = summary.as_dict()
        if not summary.empty:
            title = f"config_template {args['dest']} ({args['config_type']})"
            diffs = result.get("diff") or []
            result["diff"] = [*(diffs if isinstance(diffs, list) else [diffs])]
            result["diff"].append({"prepared": summary.render(title)})


def rendered_text(rendered: object, config_type: str) -> str:
    """Text of a rendered template.

    ansible-core 2.19 returns native data when a template is a single expression
    (``{{ settings }}``); YAML and JSON accept that data as JSON text, INI does not.
    """
    if rendered is None:
        return ""
    if isinstance(rendered, str):
        return str(rendered)
    if not isinstance(rendered, (Mapping, list)):
        return str(rendered)
    if config_type == "ini":
        msg = (
            f"the template renders a {type_name(rendered)}, not INI text; "
            "write the INI lines in the template"
        )
        raise ConfigMergeError(msg)
    return json.dumps(to_plain(rendered, "rendered template"))


def template_vars(path: str, fullpath: str, dest: str, task_vars: dict[str, Any]) -> dict[str, Any]:
    """The template_* variables (and ansible_managed) that ansible.builtin.template offers."""
    stat = os.stat(fullpath)
    try:
        owner: str | int = pwd.getpwuid(stat.st_uid).pw_name
    except KeyError:
        owner = stat.st_uid
    result: dict[str, Any] = {
        "template_host": os.uname()[1],
        "template_path": path,
        "template_fullpath": fullpath,
        "template_destpath": dest,
        "template_uid": owner,
        "template_mtime": datetime.datetime.fromtimestamp(stat.st_mtime),
        "template_run_date": datetime.datetime.now(),
    }
    if "ansible_managed" not in task_vars:
        managed = constants.config.get_config_value("DEFAULT_MANAGED_STR").format(
            host="{{ template_host }}", uid="{{ template_uid }}", file="{{ template_path }}"
        )
        result["ansible_managed"] = trust_as_template(
            time.strftime(managed, time.localtime(stat.st_mtime))
        )
    return result
