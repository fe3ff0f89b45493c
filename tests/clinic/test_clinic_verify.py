"""`itp audit verify --clinic`: a record altered, removed or cut from the end on the
server is found, at the right programmer and record; an untouched clinic verifies."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from programmer.cli import main
from programmer.clinic.connection import parse_url
from programmer.clinic.run import run_sync
from programmer.clinic.verify import verify_clinic
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import make_visit_db


@pytest.fixture
def synced(clinic: Clinic, tmp_path: Path) -> tuple[Clinic, str, Path]:
    db, key, _ = make_visit_db(tmp_path)
    run_sync(db, key, parse_url(clinic.sync_url), audit_batch=4)  # several checkpoints
    with psycopg.connect(clinic.admin_url) as conn:
        origin = conn.execute("SELECT id FROM itp.programmers").fetchone()[0]  # type: ignore[index]
    return clinic, str(origin), key


def _tamper(clinic: Clinic, statement: str) -> None:
    # what a superuser (or a restore gone wrong) can do despite the append-only triggers
    with clinic.admin() as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement)


def _verify(clinic: Clinic) -> list[tuple[bool, int | None]]:
    with psycopg.connect(clinic.review_url) as conn:
        return [(r.ok, r.first_bad_seq) for r in verify_clinic(conn)]


def test_untouched_chain_verifies_and_cli_exits_0(
    synced: tuple[Clinic, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    clinic, _, _ = synced
    assert _verify(clinic) == [(True, None)]
    assert main(["audit", "verify", "--clinic", clinic.review_url]) == 0
    assert "ok:" in capsys.readouterr().out


def test_sync_role_cannot_rewrite_a_record(synced: tuple[Clinic, str, Path]) -> None:
    clinic, _, _ = synced
    with psycopg.connect(clinic.sync_url, autocommit=True) as conn:
        with pytest.raises(psycopg.Error):
            conn.execute("UPDATE itp.audit SET reason = 'x' WHERE seq = 3")
        with pytest.raises(psycopg.Error):
            conn.execute("DELETE FROM itp.audit WHERE seq = 3")


def test_altered_record_is_found_at_its_checkpoint(
    synced: tuple[Clinic, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    clinic, _, _ = synced
    _tamper(clinic, "UPDATE itp.audit SET reason = 'edited' WHERE seq = 6")
    assert _verify(clinic) == [(False, 8)]  # checkpoints every 4 records: found at 8
    assert main(["audit", "verify", "--clinic", clinic.review_url]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_altered_record_is_found_at_itself_with_the_key(synced: tuple[Clinic, str, Path]) -> None:
    clinic, _, key = synced
    _tamper(clinic, "UPDATE itp.audit SET reason = 'edited' WHERE seq = 6")
    with psycopg.connect(clinic.review_url) as conn:
        from programmer.store.audit_key import key_id, load_key

        raw = load_key(key)
        results = verify_clinic(conn, {key_id(raw): raw})
    assert [(r.ok, r.first_bad_seq) for r in results] == [(False, 6)]


def test_removed_record_is_found(synced: tuple[Clinic, str, Path]) -> None:
    clinic, _, _ = synced
    _tamper(clinic, "DELETE FROM itp.audit WHERE seq = 5")
    assert _verify(clinic) == [(False, 5)]


def test_records_cut_from_the_end_are_found(synced: tuple[Clinic, str, Path]) -> None:
    clinic, _, _ = synced
    with psycopg.connect(clinic.admin_url) as conn:
        last = conn.execute("SELECT max(seq) FROM itp.audit").fetchone()[0]  # type: ignore[index]
    _tamper(clinic, f"DELETE FROM itp.audit WHERE seq >= {last - 1}")
    assert _verify(clinic) == [(False, last - 1)]


def test_a_consistent_rewrite_of_records_and_checkpoints_needs_the_key(
    synced: tuple[Clinic, str, Path],
) -> None:
    """The documented limit: someone rewriting a record's content and recomputing every
    checkpoint passes the keyless check; the programmer's key still finds it."""
    clinic, origin, key = synced
    from programmer.clinic import chain

    _tamper(clinic, "UPDATE itp.audit SET reason = 'edited' WHERE seq = 6")
    with clinic.admin() as conn:
        rows = conn.execute(
            "SELECT seq, ts, ts_s, action, account, role, pump_serial, before, after, reason,"
            " outcome, prev_mac, mac FROM itp.audit ORDER BY seq"
        ).fetchall()
        value = chain.GENESIS
        conn.execute("SET session_replication_role = replica")
        for row in rows:
            value = chain.extend(value, [row])
            conn.execute(
                "UPDATE itp.audit_checkpoints SET chain = %s WHERE origin = %s AND seq = %s",
                (value, origin, row[0]),
            )
    assert _verify(clinic) == [(True, None)]
    from programmer.store.audit_key import key_id, load_key

    raw = load_key(key)
    with psycopg.connect(clinic.review_url) as conn:
        assert [r.first_bad_seq for r in verify_clinic(conn, {key_id(raw): raw})] == [6]
