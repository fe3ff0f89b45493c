"""What one visit is, read from the local store (docs/clinic.md, "Visit ID").

A visit is a row of the store's `visits` table: the pump session starts one when it
first reads a pump with a signed-in user, and ends it when the session closes. Its ID is
that row's integer id on the programmer that made it (shown on the visit report). What
belongs to it: the prescriptions sent and refills recorded with its id, and the audit
records of its pump from its start to its end (or to the next visit of that pump).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from programmer.store import AuditRecord, Store


class VisitNotFound(LookupError):
    pass


@dataclass(frozen=True)
class VisitData:
    visit_id: int
    programmer: str  # the clinic id of this programmer, or the audit key id before any sync
    pump_serial: str
    pump_model: str | None
    account: str
    started_at: str
    ended_at: str | None
    prescriptions: list[dict[str, Any]]
    refills: list[dict[str, Any]]
    trail: list[AuditRecord]
    bolus_events: list[dict[str, Any]]


def _dicts(store: Store, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    with store.lock:
        cursor = store.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_visit(store: Store, visit_id: int) -> VisitData:
    visits = _dicts(store, "SELECT * FROM visits WHERE id = ?", (visit_id,))
    if not visits:
        raise VisitNotFound(f"there is no visit {visit_id} in this database")
    visit = visits[0]
    serial = str(visit["pump_serial"])
    nxt = store.query(
        "SELECT min(started_s) FROM visits WHERE pump_serial = ? AND started_s > ?",
        (serial, visit["started_s"]),
    )[0][0]
    until = visit["ended_s"] if visit["ended_s"] is not None else nxt
    pump = store.query("SELECT model FROM pumps WHERE serial = ?", (serial,))
    trail_rows = store.query(
        "SELECT seq, ts, ts_s, action, account, role, pump_serial, before, after, reason,"
        " outcome, prev_mac, mac FROM audit WHERE pump_serial = ? AND ts_s >= ?"
        " AND (? IS NULL OR ts_s < ?) ORDER BY seq",
        (serial, visit["started_s"], until, until),
    )
    prescriptions = _dicts(
        store, "SELECT * FROM prescriptions_sent WHERE visit_id = ? ORDER BY id", (visit_id,)
    )
    for p in prescriptions:
        p["program"] = json.loads(p["program"])
        p["prescription"] = json.loads(p["prescription"])
    refills = _dicts(store, "SELECT * FROM refills WHERE visit_id = ? ORDER BY id", (visit_id,))
    for r in refills:
        r["drugs"] = json.loads(r["drugs"]) if r["drugs"] else []
    events = _dicts(
        store,
        "SELECT seq, at, at_s, kind, data FROM pump_events WHERE pump_serial = ?"
        " AND kind IN ('bolus_completed', 'bolus_cancelled') AND at_s >= ? ORDER BY seq",
        (serial, int(visit["started_s"]) - 86_400),
    )
    for e in events:
        e["data"] = json.loads(e["data"])
    try:
        ident = store.query("SELECT value FROM clinic_meta WHERE key = 'programmer_id'")
    except Exception:  # never synced: no clinic tables
        ident = []
    if not ident:
        ident = store.query("SELECT value FROM meta WHERE key = 'audit_key_id'") or [("local",)]
    return VisitData(
        visit_id=visit_id,
        programmer=str(ident[0][0]),
        pump_serial=serial,
        pump_model=None if not pump else pump[0][0],
        account=str(visit["account"]),
        started_at=str(visit["started_at"]),
        ended_at=visit["ended_at"],
        prescriptions=prescriptions,
        refills=refills,
        trail=[AuditRecord.from_row(tuple(r)) for r in trail_rows],
        bolus_events=events,
    )
