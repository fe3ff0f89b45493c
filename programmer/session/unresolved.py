"""Sends whose outcome is not known yet, and how the pump's own record decides them.

A send is stored `pending` before STAGE and marked `uncertain` before COMMIT goes
out, so a program killed, a disk filled or a link lost at any step leaves a row
that the next connection must decide before anything else is sent. The pump's
record decides: a `changeset_applied` event with the send's crc after the point
the send started (its log), else `last_changeset_crc` and `_t` (its status) when
the log no longer reaches back that far.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from programmer.store import PumpEvent, Records

UNRESOLVED = ("pending", "uncertain")


def unresolved_sends(records: Records, serial: str) -> list[tuple[int, dict[str, Any]]]:
    """(id, program) of every send of this pump still pending or uncertain, oldest first."""
    # A store whose rows are sealed (integrity-store) reads them seal-checked.
    listing = getattr(records, "unresolved_prescriptions", None)
    program_of = getattr(records, "prescription_program", None)
    if listing is not None and program_of is not None:
        return [(int(pid), dict(program_of(pid))) for pid in listing(serial)]
    rows = records.store.query(
        "SELECT id, program FROM prescriptions_sent WHERE pump_serial = ?"
        " AND outcome IN ('pending', 'uncertain') ORDER BY id",
        (serial,),
    )
    return [(int(pid), json.loads(program)) for pid, program in rows]


@dataclass(frozen=True)
class Decision:
    applied: bool
    applied_t: int | None
    how: str


def decide_send(
    program: Mapping[str, Any],
    status: Mapping[str, Any],
    applied_events: list[PumpEvent] | None,
    used: set[int],
) -> Decision:
    """Applied or not, from the pump's record. `applied_events` are the log's
    `changeset_applied` events since the send began (None when the log no longer covers
    that span); `used` holds the seqs already taken by an earlier send, so that one
    event never decides two sends."""
    crc = int(program["crc"])
    if applied_events is not None:
        for event in applied_events:
            if event.seq not in used and event.data.get("crc") == crc:
                used.add(event.seq)
                return Decision(True, int(event.at.timestamp()),
                                f"changeset_applied event {event.seq} carries its crc")  # fmt: skip
        return Decision(False, None, "no changeset_applied event with its crc since it was sent")
    now = (status["last_changeset_crc"], status["last_changeset_t"])
    before = (program.get("before_crc"), program.get("before_t"))
    if now[0] == crc and now != before:
        return Decision(True, now[1], "the pump's last_changeset_crc is its crc")
    return Decision(False, None, "the pump's last_changeset_crc is not its crc (log rolled over)")
