"""`itp gui --offline --clinic URL`: the review reads the clinic through the read-only login."""

from __future__ import annotations

from pathlib import Path

import pytest

from programmer.clinic.connection import parse_url
from programmer.clinic.errors import ClinicError
from programmer.clinic.review import mirror
from programmer.clinic.run import run_sync
from programmer.store import Accounts, AuditTrail, Records, StoreReadOnly, open_store
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import make_visit_db


def test_review_copy_holds_every_programmers_records_and_is_read_only(
    clinic: Clinic, tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    db_a, key_a, _ = make_visit_db(a)
    db_b, key_b, _ = make_visit_db(b, serial="ITP40-000002")
    run_sync(db_a, key_a, parse_url(clinic.sync_url))
    run_sync(db_b, key_b, parse_url(clinic.sync_url))
    out = tmp_path / "review"
    out.mkdir()
    copy = mirror(parse_url(clinic.review_url), out)
    with open_store(copy.db, create=False, read_only=True) as store:
        assert {r[0] for r in store.query("SELECT serial FROM pumps")} == {
            "ITP40-000001",
            "ITP40-000002",
        }
        assert store.query("SELECT count(*) FROM visits")[0][0] == 2
        assert (
            store.query("SELECT count(*) FROM prescriptions_sent WHERE visit_id IS NOT NULL")[0][0]
            == 2
        )
        with open_store(db_a, create=False) as mine:
            assert (
                store.query("SELECT count(*) FROM audit")[0][0]
                >= mine.query("SELECT count(*) FROM audit")[0][0] - 50
            )
        # a nurse signs in with her clinic password; nothing is written. The copy's rows
        # are sealed with the copy's own key (the clinic holds no seals), which the app
        # opens it with; with another key every row reads as changed.
        trail = AuditTrail.open(store, copy.key)
        accounts = Accounts(store, trail)
        assert accounts.sign_in_read_only("dr.lee", "doctor-password").name == "dr.lee"
        assert list(trail.sealer.problems(store.conn)) == []
        records = Records(store, trail)
        assert records.events("ITP40-000002")
        other = AuditTrail(store, b"\0" * 32).sealer
        assert {p.table for p in other.problems(store.conn)} >= {"accounts", "pump_events"}
        with pytest.raises(StoreReadOnly), store.write() as conn:
            conn.execute("DELETE FROM pumps")


def test_review_refuses_a_login_that_can_write(clinic: Clinic, tmp_path: Path) -> None:
    with pytest.raises(ClinicError, match="read-only review login"):
        mirror(parse_url(clinic.sync_url), tmp_path)


def test_lazy_review_fetches_a_pumps_history_when_it_is_first_read(
    clinic: Clinic, tmp_path: Path
) -> None:
    """The window opens on pumps, visits and the trail; each pump's history comes from the
    clinic the first time something reads it, whole, sealed like the rest of the copy."""
    from programmer.history_series import load_history
    from programmer.store.review import open_for_review

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    db_a, key_a, _ = make_visit_db(a)
    db_b, key_b, _ = make_visit_db(b, serial="ITP40-000002")
    run_sync(db_a, key_a, parse_url(clinic.sync_url))
    run_sync(db_b, key_b, parse_url(clinic.sync_url))
    with open_store(db_b, create=False) as mine:
        one = ("ITP40-000002",)
        want_hours = mine.query("SELECT count(*) FROM infusion_hours WHERE pump_serial = ?", one)
        want_events = mine.query("SELECT count(*) FROM pump_events WHERE pump_serial = ?", one)
    out = tmp_path / "review"
    out.mkdir()
    copy = mirror(parse_url(clinic.review_url), out, lazy=True)
    assert copy.pending is not None
    try:
        store = open_for_review(copy.db)
        assert store.review_warnings == []  # a whole file: nothing to warn about
        trail = AuditTrail.open(store, copy.key)
        records = Records(store, trail)
        assert store.query("SELECT count(*) FROM visits")[0][0] == 2
        assert copy.pending.fetched == []  # nothing of the histories before it is read
        assert [r.seq for r in trail.query()][:2] == [1, 2]  # the trail, once read, whole
        with open_store(db_b, create=False) as mine:
            top = mine.query("SELECT max(seq) FROM audit")[0][0]
        assert copy.pending.fetched == ["audit"]
        assert store.query("SELECT max(seq) FROM audit")[0][0] >= top - 50
        copy.pending.fetched.clear()
        history = load_history(records, "ITP40-000002")
        assert copy.pending.fetched == ["ITP40-000002"]
        assert sum(v is not None for v in history.hour_volume_nl) == want_hours[0][0]
        assert len(records.events("ITP40-000002")) == want_events[0][0] > 0
        assert copy.pending.fetched == ["ITP40-000002"]  # once
        assert list(trail.sealer.problems(store.conn)) == []
        # a query naming no pump gets every pump's history first
        assert store.query("SELECT count(DISTINCT pump_serial) FROM pump_events")[0][0] == 2
        assert sorted(copy.pending.fetched) == ["ITP40-000001", "ITP40-000002"]
        store.close()
    finally:
        copy.pending.close()


def test_lazy_review_verify_and_export_fetch_the_whole_trail_before_any_list(
    clinic: Clinic, tmp_path: Path
) -> None:
    """Verify and export read the trail on their own connection: the review fetches it for
    them too, not only for the audit list. A reader with no clinic (the CLI on the copy,
    another process) is told the trail is not in the copy, never given an empty one."""
    import io
    import json

    import psycopg

    from programmer.store import StoreError
    from programmer.store.audit_chain import Problem
    from programmer.store.review import open_for_review

    folder = tmp_path / "a"
    folder.mkdir()
    db, key, _ = make_visit_db(folder)
    run_sync(db, key, parse_url(clinic.sync_url))
    out = tmp_path / "review"
    out.mkdir()
    copy = mirror(parse_url(clinic.review_url), out, lazy=True)
    assert copy.pending is not None
    with psycopg.connect(clinic.admin_url) as conn:
        row = conn.execute(
            "SELECT count(*), max(seq) FROM itp.audit WHERE origin = %s", (copy.programmer,)
        ).fetchone()
    assert row is not None and row[0] == row[1] > 10
    whole = int(row[0])
    try:
        # the CLI's way in (open_store, no clinic hook): a clear refusal, not 0 records
        with open_store(copy.db, create=False, read_only=True) as cli_store:
            cli_trail = AuditTrail.open(cli_store, key)
            with pytest.raises(StoreError, match="not been fetched from the clinic"):
                cli_trail.verify()
            with pytest.raises(StoreError, match="not been fetched from the clinic"):
                cli_trail.export("json", io.StringIO())
        store = open_for_review(copy.db)
        try:
            trail = AuditTrail.open(store, key)  # the programmer's own key: MACs checked
            assert copy.pending.fetched == []
            result = trail.verify()  # before any list of the trail was shown
            assert copy.pending.fetched == ["audit"]
            # the chain whole with its MACs (the rows are sealed with the copy's key, which
            # this programmer's key reads as changed: the reviewer verifies chains on the
            # clinic, docs/clinic.md)
            assert result.first_bad_seq is None, result.message
            assert result.problem in (None, Problem.ROW_ALTERED)
            assert (result.records, result.head.seq) == (whole, whole)
        finally:
            store.close()
        # a new review; export first this time
        again = tmp_path / "again"
        again.mkdir()
        second = mirror(parse_url(clinic.review_url), again, lazy=True)
        assert second.pending is not None
        try:
            store = open_for_review(second.db)
            try:
                buffer = io.StringIO()
                count = AuditTrail.open(store, second.key).export("json", buffer)
                assert second.pending.fetched == ["audit"]
                assert count == whole
                assert len(json.loads(buffer.getvalue())["records"]) == whole
            finally:
                store.close()
        finally:
            second.pending.close()
        # once fetched, the copy holds it for any reader
        with open_store(copy.db, create=False, read_only=True) as cli_store:
            assert AuditTrail.open(cli_store, key).verify().head.seq == whole
    finally:
        copy.pending.close()
