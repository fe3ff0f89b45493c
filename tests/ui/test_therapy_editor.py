"""The therapy editor: table and chart edit one model; totals, findings, undo, files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import connect, fill_with_morphine, flex_rx, make_state
from ui.app_state import AppState
from ui.numbers import clinical_percent
from ui.therapy.model import TherapyModel
from ui.therapy.page import COL_AMOUNT, COL_CHECK, COL_START, COL_UNIT, TherapyPage

pytestmark = pytest.mark.gui

RX = flex_rx(("00:00", "1 mg/day"), ("07:00", "1.2 mg/day"), ("22:00", "0.9 mg/day"))


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    yield s
    s.shutdown()


@pytest.fixture
def page(state: AppState, qtbot: QtBot) -> TherapyPage:
    p = TherapyPage(state)
    qtbot.addWidget(p)
    p.resize(1176, 650)
    p.model.replace(RX)
    return p


def _cell(page: TherapyPage, row: int, col: int) -> str:
    item = page.table.item(row, col)
    assert item is not None
    return item.text()


def test_table_shows_each_step_with_its_unit_and_what_the_pump_runs(page: TherapyPage) -> None:
    assert page.table.rowCount() == 3
    assert [_cell(page, r, COL_START) for r in range(3)] == ["00:00", "07:00", "22:00"]
    assert [_cell(page, r, COL_AMOUNT) for r in range(3)] == ["1", "1.2", "0.9"]
    assert {_cell(page, r, COL_UNIT) for r in range(3)} == {"mg/day"}
    assert _cell(page, 1, 4) == "1.2 mg/day"
    item = page.table.item(1, 4)
    assert item is not None and "0.12 mL/day" in item.toolTip()
    assert "morphine" in page.totals.text()
    assert page.verdict.property("level") == "ok"


def test_table_edit_updates_chart_and_totals(page: TherapyPage) -> None:
    before_totals = page.totals.text()
    before_level = page.chart.segments[1].level
    page.edit_cell(1, COL_AMOUNT, "2.4")
    assert page.model.data["steps"][1] == {"start": "07:00", "dose": "2.4 mg/day"}
    assert page.chart.segments[1].level == 2 * before_level
    assert page.totals.text() != before_totals
    assert (
        page.model.plan().daily_doses[0].to_json()["text"] in page.totals.toolTip()
    )  # exact on hover
    # the new curve drawn is the model's
    _, ys = page.chart.new_curve.getData()
    assert max(ys) == pytest.approx(2.4)


def test_a_per_hour_slip_visibly_multiplies_the_daily_total(page: TherapyPage) -> None:
    """0.9 mg/day typed as 0.9 mg/h: the total jumps and the row shows 21.6 mg/day."""
    assert page.model.plan().daily_doses[0].to_json()["text"] == "≈1.1166667 mg/day"
    page.edit_cell(2, COL_UNIT, "mg/h")
    assert page.model.data["steps"][2]["dose"] == "0.9 mg/h"
    assert _cell(page, 2, 4) == "21.6 mg/day"
    daily = page.model.plan().daily_doses[0].to_json()["text"]
    assert daily == "≈2.8416667 mg/day"  # (1×7 + 1.2×15 + 21.6×2) / 24
    assert daily in page.totals.toolTip()  # the exact figure, one hover away


def test_chart_level_drag_scales_the_step_in_its_own_unit(page: TherapyPage) -> None:
    page.chart.finish_level_drag(1, 1.8)  # from 1.2 mg/day
    assert page.model.data["steps"][1]["dose"] == "1.8 mg/day"
    assert _cell(page, 1, COL_AMOUNT) == "1.8"
    assert _cell(page, 1, COL_UNIT) == "mg/day"
    # a step written per hour stays per hour
    page.edit_cell(0, COL_AMOUNT, "0.05")
    page.edit_cell(0, COL_UNIT, "mg/h")  # 0.05 mg/h = 1.2 mg/day
    page.chart.finish_level_drag(0, 2.4)
    assert page.model.data["steps"][0]["dose"] == "0.1 mg/h"


def test_chart_edge_drag_snaps_to_15_minutes_and_keeps_order(page: TherapyPage) -> None:
    page.chart.finish_edge_drag(1, 7 * 60 + 38)
    assert page.model.data["steps"][1]["start"] == "07:45"
    assert _cell(page, 1, COL_START) == "07:45"
    page.chart.finish_edge_drag(1, 23 * 60)  # past the next step's start
    assert page.model.data["steps"][1]["start"] == "21:45"
    assert page.chart.finish_edge_drag is not None
    assert not page.model.drag_edge(0, 60), "the first step stays at 00:00"


def test_chart_handles_follow_the_model(page: TherapyPage) -> None:
    assert len([h for h in page.chart.level_handles if h.isVisible()]) == 3
    assert len([h for h in page.chart.edge_handles if h.isVisible()]) == 2
    page.add_step_button.click()
    assert page.table.rowCount() == 4
    assert len([h for h in page.chart.level_handles if h.isVisible()]) == 4
    page.table.setCurrentCell(3, 0)
    page.remove_step_button.click()
    assert len([h for h in page.chart.level_handles if h.isVisible()]) == 3


def test_undo_and_redo_restore(page: TherapyPage) -> None:
    original = page.model.data
    page.edit_cell(1, COL_AMOUNT, "1.5")
    page.chart.finish_edge_drag(2, 20 * 60)
    edited = page.model.data
    assert edited != original
    assert page.undo_button.isEnabled()
    page.undo_button.click()
    page.undo_button.click()
    assert page.model.data == original
    assert _cell(page, 1, COL_AMOUNT) == "1.2"
    assert page.redo_button.isEnabled()
    page.model.undo_stack.redo()
    page.model.undo_stack.redo()
    assert page.model.data == edited
    assert _cell(page, 2, COL_START) == "20:00"


def test_save_then_load_round_trips(page: TherapyPage, tmp_path: Path) -> None:
    page.edit_cell(1, COL_AMOUNT, "1.1")
    saved = page.model.data
    path = tmp_path / "rx.json"
    assert page.save_file(path)
    assert json.loads(path.read_text("utf-8")) == saved
    page.edit_cell(1, COL_AMOUNT, "3")
    assert page.load_file(path)
    assert page.model.data == saved
    assert _cell(page, 1, COL_AMOUNT) == "1.1"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"mode": "continuous", "dose": 5, "drugs": []}',
        '{"mode": "flex", "steps": "00:00 1 mg/day"}',
        '{"drugs": [{"name": "morphine", "concentration": "10 mg/mL"}], "drugs": []}',
    ],
)
def test_a_bad_file_shows_the_error_and_changes_nothing(page: TherapyPage, tmp_path: Path, content: str) -> None:  # fmt: skip
    before = page.model.data
    undo_count = page.model.undo_stack.count()
    path = tmp_path / "bad.json"
    path.write_text(content, "utf-8")
    assert not page.load_file(path)
    assert page.model.data == before
    assert page.model.undo_stack.count() == undo_count
    assert page.file_message.text().startswith("Not opened:")
    assert not page.load_file(tmp_path / "missing.json")
    assert page.model.data == before


def test_a_step_above_the_pumps_max_rate_marks_that_row(page: TherapyPage) -> None:
    page.edit_cell(1, COL_AMOUNT, "60")
    page.edit_cell(1, COL_UNIT, "mg/h")  # 144 mL/day at 10 mg/mL; the pump's maximum is 24
    assert page.row_severity(1) == "hard"
    assert page.row_severity(0) is None and page.row_severity(2) is None
    assert _cell(page, 1, COL_CHECK) == "✖ must fix"
    item = page.table.item(1, COL_AMOUNT)
    assert item is not None and "maximum" in item.toolTip()
    assert page.chart.empty.toPlainText().startswith("Nothing to draw")
    assert page.verdict.property("level") == "hard"
    assert not page.send_button.isEnabled()


def test_a_concentration_finding_shows_under_the_concentration(page: TherapyPage) -> None:
    row = page._drug_rows[0]
    row.conc.number.setText("200")
    row.conc.number.editingFinished.emit()
    assert page.model.data["drugs"][0]["concentration"] == "200 mg/mL"
    codes = {f.code for f in page.model.findings_at("drugs[0].concentration")}
    assert "over_max_concentration" in codes
    assert row.message.isVisibleTo(page)
    assert "maximum" in row.message.text()
    assert row.conc.number.property("severity") in ("soft", "hard")


def test_findings_on_patient_bolus_and_alarm_fields(page: TherapyPage) -> None:
    page.model.set_patient_bolus({"dose": "0.1 mg", "duration": "90 min", "lockout": "2 h", "max_per_day": 4})  # fmt: skip
    assert page.ptm_duration.number.property("severity") == "hard"
    assert page.ptm_message.isVisibleTo(page)
    page.low_alarm.number.setText("0.1")
    page.low_alarm.number.editingFinished.emit()
    assert page.low_alarm.number.property("severity") == "hard"
    assert page.low_alarm_message.isVisibleTo(page)


def test_fields_carry_explicit_units(page: TherapyPage) -> None:
    page.model.set_patient_bolus({"dose": "0.1 mg", "duration": "10 min", "lockout": "2 h", "max_per_day": 4})  # fmt: skip
    assert page.ptm_lockout.text() == "2 h"
    page.ptm_lockout.number.setText("3")
    page.ptm_lockout.number.editingFinished.emit()
    assert page.model.data["patient_bolus"]["lockout"] == "3 h"
    page.ptm_lockout.unit.setCurrentText("min")
    page.ptm_lockout.unit.activated.emit(page.ptm_lockout.unit.currentIndex())
    assert page.model.data["patient_bolus"]["lockout"] == "3 min"
    page.ptm_max.setValue(6)
    page.ptm_max.editingFinished.emit()
    assert page.model.data["patient_bolus"]["max_per_day"] == 6
    for w in (page.ptm_dose, page.ptm_duration, page.ptm_lockout, page.low_alarm):
        assert w.unit.currentText(), "never a bare number"
        assert w.number.accessibleName()


def test_indication_and_jurisdiction_are_fields(page: TherapyPage) -> None:
    # The clinic reads the indication in words; the prescription keeps its code.
    assert page.indication.currentData() == "pain-noncancer"
    assert page.indication.currentText() == "chronic non-cancer pain"
    page.indication.setCurrentIndex(0)
    page.indication.activated.emit(0)
    assert "indication" not in page.model.data
    page.jurisdiction.setCurrentText("EU")
    page.jurisdiction.activated.emit(page.jurisdiction.currentIndex())
    assert page.model.data["jurisdiction"] == "EU"
    page.patient.setText("MRN-0001")
    page.patient.editingFinished.emit()
    assert page.model.data["patient"] == "MRN-0001"


def test_mode_switches_keep_the_first_amount(page: TherapyPage) -> None:
    page.mode.setCurrentText("continuous")
    page.mode.activated.emit(page.mode.currentIndex())
    assert page.model.data["mode"] == "continuous"
    assert page.model.data["dose"] == "1 mg/day"
    assert "steps" not in page.model.data
    assert page.table.rowCount() == 1
    page.model.undo_stack.undo()
    assert page.model.data["mode"] == "flex"


def test_sign_out_clears_the_editor(page: TherapyPage, state: AppState) -> None:
    page.edit_cell(1, COL_AMOUNT, "1.5")
    state.sign_out()
    assert "steps" not in page.model.data
    assert page.model.undo_stack.count() == 0


def test_review_needs_a_pump(page: TherapyPage) -> None:
    assert page.verdict.property("level") == "ok"
    assert not page.send_button.isEnabled(), "no pump connected"
    page.review_and_send()
    assert page.confirm is None


def test_pump_therapy_is_drawn_behind_and_the_change_is_shown(
    state: AppState, qtbot: QtBot
) -> None:
    connect(qtbot, state)
    fill_with_morphine(qtbot, state)
    page = TherapyPage(state)
    qtbot.addWidget(page)
    # a fresh editor starts from what the pump holds
    assert page.model.data["drugs"] == [{"name": "morphine", "concentration": "10 mg/mL"}]
    assert page.model.data["dose"] == "1 mg/day"  # the first drug's dose, not mL/day
    assert page.change.words == {"morphine": "0 %"}
    assert [s.level for s in page.chart.old] == [Fraction(1)]  # 1 mg/day of morphine
    _, old_y = page.chart.old_curve.getData()
    assert list(old_y) == [1.0, 1.0]
    page.model.replace(RX)
    change = page.model.daily_change()
    assert change is not None and change > 0
    assert page.change.words["morphine"] == clinical_percent(change)
    assert page.send_button.isEnabled()
    assert "on the pump now: 1 mg/day" in page.totals.text()
    # the ×24 slip against the pump: the % change is glaring and the titration check fires
    page.edit_cell(2, COL_UNIT, "mg/h")
    slipped = page.model.daily_change()
    assert slipped is not None and slipped > 1
    assert page.change.words["morphine"] == clinical_percent(slipped)
    assert page.change.beyond == {"morphine"}, "red and large: beyond the titration limit"
    assert "dose_change_too_large" in {f.code for f in page.model.plan().findings}
    assert page.verdict.property("level") == "soft"


def test_model_without_widgets() -> None:
    m = TherapyModel()
    m.replace(RX)
    assert [r.start for r in m.rows()] == ["00:00", "07:00", "22:00"]
    assert m.drag_level(2, Fraction(18, 10))
    assert m.data["steps"][2]["dose"] == "1.8 mg/day"
    assert m.add_step()
    assert m.data["steps"][3]["start"] == "23:00"
    m.undo_stack.undo()
    m.undo_stack.undo()
    assert m.data == RX


def test_many_qt_calls_do_not_abort_the_process() -> None:
    """PySide6 6.12 on CPython 3.11 drops a reference to None per void call: guarded."""
    code = (
        "import ui.therapy\n"
        "from PySide6.QtWidgets import QApplication, QLabel\n"
        "app = QApplication([])\n"
        "label = QLabel()\n"
        "for _ in range(20000):\n"
        "    label.setText('x')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]


def test_keyboard_undo_and_redo(page: TherapyPage, qtbot: QtBot) -> None:
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    page.findings.setFocus()
    original = page.model.data
    page.edit_cell(1, COL_AMOUNT, "1.5")
    edited = page.model.data
    QTest.keyClick(page.findings, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.model.data == original
    shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(page.findings, Qt.Key.Key_Z, shift)
    assert page.model.data == edited


def test_typing_a_concentration_previews_the_totals(page: TherapyPage) -> None:
    row = page._drug_rows[0]
    before = page.model.data
    assert "≈0.1116667 mL/day" in page.totals.text()
    row.conc.number.setText("5")
    row.conc.number.textEdited.emit("5")  # a keystroke, not yet committed
    assert "≈0.2233333 mL/day" in page.totals.text()  # the same dose at half the strength
    assert page.model.data == before, "nothing is changed while typing"


def test_a_multi_day_cycle(page: TherapyPage) -> None:
    page.cycle.setValue(2)
    page.cycle.editingFinished.emit()
    assert page.model.data["cycle_days"] == 2
    page.add_step_button.click()  # after the last (22:00) by an hour: 23:00 on day 1
    page.edit_cell(3, 0, "2")  # now on day 2
    assert page.model.data["steps"][3] == {"day": 2, "start": "23:00", "dose": "0.9 mg/day"}
    assert page.chart.segments[-1].end_min == 2 * 1440
    page.chart.finish_edge_drag(3, 1440 + 6 * 60 + 7)
    assert page.model.data["steps"][3]["start"] == "06:00"
    assert page.model.data["steps"][3]["day"] == 2
