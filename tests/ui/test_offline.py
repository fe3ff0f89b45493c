"""Offline review: a nurse opens the database (or a read-only copy) with no pump."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from programmer.store import AuditAction, AuthenticationFailed
from ui.app_state import AppState

from .conftest import DOC_PW, FAST, sign_in_physician


def _make_db(tmp_path: Path) -> Path:
    state = AppState(tmp_path / "itp.sqlite3", audit_key=tmp_path / "audit.key", hasher=FAST)
    sign_in_physician(state)
    state.shutdown()
    return tmp_path / "itp.sqlite3"


def test_offline_review_signs_in_and_changes_nothing(qapp: Any, tmp_path: Path) -> None:
    db = _make_db(tmp_path)
    before = db.read_bytes()
    state = AppState(db, audit_key=tmp_path / "audit.key", offline=True, hasher=FAST)
    try:
        assert state.read_only
        n = len(state.trail.query())
        state.sign_in("dr.lee", DOC_PW)
        assert state.principal is not None and state.principal.name == "dr.lee"
        assert len(state.trail.query(action=AuditAction.SIGN_IN)) == len(
            state.trail.query(action=AuditAction.SIGN_IN)
        )
        assert len(state.trail.query()) == n
        assert state.banners()[0][2] == "banner_offline"
        state.lock()
        state.unlock(DOC_PW)
    finally:
        state.shutdown()
    assert db.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file modes")
def test_offline_on_a_read_only_copy_signs_in_without_writing(qapp: Any, tmp_path: Path) -> None:
    db = _make_db(tmp_path)
    for f in tmp_path.glob("itp.sqlite3*"):
        f.chmod(stat.S_IRUSR)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        state = AppState(db, audit_key=tmp_path / "audit.key", offline=True, hasher=FAST)
        assert state.read_only
        with pytest.raises(AuthenticationFailed):
            state.sign_in("dr.lee", "wrong")
        state.sign_in("dr.lee", DOC_PW)
        assert state.principal is not None and state.principal.name == "dr.lee"
        state.shutdown()
    finally:
        tmp_path.chmod(stat.S_IRWXU)


def test_a_read_only_store_signs_in_without_writing(qapp: Any, tmp_path: Path) -> None:
    """On the live database a success writes nothing; failures count and are audited."""
    from programmer.store import Accounts, AuditTrail, open_store

    db = _make_db(tmp_path)
    with open_store(db, create=False, read_only=True) as store:
        accounts = Accounts(store, AuditTrail.open(store, tmp_path / "audit.key"), FAST)
        before = store.query("SELECT count(*) FROM audit")[0][0]
        assert accounts.sign_in_read_only("dr.lee", DOC_PW).name == "dr.lee"
        with pytest.raises(AuthenticationFailed):
            accounts.sign_in_read_only("dr.lee", "nope")
        with pytest.raises(AuthenticationFailed):
            accounts.sign_in_read_only("ghost", "nope")
        # Issue 13: offline sign-in on a live database counts and audits failures.
        assert store.query("SELECT count(*) FROM audit")[0][0] == before + 2
        assert store.query("SELECT failed_count FROM accounts WHERE name = 'dr.lee'") == [(1,)]


def test_offline_review_leaves_no_wal_or_shm_beside_the_copy(qapp: Any, tmp_path: Path) -> None:
    import shutil

    db = _make_db(tmp_path)
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    copy = copy_dir / "itp.sqlite3"
    shutil.copy(db, copy)
    state = AppState(copy, audit_key=tmp_path / "audit.key", offline=True, hasher=FAST)
    try:
        state.sign_in("dr.lee", DOC_PW)
        assert state.trail.query()
    finally:
        state.shutdown()
    assert sorted(p.name for p in copy_dir.iterdir()) == ["itp.sqlite3"]


def test_a_database_the_app_cannot_review_is_said_in_a_window(qapp: Any, tmp_path: Path) -> None:
    from programmer.store import StoreError
    from ui.launcher import store_refusal_window

    other = tmp_path / "other.sqlite3"
    import sqlite3

    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError) as caught:
        AppState(other, audit_key=tmp_path / "audit.key", offline=True, hasher=FAST)
    box = store_refusal_window(caught.value)
    assert box.text() and box.windowTitle()
    assert "Traceback" not in box.text()
