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


def _backup_with_history(tmp_path: Path) -> Path:
    """The live database with a pump's log in it, copied by `itp backup` (the store's backup)."""
    from datetime import UTC, datetime

    from programmer.store import PumpEvent
    from programmer.store.review import backup

    state = AppState(tmp_path / "itp.sqlite3", audit_key=tmp_path / "audit.key", hasher=FAST)
    try:
        sign_in_physician(state)
        state.records.upsert_pump("SN-7", "ITP-40")
        at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        state.records.save_events(
            "SN-7", [PumpEvent(1, at, "alarm_raised", {"code": "motor_stall"})]
        )
        (tmp_path / "review").mkdir()
        backup(state.store, tmp_path / "review" / "copy.sqlite3")
    finally:
        state.shutdown()
    return tmp_path / "review" / "copy.sqlite3"


def test_a_copy_opens_for_review_on_a_computer_without_its_audit_key(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading needs no key: the records, the history and the audit trail show as stored,
    a banner on every screen and on the audit screen says nothing was verified, Verify
    says why; no key is made, nothing appears beside the copy."""
    from programmer.history_series import load_history
    from ui.audit.page import AuditPage
    from ui.main_window import MainWindow
    from ui.widgets import Banner

    copy = _backup_with_history(tmp_path)
    config = tmp_path / "another-computer"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    state = AppState(copy, offline=True, hasher=FAST)  # the default key: this computer's
    try:
        state.sign_in("dr.lee", DOC_PW)
        banners = {name: text for text, _, name in state.banners()}
        assert "banner_unverified" in banners
        text = banners["banner_unverified"]
        assert "this computer does not hold the audit key of this record" in text
        assert "shown as stored" in text
        assert [e.kind for e in state.records.events("SN-7")] == ["alarm_raised"]
        assert load_history(state.records, "SN-7").serial == "SN-7"
        window = MainWindow(state)
        qtbot.addWidget(window)
        shown = [w.objectName() for w in window.findChildren(Banner)]
        assert "banner_unverified" in shown
        page = AuditPage(state)
        qtbot.addWidget(page)
        page.show()
        assert page.model.rowCount() > 0
        assert not page.unverified.isHidden()
        assert page.unverified.text().startswith("Not verified: this computer does not hold")
        assert page.verify() is None
        assert "needs the audit key" in page.result_label.text()
        assert not page.verify_button.isEnabled()
        out = tmp_path / "all.json"
        assert page.export_to(out, "json", everything=True) is not None
        assert "not verified" in page.result_label.text().lower()
    finally:
        state.shutdown()
    assert not config.exists(), "no audit key was made"
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.sqlite3"]


def test_itp_gui_offline_says_in_a_window_what_is_wrong_with_a_copy(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`itp gui --offline --db FILE`: not a database, another version: a window and exit 2;
    a copy that may lack its -wal file: the window opens, with a warning window; a copy
    without its audit key on this computer opens. Never only stderr."""
    import shutil
    import sqlite3

    from PySide6.QtWidgets import QApplication, QMessageBox

    import ui.main_window
    from programmer.store.schema import LATEST_VERSION
    from ui import launcher

    shown: list[tuple[str, str, str]] = []

    def record(box: QMessageBox) -> int:
        shown.append((box.objectName(), box.windowTitle(), box.text()))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", record)
    # The window is built and shown; its event loop is not run (this one is the test's).
    monkeypatch.setattr(QApplication, "exec", lambda *_: 0)
    windows: list[Any] = []
    monkeypatch.setattr(ui.main_window, "MainWindow", _recording(windows))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "another-computer"))
    copy = _backup_with_history(tmp_path)
    notes = tmp_path / "notes.sqlite3"
    notes.write_text("not a database " * 20)
    newer = tmp_path / "newer.sqlite3"
    shutil.copy(copy, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    for path, words in ((notes, "not an SQLite database"), (newer, "newer itp")):
        shown.clear()
        assert launcher.main(["--offline", "--db", str(path)]) == 2
        assert [(n, words in text) for n, _, text in shown] == [("store_refusal", True)]
    # A plain copy of a database in WAL mode, without its -wal file.
    live = tmp_path / "itp.sqlite3"
    assert live.read_bytes()[18] == 2
    plain = tmp_path / "plain" / "itp.sqlite3"
    plain.parent.mkdir()
    shutil.copyfile(live, plain)
    shown.clear()
    assert launcher.main(["--offline", "--db", str(plain)]) == 0
    assert [n for n, _, _ in shown] == ["review_warning"]
    assert "newest records" in shown[0][2].lower()
    shown.clear()
    assert launcher.main(["--offline", "--db", str(copy)]) == 0  # no audit key here: it opens
    assert shown == []
    assert sorted(p.name for p in plain.parent.iterdir()) == ["itp.sqlite3"]
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.sqlite3"]
    assert len(windows) == 2
    for window in windows:
        qtbot.addWidget(window)


def _recording(windows: list[Any]) -> Any:
    import ui.main_window

    class Recording(ui.main_window.MainWindow):
        def __init__(self, state: AppState) -> None:
            super().__init__(state)
            windows.append(self)

    return Recording
