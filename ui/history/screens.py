"""Screenshots of History, Audit, Accounts and an offline review, for docs/screenshots/.

Called by build_scripts/screenshots.py with its window and state (signed in, the
built-in emulator connected or not). Adds a made-up five-year history of a demo pump
(ui.history.demo) to that throwaway database first.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QMainWindow, QWidget

from programmer.store import Principal, Role
from ui.app_state import AppState
from ui.history.demo import SERIAL, fill_demo_history
from ui.widgets import fit_to_screen

DEMO_END_T = 1_767_225_600  # 2026-01-01T00:00:00Z
SCREEN_ADMIN = ("admin", "admin-password-1")  # the account build_scripts/screenshots.py creates


def _settle(until: Callable[[], bool] = lambda: False, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        QCoreApplication.processEvents()
        # processEvents alone never runs deleteLater: old banners would stay on screen.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        time.sleep(0.01)
    QCoreApplication.processEvents()


def _save(widget: QWidget, out_dir: Path, name: str) -> Path:
    _settle()
    path = out_dir / name
    widget.grab().save(str(path))
    print("saved", path)
    return path


def _show(window: QMainWindow, title: str) -> QWidget:
    """Open a screen of the main window (built on first use) and return it."""
    window.show_page(title)  # type: ignore[attr-defined]
    page: QWidget = window.page(title)  # type: ignore[attr-defined]
    return page


def _wait_loaded(page: object, seconds: float = 30.0) -> None:
    """The history loads off the GUI thread: let it arrive before the picture."""
    import time

    from PySide6.QtCore import QCoreApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        if not page.summary.text().startswith("Loading"):  # type: ignore[attr-defined]
            return
        time.sleep(0.02)


def take_screenshots(window: QMainWindow, state: AppState, out_dir: Path,
                     size: tuple[int, int] = (1366, 768)) -> list[Path]:  # fmt: skip
    """10-history.png, 11-audit.png, 12-accounts.png, 13-offline-review.png in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    if not state.store.query("SELECT 1 FROM pumps WHERE serial = ?", (SERIAL,)):
        fill_demo_history(state.records, end_t=DEMO_END_T, days=5 * 365)
    window.resize(*size)
    history = _show(window, "History")
    history.reload()  # type: ignore[attr-defined]
    select = history.pump_select  # type: ignore[attr-defined]
    select.setCurrentIndex(select.findData(SERIAL))
    _wait_loaded(history)
    saved.append(_save(window, out_dir, "10-history.png"))
    audit = _show(window, "Audit")
    audit.refresh_choices()  # type: ignore[attr-defined]
    audit.verify()  # type: ignore[attr-defined]
    audit.table.selectRow(0)  # type: ignore[attr-defined]
    saved.append(_save(window, out_dir, "11-audit.png"))
    saved.append(_offline_review(state, out_dir, size))
    if state.principal is None or state.principal.role is not Role.ADMIN:
        try:  # the accounts screen as its admin sees it
            state.sign_out()
            state.sign_in(*SCREEN_ADMIN)
        except Exception as exc:  # another database: show what the current user sees
            print("accounts screenshot as a non-admin:", exc)
    _show(window, "Accounts")
    saved.append(_save(window, out_dir, "12-accounts.png"))
    return saved


def _offline_review(state: AppState, out_dir: Path, size: tuple[int, int] = (1366, 768)) -> Path:
    """The same database, opened read-only with no pump, in a window of its own: `size`, or
    the screen it opens on when that is smaller."""
    from ui.main_window import MainWindow  # here: main_window imports this package's page

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "review-copy.sqlite3"
        dst = sqlite3.connect(copy)
        state.store.conn.backup(dst)
        dst.close()
        key = Path(folder) / "audit.key"
        key.write_bytes(state.trail.key)  # the same installation key, for the copy only
        key.chmod(0o600)
        review = AppState(copy, audit_key=key, offline=True)
        try:
            # Signing in cannot be recorded in a read-only copy (see the report); the
            # reviewer is set as a sign-in would.
            who = state.principal
            review.principal = who if who is not None else Principal("reviewer", Role.NURSE)
            window = MainWindow(review)
            fit_to_screen(window, *size)
            window.show()
            review.sig_user_changed.emit()
            page = _show(window, "History")
            page.reload()  # type: ignore[attr-defined]
            _wait_loaded(page)
            path = _save(window, out_dir, "13-offline-review.png")
            window.hide()
        finally:
            review.shutdown()
        return path
