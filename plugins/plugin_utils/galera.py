"""Decisions of the Galera cluster life cycle that must not be guessed in Jinja.

- ``primary_members``: which members run a Primary component. A member whose status could not
  be read counts as "not Primary" only when its unit is verifiably stopped; a running member
  that does not answer is an error naming it, so a full-stop recovery never stops the members
  of a healthy cluster because one status read failed.
- ``recovery_source``: after every member stopped, the member to bootstrap from: the highest
  committed seqno that ``galera_recovery`` (``mariadbd --wsrep-recover``) printed, parsed
  exactly (``<uuid>:<seqno>``, optionally followed by ``,<domain>-<server>-<sequence>`` when
  ``wsrep_gtid_mode`` is on; that suffix is not the seqno), all members agreeing on one
  cluster UUID.

Pure logic: no Ansible imports; the filters in ``plugins/filter/galera_primary_members.py`` feed it
the role's registered results.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

# What galera_recovery prints on success: --wsrep_start_position=<uuid>:<seqno>[,<gtid>]
_POSITION = re.compile(
    r"--wsrep_start_position=(?P<uuid>[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})"
    r":(?P<seqno>-?[0-9]+)(?:,(?P<gtid>[0-9]+-[0-9]+-[0-9]+))?\s*$"
)
NO_CLUSTER = "00000000-0000-0000-0000-000000000000"
# systemd ActiveState values of a unit that is not running and not about to run.
STOPPED_STATES = frozenset({"inactive", "failed"})
FIX_UNREADABLE = (
    "check MariaDB on them (systemctl status mariadb; mariadb -e \"SHOW STATUS LIKE 'wsrep%'\"), "
    "wait for a member still joining (state transfer) to finish, or stop it, then run the "
    "playbook again"
)


class GaleraStateError(Exception):
    """The members are in a state where the role must not act (the message says why)."""


@dataclasses.dataclass(frozen=True)
class Position:
    """A member's last committed position."""

    uuid: str
    seqno: int


def parse_position(text: str) -> Position:
    """The position in galera_recovery's output (its last line that holds one)."""
    for line in reversed(str(text).splitlines()):
        match = _POSITION.search(line.strip())
        if match:
            return Position(match["uuid"].lower(), int(match["seqno"]))
    raise GaleraStateError(f"no --wsrep_start_position=<uuid>:<seqno> in {str(text)[-200:]!r}")


def recovery_source(outputs: Mapping[str, str]) -> tuple[str, Position]:
    """The member with the highest seqno (the first in OUTPUTS' order on a tie) and its
    position; errors when a position cannot be read, no member knows its seqno, or the members
    hold different clusters."""
    if not outputs:
        raise GaleraStateError("no member reported a position")
    positions: dict[str, Position] = {}
    unreadable = []
    for host, text in outputs.items():
        try:
            positions[host] = parse_position(text)
        except GaleraStateError as err:
            unreadable.append(f"{host}: {err}")
    if unreadable:
        raise GaleraStateError("cannot read the recovered position of " + "; ".join(unreadable))
    known = {h: p for h, p in positions.items() if p.seqno >= 0 and p.uuid != NO_CLUSTER}
    if not known:
        listing = ", ".join(f"{h} {p.uuid}:{p.seqno}" for h, p in positions.items())
        raise GaleraStateError(f"no member recovered a committed seqno ({listing})")
    clusters = sorted({p.uuid for p in known.values()})
    if len(clusters) > 1:
        listing = ", ".join(f"{h} {p.uuid}:{p.seqno}" for h, p in known.items())
        raise GaleraStateError(
            f"the members hold {len(clusters)} different clusters ({listing}); "
            "bootstrapping from one would discard the others' data"
        )
    best = max(known.values(), key=lambda p: p.seqno).seqno
    host = next(h for h, p in known.items() if p.seqno == best)
    return host, known[host]


def primary_members(
    cluster_status: Mapping[str, str | None], active_state: Mapping[str, str | None]
) -> list[str]:
    """Members whose wsrep_cluster_status is Primary, in CLUSTER_STATUS' order.

    CLUSTER_STATUS maps every member to its wsrep_cluster_status, None when it could not be
    read; ACTIVE_STATE maps those members to their unit's systemd ActiveState (None: unknown).
    A member without a status must be verifiably stopped, else GaleraStateError names it.
    """
    unknown = [
        f"{host} (mariadb {active_state.get(host) or 'state unknown'})"
        for host, status in cluster_status.items()
        if status is None and active_state.get(host) not in STOPPED_STATES
    ]
    if unknown:
        raise GaleraStateError(
            "the wsrep status of " + ", ".join(unknown) + " cannot be read while MariaDB is not "
            "stopped there, so whether a Primary component runs is unknown and nothing is "
            "started, stopped or bootstrapped; " + FIX_UNREADABLE
        )
    return [host for host, status in cluster_status.items() if status == "Primary"]
