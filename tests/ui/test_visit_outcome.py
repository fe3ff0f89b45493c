"""Issue 14, confirm and send: Enter never sends, the outcome stays and is on the overview."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from programmer.session.pump_session import ProgramResult
from tests.ui.conftest_therapy import (
    DOC_PW,
    flex_rx,
    read_pump_therapy,
)
from ui.app_state import AppState
from ui.confirm.dialog import ConfirmDialog

pytestmark = pytest.mark.gui

SMALL = flex_rx(("00:00", "1 mg/day"), ("07:00", "1.1 mg/day"), ("22:00", "0.9 mg/day"))


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def _open(qtbot: QtBot, state: AppState, rx: dict[str, Any]) -> ConfirmDialog:
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    return dialog


def test_enter_in_the_password_field_never_sends_nor_closes(state: AppState, qtbot: QtBot) -> None:
    dialog = _open(qtbot, state, SMALL)
    before = read_pump_therapy(qtbot, state)
    assert dialog.password.hasFocus() or dialog.focusWidget() is dialog.password
    dialog.password.setText(DOC_PW)
    QTest.keyClick(dialog.password, Qt.Key.Key_Return)
    QTest.keyClick(dialog.password, Qt.Key.Key_Enter)
    qtbot.wait(50)
    assert not dialog._sending and dialog.program_result is None
    assert dialog.isVisible(), "the dialog stays open"
    assert read_pump_therapy(qtbot, state) == before
    assert dialog.password.text() == DOC_PW


def test_the_outcome_stays_until_dismissed_and_is_on_the_overview(
    state: AppState, qtbot: QtBot
) -> None:
    from ui.overview.page import OverviewPage

    overview = OverviewPage(state)
    qtbot.addWidget(overview)
    dialog = _open(qtbot, state, SMALL)
    dialog.password.setText(DOC_PW)
    dialog.send_button.click()
    qtbot.waitUntil(lambda: dialog.program_result is not None, timeout=20_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Escape, Qt.Key.Key_Enter):
        QTest.keyClick(dialog, key)
    assert dialog.isVisible(), "only Close dismisses the outcome"
    assert dialog.outcome.text().startswith("APPLIED")
    # repeated on the overview, until dismissed there
    assert state.last_outcome is not None
    assert overview.outcome.isVisibleTo(overview)
    assert overview.outcome.text().startswith("APPLIED")
    overview.dismiss_outcome.click()
    assert state.last_outcome is None
    assert not overview.outcome.isVisibleTo(overview)
    dialog.close_button.click()
    assert not dialog.isVisible()


def test_a_failed_send_says_whether_anything_changed(state: AppState, qtbot: QtBot) -> None:
    dialog = _open(qtbot, state, SMALL)
    dialog._sending = True
    dialog._sent(ProgramResult("not_applied", "the pump refused the stage", steps=["staged"]))
    assert "nothing on the pump was changed" in dialog.outcome.text().lower()
    dialog._sent(ProgramResult("uncertain", "the link failed at COMMIT", steps=["staged"]))
    assert "may or may not" in dialog.outcome.text()
    dialog._sending = True  # an error raised by the core before STAGE (password, link)
    dialog._failed(ConnectionError("link lost"))
    assert "the pump was not changed" in dialog.status.text()


def test_a_suspected_slip_is_cleared_only_by_typing_the_value_again(
    state: AppState, qtbot: QtBot
) -> None:
    """10 mg/day against 1 mg/day in the pump: a x10 slip. A reason alone never clears it;
    the value typed again does, and the override still needs its own reason."""
    from PySide6.QtWidgets import QLineEdit

    dialog = _open(qtbot, state, flex_rx(("00:00", "10 mg/day")))
    assert dialog.proposal is not None and dialog.proposal.plan.hard
    retype = dialog.findChild(QLineEdit, "retype_steps[0].dose")
    assert retype is not None
    for o in dialog._overrides:
        o.box.setChecked(True)
        o.reason.setText(f"{o.finding.code}: escalation agreed with the pain team")
    dialog.password.setText(DOC_PW)
    assert not dialog.send_button.isEnabled()
    assert dialog.recheck.isEnabled()
    retype.setText("10 mg/day")
    assert dialog.recheck_overrides()
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    p = dialog.proposal
    assert p is not None
    assert dialog.findChild(QLineEdit, "retype_steps[0].dose") is None, "confirmed"
    suspect = [f for f in p.plan.findings if f.code == "unit_suspect"]
    assert suspect and suspect[0].confirmed
    assert "unit_suspect" in {o.finding.code for o in dialog._overrides}, "still needs a reason"
    # no internal codes or 0-based fields in what the person reads
    texts = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert "steps[0]" not in texts and "unit_suspect" not in texts
