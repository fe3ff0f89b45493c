"""History page offscreen: charts from the store, gaps as NaN, read from the emulator, offline."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.store import InfusionHour, PumpEvent, Role
from ui.app_state import AppState
from ui.history.demo import SERIAL, fill_demo_history
from ui.history.page import HistoryPage

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
T0 = 1_767_225_600


def make_state(tmp_path: Path, **kw: object) -> AppState:
    return AppState(tmp_path / "db.sqlite3", audit_key=tmp_path / "k", hasher=FAST, **kw)  # type: ignore[arg-type]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    s = make_state(tmp_path)
    s.create_first_admin("admin", "admin-pass-1234")
    s.accounts.add("nurse.kim", Role.NURSE, "nurse-pass-1234", actor=s.principal)
    s.sign_out()
    s.sign_in("nurse.kim", "nurse-pass-1234")
    yield s
    s.shutdown()


def test_charts_from_the_store_with_gaps_as_nan(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    state.records.upsert_pump("P1", "ITP-20")
    hours = [
        InfusionHour(datetime.fromtimestamp(T0 + i * 3600, UTC), 10_000, {"basal_nl": 10_000, "bolus_nl": 0})
        for i in range(72)
        if i not in (30, 31)
    ]  # fmt: skip
    state.records.save_infusion_hours("P1", hours)
    state.records.save_events(
        "P1",
        [
            PumpEvent(1, datetime.fromtimestamp(T0 + 3600 * 9, UTC), "ptm_request", {"granted": True, "reason": "ok"}),
            PumpEvent(2, datetime.fromtimestamp(T0 + 3600 * 9 + 60, UTC), "ptm_request", {"granted": False, "reason": "lockout"}),
            PumpEvent(5, datetime.fromtimestamp(T0 + 3600 * 20, UTC), "alarm_raised", {"code": "motor_stall"}),
        ],
    )  # fmt: skip
    page = HistoryPage(state)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sig_history_loaded, timeout=10_000):
        page.reload()
    assert page.pump_select.currentData() == "P1"
    # No drug known from this database: only the volume can be shown.
    assert page.series_select.count() == 1 and page.selected_drug() is None
    hourly = page.charts.hourly_curve.getData()[1]
    assert hourly is not None
    ys = page.charts.hourly_curve.yData
    assert np.isnan(ys[30]) and np.isnan(ys[31]) and ys[29] == pytest.approx(0.01)
    days = page.charts.daily_curve.yData
    assert days[0] == pytest.approx(0.24) and np.isnan(days[1]) and days[2] == pytest.approx(0.24)
    text = page.summary.text()
    assert "2 hours never reported" in text
    assert "2 events missing" in text  # seq 3..4
    assert page.ptm_granted.opts["height"][9] == 1
    assert page.ptm_denied.opts["height"][9] == 1
    assert "lockout 1" in page.ptm_label.text()


def test_drug_dose_series_and_accuracy_table(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    fill_demo_history(state.records, end_t=T0, days=200, hour_gap_days=(50, 52), event_gap=False)
    page = HistoryPage(state)
    qtbot.addWidget(page)
    page.show()  # drawn, so pyqtgraph clips and downsamples to each view
    with qtbot.waitSignal(page.sig_history_loaded, timeout=10_000):
        page.reload()
    assert page.pump_select.currentData() == SERIAL
    assert page.selected_drug() == "morphine"
    assert "(mg)" in page.series_select.currentText()
    days = page.charts.daily_curve.yData
    # 24 × 8,333 nl at 10 mg/mL is 1.99992 mg/day, plus 20 µL of boluses (0.2 mg) every
    # third day; from day 180 the rate is 5 % higher (24 × 8,750 nl = 2.1 mg/day).
    finite = days[np.isfinite(days)]
    assert set(np.round(finite, 6)) == {1.99992, 2.19992, 2.1, 2.3}
    assert np.isnan(days[50]) and np.isnan(days[51])
    assert page.accuracy_table.rowCount() == 3
    assert page.accuracy_table.item(0, 1).text().endswith("mL")
    assert page.accuracy_table.item(0, 3).text().endswith("%")
    # The refill's day as the clinic writes it, not ISO; its time of day on hover.
    day = page.accuracy_table.item(0, 0)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", day.text())
    assert re.fullmatch(r".* \d{4}, \d{2}:\d{2}", day.toolTip())
    # The date axis zooms from all of it down to hours; presets for the keyboard.
    whole_y = [
        p.viewRange()[1] for p in (page.charts.daily, page.charts.hourly, page.charts.reservoir)
    ]
    assert whole_y[0][0] == 0 and 2.3 < whole_y[0][1] < 2.6  # from zero, over the largest day
    page.range_select.setCurrentIndex(page.range_select.findText("1 day"))
    (a, b), _ = page.charts.daily.viewRange()
    assert b - a == pytest.approx(86_400, rel=0.01)
    qtbot.wait(100)  # drawn at the new view
    # One y scale for the whole history: zooming in never rescales the dose.
    assert [
        p.viewRange()[1] for p in (page.charts.daily, page.charts.hourly, page.charts.reservoir)
    ] == whole_y
    page.range_select.setCurrentIndex(page.range_select.findText("6 hours"))
    (a, b), _ = page.charts.alarms.viewRange()  # every plot follows the same axis
    assert b - a == pytest.approx(6 * 3600, rel=0.01)
    page.range_select.setCurrentIndex(0)
    (a, b), _ = page.charts.daily.viewRange()
    assert b - a > 190 * 86_400
    page.series_select.setCurrentIndex(page.series_select.findData(""))
    assert page.selected_drug() is None
    assert "mL" in page.charts.daily.titleLabel.text


def test_read_from_pump_then_resume(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    inprocess.install(PumpModel("ITP-40", T0), speed=0)
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: state.interrogation is not None, timeout=10_000)
    page = HistoryPage(state)
    qtbot.addWidget(page)
    page.show()
    assert page.read_button.isVisible() and page.read_button.isEnabled()
    state.emulator().advance(3 * 86_400)
    state.emulator().press_patient_bolus()
    with qtbot.waitSignal(page.sig_read_finished, timeout=30_000) as got:
        page.read_from_pump()
        assert page.cancel_button.isVisible()
    first = got.args[0]
    assert first.complete and first.hours_added >= 72
    qtbot.waitUntil(
        lambda: "pump time" in page.summary.text(), timeout=10_000
    )  # loaded off the GUI thread
    assert page.pump_select.currentData() == state.interrogation.serial  # type: ignore[union-attr]
    assert sum(p.granted + p.denied for p in page.history.ptm_by_hour) == 1  # type: ignore[union-attr]
    # A second read resumes from what the store has: nothing new, nothing duplicated.
    with qtbot.waitSignal(page.sig_read_finished, timeout=30_000) as again:
        page.read_from_pump()
    assert again.args[0].events_added == 0 and again.args[0].hours_added == 0


def test_cancel_keeps_what_arrived(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    inprocess.install(PumpModel("ITP-40", T0), speed=0)
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: state.interrogation is not None, timeout=10_000)
    state.emulator().advance(30 * 86_400)
    page = HistoryPage(state)
    qtbot.addWidget(page)
    page._stop = True  # as if Cancel was pressed before the first page arrived
    with qtbot.waitSignal(page.sig_read_finished, timeout=30_000) as got:
        page.read_from_pump()
        page.cancel()
    assert not got.args[0].complete
    assert "read again to resume" in page.progress_label.text()


def test_a_log_that_does_not_continue_the_stored_one_is_refused_in_words(
    qtbot, state: AppState
) -> None:  # type: ignore[no-untyped-def]
    pump = PumpModel("ITP-40", T0)
    serial = pump.identity()[1]
    # What this computer stored from an earlier pump under the same serial.
    state.records.upsert_pump(serial, "ITP-40")
    earlier = [PumpEvent(n, datetime.fromtimestamp(T0 - 86_400 + n, UTC), "ptm_request",
                         {"granted": False, "reason": "disabled"}) for n in (1, 2, 3)]  # fmt: skip
    state.records.save_events(serial, earlier)
    inprocess.install(pump, speed=0)
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: state.interrogation is not None, timeout=10_000)
    page = HistoryPage(state)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sig_read_finished, timeout=30_000) as got:
        page.read_from_pump()
    assert isinstance(got.args[0], Exception)
    text = page.progress_label.text()
    assert text.startswith("Not read: ") and "does not continue" in text and "--db" in text
    assert [e.seq for e in state.records.events(serial)] == [1, 2, 3]
    assert [e.at for e in state.records.events(serial)] == [e.at for e in earlier]
    # With no hour to draw, the time axes show the last week, not the epoch's first second.
    qtbot.waitUntil(lambda: "3 events" in page.summary.text(), timeout=10_000)
    assert page.charts.daily.viewRange()[0][0] > T0


def test_offline_review_hides_the_pump_actions(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "live").mkdir()
    live = make_state(tmp_path / "live")
    fill_demo_history(live.records, end_t=T0, days=30, hour_gap_days=None, event_gap=False)
    live.shutdown()
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(tmp_path / "live" / "db.sqlite3", copy / "db.sqlite3")
    shutil.copy(tmp_path / "live" / "k", copy / "k")
    offline = AppState(copy / "db.sqlite3", audit_key=copy / "k", hasher=FAST, offline=True)
    try:
        page = HistoryPage(offline)
        qtbot.addWidget(page)
        page.show()
        assert not page.read_button.isVisible()
        assert not page.cancel_button.isVisible()
        qtbot.waitUntil(
            lambda: page.history is not None, timeout=10_000
        )  # loaded off the GUI thread
        assert page.pump_select.currentData() == SERIAL
        assert np.isfinite(page.charts.daily_curve.yData).sum() >= 28
        assert offline.banners()[0][2] == "banner_offline"
    finally:
        offline.shutdown()


def test_alarm_marks_are_never_downsampled(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    """Peak downsampling dropped the two markers of a motor stall three weeks ago."""
    from ui.history.demo import fill_demo_history

    fill_demo_history(state.records, end_t=T0 + 3 * 365 * 86400, days=3 * 365)
    events = [
        PumpEvent(900_000 + i, datetime.fromtimestamp(T0 + 86400 * (3 * i + 1), UTC),
                  "alarm_raised" if i % 2 == 0 else "alarm_cleared", {"code": "motor_stall"})
        for i in range(300)
    ]  # fmt: skip
    state.records.save_events(SERIAL, events)
    page = HistoryPage(state)
    qtbot.addWidget(page)
    page.resize(700, 600)
    page.show()
    with qtbot.waitSignal(page.sig_history_loaded, timeout=20_000):
        page.reload()
    page.charts.daily.setXRange(T0, T0 + 3 * 365 * 86400, padding=0)
    qtbot.wait(50)
    marks = [item for plot, item in page.charts._decor
             if plot is page.charts.alarms and hasattr(item, "xData")]  # fmt: skip
    assert marks
    for item in marks:
        shown, _ = item.getData()
        full = item.xData
        assert len(shown) == len(full), "every alarm's start and end are drawn"
