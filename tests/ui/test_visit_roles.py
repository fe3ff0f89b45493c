"""Issue 14: a nurse sees from the start what her role allows; a refused attempt is audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from programmer.store import AuditAction, Role
from tests.ui.conftest_therapy import (
    DOC_PW,
    connect,
    fill_with_morphine,
    flex_rx,
    make_state,
    propose,
)
from ui.app_state import AppState
from ui.refill.wizard import RefillPage
from ui.therapy.page import TherapyPage

pytestmark = pytest.mark.gui
NURSE_PW = "nurse-pass-123456"


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    connect(qtbot, s)
    fill_with_morphine(qtbot, s)
    s.sign_out()
    s.sign_in("admin", "admin-pass-1234")
    s.accounts.add("nurse.kim", Role.NURSE, NURSE_PW, actor=s.principal)
    s.sign_out()
    s.sign_in("nurse.kim", NURSE_PW)
    s.connect_pump("emulator:", None)  # the same pump, morphine in it
    qtbot.waitUntil(lambda: s.interrogation is not None, timeout=15_000)
    yield s
    s.shutdown()


def test_the_editor_says_what_a_nurse_may_do_before_any_send(state: AppState, qtbot: QtBot) -> None:
    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(flex_rx(("00:00", "1 mg/day")))
    assert page.verdict.property("level") in ("ok", "soft")
    assert not page.role_note.isHidden()
    assert "nurse" in page.role_note.text() and "physician" in page.role_note.text()
    assert not page.send_button.isEnabled()
    assert "physician" in page.send_button.toolTip()


def test_the_refill_wizard_offers_a_nurse_no_bolus(state: AppState, qtbot: QtBot) -> None:
    w = RefillPage(state)
    qtbot.addWidget(w)
    assert not w.priming.isEnabled() and not w.bridge.isEnabled()
    assert not w.with_therapy.isEnabled()


def test_a_refused_send_is_audited(state: AppState, qtbot: QtBot) -> None:
    proposal = propose(qtbot, state, flex_rx(("00:00", "1.1 mg/day")))
    got: dict[str, Any] = {}
    state.send(proposal, NURSE_PW, lambda r: got.__setitem__("r", r),
               lambda e: got.__setitem__("e", e))  # fmt: skip
    qtbot.waitUntil(lambda: bool(got), timeout=15_000)
    assert "e" in got, "a nurse may not program"
    refused = [r for r in state.trail.query(action=AuditAction.PROGRAM_OUTCOME)
               if r.outcome == "refused"]  # fmt: skip
    assert refused and refused[-1].account == "nurse.kim"
    assert DOC_PW  # (the physician's password is never the nurse's)
