from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from programmer.store import (
    AuditAction,
    AuditTrail,
    Store,
    StoreCorrupt,
    StoreFull,
    StoreLocked,
    StoreNewerSchema,
    StoreReadOnly,
    StoreUnavailable,
    open_store,
)
from programmer.store.schema import LATEST_VERSION

from .conftest import FakeClock


def append(trail: AuditTrail, n: int) -> None:
    for i in range(n):
        trail.append(AuditAction.HISTORY_READ, account="nina", role="nurse", reason=f"r{i}")


def test_new_database_is_wal_full_sync_migrated_and_private(db_path: Path) -> None:
    with open_store(db_path) as store:
        assert store.pragma("journal_mode") == "wal"
        assert store.pragma("synchronous") == 2  # FULL
        assert store.pragma("foreign_keys") == 1
        assert store.schema_version == LATEST_VERSION
        tables = set(store.db.table_names())
        assert {"accounts", "pumps", "visits", "pump_events", "infusion_hours"} <= tables
        assert {"prescriptions_sent", "refills", "settings", "audit", "meta"} <= tables
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_reopening_keeps_data(db_path: Path, key_path: Path) -> None:
    with open_store(db_path) as store:
        append(AuditTrail.open(store, key_path), 3)
    with open_store(db_path) as store:
        assert AuditTrail.open(store, key_path).verify().records == 3


def test_missing_database_is_not_created_when_create_is_false(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="no database"):
        open_store(tmp_path / "typo.sqlite3", create=False)
    assert not (tmp_path / "typo.sqlite3").exists()


def test_newer_schema_is_refused(db_path: Path) -> None:
    with open_store(db_path) as store:
        store.conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(StoreNewerSchema, match="newer itp"):
        open_store(db_path)


def test_garbage_file_is_reported_corrupt_and_left_alone(db_path: Path) -> None:
    db_path.write_bytes(b"this is not a database at all" * 200)
    before = db_path.read_bytes()
    with pytest.raises(StoreCorrupt, match="damaged or is not an itp database"):
        open_store(db_path)
    assert db_path.read_bytes() == before


def test_someone_elses_sqlite_file_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE photos (id)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt, match="not an itp database"):
        open_store(db_path)


def test_damaged_pages_are_reported(db_path: Path, key_path: Path) -> None:
    with open_store(db_path) as store:
        append(AuditTrail.open(store, key_path), 2000)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db_path.read_bytes())
    page = 4096
    assert len(data) > 20 * page
    for offset in range(3 * page, len(data) - page, 5 * page):
        data[offset : offset + 64] = b"\xff" * 64  # b-tree page headers and cell pointers
    db_path.write_bytes(bytes(data))
    try:
        with open_store(db_path) as store:
            damaged = store.integrity_check() != ["ok"]
    except StoreCorrupt:
        damaged = True
    assert damaged


def test_locked_database_gives_clear_error_and_loses_nothing(
    db_path: Path, key_path: Path, clock: FakeClock
) -> None:
    with open_store(db_path, clock=clock, busy_timeout_s=0.05) as store:
        trail = AuditTrail.open(store, key_path)
        append(trail, 5)
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreLocked, match="in use"):
                append(trail, 1)
        finally:
            other.execute("ROLLBACK")
            other.close()
        append(trail, 1)
        result = trail.verify()
        assert result.ok and result.records == 6


def test_read_only_database_gives_clear_error(db_path: Path, key_path: Path) -> None:
    with open_store(db_path) as store:
        append(AuditTrail.open(store, key_path), 2)
    with open_store(db_path, read_only=True) as store:
        trail = AuditTrail.open(store, key_path)
        with pytest.raises(StoreReadOnly, match="cannot be written"):
            append(trail, 1)
        assert trail.verify().records == 2


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file modes")
def test_read_only_file_gives_clear_error(db_path: Path, key_path: Path) -> None:
    with open_store(db_path) as store:
        append(AuditTrail.open(store, key_path), 2)
    db_path.chmod(0o400)
    try:
        with pytest.raises(StoreReadOnly), open_store(db_path) as store:
            append(AuditTrail.open(store, key_path), 1)
    finally:
        db_path.chmod(0o600)


def test_full_disk_loses_nothing_committed(db_path: Path, key_path: Path) -> None:
    with open_store(db_path) as store:
        trail = AuditTrail.open(store, key_path)
        append(trail, 10)
        pages = store.pragma("page_count")
        store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        written = 10
        with pytest.raises(StoreFull, match="full"):
            for _ in range(10_000):
                trail.append(AuditAction.EXPORT, account="a", role="admin", reason="x" * 2000)
                written += 1
        assert not store.conn.in_transaction
        assert trail.verify().records == written
        store.conn.execute("PRAGMA max_page_count = 1073741823")
        record = trail.append(AuditAction.EXPORT, account="a", role="admin")
        assert record.seq == written + 1
    with open_store(db_path) as store:
        result = AuditTrail.open(store, key_path).verify()
        assert result.ok and result.records == written + 1
        assert store.integrity_check() == ["ok"]


def test_write_rolls_back_everything_on_error(store: Store, trail: AuditTrail) -> None:
    with pytest.raises(RuntimeError), store.write():
        trail.append(AuditAction.EXPORT, account="a", role="admin")
        raise RuntimeError("boom")
    assert trail.verify().records == 0


def test_nested_write_rolls_back_only_the_inner_part(store: Store, trail: AuditTrail) -> None:
    with store.write():
        trail.append(AuditAction.EXPORT, account="a", role="admin")
        with pytest.raises(RuntimeError), store.write():
            trail.append(AuditAction.EXPORT, account="b", role="admin")
            raise RuntimeError("inner")
        trail.append(AuditAction.EXPORT, account="c", role="admin")
    assert [r.account for r in trail.query()] == ["a", "c"]
    assert trail.verify().ok
