"""Opening databases and writing files (issue 13, section 5).

A foreign or newer file is refused before anything is written to it (no switch to WAL);
a command that only reads never turns an empty file into an itp database; a database
others can read is made 0600; exports and checkpoints are created 0600; a planted audit
record at seq 2^63 - 1 does not make every later command fail.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from programmer.store import (
    AuditAction,
    AuditTrail,
    StoreCorrupt,
    StoreNewerSchema,
    StoreUnavailable,
    open_store,
)
from programmer.store.cli import main_audit, main_users
from tests.store.conftest import FakeClock

PASSWORD = "a-long-enough-passphrase"


def _journal_header(path: Path) -> tuple[int, int]:
    """Bytes 18 and 19 of the SQLite header: 1 = rollback journal, 2 = WAL."""
    head = path.read_bytes()[:20]
    return head[18], head[19]


def _rollback_db(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    assert _journal_header(path) == (1, 1)


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    _rollback_db(path, "CREATE TABLE photos (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt, match="not an itp database"):
        open_store(path)
    assert path.read_bytes() == before  # not switched to WAL, nothing written
    assert not Path(f"{path}-wal").exists()


def test_a_newer_itp_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    _rollback_db(path, "CREATE TABLE meta (key TEXT)", "PRAGMA user_version = 999")
    before = path.read_bytes()
    with pytest.raises(StoreNewerSchema):
        open_store(path)
    assert path.read_bytes() == before


def test_a_command_that_only_reads_does_not_make_an_empty_file_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch(mode=0o600)
    key = tmp_path / "audit.key"
    monkeypatch.setenv("ITP_PASSWORD", PASSWORD)
    args = ["--db", str(path), "--audit-key", str(key), "--user", "admin"]
    assert main_audit(["verify", *args]) == 2
    assert "empty, not an itp database" in capsys.readouterr().err
    assert path.stat().st_size == 0
    assert not key.exists()
    with pytest.raises(StoreUnavailable):
        open_store(path, create=False)
    assert path.stat().st_size == 0


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_database_others_can_read_is_made_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "itp.sqlite3"
    key = tmp_path / "audit.key"
    monkeypatch.setenv("ITP_NEW_PASSWORD", PASSWORD)
    assert (
        main_users(["add", "admin", "--role", "admin", "--db", str(path), "--audit-key", str(key)])
        == 0
    )
    path.chmod(0o644)
    monkeypatch.setenv("ITP_PASSWORD", PASSWORD)
    assert main_users(["list", "--db", str(path), "--audit-key", str(key), "--user", "admin"]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "could be read by other users (mode 0644); it is now 0600" in capsys.readouterr().err
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_exports_and_checkpoints_are_created_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "itp.sqlite3"
        key = tmp_path / "audit.key"
        monkeypatch.setenv("ITP_NEW_PASSWORD", PASSWORD)
        monkeypatch.setenv("ITP_PASSWORD", PASSWORD)
        common = ["--db", str(path), "--audit-key", str(key)]
        assert main_users(["add", "admin", "--role", "admin", *common]) == 0
        user = [*common, "--user", "admin"]
        export = tmp_path / "trail.csv"
        checkpoint = tmp_path / "head.json"
        assert main_audit(["export", "--format", "csv", "--out", str(export), *user]) == 0
        assert main_audit(["checkpoint", "--out", str(checkpoint), *user]) == 0
        for made in (export, checkpoint, path, key):
            assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
    finally:
        os.umask(old_umask)


def test_a_planted_record_at_the_largest_seq_does_not_stop_later_commands(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "itp.sqlite3"
    with open_store(path, clock=clock) as store:
        trail = AuditTrail.open(store, tmp_path / "audit.key")
        trail.append(AuditAction.SIGN_IN, account="a", role="admin")
        store.conn.execute(
            "INSERT INTO audit (seq, ts, ts_s, action, prev_mac, mac) VALUES (?, 'x', 0, 'lock', ?, ?)",
            (2**63 - 1, "0" * 64, "0" * 64),
        )
        record = trail.append(AuditAction.SIGN_OUT, account="a", role="admin")
        assert record.seq == 2
        assert trail.head().seq == 2
        result = trail.verify()
        assert not result.ok and result.first_bad_seq == 3
        assert result.records == 2
