"""Issue 14: pump strings at the refill, the confirm, the visit report and the history are
shown through pump_text: controls and bidi overrides escaped, 10,000 characters cut."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.patients.timeline import Stretch
from tests.ui.conftest_therapy import START_T, flex_rx, make_state
from ui.app_state import AppState
from ui.confirm.dialog import ConfirmDialog
from ui.history.course import course_bands, stretch_label
from ui.history.page import HistoryPage
from ui.refill.wizard import RefillPage
from ui.report.visit import visit_html

pytestmark = pytest.mark.gui

HOSTILE = "\x1b[31mRED\u202eevil\u0007\u009b2J" + "A" * 10_000
RAW = ("\x1b", "\u202e", "\u0007", "\u009b")


def _clean(texts: list[str]) -> None:
    for text in texts:
        assert not any(c in text for c in RAW), repr(text[:80])
        assert len(text) < 2_000, f"{len(text)} characters"


def _labels(w: QWidget) -> list[str]:
    return [label.text() for label in w.findChildren(QLabel)]


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    s.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: s.interrogation is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not s.bridge.busy, timeout=30_000)
    yield s
    s.shutdown()


def _hostile(state: AppState) -> None:
    i = state.interrogation
    assert i is not None
    state._set_interrogation(dataclasses.replace(i, model=HOSTILE, firmware=HOSTILE))


def test_the_refill_wizard_shows_the_pump_cleaned(state: AppState, qtbot: QtBot) -> None:
    _hostile(state)
    w = RefillPage(state)
    qtbot.addWidget(w)
    w._fill_now()
    texts = _labels(w)
    assert any("\\x1b[31mRED\\u202eevil" in t for t in texts)
    _clean(texts)


def test_the_confirm_names_the_pump_cleaned(state: AppState, qtbot: QtBot) -> None:
    _hostile(state)
    i = state.interrogation
    assert i is not None
    dialog = ConfirmDialog(state, flex_rx(("00:00", "1 mg/day"), pump_serial=i.serial))
    qtbot.addWidget(dialog)
    texts = [t for t in _labels(dialog) if "Pump " in t]
    assert texts and any("\\x1b[31mRED\\u202eevil" in t for t in texts)
    _clean(texts)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)


def test_the_visit_report_shows_the_pump_cleaned(state: AppState) -> None:
    _hostile(state)
    i = state.interrogation
    assert i is not None
    html = visit_html(user="doc", role="physician", before=i, proposal=None, result=None,
                      trail=[], demo_key=False)  # fmt: skip
    assert "\\x1b[31mRED\\u202eevil" in html
    assert not any(c in html for c in RAW)
    assert len(html) < 10_000


def test_the_history_names_pumps_and_drugs_cleaned(state: AppState, qtbot: QtBot) -> None:
    with state.store.write() as db:
        db.execute("INSERT INTO pumps (serial, model, info, first_seen_at, first_seen_s, last_seen_at,"
                   " last_seen_s) VALUES (?, ?, NULL, '2026-01-01T00:00:00Z', 0,"
                   " '2026-01-01T00:00:00Z', 0)", (HOSTILE, HOSTILE))  # fmt: skip
    page = HistoryPage(state)
    qtbot.addWidget(page)
    page.reload()
    pumps = [page.pump_select.itemText(r) for r in range(page.pump_select.count())]
    assert any("\\x1b[31mRED" in t for t in pumps), pumps
    page._fill_series([HOSTILE])
    series = [page.series_select.itemText(r) for r in range(page.series_select.count())]
    assert any("\\x1b[31mRED" in t for t in series), series
    stretch = Stretch(HOSTILE, "programmable", HOSTILE, date(2020, 1, 2), None)
    _clean([*pumps, *series, stretch_label(stretch), course_bands_label(stretch)])
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)


def course_bands_label(s: Stretch) -> str:
    from typing import Any, cast

    from programmer.patients.course import PumpCourse

    none = cast(Any, None)  # course_bands reads only the stretches
    return course_bands(PumpCourse(none, [], [s], [], none), 0)[0][2]
