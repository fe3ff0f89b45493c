"""Sync and row seals together: what the clinic sends is sealed here with this
programmer's key (and its account changes recorded in this audit chain), so it signs in
and `itp audit verify` stays clean; a pulled row edited here with sqlite3 is still
caught, and is never sent on to the clinic (where the others would seal it as theirs)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from programmer.clinic.connection import parse_url
from programmer.clinic.run import run_sync
from programmer.store import Accounts, AuditTrail, Records, open_store
from programmer.store.accounts import AccountTampered
from programmer.store.audit_chain import Problem
from programmer.store.seals import TamperedRow
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import FAST_HASHER, make_visit_db


def _edit(db: Path, statement: str) -> None:
    """A change made with plain sqlite3, outside itp (no key)."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            assert conn.execute(statement).rowcount == 1
    finally:
        conn.close()


def _two(tmp_path: Path) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    db_a, key_a, _ = make_visit_db(a)
    db_b, key_b, _ = make_visit_db(b, serial="ITP40-000002")
    return (db_a, key_a), (db_b, key_b)


def test_a_pulled_account_signs_in_and_a_local_edit_of_it_is_still_caught(
    clinic: Clinic, tmp_path: Path
) -> None:
    (db_a, key_a), (db_b, key_b) = _two(tmp_path)
    url = parse_url(clinic.sync_url)
    with open_store(db_a, create=False) as store:
        accounts = Accounts(store, AuditTrail.open(store, key_a), FAST_HASHER)
        admin = accounts.sign_in("admin", "admin-password")
        accounts.add("nurse.kim", "nurse", "nurse-password", actor=admin)
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)
    with open_store(db_b, create=False) as store:
        trail = AuditTrail.open(store, key_b)
        assert Accounts(store, trail, FAST_HASHER).sign_in("nurse.kim", "nurse-password")
        # sealed with b's key and in b's chain: verify (seals, accounts against the
        # chain's account records) finds nothing
        result = trail.verify()
        assert result.ok and result.row_problems == (), result.message

    # a nurse made physician on b with sqlite3
    _edit(db_b, "UPDATE accounts SET role = 'physician' WHERE name = 'nurse.kim'")
    with open_store(db_b, create=False) as store:
        trail = AuditTrail.open(store, key_b)
        with pytest.raises(AccountTampered):
            Accounts(store, trail, FAST_HASHER).sign_in("nurse.kim", "nurse-password")
        result = trail.verify()
        assert result.problem is Problem.ROW_ALTERED
        # its seal, and its role against the chain's account records
        assert {(p.table, p.key) for p in result.row_problems} == {("accounts", ("nurse.kim",))}

    # the next sync neither sends the edit to the clinic nor seals it over here
    report = run_sync(db_b, key_b, url)
    assert any("nurse.kim" in note and "not synced" in note for note in report.notes)
    with psycopg.connect(clinic.admin_url) as conn:
        roles = conn.execute(
            "SELECT state::json->>'role' FROM itp.shared_versions"
            " WHERE kind = 'accounts' AND key = 'nurse.kim'"
        ).fetchall()
    assert roles and {r[0] for r in roles} == {"nurse"}
    with open_store(db_b, create=False) as store:
        trail = AuditTrail.open(store, key_b)
        with pytest.raises(AccountTampered):
            Accounts(store, trail, FAST_HASHER).sign_in("nurse.kim", "nurse-password")
        assert trail.verify().problem is Problem.ROW_ALTERED
    run_sync(db_a, key_a, url)
    with open_store(db_a, create=False) as store:
        accounts = Accounts(store, AuditTrail.open(store, key_a), FAST_HASHER)
        assert accounts.sign_in("nurse.kim", "nurse-password").role == "nurse"


def test_a_pulled_pump_event_edited_here_is_refused_and_not_sent(
    clinic: Clinic, tmp_path: Path
) -> None:
    (db_a, key_a), (db_b, key_b) = _two(tmp_path)
    url = parse_url(clinic.sync_url)
    run_sync(db_a, key_a, url)
    assert run_sync(db_b, key_b, url).pulled.get("pump_events")
    with open_store(db_b, create=False) as store:
        records = Records(store, AuditTrail.open(store, key_b))
        pulled = records.events("ITP40-000001")  # a's pump, sealed here as it came in
        assert pulled
        seq = pulled[0].seq
    # the pulled event's time moved on b (its check sum changes, so sync compares)
    _edit(
        db_b,
        f"UPDATE pump_events SET at_s = at_s + 3600 WHERE pump_serial = 'ITP40-000001'"
        f" AND seq = {seq}",
    )
    with open_store(db_b, create=False) as store:
        trail = AuditTrail.open(store, key_b)
        with pytest.raises(TamperedRow):
            Records(store, trail).events("ITP40-000001")
        assert ("pump_events", ("ITP40-000001", seq)) in [
            (p.table, p.key) for p in trail.verify().row_problems
        ]
    report = run_sync(db_b, key_b, url)
    assert any("pump event ITP40-000001" in note for note in report.notes)
    with psycopg.connect(clinic.admin_url) as conn:
        assert conn.execute("SELECT count(*) FROM itp.history_conflicts").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM itp.shared_versions").fetchone() != (0,)
        (sent,) = conn.execute(
            "SELECT count(*) FROM itp.pump_events WHERE pump_serial = 'ITP40-000001'"
        ).fetchone() or (0,)
    assert sent == len(pulled)


def test_a_refill_edited_here_is_not_sent(clinic: Clinic, tmp_path: Path) -> None:
    db, key, _ = make_visit_db(tmp_path)
    url = parse_url(clinic.sync_url)
    _edit(db, "UPDATE refills SET added_nl = added_nl + 4000000 WHERE id = 1")
    report = run_sync(db, key, url)
    assert any("refill record 1" in note for note in report.notes)
    assert "refills" not in report.pushed and report.pushed.get("prescriptions_sent") == 1


def test_the_app_review_copy_signs_in_and_reads_history_with_its_key(
    clinic: Clinic, tmp_path: Path
) -> None:
    """As `itp gui --offline --clinic URL` opens it: the copy and its key from
    ui/clinic/review.py, opened like any copy under review (open_for_review, then
    AuditTrail.open with that key, as AppState does)."""
    import importlib.util

    from programmer.store.review import open_for_review

    path = Path(__file__).resolve().parents[2] / "ui" / "clinic" / "review.py"
    spec = importlib.util.spec_from_file_location("itp_ui_clinic_review", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    db, key, _ = make_visit_db(tmp_path)
    run_sync(db, key, parse_url(clinic.sync_url))
    opened = module.open_clinic_review(clinic.review_url, None)
    assert opened is not None
    copy, copy_key = opened
    store = open_for_review(copy)
    try:
        trail = AuditTrail.open(store, copy_key)
        accounts = Accounts(store, trail, FAST_HASHER)
        assert accounts.sign_in_read_only("dr.lee", "doctor-password").role == "physician"
        assert Records(store, trail).events("ITP40-000001")
        assert Records(store, trail).refills("ITP40-000001")
    finally:
        store.close()


def test_a_sync_with_another_key_is_refused_before_anything_is_sealed(
    clinic: Clinic, tmp_path: Path
) -> None:
    from programmer.clinic.errors import ClinicError
    from programmer.store.audit_key import create_key

    (db_a, key_a), (db_b, _) = _two(tmp_path)
    url = parse_url(clinic.sync_url)
    run_sync(db_a, key_a, url)
    wrong = tmp_path / "other.key"
    create_key(wrong)
    with pytest.raises(ClinicError, match="audit key does not belong"):
        run_sync(db_b, wrong, url)
    with open_store(db_b, create=False) as store:
        rows = store.query("SELECT count(*) FROM pump_events WHERE pump_serial = 'ITP40-000001'")
        assert rows[0][0] == 0


def test_many_rows_changed_here_are_named_up_to_a_bound(clinic: Clinic, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from programmer.store.records import InfusionHour

    (db_a, key_a), (db_b, key_b) = _two(tmp_path)
    url = parse_url(clinic.sync_url)
    with open_store(db_a, create=False) as store:
        Records(store, AuditTrail.open(store, key_a)).save_infusion_hours(
            "ITP40-000001",
            [
                InfusionHour(datetime(2026, 1, 2, tzinfo=UTC) + timedelta(hours=h), 10 + h, {})
                for h in range(24)
            ],
        )
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)
    conn = sqlite3.connect(db_b)
    with conn:
        changed = conn.execute(
            "UPDATE infusion_hours SET volume_nl = volume_nl + 1000"
            " WHERE pump_serial = 'ITP40-000001'"
        ).rowcount
    conn.close()
    assert changed > 11
    notes = [n for n in run_sync(db_b, key_b, url).notes if "infusion" in n]
    assert len(notes) == 11 and f"and {changed - 10} more infusion_hours" in notes[-1]
    with psycopg.connect(clinic.admin_url) as pg:
        assert pg.execute("SELECT count(*) FROM itp.history_conflicts").fetchone() == (0,)
