# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filters nimbus.cloud.tempest_results and tempest_problems.

Logic: plugins/plugin_utils/tempest_results.py.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: tempest_results
short_description: Counts, failures and skip reasons of a tempest run from its subunit stream
version_added: "0.1.0"
author: Nimbus developers
description:
  - Reads a subunit v2 stream (a stestr run, C(.stestr/<n>) of the tempest workspace) given
    base64-encoded, as C(ansible.builtin.slurp) returns it.
  - Returns C(passed), C(failed), C(skipped), C(total), C(seconds) (first to last timestamp),
    C(failures) (test and the end of its traceback) and C(skips) (test and tempest's reason).
  - C(xfail) counts as passed, C(uxsuccess) as failed, a test that never finished as failed;
    a skip is never a pass.
  - The filter C(tempest_problems) of the same file lists why a summary is not a success (a
    failed test, or no test passed).
options:
  _input:
    description: The stream, base64-encoded.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Count the results
  ansible.builtin.debug:
    msg: "{{ (_stream.content | nimbus.cloud.tempest_results).failed }} failed"
"""

RETURN = r"""
_value:
  description: The summary (counts, failures, skips, seconds).
  type: dict
"""

import base64
import binascii
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.plugin_utils.tempest_results import (
    SubunitError,
    problems,
    summarize,
)


def tempest_results(content: str) -> dict[str, Any]:
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise AnsibleFilterError(f"tempest_results: the input is not base64 ({exc})") from exc
    try:
        return summarize(data)
    except SubunitError as exc:
        raise AnsibleFilterError(f"tempest_results: {exc}") from exc


def tempest_problems(summary: dict[str, Any]) -> list[str]:
    return problems(summary)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"tempest_results": tempest_results, "tempest_problems": tempest_problems}
