"""nimbus.cloud.rabbitmq_account: the commands it plans from what rabbitmqctl reported. The
module runs them on a real node in the gate (every service's vhost user, the monitoring
account); here: what is asked, that an up-to-date user costs no change, and that the password
is never an argument."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.nimbus.cloud.plugins.modules.rabbitmq_account import (
    parse_tags,
    permissions_on,
    plan,
)

SECRET = "s3cr3t-never-in-argv"  # noqa: S105 (a test value)
BASE = {
    "user": "nova",
    "password": SECRET,
    "update_password": "always",
    "tags": [],
    "vhost": "/nova",
    "configure_priv": ".*",
    "write_priv": ".*",
    "read_priv": ".*",
    "state": "present",
}
NOVA = {"user": "nova", "tags": []}
NOVA_PERMS = [{"vhost": "/nova", "configure": ".*", "write": ".*", "read": ".*"}]
SET_PERMS = (("set_permissions", "-p", "/nova", "nova", ".*", ".*", ".*"), False)

CASES: list[tuple[str, dict[str, Any], list[dict], bool, list[dict], list]] = [
    # (name, params over BASE, users, password authenticates, permissions, commands)
    ("new user", {}, [], False, [], [(("add_user", "nova"), True), SET_PERMS]),
    (
        "new user with a tag",
        {"tags": ["monitoring"], "vhost": None},
        [],
        False,
        [],
        [(("add_user", "nova"), True), (("set_user_tags", "nova", "monitoring"), False)],
    ),
    ("up to date", {}, [NOVA], True, NOVA_PERMS, []),
    ("password changed", {}, [NOVA], False, NOVA_PERMS, [(("change_password", "nova"), True)]),
    (
        "on_create keeps the password",
        {"update_password": "on_create"},
        [NOVA],
        False,
        NOVA_PERMS,
        [],
    ),
    (
        "permissions differ",
        {},
        [NOVA],
        True,
        [{"vhost": "/nova", "configure": "^$", "write": ".*", "read": ".*"}],
        [SET_PERMS],
    ),
    (
        "no permission on the vhost yet",
        {},
        [NOVA],
        True,
        [{"vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],
        [SET_PERMS],
    ),
    (
        "an extra tag is removed",
        {},
        [{"user": "nova", "tags": ["administrator"]}],
        True,
        NOVA_PERMS,
        [(("set_user_tags", "nova"), False)],
    ),
    (
        "tags in the old string form",
        {"tags": ["monitoring"]},
        [{"user": "nova", "tags": "[monitoring]"}],
        True,
        NOVA_PERMS,
        [],
    ),
    ("absent and there", {"state": "absent"}, [NOVA], True, [], [(("delete_user", "nova"), False)]),
    ("absent and gone", {"state": "absent"}, [{"user": "glance", "tags": []}], True, [], []),
]


@pytest.mark.parametrize(
    ("params", "users", "authenticates", "perms", "want"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_plan(params, users, authenticates, perms, want) -> None:
    asked: list[str] = []

    def auth() -> bool:
        asked.append("authenticate")
        return authenticates

    def permissions() -> list[dict]:
        asked.append("permissions")
        return perms

    commands = plan({**BASE, **params}, users, auth, permissions)
    assert commands == want
    for argv, _stdin in commands:
        assert SECRET not in argv
    if not users or params.get("state") == "absent":
        assert "authenticate" not in asked  # nothing to check for a new or removed user


def test_tags_and_permissions_readers() -> None:
    assert parse_tags(["monitoring", "management"]) == {"monitoring", "management"}
    assert parse_tags("[administrator, monitoring]") == {"administrator", "monitoring"}
    assert parse_tags("") == set()
    assert permissions_on(NOVA_PERMS, "/nova") == (".*", ".*", ".*")
    assert permissions_on(NOVA_PERMS, "/") is None
