"""The app's clinic pieces: background sync with its state visible; the FHIR button."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from programmer.store import Accounts, AuditTrail, open_store
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import FAST_HASHER, make_visit_db


def _load(name: str) -> Any:
    """The app's ui/clinic module by its file: in this test package pytest puts tests/
    first on sys.path, where tests/ui shadows the app's `ui` (both modules import only
    programmer/ and Qt)."""
    path = Path(__file__).resolve().parents[2] / "ui" / "clinic" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"itp_ui_clinic_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


export_visit = _load("fhir_export").export_visit
_sync = _load("sync_status")
SyncRunner, SyncStatus, install = _sync.SyncRunner, _sync.SyncStatus, _sync.install

pytestmark = pytest.mark.gui


def test_sync_now_runs_in_the_background_and_shows_its_state(
    qtbot, clinic: Clinic, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db, key, _ = make_visit_db(tmp_path)
    runner = SyncRunner(db, key.read_bytes(), clinic.sync_url)
    status = SyncStatus(runner)
    qtbot.addWidget(status)
    qtbot.mouseClick(status.button, Qt.MouseButton.LeftButton)
    assert not status.button.isEnabled()  # running: no second start
    assert runner.start() is False or "done" in status.label.text()
    qtbot.waitUntil(
        lambda: "done" in status.label.text() or "failed" in status.label.text(), timeout=30_000
    )
    assert "done" in status.label.text() and status.button.isEnabled()
    with psycopg.connect(clinic.admin_url) as conn:
        assert conn.execute("SELECT count(*) FROM itp.audit").fetchone()[0] > 0  # type: ignore[index]


def test_a_failed_sync_says_so_and_loses_nothing(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, key, _ = make_visit_db(tmp_path)
    runner = SyncRunner(db, key.read_bytes(), "postgresql://itp_sync@127.0.0.1:1/clinic")
    status = SyncStatus(runner)
    qtbot.addWidget(status)
    runner.start()
    qtbot.waitUntil(lambda: "failed" in status.label.text(), timeout=30_000)
    assert "nothing lost" in status.label.text()


def test_no_clinic_no_sync_piece(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ITP_CLINIC_URL", raising=False)
    window = QWidget()
    qtbot.addWidget(window)
    state = SimpleNamespace(records=None, store=None, trail=None, read_only=False)
    assert install(window, state) is None


def test_fhir_button_writes_a_bundle_and_audits_it(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, key, visit = make_visit_db(tmp_path)
    with open_store(db, create=False) as store:
        trail = AuditTrail.open(store, key)
        me = Accounts(store, trail, FAST_HASHER).sign_in("dr.lee", "doctor-password")
        parent = QWidget()
        qtbot.addWidget(parent)
        out = export_visit(
            parent,
            SimpleNamespace(principal=me, store=store, trail=trail),
            visit,
            tmp_path / "v.json",
        )
        assert out is not None
        doc = json.loads(out.read_text())
        assert doc["resourceType"] == "Bundle" and len(doc["entry"]) >= 6
        assert store.query("SELECT count(*) FROM audit WHERE action = 'export'")[0][0] == 1
