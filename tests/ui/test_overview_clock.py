"""The overview's clock card: drift advice, and setting the clock only through the dialog."""

from __future__ import annotations

from typing import Any

import pytest

from programmer.emulator.handler import EmulatorHandler
from programmer.store import AuditAction, Role
from ui.app_state import AppState
from ui.overview.clock_dialog import ClockDialog
from ui.overview.page import OverviewPage

from .conftest import START_T, sign_in_physician

NOW_T = START_T + 3 * 86_400 + 3_600  # this computer: three days and an hour after the pump


def _connected(qtbot: Any, state: AppState) -> OverviewPage:
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: state.interrogation is not None, timeout=10_000)
    page = OverviewPage(state)
    qtbot.addWidget(page)
    return page


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch) -> None:
    """This computer's clock, fixed: the pump (clock stopped at START_T) is behind it."""
    from datetime import UTC, datetime

    from programmer.session import pump_session

    monkeypatch.setattr(pump_session.PumpSession, "clock_now_here", lambda self: (NOW_T, 0))
    real_init = pump_session.PumpSession.__init__

    def init(self: Any, *a: Any, **kw: Any) -> None:
        real_init(self, *a, **kw)
        self.now = lambda: datetime.fromtimestamp(NOW_T, UTC)
        self.local_offset_at = lambda _t: 0

    monkeypatch.setattr(pump_session.PumpSession, "__init__", init)


def test_drift_advice_and_the_clock_set_through_the_dialog(
    qtbot: Any, app_state: AppState, pump: EmulatorHandler, here: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sign_in_physician(app_state)
    page = _connected(qtbot, app_state)
    assert page.clock.value("Drift") == "-3 d 1 h (pump behind)"
    assert "3 d 1 h behind" in page.clock.value("Check")
    assert page.clock_button.isEnabled()
    shown: list[ClockDialog] = []

    def cancel(dialog: ClockDialog) -> int:
        shown.append(dialog)
        return ClockDialog.DialogCode.Rejected.value

    monkeypatch.setattr(ClockDialog, "exec", cancel)
    page.clock_button.click()
    table = shown[0].table
    assert [table.item(0, c).text() for c in range(3)] == [
        "Local time",
        "Thu 1 Jan 2026, 00:00:00",
        "Sun 4 Jan 2026, 01:00:00",
    ]  # fmt: skip  (as a clinician reads a clock, never ISO; the exact stamp on hover)
    assert table.item(0, 1).toolTip() == "2026-01-01T00:00:00+00:00"
    assert "moves forward by 3 d 1 h (262800 s)" in shown[0].effect.text()
    assert not app_state.trail.query(action=AuditAction.CLOCK_SET), "cancel sends nothing"
    assert pump.model.clock_t == START_T

    monkeypatch.setattr(ClockDialog, "exec", lambda d: ClockDialog.DialogCode.Accepted.value)
    page.clock_button.click()
    qtbot.waitUntil(lambda: pump.model.clock_t == NOW_T, timeout=10_000)
    qtbot.waitUntil(
        lambda: app_state.interrogation is not None and app_state.interrogation.clock_drift_s == 0,
        timeout=10_000,
    )
    outcomes = [r.outcome for r in app_state.trail.query(action=AuditAction.CLOCK_SET)]
    assert outcomes == ["intent", "applied"]
    qtbot.waitUntil(lambda: page.clock.value("Drift") == "+0 s", timeout=5_000)
    with pytest.raises(KeyError):
        page.clock.value("Check")


def test_a_nurse_sees_the_drift_but_cannot_set_the_clock(
    qtbot: Any, app_state: AppState, here: None
) -> None:
    app_state.create_first_admin("admin", "admin-password-1")
    app_state.accounts.add("nurse", Role.NURSE, "nurse-pass-12345", actor=app_state.principal)
    app_state.sign_out()
    app_state.sign_in("nurse", "nurse-pass-12345")
    page = _connected(qtbot, app_state)
    assert "behind" in page.clock.value("Check")
    assert not page.clock_button.isEnabled()
