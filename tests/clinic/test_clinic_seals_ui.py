"""The app's sync status says when sync left a row out (changed outside itp here)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.clinic.conftest import Clinic
from tests.clinic.test_clinic_ui import SyncRunner, SyncStatus
from tests.clinic.visitdb import make_visit_db

pytestmark = pytest.mark.gui


def test_a_row_left_out_of_the_sync_is_shown_not_just_done(
    qtbot, clinic: Clinic, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db, key, _ = make_visit_db(tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE refills SET added_nl = added_nl + 4000000 WHERE id = 1")
    conn.close()
    runner = SyncRunner(db, key.read_bytes(), clinic.sync_url)
    status = SyncStatus(runner)
    qtbot.addWidget(status)
    runner.start()
    qtbot.waitUntil(
        lambda: "done" in status.label.text() or "failed" in status.label.text(), timeout=30_000
    )
    text = status.label.text()
    assert "refill record 1 was changed outside itp" in text and "not sent" in text
    assert status.label.property("role") == "warning"
