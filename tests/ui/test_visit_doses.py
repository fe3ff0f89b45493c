"""Issue 14, doses in dose units: the editor after a send, per-drug change, wheel and keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
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


def _wheel(widget: object) -> None:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication, QWidget

    assert isinstance(widget, QWidget)
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_a_wheel_over_a_closed_drop_down_changes_nothing(state: AppState, qtbot: QtBot) -> None:
    """One notch over Mode stopped the pump (-100 %); over the drug name changed the drug."""
    from tests.ui.conftest_therapy import flex_rx

    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.show()
    page.model.replace(flex_rx(("00:00", "1 mg/day")))
    before = page.model.data
    for _ in range(3):
        _wheel(page.mode)
        _wheel(page._drug_rows[0].name)
        _wheel(page.cycle)
        _wheel(page.ptm_enabled)
    assert page.mode.currentText() == "flex"
    assert page.model.data == before


def test_arrow_keys_open_the_list_instead_of_changing_the_drug(
    state: AppState, qtbot: QtBot
) -> None:
    from PySide6.QtTest import QTest

    from tests.ui.conftest_therapy import flex_rx

    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.show()
    page.model.replace(flex_rx(("00:00", "1 mg/day")))
    before = page.model.data
    page.mode.setFocus()
    QTest.keyClick(page.mode, Qt.Key.Key_Down)
    assert page.mode.currentText() == "flex"
    assert page.mode.view().isVisible(), "the list opens, where the choice is seen"
    page.mode.hidePopup()
    name = page._drug_rows[0].name
    name.setFocus()
    QTest.keyClick(name, Qt.Key.Key_Down)
    assert page.model.data == before
    name.hidePopup()


def test_the_change_is_per_drug_in_dose_new_drug_and_removed_in_words(
    state: AppState, qtbot: QtBot
) -> None:
    """Saline -> morphine read "0 %" (a volume change); morphine -> ziconotide "+17 %"."""
    from tests.ui.conftest_therapy import flex_rx

    connect(qtbot, state)  # saline in the pump
    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(flex_rx(("00:00", "1 mg/day")))
    assert page.change.words == {"morphine": "new drug"}
    assert "0 %" not in page.change.text()
    fill_with_morphine(qtbot, state)  # morphine 10 mg/mL, 1 mg/day
    zico = flex_rx(("00:00", "2.4 mcg/day"))
    zico["drugs"] = [{"name": "ziconotide", "concentration": "25 mcg/mL"}]
    page.model.replace(zico)
    assert page.change.words == {"ziconotide": "new drug", "morphine": "drug removed"}
    assert "%" not in page.change.text()


def test_a_change_beyond_the_titration_limit_is_red_and_large(
    state: AppState, qtbot: QtBot
) -> None:
    from tests.ui.conftest_therapy import flex_rx
    from ui.style import CRITICAL

    connect(qtbot, state)
    fill_with_morphine(qtbot, state)
    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(flex_rx(("00:00", "1.1 mg/day")))
    assert page.change.words == {"morphine": "+10 %"}
    assert page.change.beyond == set()
    assert CRITICAL not in page.change.text()
    page.model.replace(flex_rx(("00:00", "1.5 mg/day")))  # +50 %: morphine's limit is 30 %
    assert page.change.words == {"morphine": "+50 %"}
    assert page.change.beyond == {"morphine"}
    assert CRITICAL in page.change.text() and "30pt" in page.change.text()
    assert "1 mg/day → 1.5 mg/day" in page.change.toolTip()


def test_the_editors_drugs_come_from_the_library_never_free_text(
    state: AppState, qtbot: QtBot
) -> None:
    from tests.ui.conftest_therapy import flex_rx

    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(flex_rx(("00:00", "1 mg/day")))
    row = page._drug_rows[0]
    row.name.setCurrentText("baclofene")
    row.name.lineEdit().editingFinished.emit()
    assert page.model.data["drugs"][0]["name"] == "morphine", "an unknown name is never used"
    assert "not in the drug library" in row.name_problem.text()
    row.name.setCurrentText("Gablofen")  # an alias
    row.name.lineEdit().editingFinished.emit()
    assert page.model.data["drugs"][0]["name"] == "baclofen"
    assert row.name_problem.isHidden()
    offered = [row.conc.strength.itemText(i) for i in range(row.conc.strength.count())]
    assert "2 mg/mL" in offered or "2000 mcg/mL" in offered


def test_the_editors_findings_name_rows_from_1(state: AppState, qtbot: QtBot) -> None:
    from tests.ui.conftest_therapy import flex_rx

    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(flex_rx(("00:00", "1 mg/day"), ("07:00", "30 mL/day")))  # row 2 too fast
    texts = [page.findings.item(i).text() for i in range(page.findings.count())]
    assert any("step 2" in t for t in texts), texts
    assert not any("steps[" in t for t in texts)


def test_totals_are_rounded_as_a_clinician_writes_them_exact_on_hover(
    state: AppState, qtbot: QtBot
) -> None:
    from tests.ui.conftest_therapy import flex_rx

    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.replace(
        flex_rx(("00:00", "1 mg/day"), ("07:00", "1.2 mg/day"), ("22:00", "0.9 mg/day"))
    )
    assert "1.12 mg/day" in page.totals.text()
    assert "≈1.1166667 mg/day" in page.totals.toolTip()
