"""The local history counts the clinic triggers keep equal a full count, whatever writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from programmer.clinic import local_state
from programmer.store import AuditTrail, Records, open_store
from programmer.store.records import InfusionHour, PumpEvent
from tests.clinic.visitdb import make_visit_db


def _full(store, table: str, key: str, check: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return sorted(tuple(r) for r in store.query(
        f"SELECT '{table}', pump_serial, count(*), max({key}), sum({check}) FROM {table} GROUP BY pump_serial"))  # fmt: skip


def _heads(store, table: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return sorted(
        tuple(r)
        for r in store.query("SELECT * FROM clinic_heads WHERE tbl = ? AND n > 0", (table,))
    )


def test_heads_follow_inserts_deletes_and_updates(tmp_path: Path) -> None:
    db, key, _ = make_visit_db(tmp_path)
    with open_store(db, create=False) as store:
        local_state.ensure(store)  # counts what is there, then follows
        records = Records(store, AuditTrail.open(store, key))
        start = datetime(2026, 1, 1, tzinfo=UTC)
        records.save_events(
            "ITP40-000001",
            [PumpEvent(i, start + timedelta(hours=i), "x", {}) for i in range(5, 40)],
        )
        records.save_infusion_hours(
            "ITP40-000001", [InfusionHour(start + timedelta(hours=h), h, {}) for h in range(30)]
        )
        with store.write() as conn:
            conn.execute("DELETE FROM pump_events WHERE seq = 39")
            conn.execute(
                "UPDATE infusion_hours SET volume_nl = 7 WHERE hour_s = ?",
                (int(start.timestamp()),),
            )
        assert _heads(store, "pump_events") == _full(store, "pump_events", "seq", "at_s")
        assert _heads(store, "infusion_hours") == _full(
            store, "infusion_hours", "hour_s", "volume_nl"
        )
        with store.write() as conn:  # a rebuilt table loses the triggers: recounted
            conn.execute("DROP TRIGGER clinic_heads_pump_events_ins")
            conn.execute("DELETE FROM clinic_heads")
        local_state.ensure(store)
        assert _heads(store, "pump_events") == _full(store, "pump_events", "seq", "at_s")
