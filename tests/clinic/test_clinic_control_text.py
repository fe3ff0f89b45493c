"""Audit text with NUL and other control characters reaches the clinic and verifies there.

PostgreSQL text cannot hold NUL; the clinic keeps such a record with its text escaped
reversibly (docs/clinic.md), so the chain recomputed on the server still matches."""

from __future__ import annotations

from pathlib import Path

import psycopg

from programmer.cli import main
from programmer.clinic.connection import parse_url
from programmer.clinic.review import mirror
from programmer.clinic.run import run_sync
from programmer.clinic.verify import verify_clinic
from programmer.store import AuditTrail, open_store
from programmer.store.audit_key import key_id, load_key
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import make_visit_db

ODD = "a\x00b\\0c\\\\d\x01\x07\x1b[31m\ttab\r\nline\x7f\u2028end\\"


def _append_odd(db: Path, key: Path) -> int:
    store = open_store(db, create=False)
    try:
        trail = AuditTrail.open(store, key)
        rec = trail.append(
            "settings_changed",
            account="dr.lee\x00x",
            role="physician",
            before={"note": ODD},
            after={"note": "\x00"},
            reason=ODD,
            outcome="ok\x00",
        )
        return rec.seq
    finally:
        store.close()


def test_audit_text_with_nul_syncs_and_verifies(clinic: Clinic, tmp_path: Path) -> None:
    db, key, _ = make_visit_db(tmp_path)
    seq = _append_odd(db, key)
    run_sync(db, key, parse_url(clinic.sync_url), audit_batch=3)
    seq2 = _append_odd(db, key)  # and in a later, incremental sync
    run_sync(db, key, parse_url(clinic.sync_url), audit_batch=3)
    raw = load_key(key)
    with psycopg.connect(clinic.review_url) as conn:
        results = verify_clinic(conn, {key_id(raw): raw})
        assert [(r.ok, r.first_bad_seq, r.problem) for r in results] == [(True, None, None)]
        assert results[0].records >= seq2 > seq
    assert main(["audit", "verify", "--clinic", clinic.review_url]) == 0
    # the review copy holds the text exactly as the programmer wrote it
    copy = mirror(parse_url(clinic.review_url), tmp_path / "review")
    store = open_store(copy.db, create=False, read_only=True)
    try:
        row = store.query("SELECT reason, account, outcome FROM audit WHERE seq = ?", (seq,))[0]
    finally:
        store.close()
    assert tuple(row) == (ODD, "dr.lee\x00x", "ok\x00")


def test_an_escaped_record_altered_on_the_server_is_found(clinic: Clinic, tmp_path: Path) -> None:
    db, key, _ = make_visit_db(tmp_path)
    seq = _append_odd(db, key)
    run_sync(db, key, parse_url(clinic.sync_url), audit_batch=3)
    with clinic.admin() as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE itp.audit SET reason = reason || 'x' WHERE seq = %s", (seq,))
    with psycopg.connect(clinic.review_url) as conn:
        assert [r.ok for r in verify_clinic(conn)] == [False]
