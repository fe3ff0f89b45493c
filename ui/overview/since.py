""" "Since the last visit": every alarm, refill, program change and clock change in the
pump's own log since this pump's previous visit, critical ones first, in words."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from programmer.session.alarms import advice_for
from programmer.store import AuditAction, AuditTrail, PumpEvent, Records
from ui.numbers import clinical_volume
from ui.pump_text import pump_text
from ui.timefmt import local_text

CRITICAL_ALARMS = {"empty_reservoir", "end_of_service", "motor_stall", "pump_stopped"}
KINDS = ("alarm_raised", "alarm_cleared", "refill", "changeset_applied", "clock_set")
PARTS = {"therapy": "therapy", "refill": "refill", "bolus": "one-time bolus",
         "cancel_bolus": "bolus cancelled"}  # fmt: skip


@dataclass(frozen=True)
class SinceRow:
    when: str
    text: str
    critical: bool
    t: int


def previous_log_position(
    trail: AuditTrail, serial: str
) -> tuple[int | None, int | None, int | None]:
    """(pump log seq, pump clock, computer time) where the pump's log stood at this pump's
    last interrogation before the visit now open (its connection record, by the trail's
    own order); Nones when there was none."""
    connected = trail.query(pump=serial, action=AuditAction.PUMP_CONNECTED)
    if not connected:
        return None, None, None
    opened = connected[-1].seq
    before = [
        r for r in trail.query(pump=serial, action=AuditAction.INTERROGATED) if r.seq < opened
    ]
    if not before:
        return None, None, None
    last = before[-1]
    after = json.loads(last.after) if last.after else {}
    seq, clock = after.get("event_last_seq"), after.get("clock_t")
    return (seq if isinstance(seq, int) else None, clock if isinstance(clock, int) else None,
            last.ts_s)  # fmt: skip


def _text(kind: str, data: Mapping[str, Any], offset_min: int) -> tuple[str, bool]:
    if kind in ("alarm_raised", "alarm_cleared"):
        code = str(data.get("code", ""))
        critical = code in CRITICAL_ALARMS
        title = pump_text(advice_for(code).title)
        word = "Alarm" if kind == "alarm_raised" else "Alarm cleared"
        return f"{'CRITICAL ' if critical and kind == 'alarm_raised' else ''}{word}: {title}", (
            critical and kind == "alarm_raised"
        )
    if kind == "refill":
        added = data.get("added_nl")
        removed = data.get("removed_nl")
        if isinstance(added, int) and isinstance(removed, int):
            return (
                f"Refill: {clinical_volume(removed)} drawn out, {clinical_volume(added)} in",
                False,
            )
        return "Refill", False
    if kind == "changeset_applied":
        listed = data.get("parts")
        parts = [PARTS.get(str(p), pump_text(str(p).replace("_", " ")))
                 for p in (listed if isinstance(listed, list) else [])[:8]]  # fmt: skip
        return "Program changed" + (f": {', '.join(parts)}" if parts else ""), False
    if kind == "clock_set":
        old, new = data.get("old_t"), data.get("new_t")
        if isinstance(old, int) and isinstance(new, int):
            shift = Fraction(new - old, 60)
            sign = "+" if shift >= 0 else "−"
            return f"Clock set ({sign}{abs(round(shift))} min)", False
        return "Clock set", False
    return pump_text(kind.replace("_", " ")), False


def since_rows(events: list[PumpEvent], offset_min: int) -> list[SinceRow]:
    """The events worth a clinician's look, critical first, then newest first."""
    rows = []
    for e in events:
        if e.kind not in KINDS:
            continue
        text, critical = _text(e.kind, e.data, offset_min)
        t = int(e.at.timestamp())
        rows.append(SinceRow(local_text(t, offset_min), text, critical, t))
    return sorted(rows, key=lambda r: (not r.critical, -r.t))


def since_last_visit(records: Records, trail: AuditTrail, serial: str,
                     offset_min: int) -> tuple[int | None, list[SinceRow]]:  # fmt: skip
    """(when the last visit's interrogation was, on this computer's clock; what the pump's
    log holds since), from the stored log. (None, []) for a first visit."""
    seq, clock, at = previous_log_position(trail, serial)
    if at is None:
        return None, []
    events = records.events(serial)
    if seq is not None:
        events = [e for e in events if e.seq > seq]
    elif clock is not None:
        events = [e for e in events if e.at.timestamp() > clock]
    return at, since_rows(events, offset_min)
