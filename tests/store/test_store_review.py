"""`itp backup` and the offline review of a copy (issue 14, store side).

The copy is consistent while the app writes, created 0600, one self-contained file; a
review opens it immutable (no -wal or -shm left beside it), needs the audit key only to
verify, and says clearly when a copy may lack its -wal file or is of another version.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from programmer.cli import main
from programmer.store import AuditAction, AuditTrail, AuthenticationFailed, open_store
from programmer.store.review import (
    ReviewRefused,
    backup,
    open_for_review,
    review_trail,
    sign_in_for_review,
)
from programmer.store.schema import LATEST_VERSION

PASSWORD = "a-long-enough-passphrase"


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    db, key = tmp_path / "live" / "itp.sqlite3", tmp_path / "audit.key"
    monkeypatch.setenv("ITP_NEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("ITP_PASSWORD", PASSWORD)
    assert (
        main(["users", "add", "admin", "--role", "admin", "--db", str(db), "--audit-key", str(key)])
        == 0
    )
    return db, key


def test_itp_backup_makes_a_private_self_contained_copy_a_review_reads_unchanged(
    live: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, key = live
    out = tmp_path / "review" / "copy.sqlite3"
    out.parent.mkdir()
    old_umask = os.umask(0o022)
    try:
        args = ["--db", str(db), "--audit-key", str(key), "--user", "admin"]
        assert main(["backup", "--out", str(out), *args]) == 0
    finally:
        os.umask(old_umask)
    assert "itp gui --offline --db" in capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes()[18:20] == b"\x01\x01"  # rollback journal: nothing beside it
    assert main(["backup", "--out", str(out), *args]) == 2  # never over an existing file
    before = out.read_bytes()
    with open_for_review(out) as review:
        assert review.review_warnings == []
        assert review_trail(review, tmp_path / "no-such.key") is None  # readable without it
        actions = [row[0] for row in review.query("SELECT action FROM audit ORDER BY seq")]
        assert actions[-1] == "export"  # the backup's own record is in the copy
        assert sign_in_for_review(review, None, "admin", PASSWORD).role == "admin"
        with pytest.raises(AuthenticationFailed):
            sign_in_for_review(review, None, "admin", "not-the-passphrase")
        trail = review_trail(review, key)
        assert trail is not None and trail.verify().ok
        assert sign_in_for_review(review, trail, "admin", PASSWORD).name == "admin"
    assert out.read_bytes() == before
    assert _siblings(out) == ["copy.sqlite3"]


def test_a_backup_taken_while_another_connection_appends_is_consistent(
    live: tuple[Path, Path], tmp_path: Path
) -> None:
    db, key = live
    stop = threading.Event()

    def writer() -> None:
        with open_store(db) as store:
            trail = AuditTrail.open(store, key)
            while not stop.is_set():
                trail.append(AuditAction.INTERROGATED, account="admin", role="admin")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = []
        with open_store(db) as store:
            for n in range(5):
                copy = tmp_path / f"copy{n}.sqlite3"
                backup(store, copy)
                copies.append(copy)
    finally:
        stop.set()
        thread.join()
    for copy in copies:
        with open_for_review(copy) as review:
            trail = review_trail(review, key)
            assert trail is not None
            result = trail.verify()
            assert result.ok, result.message


def test_a_copy_without_its_wal_file_is_said_to_maybe_lack_records(
    live: tuple[Path, Path], tmp_path: Path
) -> None:
    db, key = live
    with open_store(db) as store:  # held open: the newest records stay in the -wal file
        AuditTrail.open(store, key).append(AuditAction.INTERROGATED, account="a", role="admin")
        copy = tmp_path / "plain-copy.sqlite3"
        shutil.copyfile(db, copy)
    with open_for_review(copy) as review:
        (warning,) = review.review_warnings
        assert warning.kind == "maybe_missing_wal"
        assert "itp backup" in warning.message and "newest records" in warning.message
    assert _siblings(copy) == ["plain-copy.sqlite3"]


def test_a_copy_of_another_version_is_refused_with_a_message(
    live: tuple[Path, Path], tmp_path: Path
) -> None:
    db, _ = live
    versions = [(LATEST_VERSION + 1, "newer itp")]
    if LATEST_VERSION > 1:
        versions.append((LATEST_VERSION - 1, "older itp"))
    for version, words in versions:
        copy = tmp_path / f"v{version}.sqlite3"
        with open_store(db) as store:
            backup(store, copy)
        conn = sqlite3.connect(copy)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
        conn.close()
        with pytest.raises(ReviewRefused) as refused:
            open_for_review(copy)
        assert refused.value.kind == "other_version" and words in refused.value.message
        assert refused.value.title
        assert _siblings(copy) == [copy.name]


def test_files_that_are_not_itp_databases_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 100)
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    for path, kind in ((text, "not_itp"), (foreign, "not_itp"), (tmp_path / "nope", "missing")):
        with pytest.raises(ReviewRefused) as refused:
            open_for_review(path)
        assert refused.value.kind == kind


def _history_in(db: Path, key: Path) -> None:
    """A pump, two events, a refill and a setting: what a nurse reviews."""
    from datetime import UTC, datetime

    from programmer.store import Principal, PumpEvent, Records, Role

    with open_store(db) as store:
        trail = AuditTrail.open(store, key)
        records = Records(store, trail)
        records.upsert_pump("SN-1", "ITP-40")
        at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        records.save_events("SN-1", [PumpEvent(1, at, "alarm_raised", {"code": "motor_stall"}),
                                     PumpEvent(2, at, "alarm_cleared", {"code": "motor_stall"})])  # fmt: skip
        doc = Principal("dr.lee", Role.PHYSICIAN)
        records.record_refill(doc, "SN-1", removed_nl=1_000, added_nl=20_000_000)
        records.set_setting(Principal("admin", Role.ADMIN), "clinic_name", "North")


def test_a_copy_is_read_without_its_audit_key_only_verifying_needs_it(
    live: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another computer, no key for this record: everything reads as stored; verifying
    (the chain, the row seals) says it needs the key; no key is made on the way."""
    from programmer.store import AuditKeyError, Records
    from programmer.store.review import open_review_trail

    db, key = live
    _history_in(db, key)
    copy = tmp_path / "copy.sqlite3"
    with open_store(db) as store:
        backup(store, copy)
    config = tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))  # this computer holds no key
    with open_for_review(copy) as review:
        trail = open_review_trail(review, None)
        assert not trail.verifiable
        assert trail.unverified_reason is not None
        assert "does not hold the audit key" in trail.unverified_reason
        records = Records(review, trail)
        assert [e.kind for e in records.events("SN-1")] == ["alarm_raised", "alarm_cleared"]
        assert [r.added_nl for r in records.refills("SN-1")] == [20_000_000]
        assert records.get_setting("clinic_name") == "North"
        assert trail.query(action=AuditAction.REFILL_RECORDED)
        with pytest.raises(AuditKeyError, match="audit key"):
            trail.verify()
        with pytest.raises(AuditKeyError):
            trail.append(AuditAction.SIGN_IN, account="x", role="nurse")
        from programmer.store import Accounts

        assert Accounts(review, trail).sign_in_read_only("admin", PASSWORD).name == "admin"
        # Another computer's key is not this record's key: read as stored, said so.
        other = tmp_path / "other.key"
        AuditTrail.open(open_store(tmp_path / "other.sqlite3"), other)
        wrong = open_review_trail(review, other)
        assert not wrong.verifiable and wrong.unverified_reason is not None
        assert "not the audit key of this record" in wrong.unverified_reason
        assert [e.seq for e in Records(review, wrong).events("SN-1")] == [1, 2]
        # With its key, it verifies.
        right = open_review_trail(review, key)
        assert right.verifiable and right.unverified_reason is None and right.verify().ok
    assert not config.exists(), "reviewing made no key"
    assert _siblings(copy) == ["copy.sqlite3"]


def test_a_copy_sealed_with_its_own_key_is_checked_with_it(
    live: tuple[Path, Path], tmp_path: Path
) -> None:
    """The clinic's review copy: its rows sealed with the copy's key, its chain written
    with a programmer's. That key checks the rows (not read as stored, unverified)."""
    from programmer.store import Records
    from programmer.store.audit_key import create_key
    from programmer.store.review import open_review_trail
    from programmer.store.seals import SEALED, Sealer

    db, key = live
    _history_in(db, key)
    copy = tmp_path / "copy.sqlite3"
    with open_store(db) as store:
        backup(store, copy)
    own = tmp_path / "copy.key"
    sealer = Sealer(create_key(own))
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("BEGIN")
    for table in SEALED:
        sealer.reseal(conn, table, "1 = 1", ())
    conn.execute("COMMIT")
    conn.close()
    with open_for_review(copy) as review:
        trail = open_review_trail(review, own)
        assert trail.verifiable and trail.key_matches() is False
        assert [e.seq for e in Records(review, trail).events("SN-1")] == [1, 2]
        assert not trail.verify().ok  # the chain is another key's, and verify says so
