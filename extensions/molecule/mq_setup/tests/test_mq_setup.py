"""What mq_setup leaves on RabbitMQ (Molecule scenario mq_setup): the test vhosts and users
converge.yml asked for (vars/test_values.yml), each with exactly what was asked, the users
able to authenticate, and no password in the process list while the role ran."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

# testinfra runs each test once per host of this inventory group.
testinfra_hosts = ["rabbitmq_all"]

TLS_PORT = 5671
MANAGEMENT_PORT = 15671
AMQP_0_9_1 = b"AMQP\x00\x00\x09\x01"
FRAME_END = b"\xce"
# AMQP 0-9-1 methods (class, method) of the connection class.
CONNECTION_START, CONNECTION_START_OK = (10, 10), (10, 11)
CONNECTION_TUNE, CONNECTION_TUNE_OK = (10, 30), (10, 31)
CONNECTION_OPEN, CONNECTION_OPEN_OK = (10, 40), (10, 41)
CONNECTION_CLOSE = (10, 50)
VALUES = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "vars" / "test_values.yml").read_text()
)


@dataclass(frozen=True)
class Account:
    vhost: str
    user: str
    password: str = field(repr=False)
    default_queue_type: str
    # (configure, write, read) on the vhost.
    permissions: tuple[str, str, str]
    tags: frozenset[str]


_SERVICE = VALUES["molecule_mq_service"]
_WATCHER = VALUES["molecule_mq_watcher"]
ACCOUNTS = [
    # Only a vhost, a user and a password: the role's defaults.
    Account(
        vhost=_SERVICE["vhost"],
        user=_SERVICE["user"],
        password=_SERVICE["password"],
        default_queue_type="quorum",
        permissions=(".*", ".*", ".*"),
        tags=frozenset(),
    ),
    # Every option given.
    Account(
        vhost=_WATCHER["vhost"],
        user=_WATCHER["user"],
        password=_WATCHER["password"],
        default_queue_type=_WATCHER["default_queue_type"],
        permissions=(_WATCHER["configure_priv"], _WATCHER["write_priv"], _WATCHER["read_priv"]),
        tags=frozenset(t.strip() for t in _WATCHER["tags"].split(",") if t.strip()),
    ),
]
IDS = [a.user for a in ACCOUNTS]
# Each test account against every vhost it has no permission on: the other test vhost and
# the default one.
FOREIGN = [
    (account, other)
    for account in ACCOUNTS
    for other in [a.vhost for a in ACCOUNTS if a is not account] + ["/"]
]
# The accounts the management API lets in (the management tag).
API_ACCOUNTS = [a for a in ACCOUNTS if "management" in a.tags]


def _recv_exact(conn: ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data


def _read_method(conn: ssl.SSLSocket) -> tuple[tuple[int, int], bytes]:
    """(class, method) and the arguments of the next AMQP frame, a method frame."""
    kind, _channel, size = struct.unpack(">BHI", _recv_exact(conn, 7))
    payload = _recv_exact(conn, size + 1)[:-1]
    assert kind == 1, f"not an AMQP method frame: type {kind}"
    return struct.unpack(">HH", payload[:4]), payload[4:]


def _close_reason(method: tuple[int, int], arguments: bytes) -> str:
    """Reply code and text of a Connection.Close, else the method."""
    if method != CONNECTION_CLOSE:
        return f"method {method}"
    (code,) = struct.unpack(">H", arguments[:2])
    return f"{code} {arguments[3 : 3 + arguments[2]].decode()}"


def _send_method(conn: ssl.SSLSocket, method: tuple[int, int], arguments: bytes) -> None:
    payload = struct.pack(">HH", *method) + arguments
    conn.sendall(struct.pack(">BHI", 1, 0, len(payload)) + payload + FRAME_END)


def _shortstr(text: str) -> bytes:
    return bytes([len(text)]) + text.encode()


@pytest.fixture
def amqp_open(host, management_address):
    """``amqp_open(user, password, vhost)``: how far an AMQP 0-9-1 client gets over TLS on the
    host's management address (certificate verified with the deployment CA): "opened" (the
    broker let it open the vhost), "login refused" (no Connection.Tune after the PLAIN
    credentials) or "vhost refused: <the broker's reply code and text>" (no Open-Ok)."""
    context = ssl.create_default_context(
        cadata=host.file("/etc/rabbitmq/tls/ca.pem").content_string
    )

    def run(user: str, password: str, vhost: str) -> str:
        with (
            socket.create_connection((management_address, TLS_PORT), timeout=15) as raw,
            context.wrap_socket(raw, server_hostname=management_address) as conn,
        ):
            conn.sendall(AMQP_0_9_1)
            assert _read_method(conn)[0] == CONNECTION_START
            response = f"\0{user}\0{password}".encode()
            _send_method(
                conn,
                CONNECTION_START_OK,
                struct.pack(">I", 0)  # client properties: an empty table
                + _shortstr("PLAIN")
                + struct.pack(">I", len(response))
                + response
                + _shortstr("en_US"),
            )
            try:
                method, tune = _read_method(conn)
            except (ConnectionError, ssl.SSLError):
                return "login refused"
            if method != CONNECTION_TUNE:
                return "login refused"
            # Tune-Ok with the broker's own channel-max, frame-max and heartbeat.
            _send_method(conn, CONNECTION_TUNE_OK, tune[:8])
            _send_method(conn, CONNECTION_OPEN, _shortstr(vhost) + _shortstr("") + b"\0")
            try:
                method, arguments = _read_method(conn)
            except (ConnectionError, ssl.SSLError) as error:
                return f"vhost refused: {error}"
            if method == CONNECTION_OPEN_OK:
                return "opened"
            return f"vhost refused: {_close_reason(method, arguments)}"

    return run


@pytest.fixture
def whoami(host, management_address):
    """``whoami(user, password)``: (status, body) of GET /api/whoami over HTTPS on the host's
    management address, the certificate verified with the deployment CA."""
    context = ssl.create_default_context(
        cadata=host.file("/etc/rabbitmq/tls/ca.pem").content_string
    )

    def get(user: str, password: str) -> tuple[int, dict]:
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        request = urllib.request.Request(
            f"https://{management_address}:{MANAGEMENT_PORT}/api/whoami",
            headers={"Authorization": f"Basic {auth}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15, context=context) as reply:  # noqa: S310
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, {}

    return get


@pytest.mark.parametrize("account", ACCOUNTS, ids=IDS)
def test_vhost_with_its_default_queue_type(rabbitmqctl, account):
    vhosts = rabbitmqctl("list_vhosts", "name", "default_queue_type")
    assert [v["default_queue_type"] for v in vhosts if v["name"] == account.vhost] == [
        account.default_queue_type
    ]


@pytest.mark.parametrize("account", ACCOUNTS, ids=IDS)
def test_exactly_the_requested_permissions(rabbitmqctl, account):
    rows = rabbitmqctl("list_user_permissions", account.user)
    assert [(r["vhost"], (r["configure"], r["write"], r["read"])) for r in rows] == [
        (account.vhost, account.permissions)
    ]


@pytest.mark.parametrize("account", ACCOUNTS, ids=IDS)
def test_exactly_the_requested_tags(rabbitmqctl, account):
    (user,) = [u for u in rabbitmqctl("list_users") if u["user"] == account.user]
    assert frozenset(user["tags"]) == account.tags


@pytest.mark.parametrize("account", ACCOUNTS, ids=IDS)
def test_opens_its_vhost_over_tls_with_its_password(amqp_open, account):
    assert amqp_open(account.user, account.password, account.vhost) == "opened"


@pytest.mark.parametrize("account", ACCOUNTS, ids=IDS)
def test_another_password_refused(amqp_open, account):
    assert amqp_open(account.user, account.password[::-1], account.vhost) == "login refused"


@pytest.mark.parametrize(
    ("account", "other"), FOREIGN, ids=[f"{a.user}-{other}" for a, other in FOREIGN]
)
def test_cannot_open_another_vhost(amqp_open, account, other):
    assert amqp_open(account.user, account.password, other).startswith("vhost refused: 530 ")


@pytest.mark.parametrize("account", API_ACCOUNTS, ids=[a.user for a in API_ACCOUNTS])
def test_management_api_knows_it_with_its_tags(whoami, account):
    status, body = whoami(account.user, account.password)
    assert status == 200
    assert body["name"] == account.user
    assert frozenset(body["tags"]) == account.tags
    assert whoami(account.user, account.password[::-1])[0] == 401


def test_no_password_in_the_process_list(host):
    """What converge.yml saw of the process list on the first RabbitMQ host (where mq_setup
    runs) while the role ran: rabbitmqctl creating each user, and no command line with a
    password."""
    variables = host.ansible.get_variables()
    seen = host.file(f"{VALUES['molecule_mq_watch_dir']}/processes")
    if variables["inventory_hostname"] != variables["groups"]["rabbitmq_all"][0]:
        assert not seen.exists
        return
    assert (seen.user, seen.mode) == ("root", 0o600)
    lines = seen.content_string.splitlines()
    for account in ACCOUNTS:
        assert any("add_user" in line and account.user in line.split() for line in lines), (
            f"the samples never caught rabbitmqctl add_user {account.user}"
        )
        shown = [line for line in lines if account.password in line]
        assert shown == [], f"{account.user}'s password in the process list"
