"""Unit tests for the nimbus.cloud.config_template action plugin.

The action runs with a real DataLoader and Templar; the copy action, remote
stat and slurp are replaced by recording fakes.
"""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.nimbus.cloud.plugins.action import config_template

HERE = Path(__file__).parent
CASES = sorted(path for path in (HERE / "config_template_cases").iterdir() if path.is_dir())
ERRORS = yaml.safe_load((HERE / "config_template_errors.yml").read_text(encoding="utf-8"))
SECRET_VARS = {"secret_value": "s3cr3t-value"}


class FakeTask:
    """The parts of Task the action plugin uses."""

    def __init__(self, args: dict[str, Any], search_path: Path, **flags: bool) -> None:
        self.args = args
        self.search_path = search_path
        self.flags = flags
        self.action = "nimbus.cloud.config_template"
        self.async_val = 0
        self.check_mode = flags.get("check_mode", False)
        self.diff = flags.get("diff", False)
        self.no_log = flags.get("no_log", False)

    def get_search_path(self) -> list[str]:
        return [str(self.search_path)]

    def copy(self) -> FakeTask:
        return FakeTask(dict(self.args), self.search_path, **self.flags)


class FakeCopy:
    """Stands in for ansible.legacy.copy and records the task it was given."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        self.tasks: list[FakeTask] = []

    def get(self, name: str, task: FakeTask, **_kwargs: Any) -> FakeCopy:
        assert name == "ansible.legacy.copy"
        self.tasks.append(task)
        return self

    def run(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        return dict(self.result)


def make_action(
    base: Path,
    args: dict[str, Any],
    task_vars: dict[str, Any],
    copy_result: dict[str, Any] | None = None,
    **flags: bool,
) -> tuple[config_template.ActionModule, FakeCopy]:
    loader = DataLoader()
    loader.set_basedir(str(base))
    connection = mock.MagicMock()
    connection._shell.tmpdir = "remote-tmp-dir-that-is-never-used"
    action = config_template.ActionModule(
        task=FakeTask(args, base, **flags),
        connection=connection,
        play_context=mock.MagicMock(),
        loader=loader,
        templar=Templar(loader=loader, variables=task_vars),
        shared_loader_obj=None,
    )
    fake_copy = FakeCopy(copy_result or {"changed": True})
    action._shared_loader_obj = SimpleNamespace(action_loader=fake_copy)
    return action, fake_copy


@pytest.mark.parametrize("case_dir", CASES, ids=[path.name for path in CASES])
def test_golden_render_merge_copy(case_dir: Path) -> None:
    case = yaml.safe_load((case_dir / "task.yml").read_text(encoding="utf-8"))
    (expected_file,) = case_dir.glob("expected.*")
    action, fake_copy = make_action(case_dir, case["args"], case["vars"])
    result = action.run(task_vars=dict(case["vars"]))
    assert result == {"changed": True}
    (copy_task,) = fake_copy.tasks
    content = copy_task.args.pop("content")
    assert content == expected_file.read_text(encoding="utf-8"), case["description"]
    assert copy_task.args == case["copy_args"]


@pytest.mark.parametrize("case", ERRORS, ids=[case["id"] for case in ERRORS])
def test_bad_input_fails_before_the_target(case: dict[str, Any]) -> None:
    base = HERE / "config_template_errors"
    task_vars = {**SECRET_VARS, **case.get("vars", {})}
    action, fake_copy = make_action(base, case["args"], task_vars)
    action._execute_module = mock.Mock(side_effect=AssertionError("target touched"))
    action._connection._shell.tmpdir = None
    action._make_tmp_path = mock.Mock(side_effect=AssertionError("remote tmp dir created"))
    with pytest.raises(AnsibleActionFail) as caught:
        action.run(task_vars=task_vars)
    message = str(caught.value)
    for part in case["message"]:
        assert part in message
    for secret in case.get("secret", []):
        assert secret not in message
    assert not fake_copy.tasks


INI_ARGS = {
    "src": "plain.ini.j2",
    "dest": "/etc/x.conf",
    "config_type": "ini",
    "config_overrides": {"DEFAULT": {"debug": True}},
}


def slurp_result(text: str) -> dict[str, Any]:
    return {"content": base64.b64encode(text.encode()).decode(), "encoding": "base64"}


def test_diff_mode_adds_a_summary_of_names() -> None:
    base = HERE / "config_template_errors"
    copy_result = {"changed": True, "diff": [{"before": "x", "after": "y"}]}
    action, _copy = make_action(base, dict(INI_ARGS), SECRET_VARS, copy_result, diff=True)
    action._execute_remote_stat = mock.Mock(return_value={"exists": True, "isreg": True})
    action._execute_module = mock.Mock(return_value=slurp_result("[DEFAULT]\npassword = old\n"))
    result = action.run(task_vars=dict(SECRET_VARS))
    assert result["config_changes"] == {
        "added": ["[DEFAULT] debug"],
        "removed": [],
        "changed": ["[DEFAULT] password"],
    }
    prepared = result["diff"][-1]["prepared"]
    assert "added    [DEFAULT] debug" in prepared
    assert "s3cr3t-value" not in prepared
    assert "old" not in prepared


def test_diff_mode_with_absent_file_lists_everything_added() -> None:
    base = HERE / "config_template_errors"
    action, _copy = make_action(base, dict(INI_ARGS), SECRET_VARS, diff=True)
    action._execute_remote_stat = mock.Mock(return_value={"exists": False})
    result = action.run(task_vars=dict(SECRET_VARS))
    assert result["config_changes"]["added"] == [
        "[DEFAULT]",
        "[DEFAULT] password",
        "[DEFAULT] debug",
    ]


def test_unchanged_file_has_empty_summary_and_keeps_copy_diff() -> None:
    base = HERE / "config_template_errors"
    copy_diff = {"before": {"path": "/etc/x.conf"}, "after": {"path": "/etc/x.conf"}}
    copy_result = {"changed": False, "diff": copy_diff}
    action, _copy = make_action(base, dict(INI_ARGS), SECRET_VARS, copy_result, diff=True)
    action._execute_remote_stat = mock.Mock(return_value={"exists": True, "isreg": True})
    action._execute_module = mock.Mock(return_value=slurp_result("[DEFAULT]\n"))
    result = action.run(task_vars=dict(SECRET_VARS))
    assert result["config_changes"] == {"added": [], "removed": [], "changed": []}
    assert result["diff"] == copy_diff


def test_no_log_skips_reading_the_target_and_the_summary() -> None:
    base = HERE / "config_template_errors"
    action, _copy = make_action(base, dict(INI_ARGS), SECRET_VARS, diff=True, no_log=True)
    action._execute_remote_stat = mock.Mock(side_effect=AssertionError("stat called"))
    action._execute_module = mock.Mock(side_effect=AssertionError("slurp called"))
    result = action.run(task_vars=dict(SECRET_VARS))
    assert "config_changes" not in result


def test_no_log_still_prints_input_errors_without_values() -> None:
    base = HERE / "config_template_errors"
    args = {**INI_ARGS, "config_overrides": {"DEFAULT": "password=hunter2"}}
    action, _copy = make_action(base, args, SECRET_VARS, no_log=True)
    with (
        mock.patch.object(config_template.display, "error") as shown,
        pytest.raises(AnsibleActionFail),
    ):
        action.run(task_vars=dict(SECRET_VARS))
    (message,), _kwargs = shown.call_args
    assert "config_overrides['DEFAULT'] must be a mapping" in message
    assert "hunter2" not in message


def test_template_vars_offer_ansible_managed_unless_set(tmp_path: Path) -> None:
    template = tmp_path / "a.j2"
    template.write_text("x")
    offered = config_template.template_vars("a.j2", str(template), "/etc/a", {})
    assert offered["template_path"] == "a.j2"
    assert offered["template_destpath"] == "/etc/a"
    assert "ansible_managed" in offered
    assert "ansible_managed" not in config_template.template_vars(
        "a.j2", str(template), "/etc/a", {"ansible_managed": "mine"}
    )
