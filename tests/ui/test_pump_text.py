"""Issue 14: text that came from a pump is shown through display_text everywhere in the app.

The link refuses such strings in answers it checks; these tests put a hostile string where
the app shows pump text anyway (an interrogation's fields, the stored log a copy or an
older version holds, a pump's own error message) and look at what a person sees."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.session.alarms import advice_for
from programmer.session.pump_session import Alarm
from programmer.store import PumpEvent
from tests.ui.conftest_therapy import DOC_PW, START_T, make_state
from ui.app_state import AppState
from ui.main_window import MainWindow
from ui.overview.page import OverviewPage
from ui.pump_text import PUMP_TEXT_CHARS, pump_text

pytestmark = pytest.mark.gui

HOSTILE = "\x1b[31mRED\u202eevil\u0007\u009b2J" + "A" * 10_000
RAW = ("\x1b", "\u202e", "\u0007", "\u009b")


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    yield s
    s.shutdown()


def _visit(qtbot: QtBot, s: AppState) -> None:
    s.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: s.interrogation is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not s.bridge.busy, timeout=30_000)


def _texts(*widgets: QWidget) -> list[str]:
    return [label.text() for w in widgets for label in w.findChildren(QLabel)]


def _clean(texts: list[str]) -> None:
    for text in texts:
        assert not any(c in text for c in RAW), repr(text[:80])
        assert len(text) < 2_000, f"{len(text)} characters on one label"


def test_the_overview_shows_a_hostile_pumps_strings_cleaned(state: AppState, qtbot: QtBot) -> None:
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    _visit(qtbot, state)
    i = state.interrogation
    assert i is not None
    hostile = dataclasses.replace(
        i, model=HOSTILE, serial=HOSTILE, firmware=HOSTILE,
        alarms=[Alarm(HOSTILE, START_T, True, advice_for(HOSTILE))],
    )  # fmt: skip
    state._set_interrogation(hostile)
    window = MainWindow(state)
    qtbot.addWidget(window)
    page = OverviewPage(state)
    qtbot.addWidget(page)
    _clean(_texts(window, page) + [window.pump_label.text()] + [t for t, _, _ in state.banners()])
    shown = pump_text(HOSTILE)
    assert shown.startswith("\\x1b[31mRED\\u202eevil") and len(shown) == PUMP_TEXT_CHARS
    assert page.identity.value("Model") == shown and page.identity.value("Serial") == shown
    assert shown in window.pump_label.text()
    # 10,000 characters widen nothing: the window still fits a 1024x768 screen.
    assert window.minimumSizeHint().width() <= 1024 and page.minimumSizeHint().width() <= 1024
    assert any("\\x1b[31mRED\\u202eevil" in t for t in _texts(page)), "the alarm, escaped"


def test_since_the_last_visit_shows_a_stored_hostile_log_cleaned(
    state: AppState, qtbot: QtBot
) -> None:
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    _visit(qtbot, state)
    i = state.interrogation
    assert i is not None
    # What an older version or a copy's log may hold: text the link would refuse now.
    at = datetime.fromtimestamp(START_T + 60, UTC)
    state.records.save_events(i.serial, [
        PumpEvent(900, at, "alarm_raised", {"code": HOSTILE}),
        PumpEvent(901, at, "changeset_applied", {"crc": 1, "programmer_id": HOSTILE, "parts": [HOSTILE]}),
    ])  # fmt: skip
    state.sign_out()
    state.sign_in("doc", DOC_PW)
    _visit(qtbot, state)  # the next visit
    page = OverviewPage(state)
    qtbot.addWidget(page)
    texts = [r.text for r in page.since_rows]
    assert any(t.startswith("Alarm: Alarm \\x1b[31mRED\\u202eevil") for t in texts), texts
    assert any(t.startswith("Program changed: \\x1b[31mRED") for t in texts), texts
    _clean(texts + _texts(page))


def test_a_pumps_own_error_message_is_shown_cleaned(state: AppState, qtbot: QtBot) -> None:
    from programmer.link.messages import MsgType, ProtocolError
    from tests.support.hostile_pump import hostile_pump

    said: list[str] = []
    state.sig_message.connect(lambda level, text: said.append(text))
    with hostile_pump() as pump:

        def refuse(_: object) -> dict[str, object]:
            raise ProtocolError("busy", HOSTILE[:3_000])  # one frame holds 4096 bytes

        pump.rewrites[MsgType.GET_THERAPY] = refuse
        state.connect_pump(pump.address, None)
        qtbot.waitUntil(lambda: bool(said), timeout=15_000)
    assert "\\x1b[31mRED\\u202eevil" in said[0]
    _clean(said)
