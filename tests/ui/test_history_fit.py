"""The history charts fit small screens: no plot runs under the side panel or off its view.

At 1024x768 and 1366x768 every plot lies inside the visible part of the screen; at
512x384 (1024x768 at QT_SCALE_FACTOR=2) the page scrolls, but each plot is whole inside
its own chart (a long title never widens a plot past its view).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyqtgraph as pg
import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QGraphicsView, QWidget

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from programmer.store import Role
from ui.app_state import AppState
from ui.history.demo import SERIAL, fill_demo_history
from ui.history.page import HistoryPage
from ui.main_window import MainWindow

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
DEMO_END_T = 1_767_225_600


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    s = AppState(tmp_path / "db.sqlite3", audit_key=tmp_path / "k", hasher=FAST)
    s.create_first_admin("admin", "admin-pass-1234")
    s.accounts.add("nurse.kim", Role.NURSE, "nurse-pass-1234", actor=s.principal)
    s.sign_out()
    s.sign_in("nurse.kim", "nurse-pass-1234")
    fill_demo_history(s.records, end_t=DEMO_END_T, days=60)
    yield s
    s.shutdown()


def _plots(page: HistoryPage) -> list[tuple[str, QGraphicsView, pg.PlotItem]]:
    c = page.charts
    return [("daily", c, c.daily), ("hour by hour", c, c.hourly), ("reservoir", c, c.reservoir),
            ("alarms", c, c.alarms), ("bolus requests", page.ptm_plot, page.ptm_plot.getPlotItem())]  # fmt: skip


def _open(qtbot: Any, state: AppState, width: int, height: int) -> tuple[MainWindow, HistoryPage]:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    window.show_page("History")
    page = window.page("History")
    assert isinstance(page, HistoryPage)
    with qtbot.waitSignal(page.sig_history_loaded, timeout=20_000):
        page.reload(SERIAL)
    qtbot.wait(50)  # the layouts settle
    return window, page


def _in_view(view: QGraphicsView, plot: pg.PlotItem) -> QRect:
    """The plot's rectangle in its view's pixels (a plot filling its view is the view's)."""
    return view.viewportTransform().mapRect(plot.sceneBoundingRect()).toAlignedRect()


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768)])
def test_every_history_chart_is_whole_on_screen(qtbot: Any, state: AppState, size: tuple[int, int]) -> None:  # fmt: skip
    _window, page = _open(qtbot, state, *size)
    area = page.parentWidget()
    assert isinstance(area, QWidget)  # the scroll area's viewport: what is on screen
    visible = area.rect()
    for name, view, plot in _plots(page):
        rect = _in_view(view, plot)
        assert view.viewport().rect().contains(rect), f"{name}: {rect} outside its view at {size}"
        on_screen = QRect(view.viewport().mapTo(area, rect.topLeft()), rect.size())
        assert visible.contains(on_screen), f"{name}: {on_screen} not all visible in {visible}"


def test_at_scale_2_each_history_chart_is_whole_across_the_screen(qtbot: Any, state: AppState) -> None:  # fmt: skip
    """1024x768 at scale 2 is 512x384: the page scrolls down, but no plot runs off the
    screen's right edge or under the side panel, and each keeps a readable height."""
    _window, page = _open(qtbot, state, 512, 384)
    area = page.parentWidget()
    assert isinstance(area, QWidget)
    visible = area.rect()
    for name, view, plot in _plots(page):
        rect = _in_view(view, plot)
        assert view.viewport().rect().contains(rect), f"{name}: {rect} outside its view"
        assert rect.width() > 150 and rect.height() >= 60, f"{name}: {rect} too small to read"
        left = view.viewport().mapTo(area, rect.topLeft()).x()
        assert left >= 0 and left + rect.width() <= visible.width(), f"{name}: off the screen"
    # The side panel never lies on top of the charts.
    charts = page.charts.geometry().translated(page.charts.parentWidget().mapTo(page, QPoint(0, 0)))
    ptm = page.ptm_plot.geometry().translated(
        page.ptm_plot.parentWidget().mapTo(page, QPoint(0, 0))
    )
    assert not charts.intersects(ptm)
