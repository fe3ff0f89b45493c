"""Issue 14, fit at scale 2 on a 1024x768 screen (512x384 logical px): the overview with
several banners, the refill step with a unit-slip message, Patients, the trial chart, the
Accounts table and the offline review stay inside the screen; what does not fit scrolls."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import make_state
from tests.ui.test_visit_fit import shown_whole
from ui.app_state import AppState
from ui.main_window import MainWindow

pytestmark = pytest.mark.gui

SCALE2_ON_1024 = (512, 384)


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


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


def _columns_fit(table: object) -> bool:
    from PySide6.QtWidgets import QTableView

    assert isinstance(table, QTableView)
    header = table.horizontalHeader()
    model = table.model()
    width = sum(header.sectionSize(c) for c in range(model.columnCount()))
    return width <= table.viewport().width() + 1


def _no_sideways_scroll(window: MainWindow, title: str) -> bool:
    from PySide6.QtWidgets import QScrollArea

    area = window._areas[title]
    assert isinstance(area, QScrollArea)
    bar = area.horizontalScrollBar()
    return bar.maximum() == 0 or not bar.isVisible()


def test_accounts_shows_every_column_at_1024x768(state: AppState, qtbot: QtBot) -> None:
    from programmer.store import Role

    state.sign_out()
    state.sign_in("admin", "admin-pass-1234")
    for n in range(3):  # names as clinics write them, and who created them
        state.accounts.add(f"margaret.hamilton-{n}.neurosurgery", Role.NURSE,
                           "nurse-password-1", actor=state.principal)  # fmt: skip
    window = _window(qtbot, state, (1024, 768))
    window.show_page("Accounts")
    window.resize(1024, 768)
    qtbot.wait(80)
    table = window.page("Accounts").table  # type: ignore[attr-defined]
    window.page("Accounts").refresh()  # type: ignore[attr-defined]
    qtbot.wait(80)
    assert table.rowCount() >= 5
    assert _columns_fit(table), "the Created column is reached only by scrolling sideways"
    assert _no_sideways_scroll(window, "Accounts")


@pytest.mark.parametrize("size", [(1024, 768), SCALE2_ON_1024])
def test_patients_needs_no_sideways_scrolling(
    state: AppState, qtbot: QtBot, size: tuple[int, int]
) -> None:
    from programmer.patients.registry import Patients

    assert state.principal is not None
    pts = Patients(state.store, state.trail)
    pid = pts.add(state.principal, clinic_id="MRN-0001", name="Ada Augusta King-Noel Byron",
                  dob="1961-05-04", indication="pain-cancer").id  # fmt: skip
    window = _window(qtbot, state, size)
    window.show_page("Patients")
    page = window.page("Patients")
    page.refresh()  # type: ignore[attr-defined]
    page.show_patient(pid)  # type: ignore[attr-defined]
    window.resize(*size)
    qtbot.wait(120)
    assert _no_sideways_scroll(window, "Patients"), "the Patients screen scrolls sideways"
    assert _columns_fit(page.table), "a column of the patient list is cut off"  # type: ignore[attr-defined]
    assert _columns_fit(page.pumps), "a column of the pump table is cut off"  # type: ignore[attr-defined]


def test_the_empty_trial_chart_text_is_not_cut_at_scale2(state: AppState, qtbot: QtBot) -> None:
    from datetime import UTC, datetime

    from PySide6.QtWidgets import QScrollArea

    from programmer.patients.registry import Patients
    from ui.trial.page import TrialDialog

    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    pid = pts.add(me, clinic_id="MRN-0002", name="Grace Hopper", dob="1906-12-09",
                  indication="spasticity-spinal").id  # fmt: skip
    trial = pts.add_trial(me, pid, drug="baclofen", kind="single-bolus",
                          started_at=datetime(2026, 3, 4, 8, tzinfo=UTC))  # fmt: skip
    dialog = TrialDialog(pts, me, trial.id)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.resize(*SCALE2_ON_1024)
    qtbot.wait(120)
    assert dialog.width() <= SCALE2_ON_1024[0], dialog.size()
    area = dialog.findChild(QScrollArea, "trial_scroll")
    assert area is not None
    empty = dialog.chart.empty
    assert empty.isVisible()
    left = empty.mapTo(area.viewport(), empty.rect().topLeft()).x()
    assert left >= 0 and left + empty.width() <= area.viewport().width(), "cut at the right"
    bar = area.horizontalScrollBar()
    assert bar.maximum() == 0 or not bar.isVisible(), "the trial scrolls sideways"


def test_on_a_narrow_window_the_screens_are_a_drop_down_and_the_page_gets_the_width(
    state: AppState, qtbot: QtBot
) -> None:
    from PySide6.QtWidgets import QComboBox

    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Therapy editor")
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(80)
    # the list of screens took a third of 512 px; the screen itself gets nearly all of it
    assert window.stack.width() >= window.width() * 9 // 10, window.stack.width()
    menu = window.findChild(QComboBox, "nav_menu")
    assert menu is not None and menu.isVisible()
    offered = [menu.itemText(i) for i in range(menu.count())]
    assert "Therapy editor" in offered and "Patients" in offered
    assert menu.currentText() == "Therapy editor"
    menu.setCurrentIndex(offered.index("Patients"))
    menu.activated.emit(offered.index("Patients"))
    assert window.current_page() is window.page("Patients")
    window.resize(1024, 768)  # room again: the list is back
    qtbot.wait(80)
    assert window.nav.isVisible() and not menu.isVisible()


@pytest.mark.parametrize(
    "title", ["Pump overview", "Audit", "Accounts", "Patients", "History", "Emulator"]
)
def test_no_screen_scrolls_sideways_at_scale2(state: AppState, qtbot: QtBot, title: str) -> None:
    state.sign_out()
    state.sign_in("admin" if title == "Accounts" else "doc",
                  "admin-pass-1234" if title == "Accounts" else "doc-pass-123456")  # fmt: skip
    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page(title)
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(120)
    assert window.width() <= SCALE2_ON_1024[0] and window.height() <= SCALE2_ON_1024[1]
    assert _no_sideways_scroll(window, title), f"{title} scrolls sideways"


def test_the_set_clock_dialog_fits_a_scale2_screen(state: AppState, qtbot: QtBot) -> None:
    from ui.overview.clock_dialog import ClockDialog

    dialog = ClockDialog(state)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.resize(*SCALE2_ON_1024)
    qtbot.wait(50)
    assert dialog.width() <= SCALE2_ON_1024[0], dialog.size()
    assert dialog.height() <= SCALE2_ON_1024[1], dialog.size()


def test_a_trial_with_entries_fits_a_scale2_screen(state: AppState, qtbot: QtBot) -> None:
    from datetime import UTC, datetime, timedelta

    from PySide6.QtWidgets import QScrollArea

    from programmer.patients.registry import Patients
    from ui.trial.page import TrialDialog

    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    pid = pts.add(me, clinic_id="MRN-0003", name="Charles Babbage", dob="1941-12-26",
                  indication="spasticity-spinal").id  # fmt: skip
    t0 = datetime(2026, 3, 4, 8, tzinfo=UTC)
    trial = pts.add_trial(me, pid, drug="baclofen", kind="repeated-bolus", started_at=t0)
    for h in (0, 24):
        pts.add_trial_dose(me, trial.id, t0 + timedelta(hours=h), "50 mcg")
    dialog = TrialDialog(pts, me, trial.id)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.resize(*SCALE2_ON_1024)
    qtbot.wait(120)
    assert dialog.entries.rowCount() == 2
    assert _columns_fit(dialog.entries), "the What column is cut off"
    area = dialog.findChild(QScrollArea, "trial_scroll")
    assert area is not None
    bar = area.horizontalScrollBar()
    assert bar.maximum() == 0 or not bar.isVisible(), "the trial scrolls sideways"


def test_a_stopped_pump_and_its_critical_alarm_are_both_in_view_at_scale2(
    state: AppState, qtbot: QtBot
) -> None:
    state.emulator().fault("motor_stall")
    state.refresh()
    qtbot.waitUntil(lambda: bool(state.interrogation and state.interrogation.critical),
                    timeout=15_000)  # fmt: skip
    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Pump overview")
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(120)
    critical = [b for b in window.banner_area.banners()
                if b.objectName() == "banner_stopped" or b.objectName().startswith("banner_alarm_")]  # fmt: skip
    assert len(critical) >= 2, [b.objectName() for b in window.banner_area.banners()]
    for b in critical:  # headline and remedy readable without scrolling
        assert shown_whole(b, window), b.objectName()
    assert window.height() <= SCALE2_ON_1024[1]


def test_no_refill_step_scrolls_sideways_at_scale2(state: AppState, qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QScrollArea

    from ui.refill.wizard import RefillPage

    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    i = state.interrogation
    assert i is not None
    wizard.go(1)
    wizard.removed.setText(f"{int(i.status['reservoir_nl']) / 1_000_000:.2f}")
    wizard.go(2)
    wizard.conc.setText("10 mg/mL")
    wizard.go(3)
    wizard.added.setText("20")
    for step in range(5):
        wizard.go(step)
        window.resize(*SCALE2_ON_1024)
        qtbot.wait(80)
        assert wizard.stack.currentIndex() == step
        page = wizard.stack.currentWidget()
        assert isinstance(page, QScrollArea)
        bar = page.horizontalScrollBar()
        assert bar.maximum() == 0 or not bar.isVisible(), f"step {step + 1} scrolls sideways"


def test_the_refill_without_a_pump_does_not_scroll_sideways_at_scale2(
    tmp_path: Path, qtbot: QtBot
) -> None:
    from PySide6.QtWidgets import QScrollArea

    from ui.refill.wizard import RefillPage

    s = make_state(tmp_path)  # no pump: the constant-flow start is on the first step
    try:
        window = _window(qtbot, s, SCALE2_ON_1024)
        window.show_page("Refill")
        wizard = window.page("Refill")
        assert isinstance(wizard, RefillPage)
        window.resize(*SCALE2_ON_1024)
        qtbot.wait(120)
        page = wizard.stack.currentWidget()
        assert isinstance(page, QScrollArea)
        bar = page.horizontalScrollBar()
        assert bar.maximum() == 0 or not bar.isVisible(), "the first step scrolls sideways"
    finally:
        s.shutdown()


def test_the_therapy_editor_does_not_scroll_sideways_at_scale2(
    state: AppState, qtbot: QtBot
) -> None:
    from ui.therapy.page import TherapyPage

    window = _window(qtbot, state, SCALE2_ON_1024)
    window.show_page("Therapy editor")
    page = window.page("Therapy editor")
    assert isinstance(page, TherapyPage)
    window.resize(*SCALE2_ON_1024)
    qtbot.wait(120)
    from PySide6.QtWidgets import QScrollArea

    for area in page.findChildren(QScrollArea):
        bar = area.horizontalScrollBar()
        sideways = area.isVisible() and bar.isVisible() and bar.maximum() > 0
        assert not sideways, f"{area.objectName()} scrolls sideways"
    assert shown_whole(page.send_button, window) and shown_whole(page.change, window)
