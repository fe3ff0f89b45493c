"""`itp history` output, streamed: a million stored events print in constant memory.

Rows are read from the store in batches by key (sequence number, hour) and written
as they come; the JSON is exactly what `json.dumps` of the whole document would
give, and every line goes through `json_text` so nothing a pump sent can act on
the terminal.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from programmer.session.display_text import display_text, json_text
from programmer.store import InfusionHour, PumpEvent, Records

BATCH = 2000


def stored_events(records: Records, serial: str, batch: int = BATCH) -> Iterator[PumpEvent]:
    """Every stored event of this pump in sequence order, `batch` rows at a time."""
    after: int | None = None
    while True:
        rows = records.store.query(
            "SELECT seq, at, kind, data FROM pump_events WHERE pump_serial = ?"
            + ("" if after is None else " AND seq > ?")
            + " ORDER BY seq LIMIT ?",
            (serial, batch) if after is None else (serial, after, batch),
        )
        for seq, at, kind, data in rows:
            yield PumpEvent(seq, datetime.fromisoformat(at), kind, json.loads(data))
        if len(rows) < batch:
            return
        after = int(rows[-1][0])


def stored_hours(records: Records, serial: str, batch: int = BATCH) -> Iterator[InfusionHour]:
    """Every stored hour of this pump in time order, `batch` rows at a time."""
    after: int | None = None
    while True:
        rows = records.store.query(
            "SELECT hour_s, volume_nl, data FROM infusion_hours WHERE pump_serial = ?"
            + ("" if after is None else " AND hour_s > ?")
            + " ORDER BY hour_s LIMIT ?",
            (serial, batch) if after is None else (serial, after, batch),
        )
        for hour_s, volume, data in rows:
            yield InfusionHour(datetime.fromtimestamp(hour_s, UTC), volume, json.loads(data))
        if len(rows) < batch:
            return
        after = int(rows[-1][0])


def event_json(e: PumpEvent) -> dict[str, Any]:
    return {"seq": e.seq, "t": e.at.isoformat(), "code": e.kind, "data": dict(e.data)}


def hour_json(h: InfusionHour) -> dict[str, Any]:
    return {"hour": h.hour.isoformat(), "volume_nl": h.volume_nl, **dict(h.data)}


def _dumps(value: Any) -> str:
    return json_text(json.dumps(value, ensure_ascii=False))


def write_json(out: TextIO, head: dict[str, Any], records: Records, serial: str) -> None:
    """`head` then "events" and "infusion", as one line of JSON, written piece by piece."""
    text = _dumps(head)
    out.write(text[:-1] + (", " if head else "") + '"events": [')
    for i, e in enumerate(stored_events(records, serial)):
        out.write((", " if i else "") + _dumps(event_json(e)))
    out.write('], "infusion": [')
    for i, h in enumerate(stored_hours(records, serial)):
        out.write((", " if i else "") + _dumps(hour_json(h)))
    out.write("]}\n")


def write_csv(out: TextIO, records: Records, serial: str) -> None:
    w = csv.writer(out)
    w.writerow(["record", "key", "time", "code", "basal_nl", "bolus_nl", "data"])
    for e in stored_events(records, serial):
        data = json.dumps(dict(e.data), sort_keys=True)
        # `data` is ASCII (json.dumps escapes the rest); the code is shown made safe.
        w.writerow(["event", e.seq, e.at.isoformat(), display_text(e.kind), "", "", data])
    for h in stored_hours(records, serial):
        hour = int(h.hour.timestamp()) // 3600
        basal, bolus = h.data.get("basal_nl", ""), h.data.get("bolus_nl", "")
        w.writerow(["infusion", hour, h.hour.isoformat(), "", basal, bolus, ""])
