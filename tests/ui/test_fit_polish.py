"""Issue 14, fit and words at scale 2 on a 1024x768 screen (512x384 logical px): the change
view's column headings read whole, the refill confirm gives its room to the change table
(not to an empty findings box), the status-bar line is not cut, and the visit screenshot
script drives the refill to its outcome as a person would."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QTableWidget, QWidget
from pytestqt.qtbot import QtBot

from build_scripts.screenshots_visit import override_and_fill, send
from tests.ui.conftest_therapy import DOC_PW, flex_rx
from ui.app_state import AppState
from ui.confirm.dialog import ConfirmDialog
from ui.main_window import MainWindow
from ui.refill.wizard import CONFIRM, SUMMARY, RefillPage

pytestmark = pytest.mark.gui

SCALE2_ON_1024 = (512, 384)


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def _headings_read_whole(table: QTableWidget) -> list[str]:
    """The headings cut off: a line wider than its column, or more lines than the header
    is tall, without the full heading on hover."""
    header = table.horizontalHeader()
    fm = header.fontMetrics()
    cut = []
    for c in range(table.columnCount()):
        text = str(table.model().headerData(c, Qt.Orientation.Horizontal) or "")
        lines = text.split("\n")
        widest = max(fm.horizontalAdvance(line) for line in lines)
        margin = 2 * header.style().pixelMetric(header.style().PixelMetric.PM_HeaderMargin)
        if (
            widest + margin > header.sectionSize(c)
            or len(lines) * fm.lineSpacing() > header.height()
        ):
            cut.append(text)
    return cut


def _window(qtbot: QtBot, state: AppState, size: tuple[int, int]) -> MainWindow:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    window.resize(*size)
    qtbot.wait(80)
    return window


def _to_confirm(qtbot: QtBot, state: AppState, wizard: RefillPage) -> None:
    """The refill as build_scripts/screenshots_visit.py fills it: priming with soft findings."""
    i = state.interrogation
    assert i is not None
    wizard.go(1)
    wizard.removed.setText(f"{int(i.status['reservoir_nl']) / 1_000_000:.2f}")
    wizard.go(2)
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(4)
    wizard.cath_volume.setText("0.15")
    wizard.priming.setChecked(True)
    wizard.fluid_path.setCurrentIndex(wizard.fluid_path.findData("emptied-and-aspirated"))
    wizard.go(CONFIRM)
    assert wizard.stack.currentIndex() == CONFIRM, wizard.step_problems(4)
    qtbot.waitUntil(lambda: wizard.proposal is not None and not state.bridge.busy, timeout=15_000)


@pytest.mark.parametrize("size", [SCALE2_ON_1024, (1024, 768), (1366, 768)])
def test_the_confirm_change_headings_read_whole(state: AppState, qtbot: QtBot,
                                                size: tuple[int, int]) -> None:  # fmt: skip
    rx = flex_rx(("00:00", "1 mg/day"), ("08:00", "1.2 mg/day"))
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.resize(*size)
    qtbot.waitUntil(lambda: dialog.proposal is not None and not state.bridge.busy, timeout=15_000)
    dialog.resize(*size)
    qtbot.wait(80)
    assert _headings_read_whole(dialog.view.table) == []
    if size[0] >= 1024:  # where there is room, one line
        heading = dialog.view.table.model().headerData(1, Qt.Orientation.Horizontal)
        assert heading == "Now on the pump"


def test_the_refill_confirm_headings_read_whole_at_scale2(state: AppState, qtbot: QtBot) -> None:
    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    _to_confirm(qtbot, state, wizard)
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(80)
    assert _headings_read_whole(wizard.view.table) == []


def _findings_area(wizard: RefillPage) -> QScrollArea:
    area = wizard.findings.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    assert area is not None
    return area


def _inner(area: QScrollArea) -> QWidget:
    inner = area.widget()
    assert inner is not None
    return inner


def test_without_findings_the_refill_confirm_table_gets_the_room(
    state: AppState, qtbot: QtBot
) -> None:
    """A month on, the drawn-out volume as expected: nothing to override. The findings say
    so in a line and the change table takes the rest of the height, every row in view."""
    state.emulator().advance(30 * 86_400)
    state.refresh()
    qtbot.wait(300)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    window = _window(qtbot, state, (1024, 768))
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    i = state.interrogation
    assert i is not None
    wizard.go(1)
    wizard.removed.setText(f"{int(i.status['reservoir_nl']) / 1_000_000:.3f}")
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(CONFIRM)
    assert wizard.stack.currentIndex() == CONFIRM, wizard.step_problems(3)
    qtbot.waitUntil(lambda: wizard.proposal is not None and not state.bridge.busy, timeout=15_000)
    qtbot.wait(80)
    assert not wizard._overrides, [o.finding.code for o in wizard._overrides]
    area = _findings_area(wizard)
    line = wizard.findings.fontMetrics().lineSpacing()
    assert area.height() <= 3 * line, (wizard.findings.text(), area.height())
    body = wizard.findChild(QScrollArea, "refill_confirm_body")
    assert body is not None
    assert wizard.view.height() >= body.viewport().height() - area.height() - 3 * line
    assert wizard.view.table.verticalScrollBar().maximum() == 0


def test_with_findings_the_refill_confirm_table_still_gets_the_room(
    state: AppState, qtbot: QtBot
) -> None:
    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    _to_confirm(qtbot, state, wizard)
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(80)
    area = _findings_area(wizard)
    if not wizard.findings.text():
        assert not wizard.findings.isVisible()
    assert area.height() <= _inner(area).sizeHint().height() + 2 * area.frameWidth() + 1


def _status_line(window: MainWindow) -> QLabel:
    labels = [w for w in window.statusBar().findChildren(QLabel)
              if w.objectName() == "status_line"]  # fmt: skip
    assert labels, "no status line"
    return labels[0]


@pytest.mark.parametrize("size", [SCALE2_ON_1024, (1024, 768)])
def test_the_status_line_is_not_cut_at_scale2(state: AppState, qtbot: QtBot,
                                              size: tuple[int, int]) -> None:  # fmt: skip
    window = _window(qtbot, state, size)
    message = ("Connection lost at 10:42: the values shown are from 10:41; reconnect to the "
               "pump before you change anything, then check the reservoir again")  # fmt: skip
    state.sig_message.emit("warning", message)
    window.resize(*size)
    qtbot.wait(80)
    line = _status_line(window)
    assert line.isVisible()
    assert line.toolTip() == message
    fm = line.fontMetrics()
    shown = line.text()
    assert fm.horizontalAdvance(shown) <= line.contentsRect().width(), (shown, line.width())
    assert shown == message or shown.endswith("…")
    assert shown.rstrip("…")[:20] == message[:20]  # readable: it starts as the message does
    assert window.width() <= size[0]


def test_the_visit_screenshots_drive_the_refill_to_its_outcome(
    state: AppState, qtbot: QtBot
) -> None:
    window = _window(qtbot, state, (1024, 768))
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    _to_confirm(qtbot, state, wizard)
    assert wizard._overrides, "this refill should need overrides"

    def wait(until: Callable[[], bool], seconds: float) -> None:
        qtbot.waitUntil(until, timeout=int(seconds * 1000))

    override_and_fill(wizard, state, DOC_PW, wait)
    assert wizard.send_button.isEnabled(), wizard.send_button.toolTip()
    send(wizard, state, wait)
    assert wizard.result is not None
    assert wizard.stack.currentIndex() == SUMMARY


@pytest.mark.parametrize("size", [SCALE2_ON_1024, (1024, 768), (1366, 768)])
def test_the_refill_findings_are_shown_whole_not_scrolled_inside(
    state: AppState, qtbot: QtBot, size: tuple[int, int]
) -> None:
    window = _window(qtbot, state, size)
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    _to_confirm(qtbot, state, wizard)
    window.resize(*size)
    qtbot.wait(80)
    area = _findings_area(wizard)
    assert wizard._overrides and area.isVisible()
    bar = area.verticalScrollBar()
    assert bar.maximum() == 0, (bar.maximum(), area.height())


def test_an_empty_progress_line_takes_no_room_on_the_refill_confirm(
    state: AppState, qtbot: QtBot
) -> None:
    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    _to_confirm(qtbot, state, wizard)
    assert not wizard.progress.text()
    assert not wizard.progress.isVisible()
    wizard._overrides[0].box.setChecked(True)  # ticked without a reason: the wizard says so
    wizard.recheck_button.click()
    assert wizard.progress.isVisible() and "reason" in wizard.progress.text()
