"""Review and send against the in-process emulator: changes, % change, overrides, outcome."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from programmer.session.pump_session import ProgramResult
from tests.ui.conftest_therapy import (
    DOC_PW,
    flex_rx,
    read_pump_therapy,
)
from ui.app_state import AppState
from ui.confirm.dialog import UNCERTAIN_NOTE, ConfirmDialog, keep_quantities_whole
from ui.therapy.page import TherapyPage

pytestmark = pytest.mark.gui

SMALL = flex_rx(("00:00", "1 mg/day"), ("07:00", "1.1 mg/day"), ("22:00", "0.9 mg/day"))
# +50 %: above morphine's 30 % titration step for non-cancer pain (a soft finding)
LARGE = flex_rx(("00:00", "1.5 mg/day"))


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def _open(qtbot: QtBot, state: AppState, rx: dict[str, Any]) -> ConfirmDialog:
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    return dialog


def _send(qtbot: QtBot, state: AppState, dialog: ConfirmDialog) -> ProgramResult:
    dialog.password.setText(DOC_PW)
    assert dialog.send_button.isEnabled()
    dialog.send_button.click()
    qtbot.waitUntil(lambda: dialog.program_result is not None, timeout=20_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    assert dialog.program_result is not None
    return dialog.program_result


def test_a_quantity_is_never_split_from_its_unit() -> None:
    text = keep_quantities_whole("morphine 1.7 mg/day = 0.17 mL/day (≈7.08333 µL/h)")
    assert text == "morphine 1.7\u00a0mg/day\n= 0.17\u00a0mL/day\u00a0(≈7.08333\u00a0µL/h)"


def test_shows_the_whole_profile_as_doses_and_the_change_per_drug(
    state: AppState, qtbot: QtBot
) -> None:
    """Every step before and after (not only the changed ones), each as a dose with its
    % change; the daily dose per drug; every other changed field."""
    dialog = _open(qtbot, state, SMALL)
    p = dialog.proposal
    assert p is not None and p.changes
    rows = dialog.view.rows()
    assert rows[:3] == [
        ["from 00:00", "morphine 1 mg/day", "morphine 1 mg/day", "0 %"],
        ["from 07:00", "morphine 1 mg/day", "morphine 1.1 mg/day", "+10 %"],
        ["from 22:00", "morphine 1 mg/day", "morphine 0.9 mg/day", "−10 %"],
    ]
    assert rows[3] == ["Daily dose, morphine", "1 mg/day", "1.05 mg/day", "+5.4 %"]
    labels = [r[0] for r in rows]
    assert "Mode" in labels and "Daily volume" in labels and "Patient bolus" in labels
    assert not any(label.startswith("step ") for label in labels), "steps shown once, as doses"
    assert dialog.change.words == {"morphine": "+5.4 %"}
    assert dialog.send_button.isEnabled() is False, "no password yet"
    dialog.password.setText(DOC_PW)
    assert dialog.send_button.isEnabled()


def test_full_send_is_applied_and_the_pump_holds_the_new_therapy(
    state: AppState, qtbot: QtBot
) -> None:
    dialog = _open(qtbot, state, SMALL)
    progress: list[str] = []
    state.bridge.sig_progress.connect(progress.append)
    result = _send(qtbot, state, dialog)
    assert result.outcome == "applied", result.message
    assert progress == ["stage", "verify", "commit", "read back"]
    assert all(label.text().startswith("✓") for label in dialog.step_labels.values())
    assert dialog.outcome.isVisibleTo(dialog)
    assert dialog.outcome.text().startswith("APPLIED")
    assert result.message in dialog.outcome.text()
    assert not dialog.send_button.isEnabled(), "sent once; never twice from one dialog"
    assert dialog.proposal is not None and dialog.proposal.plan.therapy is not None
    assert read_pump_therapy(qtbot, state) == dialog.proposal.plan.therapy.to_wire()
    assert state.interrogation is not None
    assert state.interrogation.therapy == dialog.proposal.plan.therapy


def test_an_override_needs_a_reason_then_the_core_decides(state: AppState, qtbot: QtBot) -> None:
    dialog = _open(qtbot, state, LARGE)
    p = dialog.proposal
    assert p is not None and not p.plan.ok
    codes = [o.finding.code for o in dialog._overrides]
    assert "dose_change_too_large" in codes
    dialog.password.setText(DOC_PW)
    assert not dialog.send_button.isEnabled()
    assert not dialog.send(), "refused: a soft finding stands"

    for o in dialog._overrides:
        o.box.setChecked(True)
    assert not dialog.recheck_overrides(), "refused: no reason given"
    assert "reason" in dialog.override_error.text()
    assert not dialog.send_button.isEnabled()
    assert not dialog.send()

    for o in dialog._overrides:
        o.reason.setText("pain uncontrolled at 1 mg/day; reviewed with the patient")
    assert dialog.recheck_overrides()
    qtbot.waitUntil(lambda: dialog._overrides_current() and not state.bridge.busy, timeout=15_000)
    assert dialog.proposal is not None and dialog.proposal.plan.ok
    assert set(dialog.proposal.overrides) == set(codes)
    dialog.password.setText(DOC_PW)
    assert dialog.send_button.isEnabled()
    # changing an override after the check disables sending until it is checked again
    dialog._overrides[0].reason.setText("")
    assert not dialog.send_button.isEnabled()
    dialog._overrides[0].reason.setText("pain uncontrolled at 1 mg/day; reviewed with the patient")
    result = _send(qtbot, state, dialog)
    assert result.outcome == "applied", result.message


def test_hard_findings_block(state: AppState, qtbot: QtBot) -> None:
    dialog = _open(qtbot, state, flex_rx(("00:00", "1 mg/day"), pump_serial="ITP40-999999"))
    assert dialog.proposal is not None and dialog.proposal.plan.hard
    assert dialog.findChild(QLabel, "finding_pump_serial_mismatch") is not None
    dialog.password.setText(DOC_PW)
    assert not dialog.send_button.isEnabled()
    assert not dialog.recheck.isEnabled()
    assert not dialog.send()


def test_a_wrong_password_sends_nothing_and_says_why(state: AppState, qtbot: QtBot) -> None:
    dialog = _open(qtbot, state, SMALL)
    before = read_pump_therapy(qtbot, state)
    dialog.password.setText("not-my-password")
    dialog.send_button.click()
    qtbot.waitUntil(lambda: not dialog._sending, timeout=15_000)
    assert dialog.program_result is None
    assert "Authentication" in dialog.status.text() or "password" in dialog.status.text().lower()
    assert read_pump_therapy(qtbot, state) == before


def test_an_uncertain_outcome_is_red_and_says_nothing_else_will_be_sent(state: AppState, qtbot: QtBot) -> None:  # fmt: skip
    dialog = _open(qtbot, state, SMALL)
    dialog._sending = True
    dialog._sent(ProgramResult("uncertain", "the link failed at COMMIT; the outcome is uncertain",
                               steps=["staged", "verified"]))  # fmt: skip
    assert dialog.outcome.text().startswith("OUTCOME UNCERTAIN")
    assert UNCERTAIN_NOTE in dialog.outcome.text()
    assert "#b00020" in dialog.outcome.styleSheet()
    assert dialog.step_labels["commit"].text().startswith("○")
    assert dialog.step_labels["verify"].text().startswith("✓")
    assert not dialog.send_button.isEnabled()


def test_review_and_send_from_the_editor(state: AppState, qtbot: QtBot) -> None:
    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(SMALL)
    assert page.send_button.isEnabled()
    page.send_button.click()
    dialog = page.confirm
    assert isinstance(dialog, ConfirmDialog)
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    assert dialog.prescription == SMALL
    result = _send(qtbot, state, dialog)
    assert result.outcome == "applied"
    # the editor now draws the new therapy as the pump's
    qtbot.waitUntil(lambda: page.model.daily_change() == 0, timeout=15_000)
    dialog.close()
