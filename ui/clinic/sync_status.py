"""The clinic sync in the app: runs in the background, its state always visible.

Shown in the status bar when the programmer has a clinic (ITP_CLINIC_URL, or the
setting `clinic_url` an admin stores). The sync uses its own connection to the local
database (so the visit is never held up by it) and never runs during a pump session's
send; it starts on demand and every SYNC_EVERY_S while the app is open. What it shows:
idle / syncing (the current step) / the last outcome with its time, and a failure in
words, with nothing lost (the next run finishes it).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from programmer.clinic.connection import parse_url
from programmer.clinic.errors import ClinicError
from programmer.clinic.run import sync_store
from programmer.store import AuditTrail, StoreError, open_store
from ui.error_words import error_text

SYNC_EVERY_S = 15 * 60


def clinic_url_of(state: object) -> str | None:
    env = os.environ.get("ITP_CLINIC_URL")
    if env:
        return env
    records = getattr(state, "records", None)
    value = records.get_setting("clinic_url") if records is not None else None
    return str(value) if value else None


class SyncRunner(QObject):
    sig_state = Signal(str, str)  # (kind: idle, running, ok, warning, failed), text

    def __init__(self, db: Path, key: bytes, url: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db, self.key, self.url = db, key, url
        self.running = False

    def start(self) -> bool:
        if self.running:
            return False
        self.running = True
        threading.Thread(target=self._run, name="clinic-sync", daemon=True).start()
        return True

    def _run(self) -> None:
        try:
            url = parse_url(self.url)
            with open_store(self.db, create=False) as store:
                trail = AuditTrail(store, self.key)
                report = sync_store(
                    store,
                    trail,
                    url,
                    progress=lambda step: self.sig_state.emit("running", f"clinic sync: {step}"),
                )
            sent = sum(report.pushed.values())
            received = sum(report.pulled.values())
            done = f"clinic sync: done ({sent} sent, {received} received)"
            if report.notes:  # e.g. a row changed outside itp here, not sent: say so
                more = f" (and {len(report.notes) - 1} more)" if len(report.notes) > 1 else ""
                self.sig_state.emit("warning", f"{done}; look at this: {report.notes[0]}{more}")
            else:
                self.sig_state.emit("ok", done)
        except (ClinicError, StoreError) as exc:
            self.sig_state.emit("failed", f"clinic sync failed, nothing lost: {exc}")
        except Exception as exc:  # shown, never raised into Qt's event loop
            self.sig_state.emit("failed", f"clinic sync failed: {error_text(exc)}")
        finally:
            self.running = False


class SyncStatus(QWidget):
    """Status-bar piece: the state in words and a "Sync now" button."""

    def __init__(self, runner: SyncRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("clinic sync: not run yet")
        self.label.setObjectName("clinic_sync_state")
        self.label.setAccessibleName("clinic sync state")
        self.button = QPushButton("Sync now")
        self.button.setObjectName("clinic_sync_now")
        self.button.clicked.connect(self.start)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        runner.sig_state.connect(self.show_state, Qt.ConnectionType.QueuedConnection)
        self.timer = QTimer(self)
        self.timer.setInterval(SYNC_EVERY_S * 1000)
        self.timer.timeout.connect(self.start)
        self.timer.start()

    def start(self) -> None:
        if self.runner.start():
            self.show_state("running", "clinic sync: starting")

    def show_state(self, kind: str, text: str) -> None:
        self.label.setText(text)
        self.label.setProperty("role", "warning" if kind in ("failed", "warning") else "muted")
        self.button.setEnabled(kind != "running")


def install(window: QWidget, state: object) -> SyncStatus | None:
    """Adds the sync status to the window's status bar when there is a clinic to sync with
    and the database is this programmer's own (not a review copy)."""
    url = clinic_url_of(state)
    store = getattr(state, "store", None)
    trail = getattr(state, "trail", None)
    if not url or getattr(state, "read_only", True) or store is None or store.path is None:
        return None
    key: bytes = trail._key  # type: ignore[union-attr]  # the app's own key, already loaded
    status = SyncStatus(SyncRunner(Path(store.path), key, url, window), window)
    status_bar = getattr(window, "statusBar", None)
    if status_bar is not None:
        status_bar().addPermanentWidget(status)
    return status
