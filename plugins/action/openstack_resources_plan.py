# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Action plugin for nimbus.cloud.openstack_resources_plan.

Checks the operator's ``openstack_user_*`` declarations with
plugins/plugin_utils/openstack_resources (image files are looked for on the controller, the
deployment host) and returns the work lists of the openstack_resources role. Never contacts
the host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.nimbus.cloud.plugins.action.validate_variables import (
    extra_vars_origins,
    group_vars_origins,
)
from ansible_collections.nimbus.cloud.plugins.plugin_utils import openstack_resources as res
from ansible_collections.nimbus.cloud.plugins.plugin_utils import variable_checks as vc


def deployed_types(services: Mapping[str, Any], groups: Mapping[str, Any]) -> set[str]:
    """Catalog types of the services that are deployed and have hosts in the inventory."""
    found = set()
    for service in services.values():
        if service.get("deployed") and groups.get(service.get("group"), []):
            found.update(entry.get("type") for entry in service.get("catalog") or [])
    return found


class ActionModule(ActionBase):
    """Check the declared resources; return them as the role's work lists."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        values = {name: self._task.args.get(name) or {} for name in res.VARIABLES}
        services = self._task.args.get("services")
        if services is None:
            services = deployed_types(
                task_vars.get("nimbus_services") or {}, task_vars.get("groups") or {}
            )
        origins = {**group_vars_origins(), **extra_vars_origins()}
        problems = res.check(
            values,
            file_exists=os.path.isfile,
            services=services,
            fix=lambda name: vc.default_fix(name, origins.get(name, "")),
        )
        result["changed"] = False
        if problems:
            result["failed"] = True
            result["problems"] = problems
            result["msg"] = (
                f"openstack_resources: {len(problems)} problem(s) in the declared resources; "
                "nothing was changed:\n" + "\n".join(problems)
            )
            return result
        result.update(res.plan(values))
        return result
