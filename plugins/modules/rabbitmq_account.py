#!/usr/bin/python
# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""A RabbitMQ user, its tags and its permissions on one vhost (and that vhost, with its default
queue type), with the password never on a command line."""

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
  - The current state (users with their password hashes, permissions and vhosts) is read with
    one C(rabbitmqctl export_definitions) call. An existing user's password is checked against its
    hash (RabbitMQ's salted SHA-256, SHA-512 or MD5 scheme) and changed only when it does not
    match; a hash of another scheme is checked with C(authenticate_user).
  - A run with nothing to change costs one C(rabbitmqctl) call.
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
  create_vhost:
    description:
      - Create I(vhost) when it does not exist, with I(default_queue_type), and set that type
        on an existing vhost whose own type differs. Without it, the vhost must exist.
    type: bool
    default: false
  default_queue_type:
    description:
      - The vhost's default queue type (for example C(quorum)), with I(create_vhost); empty
        leaves it to the node's default.
    type: str
    default: ""
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
- name: Create nova's vhost with quorum queues, and its user with every permission on it
  nimbus.cloud.rabbitmq_account:
    user: nova
    password: "{{ nova_oslomsg_rpc_password }}"
    vhost: /nova
    create_vhost: true
    default_queue_type: quorum
    configure_priv: ".*"
    read_priv: ".*"
    write_priv: ".*"
    node: rabbit@infra1
  no_log: true

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
  sample: ["add_vhost /nova", "add_user nova", "set_permissions -p /nova nova"]
"""

import base64
import binascii
import hashlib
import hmac
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


# RabbitMQ's password hashing modules: the hash is base64(salt + H(salt + password)), 4-byte salt.
HASHES: dict[str, Callable[[bytes], Any]] = {
    "rabbit_password_hashing_sha256": hashlib.sha256,
    "rabbit_password_hashing_sha512": hashlib.sha512,
    "rabbit_password_hashing_md5": hashlib.md5,
}
SALT_BYTES = 4


def password_matches(entry: Mapping[str, Any], password: str) -> bool | None:
    """Whether PASSWORD is the one whose hash ENTRY (a user of export_definitions) holds; None
    when its hashing algorithm is not one of HASHES (ask the node instead)."""
    digest = HASHES.get(str(entry.get("hashing_algorithm", "")))
    if digest is None:
        return None
    try:
        stored = base64.b64decode(str(entry.get("password_hash") or ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    salt, hashed = stored[:SALT_BYTES], stored[SALT_BYTES:]
    if len(salt) < SALT_BYTES or not hashed:
        return False  # no password (a user that cannot log in with one)
    return hmac.compare_digest(digest(salt + password.encode()).digest(), hashed)


def definitions_users(definitions: Mapping[str, Any]) -> list[dict[str, Any]]:
    """export_definitions' users in list_users' shape (user, tags)."""
    return [
        {"user": u.get("name"), "tags": u.get("tags", [])} for u in definitions.get("users", [])
    ]


def definitions_permissions(definitions: Mapping[str, Any], user: str) -> list[dict[str, Any]]:
    """export_definitions' permissions of USER in list_user_permissions' shape."""
    return [p for p in definitions.get("permissions", []) if p.get("user") == user]


def vhost_plan(vhosts: Sequence[Mapping[str, Any]], vhost: str, queue_type: str) -> list[Command]:
    """The commands that create VHOST (export_definitions' vhosts) with QUEUE_TYPE, or set
    that type on it when its own differs; QUEUE_TYPE empty leaves the type alone."""
    current = next((v for v in vhosts if v.get("name") == vhost), None)
    typed = ("--default-queue-type", queue_type) if queue_type else ()
    if current is None:
        return [(("add_vhost", vhost, *typed), False)]
    have = current.get("default_queue_type") or (current.get("metadata") or {}).get(
        "default_queue_type"
    )
    if queue_type and have != queue_type:
        return [(("update_vhost_metadata", vhost, *typed), False)]
    return []


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
    if argv[0] in ("add_vhost", "update_vhost_metadata"):
        return " ".join(argv[:2])
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
            "create_vhost": {"type": "bool", "default": False},
            "default_queue_type": {"type": "str", "default": ""},
            "configure_priv": {"type": "str", "default": "^$"},
            "write_priv": {"type": "str", "default": "^$"},
            "read_priv": {"type": "str", "default": "^$"},
            "node": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        required_if=[("state", "present", ("password",)), ("create_vhost", True, ("vhost",))],
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
        _rc, out = run([*argv, "--silent"])
        try:
            return json.loads(out or "[]")
        except ValueError:
            module.fail_json(msg=f"rabbitmqctl {argv[0]}: not JSON: {out[-300:]!r}")

    # The command's own --format: with --formatter json the definitions come back as a string
    # inside {"message": ...}.
    definitions = read_json(["export_definitions", "-", "--format", "json"])
    if not isinstance(definitions, dict):
        module.fail_json(msg="rabbitmqctl export_definitions: not a JSON object")
    entry = next((u for u in definitions.get("users", []) if u.get("name") == params["user"]), {})

    def authenticates() -> bool:
        matches = password_matches(entry, params["password"] or "")
        if matches is None:  # a hashing scheme of its own: ask the node
            return run(["authenticate_user", params["user"]], True, False)[0] == 0
        return matches

    commands: list[Command] = []
    if params["create_vhost"] and params["state"] == "present":
        commands += vhost_plan(
            definitions.get("vhosts", []), params["vhost"], params["default_queue_type"]
        )
    commands += plan(
        params,
        definitions_users(definitions),
        authenticates=authenticates,
        permissions=lambda: definitions_permissions(definitions, params["user"]),
    )
    if not module.check_mode:
        for argv, with_password in commands:
            run(argv, with_password)
    module.exit_json(changed=bool(commands), actions=[describe(c) for c in commands])


if __name__ == "__main__":
    main()
