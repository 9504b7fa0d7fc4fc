# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Galera cluster check for HAProxy: answers one HTTP request on stdin/stdout.

Started by galera-clustercheck.socket (Accept=yes) for every connection. It reads this node's
wsrep state with the mariadb client through the unix socket, as its own OS user (MariaDB
account of the same name, unix_socket authentication, no privilege beyond USAGE), and answers
  200 when the node is Synced (wsrep_local_state 4), in the Primary component, ready for
      queries and not read-only;
  503 otherwise, and when MariaDB cannot be asked (the body says why).
Settings come from the environment: GALERA_CHECK_SOCKET (MariaDB socket, default
/run/mysqld/mysqld.sock), GALERA_CHECK_TIMEOUT (seconds for reading the request and for
MariaDB, default 3).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import subprocess
import sys

SYNCED = "4"
CLIENT = "/usr/bin/mariadb"
STATUS_QUERY = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN "
    "('wsrep_local_state', 'wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_ready')"
)
READ_ONLY_QUERY = "SELECT @@global.read_only"
REASONS = {200: "OK", 503: "Service Unavailable"}


def decide(status: dict[str, str], read_only: str | None) -> tuple[int, str]:
    """HTTP status and a one-line reason from the node's wsrep status and @@read_only."""
    if not status:
        return 503, "no wsrep status: Galera is not enabled on this node"
    state = status.get("wsrep_local_state", "")
    comment = status.get("wsrep_local_state_comment", "") or "unknown"
    cluster = status.get("wsrep_cluster_status", "") or "unknown"
    if cluster != "Primary":
        return 503, f"not in the Primary component (wsrep_cluster_status={cluster})"
    if state != SYNCED:
        return 503, f"not Synced (wsrep_local_state={state or '?'} {comment})"
    if status.get("wsrep_ready", "") != "ON":
        return 503, f"not ready for queries (wsrep_ready={status.get('wsrep_ready') or '?'})"
    if str(read_only).upper() in {"1", "ON"}:
        return 503, "read-only (read_only=ON)"
    return 200, "Synced and Primary"


def response(code: int, reason: str) -> bytes:
    """A complete HTTP/1.0 response (HAProxy closes after it)."""
    body = f"Galera node: {reason}\r\n".encode()
    head = (
        f"HTTP/1.0 {code} {REASONS.get(code, 'Error')}\r\n"
        "Content-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body


def read_request(conn: socket.socket, limit: int = 8192) -> None:
    """Consume the request head (up to a blank line), so closing does not reset the connection."""
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < limit:
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk


def parse_output(text: str) -> tuple[dict[str, str], str | None]:
    """Rows of the mariadb client (--batch --skip-column-names): status pairs, then read_only."""
    status: dict[str, str] = {}
    read_only = None
    for line in text.splitlines():
        name, sep, value = line.partition("\t")
        if sep:
            status[name] = value
        elif line:
            read_only = line
    return status, read_only


def query_node(unix_socket: str, timeout: float) -> tuple[dict[str, str], str | None]:
    """Ask the local MariaDB with its C client (cheaper to start than a Python driver)."""
    user = pwd.getpwuid(os.geteuid()).pw_name
    result = subprocess.run(
        [
            CLIENT,
            "--no-defaults",
            "--protocol=socket",
            f"--socket={unix_socket}",
            f"--user={user}",
            f"--connect-timeout={max(1, int(timeout))}",
            "--batch",
            "--skip-column-names",
            "--execute",
            f"{STATUS_QUERY}; {READ_ONLY_QUERY}",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        error = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise RuntimeError(f"mariadb: {error}")
    return parse_output(result.stdout)


def main() -> int:
    timeout = float(os.environ.get("GALERA_CHECK_TIMEOUT", "3"))
    unix_socket = os.environ.get("GALERA_CHECK_SOCKET", "/run/mysqld/mysqld.sock")
    conn = socket.socket(fileno=sys.stdin.fileno())
    conn.settimeout(timeout)
    with contextlib.suppress(OSError):  # answer anyway: a bare TCP probe still gets a status
        read_request(conn)
    try:
        code, reason = decide(*query_node(unix_socket, timeout))
    except Exception as err:  # any failure to ask MariaDB means "not available"
        code, reason = 503, f"cannot read the wsrep status ({type(err).__name__}: {err})"
    # HAProxy closes check connections with a reset as soon as it has the status line, and a
    # client may leave early: neither is a failure of this check.
    with contextlib.suppress(OSError):
        conn.sendall(response(code, reason))
        conn.shutdown(socket.SHUT_WR)
    conn.detach()
    return 0


if __name__ == "__main__":
    sys.exit(main())
