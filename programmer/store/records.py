"""Pumps, visits, pump history read back, prescriptions sent, refills and settings.

History is keyed by (pump serial, sequence number) and (pump serial, hour): a re-read
inserts nothing, a partial read can resume, and a gap stays a gap (never filled in).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from programmer.store.accounts import Principal
from programmer.store.audit import AuditAction, AuditTrail
from programmer.store.audit_chain import canonical_json
from programmer.store.clock import to_utc, utc_seconds, utc_text
from programmer.store.db import Store
from programmer.store.errors import translated
from programmer.store.roles import Action, authorize
from programmer.store.seals import SEALED, select

_SENT = SEALED["prescriptions_sent"]

PRESCRIPTION_OUTCOMES = ("pending", "applied", "not_applied", "uncertain")


@dataclass(frozen=True)
class PumpEvent:
    seq: int
    at: datetime  # aware; the pump's own time with its UTC offset
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InfusionHour:
    hour: datetime  # aware, on the hour
    volume_nl: int
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SaveResult:
    added: int  # new records stored
    already_known: int  # identical records read before (a re-read)
    conflicts: tuple[int, ...]  # keys already stored with different content (kept as first read)


@dataclass(frozen=True)
class Refill:
    id: int
    pump_serial: str
    at: str
    account: str
    removed_nl: int
    added_nl: int
    expected_nl: int | None
    last_fill_nl: int | None
    discrepancy_pct: float | None
    finding: str | None


class Records:
    def __init__(self, store: Store, trail: AuditTrail) -> None:
        self.store = store
        self.trail = trail
        # None: a copy reviewed without its key, whose rows are read as stored.
        self._checker = trail.seals

    def _check(self, table: str, values: Sequence[Any], seal: Any) -> None:
        """TamperedRow for a row changed outside itp; unchecked without the key."""
        if self._checker is not None:
            self._checker.check(table, values, seal)

    # -- pumps and visits ---------------------------------------------------------------

    def upsert_pump(
        self, serial: str, model: str | None, info: Mapping[str, Any] | None = None
    ) -> None:
        """Remember a pump seen now (first and last seen times)."""
        now = self.store.clock()
        text, secs = utc_text(now), utc_seconds(now)
        info_text = None if info is None else canonical_json(info)
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO pumps (serial, model, info, first_seen_at, first_seen_s,"
                " last_seen_at, last_seen_s) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (serial) DO UPDATE SET model = coalesce(excluded.model, model),"
                " info = coalesce(excluded.info, info), last_seen_at = excluded.last_seen_at,"
                " last_seen_s = excluded.last_seen_s",
                (serial, model, info_text, text, secs, text, secs),
            )

    def start_visit(self, serial: str, actor: Principal) -> int:
        now = self.store.clock()
        with self.store.write() as conn:
            cursor = conn.execute(
                "INSERT INTO visits (pump_serial, account, started_at, started_s)"
                " VALUES (?, ?, ?, ?)",
                (serial, actor.name, utc_text(now), utc_seconds(now)),
            )
            return int(cursor.lastrowid or 0)

    def end_visit(self, visit_id: int) -> None:
        now = self.store.clock()
        with self.store.write() as conn:
            conn.execute(
                "UPDATE visits SET ended_at = ?, ended_s = ? WHERE id = ? AND ended_at IS NULL",
                (utc_text(now), utc_seconds(now), visit_id),
            )

    # -- history read back --------------------------------------------------------------

    def save_events(self, serial: str, events: Iterable[PumpEvent]) -> SaveResult:
        """Store events not stored yet; the pump must be known (upsert_pump first)."""
        read_at = utc_text(self.store.clock())
        added = known = 0
        conflicts: list[int] = []
        with self.store.write() as conn:
            for event in events:
                at = to_utc(event.at)
                row = (
                    serial,
                    event.seq,
                    event.at.isoformat(),
                    utc_seconds(at),
                    event.kind,
                    canonical_json(dict(event.data)),
                )
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO pump_events (pump_serial, seq, at, at_s, kind, data,"
                    " read_at, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*row, read_at, self.trail.sealer.seal("pump_events", row)),
                )
                if cursor.rowcount:
                    added += 1
                    continue
                stored = conn.execute(
                    "SELECT pump_serial, seq, at, at_s, kind, data FROM pump_events"
                    " WHERE pump_serial = ? AND seq = ?",
                    (serial, event.seq),
                ).fetchone()
                if tuple(stored) == row:
                    known += 1
                else:
                    conflicts.append(event.seq)
        return SaveResult(added, known, tuple(conflicts))

    def save_infusion_hours(self, serial: str, hours: Iterable[InfusionHour]) -> SaveResult:
        read_at = utc_text(self.store.clock())
        added = known = 0
        conflicts: list[int] = []
        with self.store.write() as conn:
            for hour in hours:
                start = to_utc(hour.hour)
                if start.minute or start.second or start.microsecond:
                    raise ValueError(f"an infusion hour must start on the hour, not {start}")
                row = (
                    serial,
                    utc_seconds(start),
                    utc_text(start),
                    hour.volume_nl,
                    canonical_json(dict(hour.data)),
                )
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO infusion_hours (pump_serial, hour_s, hour_at,"
                    " volume_nl, data, read_at, seal) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*row, read_at, self.trail.sealer.seal("infusion_hours", row)),
                )
                if cursor.rowcount:
                    added += 1
                    continue
                stored = conn.execute(
                    "SELECT pump_serial, hour_s, hour_at, volume_nl, data FROM infusion_hours"
                    " WHERE pump_serial = ? AND hour_s = ?",
                    (serial, row[1]),
                ).fetchone()
                if tuple(stored) == row:
                    known += 1
                else:
                    conflicts.append(row[1])
        return SaveResult(added, known, tuple(conflicts))

    def events(
        self, serial: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[PumpEvent]:
        """Stored events in sequence order; since inclusive, until exclusive."""
        sql = f"SELECT {select('pump_events')} FROM pump_events WHERE pump_serial = ?"
        params: list[Any] = [serial]
        if since is not None:
            sql += " AND at_s >= ?"
            params.append(utc_seconds(since))
        if until is not None:
            sql += " AND at_s < ?"
            params.append(utc_seconds(until))
        rows = self.store.query(sql + " ORDER BY seq", tuple(params))
        return [self._event(row) for row in rows]

    def _event(self, row: Sequence[Any]) -> PumpEvent:
        """A stored event, checked against its seal (TamperedRow when edited)."""
        self._check("pump_events", row[:-1], row[-1])
        _, seq, at, _, kind, data = row[:-1]
        return PumpEvent(seq, datetime.fromisoformat(at), kind, json.loads(data))

    def infusion_hours(self, serial: str, since: datetime, until: datetime) -> list[InfusionHour]:
        rows = self.store.query(
            f"SELECT {select('infusion_hours')} FROM infusion_hours"
            " WHERE pump_serial = ? AND hour_s >= ? AND hour_s < ? ORDER BY hour_s",
            (serial, utc_seconds(since), utc_seconds(until)),
        )
        hours = []
        for row in rows:
            self._check("infusion_hours", row[:-1], row[-1])
            _, hour_s, _, volume, data = row[:-1]
            hours.append(
                InfusionHour(datetime.fromtimestamp(hour_s, UTC), volume, json.loads(data))
            )
        return hours

    def last_event_of_kind(self, serial: str, kind: str) -> PumpEvent | None:
        """The stored event of this kind with the highest seq, if any."""
        rows = self.store.query(
            f"SELECT {select('pump_events')} FROM pump_events WHERE pump_serial = ?"
            " AND kind = ? ORDER BY seq DESC LIMIT 1",
            (serial, kind),
        )
        return self._event(rows[0]) if rows else None

    def last_event_seq(self, serial: str) -> int | None:
        """Where to resume a history read."""
        value = self.store.query(
            "SELECT max(seq) FROM pump_events WHERE pump_serial = ?", (serial,)
        )
        return None if value[0][0] is None else int(value[0][0])

    def missing_event_ranges(
        self, serial: str, first: int | None = None, last: int | None = None
    ) -> list[tuple[int, int]]:
        """Inclusive (from, to) seq ranges not stored, between first and last.

        Without bounds, from the lowest to the highest stored seq (gaps inside what was
        read); give the pump's oldest and newest seq to include the ends.
        """
        stored = [
            row[0]
            for row in self.store.query(
                "SELECT seq FROM pump_events WHERE pump_serial = ? ORDER BY seq", (serial,)
            )
        ]
        if not stored and (first is None or last is None):
            return []
        low = first if first is not None else stored[0]
        high = last if last is not None else stored[-1]
        return _missing(stored, low, high, 1)

    def missing_infusion_hours(
        self, serial: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Inclusive (first, last) missing hour starts in [since, until)."""
        low = _ceil_hour(utc_seconds(since))
        high = utc_seconds(until) - 1
        high -= high % 3600
        stored = [
            row[0]
            for row in self.store.query(
                "SELECT hour_s FROM infusion_hours WHERE pump_serial = ? AND hour_s >= ?"
                " AND hour_s <= ? ORDER BY hour_s",
                (serial, low, high),
            )
        ]
        return [
            (datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC))
            for a, b in _missing(stored, low, high, 3600)
        ]

    # -- therapy changes and refills ----------------------------------------------------

    def record_prescription_sent(
        self,
        actor: Principal,
        serial: str,
        prescription: Mapping[str, Any],
        program: Mapping[str, Any],
        visit_id: int | None = None,
        *,
        right: Action = Action.PROGRAM,
    ) -> int:
        """Store what is about to be sent (outcome 'pending'); call before sending.

        `right` is what the send needs: PROGRAM, or RECORD_REFILL for a refill alone.
        """
        if right not in (Action.PROGRAM, Action.RECORD_REFILL):
            raise ValueError(f"a changeset is sent under PROGRAM or RECORD_REFILL, not {right}")
        authorize(actor.role, right)
        now = self.store.clock()
        with self.store.write() as conn:
            cursor = conn.execute(
                "INSERT INTO prescriptions_sent (pump_serial, visit_id, account, at, at_s,"
                " prescription, program, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                (
                    serial,
                    visit_id,
                    actor.name,
                    utc_text(now),
                    utc_seconds(now),
                    canonical_json(dict(prescription)),
                    canonical_json(dict(program)),
                ),
            )
            new_id = int(cursor.lastrowid or 0)
            self.trail.sealer.reseal(conn, "prescriptions_sent", "id = ?", (new_id,))
            return new_id

    def set_prescription_outcome(
        self, prescription_id: int, outcome: str, therapy_crc: str | None = None
    ) -> None:
        if outcome not in PRESCRIPTION_OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self.store.write() as conn:
            self._sent_rows(conn, "id = ?", (prescription_id,))  # an edited row is not updated
            conn.execute(
                "UPDATE prescriptions_sent SET outcome = ?, therapy_crc = ?, outcome_at = ?"
                " WHERE id = ?",
                (outcome, therapy_crc, utc_text(self.store.clock()), prescription_id),
            )
            self.trail.sealer.reseal(conn, "prescriptions_sent", "id = ?", (prescription_id,))

    def uncertain_prescriptions(self, serial: str) -> list[int]:
        """Ids still uncertain for this pump: resolve these before sending anything new."""
        return self._with_outcome(serial, ("uncertain",))

    def unresolved_prescriptions(self, serial: str) -> list[int]:
        """Ids still pending or uncertain for this pump: resolve them before sending."""
        return self._with_outcome(serial, ("pending", "uncertain"))

    def prescription_program(self, prescription_id: int) -> dict[str, Any]:
        """The program stored for a send, checked against its seal."""
        with self.store.lock:
            rows = self._sent_rows(self.store.conn, "id = ?", (prescription_id,))
        if not rows:
            raise KeyError(f"no prescription sent with id {prescription_id}")
        program: dict[str, Any] = json.loads(rows[0][_SENT.index("program")])
        return program

    def _with_outcome(self, serial: str, outcomes: tuple[str, ...]) -> list[int]:
        # Every row of the pump is checked, not only the matching ones: an outcome edited
        # from 'uncertain' to 'applied' would otherwise hide an unresolved send.
        with self.store.lock:
            rows = self._sent_rows(self.store.conn, "pump_serial = ?", (serial,))
        return sorted(int(row[0]) for row in rows if row[_SENT.index("outcome")] in outcomes)

    def _sent_rows(
        self, conn: sqlite3.Connection, where: str, params: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        with translated(self.store.where):
            rows = conn.execute(
                f"SELECT {select('prescriptions_sent')} FROM prescriptions_sent WHERE {where}",
                params,
            ).fetchall()
        for row in rows:
            self._check("prescriptions_sent", row[:-1], row[-1])
        return [tuple(row[:-1]) for row in rows]

    def record_refill(
        self,
        actor: Principal,
        serial: str,
        *,
        removed_nl: int,
        added_nl: int,
        at: datetime | None = None,
        expected_nl: int | None = None,
        last_fill_nl: int | None = None,
        discrepancy_pct: float | None = None,
        finding: str | None = None,
        drugs: Iterable[Mapping[str, Any]] = (),
        visit_id: int | None = None,
        reason: str | None = None,
    ) -> int:
        """Store a refill and its audit record in one transaction."""
        authorize(actor.role, Action.RECORD_REFILL)
        if removed_nl < 0 or added_nl < 0:
            raise ValueError("refill volumes cannot be negative")
        moment = at if at is not None else self.store.clock()
        values = {
            "removed_nl": removed_nl,
            "added_nl": added_nl,
            "expected_nl": expected_nl,
            "last_fill_nl": last_fill_nl,
            "discrepancy_pct": discrepancy_pct,
            "finding": finding,
            "at": utc_text(moment),
        }
        with self.store.write() as conn:
            cursor = conn.execute(
                "INSERT INTO refills (pump_serial, visit_id, account, at, at_s, removed_nl,"
                " added_nl, expected_nl, last_fill_nl, discrepancy_pct, finding, drugs)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    serial,
                    visit_id,
                    actor.name,
                    utc_text(moment),
                    utc_seconds(moment),
                    removed_nl,
                    added_nl,
                    expected_nl,
                    last_fill_nl,
                    discrepancy_pct,
                    finding,
                    canonical_json([dict(d) for d in drugs]),
                ),
            )
            refill_id = int(cursor.lastrowid or 0)
            self.trail.sealer.reseal(conn, "refills", "id = ?", (refill_id,))
            self.trail.append(
                AuditAction.REFILL_RECORDED,
                account=actor.name,
                role=str(actor.role),
                pump_serial=serial,
                after=values,
                reason=reason,
                outcome=finding or "recorded",
            )
            return refill_id

    def refills(self, serial: str) -> list[Refill]:
        """Refills of a pump, oldest first, for the accuracy trend."""
        rows = self.store.query(
            f"SELECT {select('refills')} FROM refills WHERE pump_serial = ? ORDER BY at_s, id",
            (serial,),
        )
        refills = []
        for row in rows:
            self._check("refills", row[:-1], row[-1])
            v = dict(zip(SEALED["refills"], row[:-1], strict=True))
            refills.append(
                Refill(
                    v["id"],
                    v["pump_serial"],
                    v["at"],
                    v["account"],
                    v["removed_nl"],
                    v["added_nl"],
                    v["expected_nl"],
                    v["last_fill_nl"],
                    v["discrepancy_pct"],
                    v["finding"],
                )
            )
        return refills

    # -- settings ------------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self.store.query(f"SELECT {select('settings')} FROM settings WHERE key = ?", (key,))
        if not row:
            return default
        self._check("settings", row[0][:-1], row[0][-1])
        return json.loads(row[0][1])

    def set_setting(
        self, actor: Principal, key: str, value: Any, reason: str | None = None
    ) -> None:
        """Change a setting; the audit record holds the value before and after."""
        authorize(actor.role, Action.CHANGE_SETTINGS)
        text = canonical_json(value)
        with self.store.write() as conn:
            old = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            conn.execute(
                "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                (key, text, utc_text(self.store.clock()), actor.name),
            )
            self.trail.sealer.reseal(conn, "settings", "key = ?", (key,))
            self.trail.append(
                AuditAction.SETTINGS_CHANGED,
                account=actor.name,
                role=str(actor.role),
                before=None if old is None else {key: json.loads(old[0])},
                after={key: value},
                reason=reason,
            )


def _missing(stored: list[int], low: int, high: int, step: int) -> list[tuple[int, int]]:
    gaps: list[tuple[int, int]] = []
    expected = low
    for value in stored:
        if value < low:
            continue
        if value > high:
            break
        if value > expected:
            gaps.append((expected, value - step))
        expected = max(expected, value + step)
    if expected <= high:
        gaps.append((expected, high))
    return gaps


def _ceil_hour(seconds: int) -> int:
    return -(-seconds // 3600) * 3600
