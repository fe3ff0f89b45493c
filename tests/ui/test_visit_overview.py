"""Issue 14: the overview says what happened since the last visit, critical first."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from tests.ui.conftest_therapy import DOC_PW, FAST, START_T
from ui.app_state import AppState
from ui.overview.page import OverviewPage

pytestmark = pytest.mark.gui


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    from programmer.store import Role

    s = AppState(tmp_path / "db.sqlite3", audit_key=tmp_path / "k", hasher=FAST,
                 read_log_on_connect=True)  # fmt: skip
    s.create_first_admin("admin", "admin-pass-1234")
    s.accounts.add("doc", Role.PHYSICIAN, DOC_PW, actor=s.principal)
    s.sign_out()
    s.sign_in("doc", DOC_PW)
    yield s
    s.shutdown()


def _visit(qtbot: QtBot, s: AppState) -> None:
    s.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: s.interrogation is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not s.bridge.busy, timeout=30_000)


def test_since_the_last_visit_lists_alarms_critical_first(state: AppState, qtbot: QtBot) -> None:
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    _visit(qtbot, state)
    page = OverviewPage(state)
    qtbot.addWidget(page)
    assert page.since.value("First visit")
    state.sign_out()  # the visit ends; the next one starts
    state.sign_in("doc", DOC_PW)
    _visit(qtbot, state)
    state.emulator().fault("motor_stall")  # logged after the last visit's interrogation
    state.refresh()
    state.read_log()
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=30_000)
    page.refresh()
    assert page.since_rows, "the alarm logged since the last visit"
    first = page.since_rows[0]
    assert first.critical and "Motor stall" in first.text


def test_the_overview_shows_the_pumps_steps_as_doses(state: AppState, qtbot: QtBot) -> None:
    from tests.ui.conftest_therapy import connect, fill_with_morphine

    connect(qtbot, state)
    fill_with_morphine(qtbot, state)
    page = OverviewPage(state)
    qtbot.addWidget(page)
    item = page.steps.item(0, 1)
    assert item is not None and item.text() == "morphine 1 mg/day"
    assert "0.1 mL/day" in item.toolTip()


def test_the_overview_dates_are_local_text_not_iso(state: AppState, qtbot: QtBot) -> None:
    from tests.ui.conftest_therapy import connect

    connect(qtbot, state)
    page = OverviewPage(state)
    qtbot.addWidget(page)
    assert page.identity.value("Implanted") == "Thu 1 Jan 2026"
    assert page.clock.value("Pump clock") == "Thu 1 Jan 2026, 00:00"


@pytest.mark.parametrize("speaks", [1, 2])
def test_the_connection_details_show_the_negotiated_protocol(
    state: AppState, qtbot: QtBot, speaks: int
) -> None:
    """Issue 16: the app shows the link protocol the session negotiated (a version-1 pump
    is read with version 1; a version-2 pump with version 2)."""
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0), protocol=speaks)
    _visit(qtbot, state)
    page = OverviewPage(state)
    qtbot.addWidget(page)
    page.refresh()
    assert page.identity.value("Link protocol") == f"version {speaks}"
