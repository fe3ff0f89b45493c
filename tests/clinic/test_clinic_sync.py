"""Sync against a real PostgreSQL server: what goes up, what comes down, idempotence."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from programmer.clinic.connection import parse_url
from programmer.clinic.run import run_sync
from programmer.clinic.verify import verify_clinic
from programmer.store import AuditTrail, open_store
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import make_visit_db

# Every column but the seal, which each programmer makes with its own key.
HISTORY_COLUMNS = {
    "pump_events": "pump_serial, seq, at, at_s, kind, data, read_at",
    "infusion_hours": "pump_serial, hour_s, hour_at, volume_nl, data, read_at",
}


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            t: int(conn.execute(f"SELECT count(*) FROM itp.{t}").fetchone()[0])  # type: ignore[index]
            for t in ("audit", "audit_checkpoints", "pump_events", "infusion_hours",
                      "row_versions", "shared_versions", "pumps")
        }  # fmt: skip


def test_first_sync_sends_everything_and_a_second_sends_nothing(
    clinic: Clinic, tmp_path: Path
) -> None:
    db, key, _ = make_visit_db(tmp_path)
    url = parse_url(clinic.sync_url)
    report = run_sync(db, key, url, label="room-1")
    with open_store(db, create=False) as store:
        local_audit = store.query("SELECT count(*) FROM audit")[0][0]
        local_events = store.query("SELECT count(*) FROM pump_events")[0][0]
    counts = _counts(clinic.admin_url)
    # the sync's own account merge may add audit records before the trail is sent
    assert counts["audit"] == local_audit == report.pushed["audit"]
    assert counts["pump_events"] == local_events >= 1
    assert counts["pumps"] == 1
    assert report.pushed["visits"] == 1 and report.pushed["prescriptions_sent"] == 1
    assert report.pushed["refills"] == 1 and report.pushed["accounts"] == 2
    again = run_sync(db, key, url, label="room-1")
    assert not any(again.pushed.values()) and not any(again.pulled.values())
    assert _counts(clinic.admin_url) == counts
    with psycopg.connect(clinic.admin_url) as conn:
        results = verify_clinic(conn)
    assert [r.ok for r in results] == [True] and results[0].records == local_audit


def test_a_visit_ended_later_is_a_new_version_not_an_overwrite(
    clinic: Clinic, tmp_path: Path
) -> None:
    db, key, visit_id = make_visit_db(tmp_path)
    url = parse_url(clinic.sync_url)
    run_sync(db, key, url)
    with open_store(db, create=False) as store, store.write() as conn:
        conn.execute("UPDATE visits SET ended_at = 'x', ended_s = 1 WHERE id = ?", (visit_id,))
    report = run_sync(db, key, url)
    assert report.pushed == {"visits": 1}
    with psycopg.connect(clinic.admin_url) as conn:
        versions = conn.execute(
            "SELECT oseq, content FROM itp.row_versions WHERE kind = 'visits' ORDER BY oseq"
        ).fetchall()
    assert (
        len(versions) == 2
        and '"ended_s":null' in versions[0][1]
        and '"ended_s":1' in versions[1][1]
    )


def test_a_second_programmer_receives_the_first_ones_pump_history_and_visits(
    clinic: Clinic, tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    db_a, key_a, _ = make_visit_db(a)
    db_b, key_b, _ = make_visit_db(b, start_t=1_767_225_600 + 86_400, serial="ITP40-000002")
    url = parse_url(clinic.sync_url)
    run_sync(db_a, key_a, url)
    report = run_sync(db_b, key_b, url)
    assert report.pulled.get("visits") == 1 and report.pulled.get("prescriptions_sent") == 1
    run_sync(db_a, key_a, url)
    with open_store(db_a, create=False) as sa, open_store(db_b, create=False) as sb:
        for table, cols in HISTORY_COLUMNS.items():
            assert sorted(sa.query(f"SELECT {cols} FROM {table}")) == sorted(
                sb.query(f"SELECT {cols} FROM {table}")
            )
            # the same rows, each sealed with its own programmer's key (never synced)
            seals_a = set(sa.query(f"SELECT seal FROM {table}"))
            assert seals_a.isdisjoint(sb.query(f"SELECT seal FROM {table}"))
        assert sb.query("SELECT count(*) FROM clinic_rows WHERE kind = 'visits'")[0][0] == 1
        # each keeps its own trail: a's trail is whole on the clinic, b's too; every
        # pulled row passes its seal check
        assert AuditTrail.open(sb, key_b).verify().ok
        assert AuditTrail.open(sa, key_a).verify().ok
    with psycopg.connect(clinic.admin_url) as conn:
        assert all(r.ok for r in verify_clinic(conn))
        assert len(verify_clinic(conn)) == 2


def test_review_role_reads_everything_and_writes_nothing(clinic: Clinic, tmp_path: Path) -> None:
    db, key, _ = make_visit_db(tmp_path)
    run_sync(db, key, parse_url(clinic.sync_url))
    with psycopg.connect(clinic.review_url, autocommit=True) as conn:
        for table in ("audit", "pump_events", "row_versions", "shared_versions", "pumps"):
            assert conn.execute(f"SELECT count(*) FROM itp.{table}").fetchone()[0] > 0  # type: ignore[index]
        for statement in (
            "INSERT INTO itp.meta VALUES ('x', 'y')",
            "DELETE FROM itp.pumps",
            "UPDATE itp.history_heads SET n = 0",
            "CREATE TABLE itp.x (a int)",
        ):
            with pytest.raises(psycopg.Error):
                conn.execute(statement)


def test_two_copies_of_one_pump_event_keep_the_first_and_record_the_other(
    clinic: Clinic, tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    db_a, key_a, _ = make_visit_db(a)
    db_b, key_b, _ = make_visit_db(b, start_t=1_767_225_600 + 86_400)  # same serial, other log
    url = parse_url(clinic.sync_url)
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)
    with psycopg.connect(clinic.admin_url) as conn:
        kept = conn.execute("SELECT at_s FROM itp.pump_events WHERE seq = 1").fetchall()
        conflicts = conn.execute("SELECT tbl, key, content FROM itp.history_conflicts").fetchall()
    assert kept == [(1_767_225_600,)]
    assert [(t, k) for t, k, _ in conflicts] == [("pump_events", 1)]
    assert "1767312000" in conflicts[0][2]


def test_a_days_new_history_goes_up_and_comes_down_exactly_once(
    clinic: Clinic, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from programmer.store import Records
    from programmer.store.records import InfusionHour, PumpEvent

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    db_a, key_a, _ = make_visit_db(a)
    db_b, key_b, _ = make_visit_db(b, serial="ITP40-000002")
    url = parse_url(clinic.sync_url)
    for db, key in ((db_a, key_a), (db_b, key_b), (db_a, key_a)):
        run_sync(db, key, url)
    start = datetime(2026, 1, 2, tzinfo=UTC)
    with open_store(db_a, create=False) as store:
        records = Records(store, AuditTrail.open(store, key_a))
        records.save_events(
            "ITP40-000001",
            [PumpEvent(100 + i, start + timedelta(minutes=i), "x", {}) for i in range(5)],
        )
        records.save_infusion_hours(
            "ITP40-000001",
            [InfusionHour(start + timedelta(hours=h), 10 + h, {}) for h in range(24)],
        )
    up = run_sync(db_a, key_a, url)
    assert (up.pushed.get("pump_events"), up.pushed.get("infusion_hours")) == (5, 24)
    down = run_sync(db_b, key_b, url)
    assert (down.pulled.get("pump_events"), down.pulled.get("infusion_hours")) == (5, 24)
    assert not any(run_sync(db_b, key_b, url).pulled.values())
