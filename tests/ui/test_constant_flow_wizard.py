"""The refill wizard's constant-flow variant: reached from the Refill screen without
connecting, the same steps as a programmable pump's refill, and its visit report."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from programmer.patients.registry import Patients, PumpSpec
from ui.app_state import AppState
from ui.constant_flow.refill import CF_STEPS, CONFIRM, SUMMARY, ConstantFlowRefillDialog
from ui.refill.wizard import RefillPage

from .conftest import sign_in_physician


def _cf_patient(state: AppState) -> tuple[Patients, int]:
    """A morphine constant-flow pump (1 mL/day nominal), filled 30 days ago at 0.5 mg/mL."""
    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    pid = pts.add(me, clinic_id="MRN-0042", name="Ada Byron", dob="1961-05-04",
                  indication="pain-cancer").id  # fmt: skip
    pump = pts.add_pump(me, pid, PumpSpec("constant-flow", "CF-0042", "2026-01-05", flow="1 mL/day",
                                          capacity="35 mL", catheter_tip="T10", catheter_length="60 cm",
                                          catheter_volume_per_cm="0.0026 mL"))  # fmt: skip
    first = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
    first.removed.setText("0 mL")
    first.added.setText("35 mL")
    first.at.set_moment(datetime.now(UTC) - timedelta(days=30))
    first.set_drug(0, "morphine", "concentration", "0.5 mg/mL")
    first._record()
    assert first.recorded is not None
    first.deleteLater()
    return pts, pid


def test_the_refill_screen_offers_a_constant_flow_pump_without_connecting(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    _cf_patient(app_state)
    page = RefillPage(app_state)
    qtbot.addWidget(page)
    page.cf_start.reload()
    assert app_state.interrogation is None and not page.cf_start.isHidden()
    assert page.cf_start.choice.count() == 1
    assert "MRN-0042" in page.cf_start.choice.currentText()
    page.cf_start.search.setText("nobody")
    assert page.cf_start.choice.count() == 0 and not page.cf_start.start.isEnabled()
    page.cf_start.search.setText("ada")
    page.cf_start.start.click()
    dialog = page.cf_start.dialog
    assert isinstance(dialog, ConstantFlowRefillDialog)
    assert dialog.pump.serial == "CF-0042" and "step 1 of 7: Drawn out" in dialog.step_label.text()
    dialog.reject()


def test_the_refill_screen_opens_with_no_pump_connected(qtbot: Any, app_state: AppState) -> None:
    from PySide6.QtCore import Qt

    from ui.main_window import MainWindow

    sign_in_physician(app_state)
    window = MainWindow(app_state)
    qtbot.addWidget(window)
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    item = window.nav.item(titles.index("Refill"))
    assert app_state.interrogation is None
    assert item.flags() & Qt.ItemFlag.ItemIsEnabled
    window.show_page("Refill")
    page = window.page("Refill")
    assert isinstance(page, RefillPage) and not page.cf_start.isHidden()
    assert not page.next.isEnabled()  # the programmable steps still wait for a pump


def test_the_constant_flow_wizard_steps_through_to_its_visit_report(
    qtbot: Any, app_state: AppState, tmp_path: Path
) -> None:
    sign_in_physician(app_state)
    pts, pid = _cf_patient(app_state)
    me = app_state.principal
    assert me is not None
    pump = pts.pumps(me, pid)[0]
    w = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
    qtbot.addWidget(w)
    assert CF_STEPS[:5] == ["Drawn out", "Flow", "Drug", "Injected", "Catheter"]
    assert not w.next.isEnabled() and "drawn out" in w.step_problem.text()
    w.removed.setText("12 mL")  # 23 mL in 30 days: 0.77 mL/day, 23 % slow
    assert w.next.isEnabled()
    w.next.click()
    assert w.stack.currentIndex() == 1
    assert (
        "(measured at this refill)" in w.flow_text.text()
        and "occlusion or pump failure" in w.flow_text.text()
    )
    w.next.click()
    w.set_drug(0, "morphine", "daily dose", "0.5 mg/day")
    assert "Prepare morphine at" in w.conc_text.text()
    w.next.click()
    assert w.stack.currentIndex() == 3 and not w.next.isEnabled()
    w.added.setText("35 mL")
    assert "Refill due" in w.due_text.text()
    w.next.click()
    assert "keeps flowing for" in w.washout_text.text()
    w.next.click()
    assert w.stack.currentIndex() == CONFIRM and not w.record.isEnabled()
    assert w.compare.rowCount() == 1
    item = w.compare.item(0, 1)
    assert item is not None and item.text() == "0.5 mg/mL"  # what the pump holds now
    for code, box in w.reasons.items():
        box.setText(f"accepted for {code}: dye study booked")
    w.check()
    assert w.record.isEnabled()
    w.record.click()
    assert w.recorded is not None and w.stack.currentIndex() == SUMMARY
    report = w.report_view.toPlainText()
    assert "MRN-0042" in report and "CF-0042" in report
    assert re.search(r"morphine\s+\S+ mg/mL\s+\S*0\.5\S* mg/day", report), report
    assert "Flow used" in report and "measured over the last interval" in report
    assert "0.766667 mL/day" in report
    assert "Next refill" in report and not re.search(r"\d{4}-\d\d-\d\dT", report)
    assert "dye study booked" in report and "RECORDED" in report
    saved = w.save_report(tmp_path / "cf.pdf")
    assert saved is not None and saved.read_bytes().startswith(b"%PDF")


def test_a_suspected_unit_slip_typed_again_stays_confirmed_while_its_reason_is_given(
    qtbot: Any, app_state: AppState
) -> None:
    """2.5 mg/mL is a tenth of the standard 25 mg/mL: typed again, then a reason; the
    confirmation must survive the next check, or the refill can never be recorded."""
    sign_in_physician(app_state)
    pts, pid = _cf_patient(app_state)
    me = app_state.principal
    assert me is not None
    w = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pts.pumps(me, pid)[0])
    qtbot.addWidget(w)
    w.removed.setText("5 mL")  # 30 mL in 30 days: the nominal flow
    w.added.setText("35 mL")
    w.set_drug(0, "morphine", "concentration", "2.5 mg/mL")
    w.go(CONFIRM)
    assert w.stack.currentIndex() == CONFIRM, w.step_problem.text()
    field = "drugs[0].concentration"
    assert field in w.retypes and not w.record.isEnabled()
    w.retypes[field].setText("2.5 mg/mL")
    w.check()
    assert "unit_suspect" in w.reasons, [f.to_json() for f in w.plan.findings]  # type: ignore[union-attr]
    w.reasons["unit_suspect"].setText("low strength chosen for this patient")
    for code, box in w.reasons.items():
        if not box.text():
            box.setText(f"accepted for {code} after review")
    w.check()
    assert w.record.isEnabled(), [f.to_json() for f in w.plan.findings if f.severity != "info"]  # type: ignore[union-attr]
    w.record.click()
    assert w.recorded is not None


def test_the_refill_screen_without_a_pump_says_what_to_do_for_each_kind(
    qtbot: Any, app_state: AppState
) -> None:
    """Not "connect the pump first" beside the constant-flow card (nothing connects to
    one): connect a programmable pump, or choose the patient of a constant-flow pump."""
    sign_in_physician(app_state)
    page = RefillPage(app_state)
    qtbot.addWidget(page)
    [said] = page.step_problems(0)
    assert "programmable pump" in said and "Connect" in said
    assert "constant-flow" in said and "patient" in said
    assert "connect the pump first" not in said.lower()
