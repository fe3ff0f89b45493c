"""`itp` with no arguments, or `itp gui [--pump ADDRESS] [--db PATH] [--offline]`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from programmer.exitcodes import ExitCode

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox, QWidget


def store_refusal_window(exc: Exception) -> QMessageBox:
    """Why the database cannot be opened, in a window (the copy lacks its -wal, is of
    another version, is no itp database)."""
    from PySide6.QtWidgets import QMessageBox

    title = str(getattr(exc, "title", "") or "The database cannot be opened")
    box = QMessageBox(QMessageBox.Icon.Critical, title, str(exc))
    box.setObjectName("store_refusal")
    return box


def review_warning_window(warning: Any, parent: QWidget | None = None) -> QMessageBox:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Warning, str(warning.title), str(warning.message),
                      parent=parent)  # fmt: skip
    box.setObjectName("review_warning")
    return box


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="itp gui", description="the desktop app")
    parser.add_argument(
        "--pump", default="emulator:", help="address to connect to (default: the built-in emulator)"
    )
    parser.add_argument(
        "--db", type=Path, help="the local database (default: the user data folder)"
    )
    parser.add_argument("--audit-key", type=Path, help="the audit key file")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="review a database (or an exported copy) with no pump",
    )
    parser.add_argument(
        "--clinic", help="with --offline: review the clinic database (its read-only login)"
    )
    parser.add_argument("--programmer", help="with --clinic: whose audit trail to show")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0) and ExitCode.USAGE
    if args.clinic is not None:
        from ui.clinic.review import open_clinic_review

        if not args.offline or args.db is not None:
            sys.stderr.write(
                "itp gui: --clinic reviews the clinic database: use it with --offline, without --db\n"
            )
            return ExitCode.USAGE
        review = open_clinic_review(args.clinic, args.programmer)
        if review is None:
            return ExitCode.USAGE
        args.db, args.audit_key = review
    from PySide6.QtWidgets import QApplication

    from programmer.store import StoreError
    from ui.app_state import AppState
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    try:
        state = AppState(args.db, args.pump, audit_key=args.audit_key, offline=args.offline,
                         read_log_on_connect=True)  # fmt: skip
    except StoreError as exc:
        sys.stderr.write(f"itp: {exc}\n")
        store_refusal_window(exc).exec()  # a person at a desktop sees it, not only stderr
        return ExitCode.USAGE
    window = MainWindow(state)
    window.show()
    for warning in state.store.review_warnings:
        review_warning_window(warning, window).exec()
    if os.environ.get("ITP_EXIT_WHEN_SHOWN"):  # start-up benchmark: stop once the window is up
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, app.quit)
    code = int(app.exec())
    state.shutdown()
    return code
