"""Issue 14, doses in dose units: the editor after a send, per-drug change, wheel and keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import connect, fill_with_morphine, make_state
from ui.app_state import AppState
from ui.therapy.page import COL_AMOUNT, COL_UNIT, TherapyPage

pytestmark = pytest.mark.gui


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    yield s
    s.shutdown()


def _cell(page: TherapyPage, row: int, col: int) -> str:
    item = page.table.item(row, col)
    assert item is not None
    return item.text()


def test_the_pumps_therapy_is_edited_in_dose_units_never_ml_per_day(
    state: AppState, qtbot: QtBot
) -> None:
    """After a send the editor showed the pump's steps in mL/day: 0.65 typed (meaning
    mg/day) programmed 6.5 mg/day. The steps are the first drug's dose, read back exactly."""
    connect(qtbot, state)
    fill_with_morphine(qtbot, state)  # morphine 10 mg/mL at 1 mg/day
    page = TherapyPage(state)
    qtbot.addWidget(page)
    assert page.model.data["dose"] == "1 mg/day"
    assert "rate" not in page.model.data
    assert _cell(page, 0, COL_AMOUNT) == "1"
    assert _cell(page, 0, COL_UNIT) == "mg/day"
    page.edit_cell(0, COL_AMOUNT, "0.65")
    assert page.model.plan().daily_doses[0].to_json()["text"] == "0.65 mg/day"


def test_the_unit_list_offers_dose_units_unless_rates_are_asked_for(
    state: AppState, qtbot: QtBot
) -> None:
    connect(qtbot, state)
    fill_with_morphine(qtbot, state)
    page = TherapyPage(state)
    qtbot.addWidget(page)
    assert page.step_units() == ["mg/day", "mg/h", "mcg/day", "mcg/h"]
    page.rates_box.setChecked(True)
    assert "mL/day" in page.step_units()


def test_rows_in_different_units_are_said_aloud(state: AppState, qtbot: QtBot) -> None:
    from tests.ui.conftest_therapy import flex_rx

    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(flex_rx(("00:00", "1 mg/day"), ("07:00", "1.2 mg/day")))
    assert page.units_message.isHidden()
    page.edit_cell(1, COL_UNIT, "mg/h")
    assert not page.units_message.isHidden()
    assert "row 2" in page.units_message.text() and "mg/h" in page.units_message.text()
