# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""The results of a tempest run, read from its subunit v2 stream (``stestr last --subunit``).

Pure Python, no Ansible imports: the filter nimbus.cloud.tempest_results (role tempest) and
scripts/gate-report.py (the gate's tempest step) both use it.

A subunit v2 stream is a sequence of packets: signature byte 0xB3, 16-bit flags (version 2
in the top nibble, which optional fields follow, the test status in the low three bits), the
packet length as a 1-4 byte number, then the optional fields (timestamp, test id, tags, MIME
type, file content, route code) and a CRC32 of everything before it. A test's attachments
(tempest's skip reason, a failure's traceback) may arrive in packets of their own before
the packet with its final status; they are collected per test.

Counting: ``success`` and ``xfail`` (an expected failure) pass; ``fail`` and ``uxsuccess``
(an unexpected success) fail; ``skip`` is skipped, never a pass; a test that started
(``inprogress``) and never got a final status failed (its worker died).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

SIGNATURE = 0xB3
VERSION = 0x2

_FLAG_TEST_ID = 0x0800
_FLAG_ROUTE_CODE = 0x0400
_FLAG_TIMESTAMP = 0x0200
_FLAG_TAGS = 0x0080
_FLAG_FILE_CONTENT = 0x0040
_FLAG_MIME_TYPE = 0x0020

STATUSES = {
    0: None,
    1: "exists",
    2: "inprogress",
    3: "success",
    4: "uxsuccess",
    5: "skip",
    6: "fail",
    7: "xfail",
}
FINAL = {
    "success": "passed",
    "xfail": "passed",
    "fail": "failed",
    "uxsuccess": "failed",
    "skip": "skipped",
}

# The smallest packet: signature, flags, a one-byte length and the CRC32.
MIN_PACKET = 8

# How much of a failure's traceback the summary keeps (its last lines say what failed).
DETAIL_LINES = 12


class SubunitError(ValueError):
    """The stream is not a valid subunit v2 stream (the message names the byte offset)."""


@dataclass
class Packet:
    status: str | None = None
    test_id: str | None = None
    timestamp: float | None = None
    tags: tuple[str, ...] = ()
    file_name: str | None = None
    file_bytes: bytes = b""


@dataclass
class _Test:
    status: str | None = None
    files: dict[str, bytearray] = field(default_factory=dict)
    started: float | None = None
    stopped: float | None = None


def _number(data: memoryview, pos: int, where: int) -> tuple[int, int]:
    """A subunit number at ``pos``: (value, position after it)."""
    if pos >= len(data):
        raise SubunitError(f"packet at byte {where}: a number runs past the end of the packet")
    first = data[pos]
    extra = first >> 6
    if pos + 1 + extra > len(data):
        raise SubunitError(f"packet at byte {where}: a number runs past the end of the packet")
    value = first & 0x3F
    for byte in data[pos + 1 : pos + 1 + extra]:
        value = (value << 8) | byte
    return value, pos + 1 + extra


def _string(data: memoryview, pos: int, where: int) -> tuple[str, int]:
    length, pos = _number(data, pos, where)
    raw = data[pos : pos + length]
    if len(raw) != length:
        raise SubunitError(f"packet at byte {where}: a string runs past the end of the packet")
    try:
        return bytes(raw).decode("utf-8"), pos + length
    except UnicodeDecodeError as err:
        raise SubunitError(f"packet at byte {where}: a string is not UTF-8 ({err.reason})") from err


def _fields(body: memoryview, pos: int, flags: int, offset: int) -> Packet:
    """The optional fields of the packet at ``offset`` (its body without the CRC)."""
    packet = Packet(status=STATUSES[flags & 0x7])
    if flags & _FLAG_TIMESTAMP:
        if pos + 4 > len(body):
            raise SubunitError(f"packet at byte {offset}: the timestamp runs past the packet")
        (seconds,) = struct.unpack(">I", body[pos : pos + 4])
        nanos, pos = _number(body, pos + 4, offset)
        packet.timestamp = seconds + nanos / 1e9
    if flags & _FLAG_TEST_ID:
        packet.test_id, pos = _string(body, pos, offset)
    if flags & _FLAG_TAGS:
        count, pos = _number(body, pos, offset)
        tags = []
        for _index in range(count):
            tag, pos = _string(body, pos, offset)
            tags.append(tag)
        packet.tags = tuple(tags)
    if flags & _FLAG_MIME_TYPE:
        _mime, pos = _string(body, pos, offset)
    if flags & _FLAG_FILE_CONTENT:
        packet.file_name, pos = _string(body, pos, offset)
        size, pos = _number(body, pos, offset)
        packet.file_bytes = bytes(body[pos : pos + size])
        if len(packet.file_bytes) != size:
            raise SubunitError(f"packet at byte {offset}: a file runs past the end of the packet")
        pos += size
    if flags & _FLAG_ROUTE_CODE:
        _route, pos = _string(body, pos, offset)
    return packet


def packets(data: bytes | bytearray | memoryview) -> list[Packet]:
    """Every packet of a subunit v2 stream, in order; anything else raises SubunitError."""
    found: list[Packet] = []
    data = memoryview(bytes(data))
    offset = 0
    while offset < len(data):
        if data[offset] != SIGNATURE:
            raise SubunitError(
                f"byte {offset} is 0x{data[offset]:02x}, not the subunit v2 signature 0xb3: "
                "not a subunit v2 stream (produce it with `stestr last --subunit`)"
            )
        if offset + 4 > len(data):
            raise SubunitError(f"packet at byte {offset}: the stream ends inside its header")
        (flags,) = struct.unpack(">H", data[offset + 1 : offset + 3])
        if flags >> 12 != VERSION:
            raise SubunitError(
                f"packet at byte {offset}: version {flags >> 12}, expected {VERSION} (subunit v2)"
            )
        length, pos = _number(data, offset + 3, offset)
        end = offset + length
        if length < MIN_PACKET or end > len(data):
            raise SubunitError(
                f"packet at byte {offset}: length {length} does not fit the stream "
                f"({len(data) - offset} bytes left): the stream is truncated"
            )
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[offset : end - 4]) & 0xFFFFFFFF != crc:
            raise SubunitError(f"packet at byte {offset}: checksum mismatch (corrupt stream)")
        found.append(_fields(data[: end - 4], pos, flags, offset))
        offset = end
    return found


def _text(raw: bytes | bytearray) -> str:
    return bytes(raw).decode("utf-8", errors="replace").strip()


def _detail(test: _Test) -> str:
    """The last lines of a failure's traceback (or of whatever it attached)."""
    for name in ("traceback", "reason"):
        if name in test.files:
            lines = _text(test.files[name]).splitlines()
            return "\n".join(lines[-DETAIL_LINES:])
    return ""


def summarize(data: bytes) -> dict[str, Any]:
    """Counts, failing tests (with the end of their traceback), skipped tests with tempest's
    reason, and the run's wall time (first to last timestamp), from a subunit v2 stream."""
    tests: dict[str, _Test] = {}
    first: float | None = None
    last: float | None = None
    for packet in packets(data):
        if packet.timestamp is not None:
            first = packet.timestamp if first is None else min(first, packet.timestamp)
            last = packet.timestamp if last is None else max(last, packet.timestamp)
        if packet.test_id is None:
            continue
        test = tests.setdefault(packet.test_id, _Test())
        if packet.file_name is not None:
            test.files.setdefault(packet.file_name, bytearray()).extend(packet.file_bytes)
        if packet.status == "inprogress":
            test.started = packet.timestamp
        if packet.status in FINAL or packet.status == "inprogress":
            test.status = packet.status
            if packet.status in FINAL:
                test.stopped = packet.timestamp
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failures: list[dict[str, str]] = []
    skips: list[dict[str, str]] = []
    for test_id, test in sorted(tests.items()):
        if test.status is None:
            continue  # only listed (``exists``) or only attachments: not run
        outcome = FINAL.get(test.status, "failed")
        counts[outcome] += 1
        if outcome == "failed":
            detail = (
                _detail(test)
                if test.status != "inprogress"
                else ("started but never finished (the test worker died or the run was stopped)")
            )
            failures.append({"test": test_id, "detail": detail})
        elif outcome == "skipped":
            skips.append({"test": test_id, "reason": _text(test.files.get("reason", b""))})
    return {
        **counts,
        "total": sum(counts.values()),
        "seconds": round(last - first, 1) if first is not None and last is not None else 0.0,
        "failures": failures,
        "skips": skips,
    }


def problems(summary: dict[str, Any]) -> list[str]:
    """Why a run is not a success: a failed test, or no test passed (nothing was proven)."""
    found = [f"tempest: {f['test']} failed" for f in summary["failures"]]
    if summary["total"] == 0:
        found.append(
            "tempest: no test ran: the include list selected nothing "
            "(tempest_test_set, tempest_include_list)"
        )
    elif summary["passed"] == 0 and summary["failed"] == 0:
        found.append(
            f"tempest: no test passed: all {summary['total']} skipped "
            "(their reasons are listed; the include list selected nothing this cloud can run)"
        )
    elif summary["passed"] == 0:
        found.append(
            f"tempest: no test passed ({summary['total']} ran: {summary['failed']} failed, "
            f"{summary['skipped']} skipped)"
        )
    return found
