"""Golden-file tests: cases/<name>/{template.*, case.yml, expected.*} plus YAML tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils.config_merge import (
    ConfigMergeError,
    MergeOptions,
    merge_config,
    summarize,
)

HERE = Path(__file__).parent
CASES = sorted(path for path in (HERE / "cases").iterdir() if path.is_dir())


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def only(directory: Path, stem: str) -> Path:
    (found,) = directory.glob(f"{stem}.*")
    return found


def options_of(case: dict[str, Any]) -> MergeOptions:
    raw = case.get("options") or {}
    if "multi_keys" in raw and isinstance(raw["multi_keys"], list):
        raw = {**raw, "multi_keys": tuple(raw["multi_keys"])}
    return MergeOptions(**raw)


@pytest.mark.parametrize("case_dir", CASES, ids=[path.name for path in CASES])
def test_golden_merge(case_dir: Path) -> None:
    case = load_yaml(case_dir / "case.yml")
    template = only(case_dir, "template").read_text(encoding="utf-8")
    expected = only(case_dir, "expected").read_text(encoding="utf-8")
    merged = merge_config(template, case["overrides"], case["config_type"], options_of(case))
    assert merged == expected, case["description"]
    if case.get("reapply_stable", True):
        again = merge_config(merged, case["overrides"], case["config_type"], options_of(case))
        assert again == merged, "merging the same overrides into the output must change nothing"


ERRORS = load_yaml(HERE / "errors.yml")


@pytest.mark.parametrize("case", ERRORS, ids=[case["id"] for case in ERRORS])
def test_errors(case: dict[str, Any]) -> None:
    with pytest.raises(ConfigMergeError) as caught:
        merge_config(case["template"], case["overrides"], case["config_type"], options_of(case))
    message = str(caught.value)
    for part in case["message"]:
        assert part in message
    for secret in case.get("secret", []):
        assert secret not in message


SUMMARIES = load_yaml(HERE / "summary.yml")


@pytest.mark.parametrize("case", SUMMARIES, ids=[case["id"] for case in SUMMARIES])
def test_summary(case: dict[str, Any]) -> None:
    summary = summarize(case["before"], case["after"], case["config_type"])
    assert summary.as_dict() == {
        "added": case.get("added", []),
        "removed": case.get("removed", []),
        "changed": case.get("changed", []),
    }
