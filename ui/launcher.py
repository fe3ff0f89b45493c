"""`itp` with no arguments, or `itp gui [--pump ADDRESS] [--db PATH] [--offline]`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from programmer.exitcodes import ExitCode


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
        return ExitCode.USAGE
    window = MainWindow(state)
    window.show()
    if os.environ.get("ITP_EXIT_WHEN_SHOWN"):  # start-up benchmark: stop once the window is up
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, app.quit)
    code = int(app.exec())
    state.shutdown()
    return code
