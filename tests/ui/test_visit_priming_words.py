"""Issue 14, words: the refill wizard's bolus step says what the fluid path holds in words,
shows a priming bolus as a dose of each drug with its volume beside it (the core's figures),
and no screen that shows a finding shows the library's source keys."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QListWidget
from pytestqt.qtbot import QtBot

from programmer.drugs import default_library
from programmer.formatting import mass_text
from tests.ui.conftest_therapy import flex_rx
from ui.app_state import AppState
from ui.confirm.dialog import ConfirmDialog
from ui.numbers import significant
from ui.refill.wizard import RefillPage
from ui.therapy.page import TherapyPage

pytestmark = pytest.mark.gui

CODE_WORDS = ("fluid_path", "new-pump", "new-catheter", "emptied-and-aspirated")


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state  # morphine 10 mg/mL


@pytest.fixture
def wizard(state: AppState, qtbot: QtBot) -> RefillPage:
    w = RefillPage(state)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    w.go(1)
    w.removed.setText("19.9")
    w.go(2)
    w.go(3)
    w.added.setText("20")
    w.go(4)
    w.cath_volume.setText("0.15")
    return w


def _no_source_keys(text: str) -> None:
    for key in default_library().sources:
        assert key not in text, f"{key} in {text!r}"


def test_the_bolus_step_asks_for_the_fluid_path_in_words(wizard: RefillPage) -> None:
    wizard.priming.setChecked(True)
    said = wizard.step_problem.text()
    assert said and not wizard.next.isEnabled()
    for word in CODE_WORDS:
        assert word not in said, said
    assert "a new pump" in said and "emptied and aspirated" in said


def test_a_priming_bolus_shows_each_drugs_dose_with_its_volume(wizard: RefillPage) -> None:
    wizard.priming.setChecked(True)
    wizard.fluid_path.setCurrentIndex(wizard.fluid_path.findData("emptied-and-aspirated"))
    plan = wizard.current_plan()
    assert plan is not None and plan.bolus is not None and plan.bolus.doses
    dose = plan.bolus.doses[0]
    text = wizard.bridge_text.text()
    shown = f"morphine {significant(dose.ng / 1_000_000)} mg"
    assert shown in text, text
    volume_ml = significant(plan.bolus.volume_nl / __import__("fractions").Fraction(1_000_000))
    assert f"{volume_ml} mL" in text
    assert text.index(shown) < text.index(f"{volume_ml} mL"), "the dose first, its volume beside"
    assert mass_text(dose.ng, "mg") in wizard.bridge_text.toolTip(), "the exact dose on hover"
    for word in CODE_WORDS:
        assert word not in text


def test_findings_name_their_sources_by_title(state: AppState, qtbot: QtBot) -> None:
    rx = flex_rx(("00:00", "1 mg/day"), ("08:00", "1.7 mg/day"), ("20:00", "1 mg/day"))
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    texts = [label.text() for label in dialog.findings_widget.findChildren(QLabel)]
    assert any("secondary source" in t for t in texts), texts
    for t in texts:
        _no_source_keys(t)
    page = TherapyPage(state)
    qtbot.addWidget(page)
    page.model.set_mode("flex")
    page.model.set_field("steps", rx["steps"], "profile")
    findings = page.findings
    assert isinstance(findings, QListWidget) and findings.count()
    for row in range(findings.count()):
        _no_source_keys(findings.item(row).text())
