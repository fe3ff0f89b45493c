"""Issue 14, fit at scale 2 on a 1024x768 screen (512x384 logical px): the overview with
several banners, the refill step with a unit-slip message, Patients, the trial chart, the
Accounts table and the offline review stay inside the screen; what does not fit scrolls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import connect, fill_with_morphine, make_state
from tests.ui.test_visit_fit import shown_whole
from ui.app_state import AppState
from ui.main_window import MainWindow

pytestmark = pytest.mark.gui

SCALE2_ON_1024 = (512, 384)


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    connect(qtbot, s)
    fill_with_morphine(qtbot, s)
    yield s
    s.shutdown()


def _window(qtbot: QtBot, state: AppState, size: tuple[int, int]) -> MainWindow:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    window.resize(*size)
    qtbot.wait(80)
    return window


def _age_the_pump(qtbot: QtBot, state: AppState) -> None:
    """100 days on: stability past, refill overdue, the pump's clock off: several banners."""
    state.emulator().advance(100 * 86_400)
    state.refresh()
    qtbot.waitUntil(
        lambda: (
            state.interrogation is not None
            and int(state.interrogation.status["clock_t"]) > 1_767_225_600 + 99 * 86_400
        ),
        timeout=15_000,
    )


def _banners(window: MainWindow) -> list[QLabel]:
    return [
        w
        for w in window.findChildren(QLabel)
        if w.objectName().startswith("banner_") and w.isVisible()
    ]


def test_the_overview_with_three_banners_stays_inside_a_scale2_screen(
    state: AppState, qtbot: QtBot
) -> None:
    from tests.ui.test_visit_link import _drop

    _age_the_pump(qtbot, state)
    _drop(state)  # and the link lost: four banners, two of them three lines long
    state.refresh()
    qtbot.waitUntil(lambda: state.link_lost_at is not None, timeout=15_000)
    assert len(state.banners()) >= 4, state.banners()
    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Pump overview")
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(80)
    assert window.height() <= SCALE2_ON_1024[1], window.size()
    assert window.width() <= SCALE2_ON_1024[0], window.size()
    banners = _banners(window)
    assert len(banners) >= 4
    # the banners leave the screen its room: the page body gets at least half the height
    assert window.stack.height() >= window.height() // 2, (window.stack.height(), window.size())
    # the first banner's headline and remedy are readable without scrolling; the others
    # are reached by scrolling the banner area, never cut off by the window's edge
    assert shown_whole(banners[0], window), banners[0].objectName()
    for b in banners:
        at = b.mapTo(window, b.rect().topLeft())
        assert at.x() >= 0 and at.x() + b.width() <= window.width(), b.objectName()


def test_the_refill_unit_slip_step_stays_inside_a_scale2_screen(
    state: AppState, qtbot: QtBot
) -> None:
    from ui.refill.wizard import RefillPage

    _age_the_pump(qtbot, state)  # three banners above the wizard
    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    wizard.go(1)
    wizard.removed.setText("19.9")
    wizard.go(2)
    wizard.conc.setText("25 mcg/mL")  # a unit slip: the red message and the retype field
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(80)
    assert "probably meant" in wizard.drug_check.text()
    assert window.height() <= SCALE2_ON_1024[1], window.size()
    assert window.width() <= SCALE2_ON_1024[0], window.size()
    assert shown_whole(wizard.next, window), "Next is scrolled away"
    area = wizard.problem_area  # what to type again, on screen
    at = area.mapTo(window, area.rect().topLeft())
    assert area.isVisible() and at.y() + area.height() <= window.height(), (at, area.size())


def test_the_offline_review_window_fits_the_screen_it_opens_on(
    state: AppState, qtbot: QtBot, tmp_path: Path
) -> None:
    from PySide6.QtGui import QGuiApplication, QImage

    from ui.history.screens import _offline_review

    screen = QGuiApplication.primaryScreen()
    room = screen.availableGeometry()
    path = _offline_review(state, tmp_path, (1366, 768))
    picture = QImage(str(path))
    ratio = screen.devicePixelRatio()
    assert picture.width() / ratio <= room.width(), (picture.size(), room)
    assert picture.height() / ratio <= room.height(), (picture.size(), room)
