"""The shape every digest table test shares (catalog, keystone bootstrap, schema stamp).

A case file holds a `base` entry and lists of cases; each case sets or unsets keys of a copy of
the base and says what the digest of the result is: `same` as the base's, `changed`, or an
`error` whose message must contain the given text.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


def load(test_file: str) -> dict[str, Any]:
    """The cases.yml next to a test module."""
    return yaml.safe_load((Path(test_file).parent / "cases.yml").read_text(encoding="utf-8"))


def params(cases: list[dict[str, Any]]) -> Any:
    """pytest.mark.parametrize over cases, each named by its id."""
    return pytest.mark.parametrize("case", cases, ids=[c["id"] for c in cases])


def entry(base: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """A copy of base with the case's `set` keys set and its `unset` keys removed."""
    result = copy.deepcopy(base)
    result.update(copy.deepcopy(case.get("set", {})))
    for key in case.get("unset", []):
        result.pop(key)
    return result


def check(
    digest: Callable[[dict[str, Any]], str], base: dict[str, Any], case: dict[str, Any]
) -> None:
    """Assert what the case expects of digest(entry(base, case))."""
    value = entry(base, case)
    if case["expect"] == "error":
        with pytest.raises((TypeError, ValueError), match=re.escape(case["error"])):
            digest(value)
        return
    got = digest(value)
    assert re.fullmatch(r"[0-9a-f]{64}", got)
    assert (got == digest(copy.deepcopy(base))) is (case["expect"] == "same")
