"""roles/galera_server/files/galera_clustercheck.py: the decision table, the HTTP answer, and one
connection end to end over a socket pair (MariaDB replaced by a stand-in)."""

from __future__ import annotations

import importlib.util
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).resolve().parent
PROGRAM = HERE.parents[2] / "roles" / "galera_server" / "files" / "galera_clustercheck.py"
_spec = importlib.util.spec_from_file_location("galera_clustercheck", PROGRAM)
assert _spec and _spec.loader
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

CASES = yaml.safe_load((HERE / "galera_clustercheck_cases.yml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_decide(case: dict[str, Any]) -> None:
    code, reason = check.decide(case["status"], case["read_only"])
    assert code == case["code"]
    assert case["reason"] in reason


def test_response_is_complete_http() -> None:
    raw = check.response(503, "not Synced")
    head, _sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.0 503 Service Unavailable"
    assert f"Content-Length: {len(body)}" in lines
    assert body == b"Galera node: not Synced\r\n"


class FakeStdin:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd


def converse(monkeypatch: pytest.MonkeyPatch, request: bytes, query: Any) -> bytes:
    """Run main() on one end of a socket pair, as systemd would with Accept=yes."""
    client, server = socket.socketpair()
    monkeypatch.setattr(check.sys, "stdin", FakeStdin(server.fileno()))
    monkeypatch.setattr(check, "query_node", query)
    monkeypatch.setenv("GALERA_CHECK_TIMEOUT", "2")
    client.sendall(request)
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(check.main()))
    worker.start()
    answer = b""
    while chunk := client.recv(4096):
        answer += chunk
    worker.join(5)
    client.close()
    server.close()
    assert result == [0]
    return answer


def test_main_answers_200_when_synced(monkeypatch: pytest.MonkeyPatch) -> None:
    status = {
        "wsrep_local_state": "4",
        "wsrep_local_state_comment": "Synced",
        "wsrep_cluster_status": "Primary",
        "wsrep_ready": "ON",
    }
    answer = converse(monkeypatch, b"GET / HTTP/1.0\r\n\r\n", lambda *_: (status, "0"))
    assert answer.startswith(b"HTTP/1.0 200 OK\r\n")
    assert answer.endswith(b"Galera node: Synced and Primary\r\n")


def test_main_answers_503_when_mariadb_cannot_be_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    answer = converse(monkeypatch, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n", refused)
    assert answer.startswith(b"HTTP/1.0 503 Service Unavailable\r\n")
    assert b"cannot read the wsrep status (ConnectionRefusedError" in answer


@pytest.mark.parametrize(
    ("text", "status", "read_only"),
    [
        (
            "wsrep_local_state\t4\nwsrep_cluster_status\tPrimary\n0\n",
            {"wsrep_local_state": "4", "wsrep_cluster_status": "Primary"},
            "0",
        ),
        ("1\n", {}, "1"),
        ("", {}, None),
    ],
    ids=["status-and-read-only", "galera-off", "nothing"],
)
def test_parse_output(text: str, status: dict[str, str], read_only: str | None) -> None:
    assert check.parse_output(text) == (status, read_only)


def test_query_node_names_the_client_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(*_: Any, **__: Any) -> Any:
        return check.subprocess.CompletedProcess(
            [], 1, "", "ERROR 1698 (28000): Access denied for user 'x'@'localhost'\n"
        )

    monkeypatch.setattr(check.subprocess, "run", fake_run)
    with pytest.raises(RuntimeError, match=r"^mariadb: ERROR 1698 \(28000\): Access denied"):
        check.query_node("/run/mysqld/mysqld.sock", 3)


def test_main_succeeds_when_the_client_leaves_early(monkeypatch: pytest.MonkeyPatch) -> None:
    # HAProxy resets check connections once it has the status line: not a failure (a failed
    # unit per check would leave the host "degraded").
    client, server = socket.socketpair()
    monkeypatch.setattr(check.sys, "stdin", FakeStdin(server.fileno()))
    monkeypatch.setattr(check, "query_node", lambda *_: ({}, None))
    monkeypatch.setenv("GALERA_CHECK_TIMEOUT", "2")
    client.sendall(b"GET / HTTP/1.0\r\n\r\n")
    client.close()
    try:
        assert check.main() == 0
    finally:
        server.close()
