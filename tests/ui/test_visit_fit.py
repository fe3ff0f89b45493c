"""Issue 14, fit: at 1024x768 and at scale 2 on a 1024x768 screen (512x384 logical px) the
Send button, the % change, the banners and the step table are on screen, not scrolled away."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import flex_rx
from ui.app_state import AppState
from ui.confirm.dialog import ConfirmDialog
from ui.main_window import MainWindow
from ui.refill.wizard import RefillPage
from ui.therapy.page import TherapyPage

pytestmark = pytest.mark.gui

SCALE2_ON_1024 = (512, 384)  # a 1024x768 screen at QT_SCALE_FACTOR=2, in logical px
SIZES = [(1024, 768), (1366, 768), SCALE2_ON_1024]


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def shown_whole(widget: QWidget, top: QWidget) -> bool:
    """The widget is drawn in full inside `top`: not hidden, not clipped by a scroll area's
    viewport (scrolled away) nor by the window's edge."""
    if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0:
        return False
    visible = widget.visibleRegion().boundingRect()
    if visible != widget.rect():
        return False
    at = widget.mapTo(top, QPoint(0, 0))
    return top.rect().contains(QRect(at, widget.size()))


def _window(qtbot: QtBot, state: AppState, size: tuple[int, int]) -> MainWindow:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    window.resize(*size)
    qtbot.wait(50)
    return window


def _settle(qtbot: QtBot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.wait(80)


@pytest.mark.parametrize("size", SIZES)
def test_the_window_is_no_larger_than_the_screen(state: AppState, qtbot: QtBot,
                                                 size: tuple[int, int]) -> None:  # fmt: skip
    window = _window(qtbot, state, size)
    for title in ("Pump overview", "Therapy editor", "Refill", "History", "Audit"):
        window.show_page(title)
        _settle(qtbot, window, size)
        assert window.width() <= size[0] and window.height() <= size[1], (title, window.size())


@pytest.mark.parametrize("size", SIZES)
def test_the_editor_keeps_send_and_the_change_in_view(state: AppState, qtbot: QtBot,
                                                      size: tuple[int, int]) -> None:  # fmt: skip
    window = _window(qtbot, state, size)
    window.show_page("Therapy editor")
    page = window.page("Therapy editor")
    assert isinstance(page, TherapyPage)
    page.model.set_mode("flex")
    page.model.set_field("steps", [{"start": "00:00", "dose": "1 mg/day"},
                                   {"start": "08:00", "dose": "1.2 mg/day"}], "profile")  # fmt: skip
    _settle(qtbot, window, size)
    assert window.width() <= size[0] and window.height() <= size[1]
    assert shown_whole(page.send_button, window), "Review and send is scrolled away"
    assert shown_whole(page.change, window), "the % change is scrolled away"
    # the first banner whole; the others whole or one scroll away in the banners' area
    banners = window.banner_area.banners()
    assert not banners or shown_whole(banners[0], window), banners[0].objectName()
    for banner in window.findChildren(QWidget):
        if banner.objectName().startswith("banner_") and banner.isVisible():
            assert shown_whole(banner, window) or window.banner_area.isAncestorOf(banner), (
                banner.objectName()
            )


@pytest.mark.parametrize("size", SIZES)
def test_the_editor_steps_table_shows_every_column(state: AppState, qtbot: QtBot,
                                                   size: tuple[int, int]) -> None:  # fmt: skip
    window = _window(qtbot, state, size)
    window.show_page("Therapy editor")
    page = window.page("Therapy editor")
    assert isinstance(page, TherapyPage)
    _settle(qtbot, window, size)
    table = page.table
    header = table.horizontalHeader()
    width = sum(header.sectionSize(c) for c in range(table.columnCount()))
    assert width <= table.viewport().width() + 1, "a column of the step table is cut off"


@pytest.mark.parametrize("size", SIZES)
def test_the_confirm_keeps_password_and_send_in_view(state: AppState, qtbot: QtBot,
                                                     size: tuple[int, int]) -> None:  # fmt: skip
    rx = flex_rx(("00:00", "1 mg/day"), ("08:00", "1.2 mg/day"))
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.resize(*size)
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    dialog.resize(*size)
    qtbot.wait(80)
    assert dialog.width() <= size[0] and dialog.height() <= size[1], dialog.size()
    for w in (dialog.password, dialog.send_button, dialog.change):
        assert shown_whole(w, dialog), w.objectName()


@pytest.mark.parametrize("size", SIZES)
def test_the_refill_wizard_keeps_next_and_send_in_view(state: AppState, qtbot: QtBot,
                                                       size: tuple[int, int]) -> None:  # fmt: skip
    window = _window(qtbot, state, size)
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    for step in range(5):
        wizard.go(step)
        _settle(qtbot, window, size)
        assert shown_whole(wizard.next, window), f"Next is scrolled away on step {step + 1}"
    i = state.interrogation
    assert i is not None
    wizard.go(1)
    wizard.removed.setText(f"{int(i.status['reservoir_nl']) / 1_000_000:.2f}")
    wizard.go(2)
    wizard.conc.setText("10 mg/mL")
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(5)
    assert wizard.stack.currentIndex() == 5, wizard.step_problems(wizard.stack.currentIndex())
    qtbot.waitUntil(lambda: wizard.proposal is not None and not state.bridge.busy, timeout=15_000)
    _settle(qtbot, window, size)
    assert window.width() <= size[0] and window.height() <= size[1]
    for w in (wizard.password, wizard.send_button, wizard.view.change):
        assert shown_whole(w, window), w.objectName()
