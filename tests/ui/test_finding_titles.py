"""Findings in the app read as a title and severity a clinician reads, never as codes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from programmer.findings import finding
from programmer.store import AuditRecord
from tests.ui.conftest_therapy import flex_rx
from ui.app_state import AppState
from ui.audit.words import describe
from ui.confirm.dialog import ConfirmDialog
from ui.constant_flow.refill import CONFIRM, ConstantFlowRefillDialog
from ui.therapy.widgets import findings_text

from .conftest import sign_in_physician
from .test_constant_flow_wizard import _cf_patient

pytestmark = pytest.mark.gui
CODES = re.compile(r"\b(HARD|SOFT|INFO)\b|[a-z]+_[a-z_]+")


def test_a_field_message_names_the_finding_and_its_severity_in_words() -> None:
    f = finding("over_starting_dose", "drugs[0].dose", "morphine 2 mg/day is above 0.5 mg/day")
    text = findings_text([f])
    assert text.startswith("Needs a reason: Above the starting dose: morphine 2 mg/day")
    assert not CODES.search(text), text


def _record(action: str, after: dict[str, Any]) -> AuditRecord:
    return AuditRecord(1, "2026-12-01T10:00:00Z", 0, action, "dr.a", "physician", "ITP40-000001",
                       None, json.dumps(after), None, None, "", "")  # fmt: skip


def test_the_audit_trail_names_findings_by_their_titles() -> None:
    said = describe(_record("prescription_checked", {"findings": ["unit_suspect", "admixture"]}))
    assert "Unit slip suspected" in said and "More than one drug" in said, said
    said = describe(_record("finding_overridden", {"code": "dose_change_too_large"}))
    assert said.endswith("Dose increase too large"), said


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def _open(qtbot: QtBot, state: AppState, rx: dict[str, Any]) -> ConfirmDialog:
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    return dialog


def _texts(dialog: ConfirmDialog) -> str:
    return "\n".join(w.text() for w in dialog.findChildren(QLabel) if w.isVisibleTo(dialog))


def test_the_confirm_names_soft_and_hard_findings_in_words(state: AppState, qtbot: QtBot) -> None:
    dialog = _open(qtbot, state, flex_rx(("00:00", "1.5 mg/day")))  # +50 %: a soft finding
    shown = _texts(dialog)
    assert "Needs a reason" in shown and "Dose increase too large" in shown, shown
    assert "SOFT" not in shown
    dialog = _open(qtbot, state, flex_rx(("00:00", "1 mg/day"), pump_serial="ITP40-999999"))
    label = dialog.findChild(QLabel, "finding_pump_serial_mismatch")
    assert label is not None
    assert "Must be fixed" in label.text() and "Prescription for another pump" in label.text()
    assert "HARD" not in label.text()


def test_the_constant_flow_refill_names_findings_in_words(qtbot: Any, app_state: AppState) -> None:
    sign_in_physician(app_state)
    pts, pid = _cf_patient(app_state)
    me = app_state.principal
    assert me is not None
    w = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pts.pumps(me, pid)[0])
    qtbot.addWidget(w)
    w.removed.setText("5 mL")
    w.added.setText("35 mL")
    w.set_drug(0, "morphine", "concentration", "2.5 mg/mL")  # a tenth of 25 mg/mL
    w.go(CONFIRM)
    shown = "\n".join(x.text() for x in w.findChildren(QLabel))
    assert "Unit slip suspected" in shown, shown
    assert not re.search(r"\b(HARD|SOFT|INFO)\b", shown), shown


def test_a_suspected_slip_in_the_confirm_is_named_in_words(state: AppState, qtbot: QtBot) -> None:
    rx = flex_rx(("00:00", "1 mg/day"))
    rx["drugs"][0]["concentration"] = "1 mg/mL"  # a tenth of the pump's 10 mg/mL: a slip?
    dialog = _open(qtbot, state, rx)
    assert dialog.proposal is not None
    assert any(f.retype for f in dialog.proposal.plan.findings), "the slip this test is about"
    shown = _texts(dialog)
    assert "Unit slip suspected" in shown and "Must be typed again" in shown, shown
    assert not re.search(r"\b(HARD|SOFT|INFO)\b", shown), shown
