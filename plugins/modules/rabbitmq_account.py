#!/usr/bin/python
# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""A RabbitMQ user, its tags and its permissions on one vhost, with the password never on a
command line."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rabbitmq_account
short_description: Manage a RabbitMQ user without putting its password on a command line
version_added: "0.1.0"
author:
  - Nimbus developers (@nimbus-cloud)
description:
  - Creates, updates or removes a user of RabbitMQ's internal database with C(rabbitmqctl) on the
    node's host, with its tags and its permissions on one vhost.
  - The password goes to C(rabbitmqctl add_user), C(change_password) and C(authenticate_user) on
    standard input, never as an argument, so no process list shows it (the
    C(community.rabbitmq.rabbitmq_user) module passes it as an argument, on every run with
    C(update_password=always)).
  - An existing user's password is checked with C(authenticate_user) and changed only when it
    does not authenticate.
  - A run with nothing to change costs three C(rabbitmqctl) calls (users, the password check,
    permissions).
options:
  user:
    description: The user name.
    type: str
    required: true
  password:
    description: The password; required with I(state=present).
    type: str
  update_password:
    description: C(always) checks an existing user's password and changes it when it differs;
      C(on_create) sets it only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
  tags:
    description: The user's tags (for example C(monitoring)); other tags are removed.
    type: list
    elements: str
    default: []
  vhost:
    description: The vhost the permissions apply to; without it, permissions are not managed.
    type: str
  configure_priv:
    description: Configure permission (a regular expression).
    type: str
    default: "^$"
  write_priv:
    description: Write permission (a regular expression).
    type: str
    default: "^$"
  read_priv:
    description: Read permission (a regular expression).
    type: str
    default: "^$"
  node:
    description:
      - The Erlang node name C(rabbitmqctl) talks to for the commands that do not read the
        password.
      - The commands that read it (C(add_user), C(change_password), C(authenticate_user)) talk to
        the host's own node, the C(NODENAME) of C(rabbitmq-env.conf), because C(rabbitmqctl)
        (RabbitMQ 4.0) waits forever for a password on standard input when a node is named on
        its command line. Run the module on the host of I(node).
    type: str
  state:
    description: Whether the user exists.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Reads the current state and reports what would change, without changing it.
    support: full
  diff_mode:
    description: Not supported.
    support: none
"""

EXAMPLES = r"""
- name: Create the monitoring account
  nimbus.cloud.rabbitmq_account:
    user: monitoring
    password: "{{ rabbitmq_monitoring_password }}"
    tags: [monitoring]
    vhost: /
    node: rabbit@infra1
  no_log: true
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be), without the password.
  returned: always
  type: list
  elements: str
  sample: ["add_user nova", "set_permissions -p /nova nova"]
"""

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.module_utils.basic import AnsibleModule

# What rabbitmqctl is asked, as (argv after "rabbitmqctl --node N", password on stdin or not).
Command = tuple[tuple[str, ...], bool]


def parse_tags(value: Any) -> set[str]:
    """Tags from list_users' JSON: a list (RabbitMQ 3.9+) or a "[a, b]" string (older)."""
    if isinstance(value, list):
        return {str(t) for t in value if str(t)}
    text = str(value or "").strip().strip("[]")
    return {t.strip() for t in text.split(",") if t.strip()}


def find_user(users: Sequence[Mapping[str, Any]], user: str) -> Mapping[str, Any] | None:
    return next((u for u in users if u.get("user") == user), None)


def permissions_on(rows: Sequence[Mapping[str, Any]], vhost: str) -> tuple[str, str, str] | None:
    """(configure, write, read) of a list_user_permissions row for VHOST, None without one."""
    for row in rows:
        if row.get("vhost") == vhost:
            return (str(row.get("configure")), str(row.get("write")), str(row.get("read")))
    return None


def plan(
    params: Mapping[str, Any],
    users: Sequence[Mapping[str, Any]],
    authenticates: Callable[[], bool],
    permissions: Callable[[], Sequence[Mapping[str, Any]]],
) -> list[Command]:
    """The rabbitmqctl commands that bring the user to PARAMS. AUTHENTICATES and PERMISSIONS
    ask the node, and are called only when the answer matters. The password is never in a
    command's arguments: commands flagged True read it on standard input."""
    user = params["user"]
    current = find_user(users, user)
    if params["state"] == "absent":
        return [(("delete_user", user), False)] if current else []
    commands: list[Command] = []
    if current is None:
        commands.append((("add_user", user), True))
    elif params["update_password"] == "always" and not authenticates():  # noqa: S105 (a choice)
        commands.append((("change_password", user), True))
    wanted_tags = sorted(set(params["tags"]))
    tags_differ = current is None or parse_tags(current.get("tags")) != set(wanted_tags)
    if tags_differ and (current is not None or wanted_tags):
        commands.append((("set_user_tags", user, *wanted_tags), False))
    vhost = params.get("vhost")
    if vhost:
        wanted = (params["configure_priv"], params["write_priv"], params["read_priv"])
        have = None if current is None else permissions_on(permissions(), vhost)
        if have != wanted:
            commands.append((("set_permissions", "-p", vhost, user, *wanted), False))
    return commands


def describe(command: Command) -> str:
    argv = command[0]
    if argv[0] == "set_permissions":  # the patterns are noise in a summary
        return " ".join(argv[:4])
    return " ".join(argv)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "user": {"type": "str", "required": True},
            "password": {"type": "str", "no_log": True},
            "update_password": {
                "type": "str",
                "choices": ["always", "on_create"],
                "default": "always",
                "no_log": False,
            },
            "tags": {"type": "list", "elements": "str", "default": []},
            "vhost": {"type": "str"},
            "configure_priv": {"type": "str", "default": "^$"},
            "write_priv": {"type": "str", "default": "^$"},
            "read_priv": {"type": "str", "default": "^$"},
            "node": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        required_if=[("state", "present", ("password",))],
        supports_check_mode=True,
    )
    params = module.params
    ctl = [module.get_bin_path("rabbitmqctl", required=True)]
    if params["node"]:
        ctl += ["--node", params["node"]]
    password_input = f"{params['password']}\n" if params["password"] is not None else None

    def run(argv: Sequence[str], with_password: bool = False, check_rc: bool = True) -> tuple:
        # A command reading the password names no node (see the option node).
        rc, out, err = module.run_command(
            [*(ctl[:1] if with_password else ctl), *argv],
            data=password_input if with_password else None,
            binary_data=True,
        )
        if check_rc and rc != 0:
            module.fail_json(
                msg=f"rabbitmqctl {argv[0]} {params['user']} failed (exit {rc}): "
                f"{(err or out).strip()[-500:]}",
                rc=rc,
            )
        return rc, out

    def read_json(argv: Sequence[str]) -> Any:
        _rc, out = run([*argv, "--formatter", "json", "--silent"])
        try:
            return json.loads(out or "[]")
        except ValueError:
            module.fail_json(msg=f"rabbitmqctl {argv[0]}: not JSON: {out[-300:]!r}")

    users = read_json(["list_users"])
    commands = plan(
        params,
        users,
        authenticates=lambda: run(["authenticate_user", params["user"]], True, False)[0] == 0,
        permissions=lambda: read_json(["list_user_permissions", params["user"]]),
    )
    if not module.check_mode:
        for argv, with_password in commands:
            run(argv, with_password)
    module.exit_json(changed=bool(commands), actions=[describe(c) for c in commands])


if __name__ == "__main__":
    main()
