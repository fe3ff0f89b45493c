"""Issue 14, the refill wizard: required fields, hard findings hold Next, Enter moves on,
drugs from the library, a unit slip typed again, per-finding reasons, a fresh start."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from programmer.formatting import decimal_text
from tests.ui.conftest_therapy import DOC_PW, connect, fill_with_morphine, make_state
from ui.app_state import AppState
from ui.refill.wizard import CONFIRM, RefillPage

pytestmark = pytest.mark.gui


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state  # morphine 10 mg/mL, 1 mg/day, 20 mL in the reservoir


@pytest.fixture
def wizard(state: AppState, qtbot: QtBot) -> RefillPage:
    w = RefillPage(state)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    return w


def _at(w: RefillPage) -> int:
    return w.stack.currentIndex()


def test_an_empty_field_says_required_and_next_waits(wizard: RefillPage) -> None:
    wizard.go(1)
    assert _at(wizard) == 1
    assert not wizard.next.isEnabled()
    assert "required" in wizard.step_problem.text()
    assert "space" not in wizard.step_problem.text()
    wizard.next.click()
    assert _at(wizard) == 1
    wizard.removed.setText("19.9")
    assert wizard.next.isEnabled()
    assert (
        ":disabled" in wizard.next.styleSheet() and ":disabled" in wizard.send_button.styleSheet()
    )


def test_enter_moves_on_and_a_hard_finding_holds_next(wizard: RefillPage) -> None:
    wizard.go(1)
    wizard.removed.setText("19.9")
    QTest.keyClick(wizard.removed, Qt.Key.Key_Return)
    assert _at(wizard) == 2, "Enter moved on"
    QTest.keyClick(wizard.conc.number, Qt.Key.Key_Return)
    assert _at(wizard) == 3
    wizard.added.setText("55")  # over the ITP-40's 40 mL
    assert not wizard.next.isEnabled()
    assert "Injected" in wizard.step_problem.text()
    QTest.keyClick(wizard.added, Qt.Key.Key_Return)
    wizard.go(4)
    assert _at(wizard) == 3, "neither Enter nor go() passes a hard finding"
    wizard.added.setText("20")
    assert wizard.next.isEnabled()


def test_drugs_come_from_the_library_aliases_included(wizard: RefillPage) -> None:
    wizard.go(1)
    wizard.removed.setText("19.9")
    wizard.go(2)
    wizard.drug.setText("baclofene")
    assert not wizard.next.isEnabled()
    assert "not in the drug library" in wizard.step_problem.text()
    wizard.drug.setText("Infumorph")
    assert wizard.drug.text() == "morphine"
    offered = [wizard.conc.strength.itemText(i) for i in range(wizard.conc.strength.count())]
    assert offered[-1] == "other strength…"
    assert {"10 mg/mL", "25 mg/mL"} <= set(offered)
    index = offered.index("25 mg/mL")
    wizard.conc.strength.setCurrentIndex(index)
    wizard.conc.strength.activated.emit(index)
    assert wizard.conc.text() == "25 mg/mL"


def test_a_suspected_unit_slip_is_red_names_the_unit_and_must_be_typed_again(
    wizard: RefillPage,
) -> None:
    wizard.go(1)
    wizard.removed.setText("19.9")
    wizard.go(2)
    wizard.conc.setText("25 mcg/mL")  # morphine: 25 mg/mL meant
    assert not wizard.next.isEnabled()
    assert "25 mg/mL was probably meant" in wizard.drug_check.text()
    assert wizard.conc.number.property("severity") == "hard"
    assert wizard.conc_retype.isVisibleTo(wizard)
    retype = "Concentration: type the value again to confirm it"
    assert retype in wizard.step_problem.text()
    wizard.conc_retype.setText("25 mg/mL")  # not the same value: not a confirmation
    assert "not the same" in wizard.step_problem.text()
    wizard.conc_retype.setText("25 mcg/mL")
    assert retype not in wizard.step_problem.text()
    assert "not the same" not in wizard.step_problem.text()
    assert "Confirmed by typing it again" in wizard.drug_check.text()
    # (Next still waits: 1 mg/day at 25 mcg/mL is far above the pump's fastest rate)
    assert "steps[" not in wizard.step_problem.text(), "rows numbered as shown, from 1"
    wizard.conc.setText("30 mcg/mL")  # a new value needs its own retype
    assert wizard.conc_retype.text() == ""
    assert retype in wizard.step_problem.text()


def _to_confirm(qtbot: QtBot, state: AppState, w: RefillPage, removed: str, conc: str = "") -> None:
    w.go(1)
    w.removed.setText(removed)
    w.go(2)
    if conc:
        w.conc.setText(conc)
    w.go(3)
    w.added.setText("20")
    w.go(4)
    w.go(CONFIRM)
    assert _at(w) == CONFIRM, w.step_problem.text()
    qtbot.waitUntil(lambda: w.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)


def test_one_reason_per_finding_never_carried_to_another_proposal(
    state: AppState, wizard: RefillPage, qtbot: QtBot
) -> None:
    # a new strength with no bridge bolus: a soft finding to override
    _to_confirm(qtbot, state, wizard, "20", conc="20 mg/mL")
    assert wizard.proposal is not None and wizard.proposal.plan.unresolved_soft
    codes = [o.finding.code for o in wizard._overrides]
    assert codes and len(codes) == len(set(codes))
    assert all(o.reason.text() == "" for o in wizard._overrides), "each reason typed for it"
    for o in wizard._overrides:
        o.box.setChecked(True)
        o.reason.setText(f"checked {o.finding.code} with the patient today")
    wizard.recheck_button.click()
    qtbot.waitUntil(lambda: not state.bridge.busy and wizard.proposal is not None, timeout=15_000)
    assert wizard.proposal is not None and set(wizard.proposal.overrides) == set(codes)
    # back and forward again: a new proposal starts with no reasons at all
    wizard.go(4)
    wizard.go(CONFIRM)
    qtbot.waitUntil(lambda: not state.bridge.busy and wizard.proposal is not None, timeout=15_000)
    assert wizard.proposal.overrides == {}
    assert all(not o.box.isChecked() and o.reason.text() == "" for o in wizard._overrides)


def test_a_finished_refill_can_start_a_new_one_and_sign_out_clears(
    state: AppState, wizard: RefillPage, qtbot: QtBot
) -> None:
    # Ten days on: a refill right after the fill has nothing delivered to check against.
    assert state.interrogation is not None
    before = int(state.interrogation.status["clock_t"])
    state.emulator().advance(10 * 86_400)
    state.refresh()
    qtbot.waitUntil(
        lambda: (
            state.interrogation is not None
            and int(state.interrogation.status["clock_t"]) >= before + 10 * 86_400
        ),
        timeout=15_000,
    )
    expected = int(state.interrogation.status["reservoir_nl"])
    _to_confirm(qtbot, state, wizard, decimal_text(Fraction(expected, 1_000_000)))
    wizard.password.setText(DOC_PW)
    assert wizard.send_button.isEnabled(), wizard.findings.text()
    wizard.send_button.click()
    qtbot.waitUntil(lambda: wizard.result is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    assert wizard.result is not None and wizard.result.outcome == "applied"
    assert "APPLIED" in wizard.summary.text()
    assert state.last_outcome is not None
    wizard.new_refill.click()
    assert _at(wizard) == 0 and wizard.result is None and wizard.proposal is None
    assert wizard.removed.text() == "" and wizard.summary.text() == ""
    wizard.removed.setText("5")
    state.lock()
    assert wizard.removed.text() == "", "locking clears the patient's values"
    state.unlock(DOC_PW)
    wizard.removed.setText("5")
    state.sign_out()
    assert wizard.removed.text() == "" and wizard.drug.text() == ""


def test_a_strength_that_makes_the_kept_dose_impossible_holds_next(wizard: RefillPage) -> None:
    """1 mg/day at 25 mg/mL is below the pump's minimum rate: found at the drug step."""
    wizard.go(1)
    wizard.removed.setText("20")
    wizard.go(2)
    wizard.conc.setText("25 mg/mL")
    assert not wizard.next.isEnabled()
    assert "minimum" in wizard.step_problem.text()


def test_refill_and_therapy_change_go_in_one_transaction(
    state: AppState, wizard: RefillPage, qtbot: QtBot
) -> None:
    from tests.ui.conftest_therapy import flex_rx
    from ui.therapy.page import TherapyPage

    editor = TherapyPage(state)
    qtbot.addWidget(editor)
    assert not wizard.with_therapy.isEnabled() or wizard.editor_prescription() is None
    editor.model.replace(flex_rx(("00:00", "1 mg/day"), ("08:00", "1.1 mg/day")))
    wizard.go(0)
    assert wizard.with_therapy.isEnabled()
    wizard.with_therapy.setChecked(True)
    _to_confirm(qtbot, state, wizard, "20")
    p = wizard.proposal
    assert p is not None
    assert "therapy" in p.changeset and "refill" in p.changeset, "one changeset, one commit"


def test_a_wizard_built_before_a_fill_follows_the_pumps_drug(tmp_path: Path, qtbot: QtBot) -> None:
    s = make_state(tmp_path)
    try:
        connect(qtbot, s)  # saline
        w = RefillPage(s)
        qtbot.addWidget(w)
        assert w.drug.text() == ""
        fill_with_morphine(qtbot, s)
        assert w.drug.text() == "morphine" and w.conc.text() == "10 mg/mL"
    finally:
        s.shutdown()


def test_the_visit_report_says_what_happened_in_words(
    state: AppState, wizard: RefillPage, qtbot: QtBot, tmp_path: Path
) -> None:
    for _ in range(5):
        state.refresh()  # interrogations: noise the report leaves out
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    _to_confirm(qtbot, state, wizard, "20", conc="20 mg/mL")  # a soft finding to override
    for o in wizard._overrides:
        o.box.setChecked(True)
        o.reason.setText(f"{o.finding.code.split('_')[0]} reviewed with the patient today")
    wizard.recheck_button.click()
    qtbot.waitUntil(lambda: not state.bridge.busy and wizard.proposal is not None, timeout=15_000)
    wizard.password.setText(DOC_PW)
    assert wizard.send_button.isEnabled(), wizard.findings.text()
    wizard.send_button.click()
    qtbot.waitUntil(lambda: wizard.result is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    html = wizard.report_html()
    assert html is not None
    assert "ITP40-000001" in html and "Patient" in html
    assert "from 00:00" in html and "morphine 1 mg/day" in html, "every step as a dose"
    assert "Drawn out" in html and "Discrepancy" in html
    assert "reviewed with the patient today" in html, "each override with its reason"
    assert "interrogated" not in html and "finding_overridden" not in html
    assert "bridge_bolus_needed" not in html and "steps[" not in html, "no internal codes"
    assert "APPLIED" in html
    pdf = wizard.save_report(tmp_path / "visit.pdf")
    assert pdf is not None and pdf.read_bytes().startswith(b"%PDF")


def test_priming_waits_until_the_fluid_path_is_said_to_hold_no_drug(wizard: RefillPage) -> None:
    """Priming pushes the whole path's contents at priming speed: allowed only into a path
    stated empty of drug (issue 12 class 6). The wizard asks; nothing is assumed."""
    wizard.go(1)
    wizard.removed.setText("19.9")
    wizard.go(2)
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(4)
    wizard.cath_volume.setText("0.15")
    assert not wizard.fluid_path.isEnabled()
    wizard.priming.setChecked(True)
    assert wizard.fluid_path.isEnabled()
    rx = wizard.prescription()
    assert rx is not None and "fluid_path" not in rx["bolus"]
    assert not wizard.next.isEnabled(), "a priming bolus into an unstated path holds Next"
    wizard.fluid_path.setCurrentIndex(wizard.fluid_path.findData("new-catheter"))
    rx = wizard.prescription()
    assert rx is not None and rx["bolus"] == {"kind": "priming", "fluid_path": "new-catheter"}
    plan = wizard.current_plan()
    assert plan is not None
    assert "priming_path_not_stated" not in {f.code for f in plan.findings}
    wizard.reset()
    assert wizard.fluid_path.currentIndex() == 0 and not wizard.fluid_path.isEnabled()
