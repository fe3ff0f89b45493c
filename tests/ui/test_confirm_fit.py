"""The therapy confirm at 1024x768: the findings whole (never scrolled inside), the change
table as tall as its rows (no empty rows), and the body scrolling as one when both do not fit."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QScrollArea, QTableWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import flex_rx
from ui.app_state import AppState
from ui.confirm.dialog import ConfirmDialog

pytestmark = pytest.mark.gui

# +70 % at 08:00 and a patient bolus: two overridable findings, one with an "also" line
SPIKE = flex_rx(("00:00", "1 mg/day"), ("08:00", "1.7 mg/day"), ("20:00", "1 mg/day"),
                patient_bolus={"dose": "0.1 mg", "duration": "10 min", "lockout": "3 h", "max_per_day": 3})  # fmt: skip
QUIET = flex_rx(("00:00", "1 mg/day"), ("07:00", "1.1 mg/day"))


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def _open(qtbot: QtBot, state: AppState, rx: dict[str, object], size: tuple[int, int]) -> ConfirmDialog:  # fmt: skip
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    dialog.resize(*size)
    qtbot.wait(100)
    return dialog


def _empty_below_last_row(table: QTableWidget) -> int:
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    return table.viewport().height() - rows


def _findings(dialog: ConfirmDialog) -> QScrollArea:
    area = dialog.findChild(QScrollArea, "confirm_findings")
    assert area is not None
    return area


@pytest.mark.parametrize("size", [(1024, 740), (1366, 740)])
def test_the_confirm_findings_are_whole_and_the_table_has_no_empty_rows(
    state: AppState, qtbot: QtBot, size: tuple[int, int]
) -> None:
    dialog = _open(qtbot, state, SPIKE, size)
    assert dialog._overrides, "the +70 % step must give a finding to override"
    area = _findings(dialog)
    assert area.isVisible()
    assert area.verticalScrollBar().maximum() == 0, area.verticalScrollBar().maximum()
    body = dialog.body_area.verticalScrollBar()
    table = dialog.changes
    # every row in view, no empty row below the last
    assert table.verticalScrollBar().maximum() == 0
    empty = _empty_below_last_row(table)
    assert empty <= 2, (empty, body.maximum())
    # Check again and the reason fields stay usable
    o = dialog._overrides[0]
    o.box.setChecked(True)
    assert o.reason.isEnabled()


def test_without_findings_the_confirm_table_has_no_empty_rows(
    state: AppState, qtbot: QtBot
) -> None:
    dialog = _open(qtbot, state, QUIET, (1024, 740))
    assert not dialog._overrides
    assert _empty_below_last_row(dialog.changes) <= 2
    assert dialog.changes.verticalScrollBar().maximum() == 0


def test_at_scale_2_the_body_scrolls_as_one_and_send_stays_in_view(
    state: AppState, qtbot: QtBot
) -> None:
    dialog = _open(qtbot, state, SPIKE, (512, 384))
    area = _findings(dialog)
    assert area.verticalScrollBar().maximum() == 0
    assert dialog.changes.verticalScrollBar().maximum() == 0
    assert dialog.body_area.verticalScrollBar().maximum() > 0  # the body scrolls as one
    for w in (dialog.password, dialog.send_button, dialog.change):
        assert not dialog.body_area.isAncestorOf(w)
        assert w.isVisible()


def test_at_scale_2_tab_brings_each_reason_field_into_view(state: AppState, qtbot: QtBot) -> None:
    dialog = _open(qtbot, state, SPIKE, (512, 384))
    o = dialog._overrides[-1]
    o.box.setChecked(True)
    o.box.setFocus()
    QTest.keyClick(o.box, Qt.Key.Key_Tab)
    qtbot.wait(50)
    assert o.reason.hasFocus()
    viewport = dialog.body_area.viewport()
    top = o.reason.mapTo(viewport, QPoint(0, 0)).y()
    assert top >= 0 and top + o.reason.height() <= viewport.height(), (top, viewport.height())


def test_at_scale_2_the_pump_line_goes_under_the_title_not_beside_it(
    state: AppState, qtbot: QtBot
) -> None:
    """Beside the title on a 512 px wide dialog the pump and who is signed in wrapped onto
    four lines; under it they take one or two."""
    dialog = _open(qtbot, state, QUIET, (512, 384))
    who = dialog.findChild(QLabel, "confirm_who")
    title = dialog.findChild(QLabel, "confirm_title")
    assert who is not None and title is not None
    assert who.geometry().top() >= title.geometry().bottom(), "under the title"
    assert who.height() <= 2 * who.fontMetrics().lineSpacing() + 4
    wide = _open(qtbot, state, QUIET, (1366, 740))
    who = wide.findChild(QLabel, "confirm_who")
    title = wide.findChild(QLabel, "confirm_title")
    assert who is not None and title is not None
    assert who.geometry().left() > title.geometry().right(), "beside it where there is room"
