# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)

# This module is implemented entirely by the action plugin
# plugins/action/validate_variables.py; this file only carries its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: validate_variables
short_description: Check role variables (types, values, secrets) and the operator's variable names
description:
  - "O(scope=values): for every role the host runs (from C(nimbus_role_groups), or O(roles)),
    checks each variable declared in the role's C(meta/argument_specs.yml): its type and
    C(choices), and the constraints of the role's C(meta/variable_checks.yml) (ranges, ports and
    port clashes on the host, sizes, addresses on the host's networks, URLs, durations, file
    modes, systemd calendar expressions, override shapes, required secrets). The value checked
    is the one the role will use: the operator's, the inventory's or group_vars', else the
    role default templated with the host's variables."
  - Fails with one line per problem (variable, the file it came from when it was set with
    C(-e), its value, what is allowed, the fix) and one line naming every missing secret.
    Secret values are never shown.
  - "O(scope=names): every variable of the operator's C(-e @file) files (the C(user_*.yml) of
    the configuration directory) that no role, playbook, group_vars file or inventory knows is
    reported with the closest known name. A warning, or a failure with O(strict)."
  - Runs on the controller only; never contacts the host and never changes anything.
options:
  scope:
    description: What to check.
    type: str
    choices: [values, names]
    default: values
  roles:
    description:
      - Roles whose variables are checked.
      - Default, every role of C(nimbus_role_groups) whose group the host is in.
    type: list
    elements: str
  skip_checked:
    description:
      - Skip the roles listed in the host variable C(nimbus_prechecks_checked_roles)
        (set by the prechecks of this run).
    type: bool
    default: true
  strict:
    description: With O(scope=names), fail instead of warning.
    type: bool
    default: false
  ignore:
    description:
      - With O(scope=names), names (or prefixes ending in C(*)) that are the operator's own.
    type: list
    elements: str
    default: []
author:
  - Nimbus developers (@nimbus-cloud)
"""

EXAMPLES = r"""
- name: Check the variables of every role of this host
  nimbus.cloud.validate_variables:

- name: Check the operator's variable names once
  nimbus.cloud.validate_variables:
    scope: names
    strict: "{{ nimbus_strict_variable_names | bool }}"
    ignore: "{{ nimbus_variable_names_ignore }}"
  run_once: true
"""

RETURN = r"""
roles:
  description: The roles checked.
  returned: scope values
  type: list
  elements: str
unknown:
  description: One line per unknown name.
  returned: scope names
  type: list
  elements: str
"""
