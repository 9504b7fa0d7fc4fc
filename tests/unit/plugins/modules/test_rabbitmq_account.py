"""nimbus.cloud.rabbitmq_account: the commands it plans from what rabbitmqctl reported. The
module runs them on a real node in the gate (every service's vhost user, the monitoring
account); here: what is asked, that an up-to-date user costs no change, and that the password
is never an argument."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from ansible_collections.nimbus.cloud.plugins.modules.rabbitmq_account import (
    definitions_permissions,
    definitions_users,
    parse_tags,
    password_matches,
    permissions_on,
    plan,
    vhost_plan,
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


def rabbit_hash(password: str, salt: bytes, digest=hashlib.sha256) -> str:
    """A password hash as RabbitMQ stores it: base64(salt + H(salt + password))."""
    return base64.b64encode(salt + digest(salt + password.encode()).digest()).decode()


@pytest.mark.parametrize(
    ("entry", "password", "expected"),
    [
        (
            {"hashing_algorithm": "rabbit_password_hashing_sha256", "password_hash": "H256"},
            SECRET,
            True,
        ),
        (
            {"hashing_algorithm": "rabbit_password_hashing_sha256", "password_hash": "H256"},
            "another",
            False,
        ),
        (
            {"hashing_algorithm": "rabbit_password_hashing_sha512", "password_hash": "H512"},
            SECRET,
            True,
        ),
        # A user without a password (empty hash) never matches.
        ({"hashing_algorithm": "rabbit_password_hashing_sha256", "password_hash": ""}, "", False),
        # Not base64: no match, not an error.
        (
            {"hashing_algorithm": "rabbit_password_hashing_sha256", "password_hash": "*?"},
            SECRET,
            False,
        ),
        # A scheme of its own: unknown here (the module asks the node).
        ({"hashing_algorithm": "my_plugin", "password_hash": "H256"}, SECRET, None),
    ],
    ids=["sha256", "sha256 other password", "sha512", "no password", "garbage", "unknown"],
)
def test_password_matches(entry, password, expected) -> None:
    hashes = {
        "H256": rabbit_hash(SECRET, b"\x01\x02\x03\x04"),
        "H512": rabbit_hash(SECRET, b"\xff\x00\xaa\x55", hashlib.sha512),
    }
    entry = {**entry, "password_hash": hashes.get(entry["password_hash"], entry["password_hash"])}
    assert password_matches(entry, password) is expected


@pytest.mark.parametrize(
    ("vhosts", "queue_type", "expected"),
    [
        ([], "quorum", [(("add_vhost", "/nova", "--default-queue-type", "quorum"), False)]),
        ([], "", [(("add_vhost", "/nova"), False)]),
        ([{"name": "/nova", "default_queue_type": "quorum"}], "quorum", []),
        # RabbitMQ versions that export the type only in the vhost's metadata.
        ([{"name": "/nova", "metadata": {"default_queue_type": "quorum"}}], "quorum", []),
        (
            [{"name": "/nova", "default_queue_type": "classic"}],
            "quorum",
            [(("update_vhost_metadata", "/nova", "--default-queue-type", "quorum"), False)],
        ),
        (
            [{"name": "/nova"}],
            "quorum",
            [(("update_vhost_metadata", "/nova", "--default-queue-type", "quorum"), False)],
        ),
        ([{"name": "/nova", "default_queue_type": "classic"}], "", []),
    ],
    ids=["new", "new untyped", "as wanted", "in metadata", "other type", "no type", "left alone"],
)
def test_vhost_plan(vhosts, queue_type, expected) -> None:
    assert vhost_plan([{"name": "/"}, *vhosts], "/nova", queue_type) == expected


def test_definitions_readers() -> None:
    definitions = {
        "users": [{"name": "nova", "tags": ["monitoring"], "password_hash": "x"}],
        "permissions": [
            {"user": "nova", "vhost": "/nova", "configure": ".*", "write": ".*", "read": ".*"},
            {"user": "glance", "vhost": "/glance", "configure": ".*", "write": ".*", "read": ".*"},
        ],
    }
    assert definitions_users(definitions) == [{"user": "nova", "tags": ["monitoring"]}]
    assert permissions_on(definitions_permissions(definitions, "nova"), "/nova") == (
        ".*",
        ".*",
        ".*",
    )
    assert definitions_permissions(definitions, "keystone") == []
    assert definitions_users({}) == []
