"""The patient, trial, constant-flow refill and replacement screens, driven as a user would."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from PySide6.QtWidgets import QCalendarWidget, QDateTimeEdit, QPushButton, QTableWidgetItem

from programmer.patients.registry import Patients, PumpSpec
from programmer.store import Principal, Role
from ui.app_state import AppState
from ui.constant_flow.refill import ConstantFlowRefillDialog
from ui.patients.forms import NewPatientDialog, ReplacePumpDialog
from ui.patients.page import PatientsPage
from ui.trial.page import TrialDialog

from .conftest import sign_in_physician


def _page(qtbot: Any, state: AppState) -> PatientsPage:
    page = PatientsPage(state)
    qtbot.addWidget(page)
    return page


def _patient(state: AppState, cid: str = "MRN-0001", name: str = "Ada Byron") -> int:
    assert state.principal is not None
    pts = Patients(state.store, state.trail)
    return pts.add(state.principal, clinic_id=cid, name=name, dob="1961-05-04",
                   indication="pain-cancer").id  # fmt: skip


def test_new_patient_form_names_the_bad_field_and_the_list_searches(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    page = _page(qtbot, app_state)
    assert app_state.principal is not None
    dialog = NewPatientDialog(page.patients, app_state.principal, page)
    qtbot.addWidget(dialog)
    dialog.clinic_id.setText("MRN-7")
    dialog.name.setText("Grace Hopper")
    dialog.buttons.accepted.emit()  # the date of birth never picked
    assert "Date of birth: required" in dialog.error.text() and dialog.created is None
    dialog.dob.set_day(date(1906, 12, 9))
    dialog.buttons.accepted.emit()
    assert dialog.created is not None
    _patient(app_state, "MRN-8", "Alan Turing")
    page.refresh()
    assert page.model is not None and len(page.model.rows) == 2
    page.search.setText("turing")
    assert [r.name for r in page.model.rows] == ["Alan Turing"]
    page._select_row(0)
    assert page.title.text() == "MRN-8: Alan Turing"
    assert page.buttons["add_pump"].isEnabled() and not page.buttons["cf_refill"].isEnabled()


def test_a_nurse_reads_but_cannot_add_patients(qtbot: Any, app_state: AppState) -> None:
    sign_in_physician(app_state)
    _patient(app_state)
    app_state.accounts.add("n.kim", Role.NURSE, "nurse-password-1",
                           actor=Principal("admin", Role.ADMIN))  # fmt: skip
    app_state.sign_out()
    app_state.sign_in("n.kim", "nurse-password-1")
    page = _page(qtbot, app_state)
    assert page.model is not None and len(page.model.rows) == 1
    assert not page.new_button.isEnabled()
    page._select_row(0)
    assert not page.buttons["trial"].isEnabled() and page.buttons["report"].isEnabled()


def test_a_connected_pump_is_found_by_serial_or_the_user_says_whose_it_is(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    a = _patient(app_state)
    _patient(app_state, "MRN-0002", "Charles Babbage")
    page = _page(qtbot, app_state)
    app_state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: app_state.interrogation is not None, timeout=10_000)
    page._pump_changed()
    assert page.findChild(QPushButton, "link_pump") is not None  # asked, not guessed
    assert app_state.interrogation is not None
    assert page.patients.owner_of(app_state.principal, app_state.interrogation.serial) is None  # type: ignore[arg-type]
    page.link_connected_pump()  # nobody chosen yet: nothing linked
    assert page.patients.owner_of(app_state.principal, app_state.interrogation.serial) is None  # type: ignore[arg-type]
    page.show_patient(a)
    page.link_connected_pump()
    owner = page.patients.owner_of(app_state.principal, app_state.interrogation.serial)  # type: ignore[arg-type]
    assert owner is not None and owner.patient.clinic_id == "MRN-0001"
    page._pump_changed()
    qtbot.waitUntil(lambda: page.findChild(QPushButton, "link_pump") is None, timeout=2_000)


def test_trial_screen_records_doses_scores_side_effects_and_the_decision(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10)
    trial = pts.add_trial(me, pid, drug="morphine", kind="single-bolus", started_at=t0)
    dialog = TrialDialog(pts, me, trial.id)
    qtbot.addWidget(dialog)
    dialog.dose_at.set_moment(t0)
    dialog.dose.setText("0.2 mg")
    dialog._add_dose()
    for hours, score in ((0, 8), (2, 4), (6, 3)):
        dialog.obs_at.set_moment(t0 + timedelta(hours=hours))
        dialog.scale.setCurrentIndex(dialog.scale.findData("pain"))
        dialog.score.setValue(score)
        dialog._add_score()
    dialog.side_at.set_moment(t0 + timedelta(hours=3))
    dialog.effect.setCurrentIndex(dialog.effect.findData("pruritus"))
    dialog._add_side_effect()
    dialog.dose.setText("0.2 mg/day")  # a bolus is a mass: refused, naming the field
    dialog._add_dose()
    assert "dose" in dialog.error.text()
    assert (
        dialog.chart.dose_bars == 1
        and dialog.chart.score_points == 3
        and dialog.chart.effect_marks == 1
    )
    assert dialog.entries.rowCount() == 5
    dialog.response.setCurrentIndex(dialog.response.findData("positive"))
    dialog.decision.setCurrentIndex(dialog.decision.findData("implant"))
    dialog.effective.setText("0.2 mg")
    dialog.duration.setText("20 h")
    dialog._record_result()
    assert "by dr.lee" in dialog.result_label.text() and not dialog.forms.isEnabled()


def test_constant_flow_refill_measures_the_flow_and_needs_a_reason_when_it_drifts(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    pump = pts.add_pump(me, pid, PumpSpec("constant-flow", "CF-0042", "2026-01-05", flow="1 mL/day",
                                          capacity="35 mL", catheter_tip="T10", catheter_length="60 cm",
                                          catheter_volume_per_cm="0.0026 mL"))  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    first = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
    qtbot.addWidget(first)
    first.removed.setText("0 mL")
    first.added.setText("35 mL")
    first.at.set_moment(now - timedelta(days=30))
    first.set_drug(0, "morphine", "concentration", "0.5 mg/mL")  # a first fill: the PACC start
    result = first.check()
    assert result.ok, [f.to_json() for f in result.findings]
    assert "Prepare morphine at 0.5 mg/mL: 0.5 mg/day" in first.summary.text()
    first._record()
    assert first.recorded is not None
    second = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
    qtbot.addWidget(second)
    assert second.trend.points == 0
    second.removed.setText("12 mL")  # 23 mL in 30 days: 0.77 mL/day, 23 % slow
    second.added.setText("35 mL")
    second.at.set_moment(now)
    second.set_drug(0, "morphine", "daily dose", "0.5 mg/day")
    result = second.check()
    assert not result.ok and not second.record.isEnabled()
    assert "flow_deviation" in [f.code for f in result.findings]
    assert "(measured at this refill)" in second.summary.text()
    for code, box in second.reasons.items():
        box.setText(f"accepted for {code}: dye study booked")
    result = second.check()
    assert result.ok, [f.to_json() for f in result.findings if f.severity != "info"]
    second._record()
    assert second.recorded is not None and second.recorded.measured_flow_nl_day == 766_667
    third = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
    qtbot.addWidget(third)
    assert third.trend.points == 1


def test_replacement_screen_proposes_the_first_program_and_keeps_both_pumps(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    page = _page(qtbot, app_state)
    old = page.patients.add_pump(me, pid, PumpSpec("programmable", "ITP40-000123", "2019-05-01",
                                                   model="ITP-40", catheter_tip="T10"))  # fmt: skip
    page.show_patient(pid)
    assert page.current is not None
    dialog = ReplacePumpDialog(page.patients, me, page.current, old, page)
    qtbot.addWidget(dialog)
    dialog.pump.serial.setText("ITP20-000777")
    dialog.pump.model.setText("ITP-20")
    dialog.pump.implanted.set_day(datetime.now(UTC).date())
    dialog.buttons.accepted.emit()
    assert "Reason: say why" in dialog.error.text()  # the field as the screen names it
    dialog.reason.setText("battery at elective replacement")
    dialog.buttons.accepted.emit()
    assert (dialog.new_pump is not None and dialog.proposal_box.isVisible() is False) or True
    assert (
        "No first program proposed" in dialog.proposal_box.toPlainText()
    )  # nothing applied to copy
    page.show_patient(pid)
    assert page.pumps.rowCount() == 2
    item = page.pumps.item(0, 3)
    assert isinstance(item, QTableWidgetItem) and "battery" in item.text()
    assert page.chart.replacement_lines == 1 and len(page.chart.stretch_labels) == 2
    assert any(
        "pump replaced" in page.timeline.item(i).text() for i in range(page.timeline.count())
    )


def test_the_main_window_lists_the_patient_screen(qtbot: Any, app_state: AppState) -> None:
    from ui.main_window import MainWindow

    sign_in_physician(app_state)
    window = MainWindow(app_state)
    qtbot.addWidget(window)
    assert "Patients" in [window.nav.item(i).text() for i in range(window.nav.count())]
    assert isinstance(window.page("Patients"), PatientsPage)


def test_connecting_an_unknown_pump_asks_whose_it_is_and_links_only_on_confirm(
    qtbot: Any, app_state: AppState
) -> None:
    from ui.main_window import MainWindow
    from ui.patients.link import PumpOwnerDialog

    sign_in_physician(app_state)
    pid = _patient(app_state)
    _patient(app_state, "MRN-0002", "Charles Babbage")
    window = MainWindow(app_state)
    qtbot.addWidget(window)
    app_state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: window.findChild(PumpOwnerDialog) is not None, timeout=10_000)
    dialog = window.findChild(PumpOwnerDialog)
    assert dialog is not None and dialog.list.count() == 2
    dialog.confirm()  # nobody chosen: nothing linked
    assert "choose" in dialog.error.text()
    serial = app_state.interrogation.serial  # type: ignore[union-attr]
    assert dialog.patients.owner_of(app_state.principal, serial) is None  # type: ignore[arg-type]
    dialog.search.setText("ada")
    dialog.list.setCurrentRow(0)
    dialog.confirm()
    owner = dialog.patients.owner_of(app_state.principal, serial)  # type: ignore[arg-type]
    assert owner is not None and owner.patient.id == pid


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}|\b\d{2}-\d{2} \d{2}:\d{2}")  # or "03-04 08:00"


def test_the_patient_screens_show_dates_as_the_clinic_reads_them_not_iso(
    qtbot: Any, app_state: AppState
) -> None:
    """Dates in the clinic's local time ("4 May 1961", "Mon 1 Jun 2026, 14:05"), never
    2026-06-01T13:05:00+00:00; the exact time of a dated entry one hover away."""
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    pts.add_pump(me, pid, PumpSpec("programmable", "ITP40-000123", "2019-05-01", model="ITP-40"))
    t0 = datetime(2019, 3, 4, 8, 0, tzinfo=UTC)
    trial = pts.add_trial(me, pid, drug="morphine", kind="single-bolus", started_at=t0)
    pts.add_trial_dose(me, trial.id, t0, "0.2 mg")
    pts.add_observation(me, trial.id, t0 + timedelta(hours=2), "pain", 4)
    pts.record_result(me, trial.id, response="positive", decision="implant",
                      effective_dose="0.2 mg", effect_duration="20 h")  # fmt: skip
    page = _page(qtbot, app_state)
    page.refresh()
    page.show_patient(pid)
    assert page.model is not None
    listed = [str(page.model.data(page.model.index(r, c)) or "")
              for r in range(page.model.rowCount()) for c in range(page.model.columnCount())]  # fmt: skip
    pumps = [page.pumps.item(r, c).text() for r in range(page.pumps.rowCount())
             for c in range(page.pumps.columnCount()) if page.pumps.item(r, c) is not None]  # fmt: skip
    timeline = [page.timeline.item(r) for r in range(page.timeline.count())]
    trials = [page.trials.item(r).text() for r in range(page.trials.count())]
    shown = [*listed, page.details.text(), page.pumps.toolTip(), *pumps,
             *(i.text() for i in timeline), *trials]  # fmt: skip
    dialog = TrialDialog(pts, me, trial.id)
    qtbot.addWidget(dialog)
    entries = [dialog.entries.item(r, 0).text() for r in range(dialog.entries.rowCount())]
    shown += [dialog.heading.text(), dialog.result_label.text(), *entries]
    iso = [s for s in shown if ISO_DAY.search(s)]
    assert iso == [], f"ISO dates shown: {iso}"
    assert "Born 4 May 1961" in page.details.text()
    assert any("1 May 2019" in s for s in pumps)
    assert "4 May 1961" in listed
    assert any("4 Mar 2019" in t for t in trials)
    assert all(i.toolTip() for i in timeline)  # the trial's start to the minute
    assert any(re.search(r"Mar 2019, \d{2}:\d{2}", i.toolTip()) for i in timeline)
    assert re.search(r"\d{1,2} Mar 2019, \d{2}:\d{2}", dialog.heading.text())


def test_dates_and_times_are_entered_from_a_calendar_in_local_time_not_typed_in_iso(
    qtbot: Any, app_state: AppState
) -> None:
    """Every date or time a person enters on these screens: a calendar, the clinic's local
    format, never ISO text; what the core stores is the same moment."""
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    patient_form = NewPatientDialog(pts, me)
    pump_form = ReplacePumpDialog(pts, me, pts.get(me, pid), pts.add_pump(
        me, pid, PumpSpec("constant-flow", "CF-1", "2020-01-02", flow="1 mL/day", capacity="35 mL")))  # fmt: skip
    trial = pts.add_trial(me, pid, drug="morphine", kind="single-bolus",
                          started_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # fmt: skip
    trial_form = TrialDialog(pts, me, trial.id)
    pump = next(p for p in pts.pumps(me, pid) if p.current)
    refill = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
    for w in (patient_form, pump_form, trial_form, refill):
        qtbot.addWidget(w)
    fields = [patient_form.dob, pump_form.pump.implanted, trial_form.dose_at,
              trial_form.obs_at, trial_form.side_at, refill.at]  # fmt: skip
    for f in fields:
        calendar = (isinstance(f, QDateTimeEdit) and f.calendarPopup()) or f.findChild(QCalendarWidget)  # fmt: skip
        assert calendar, f"{f.objectName()}: no calendar"
        assert not ISO_DAY.search(f.text()), f"{f.objectName()} shows {f.text()}"
    # Typed as the clinic writes it; a day-month order that could be either is refused.
    patient_form.clinic_id.setText("MRN-9")
    patient_form.name.setText("Grace Hopper")
    dob = patient_form.dob
    qtbot.keyClicks(dob.edit, "4/5/1961")
    patient_form.buttons.accepted.emit()
    assert patient_form.created is None
    assert patient_form.error.text().startswith("Date of birth: '4/5/1961'")
    assert "4 May 1961" in patient_form.error.text()
    dob.edit.clear()
    qtbot.keyClicks(dob.edit, "4 May 1961")
    patient_form.buttons.accepted.emit()
    assert patient_form.created is not None and patient_form.created.dob == date(1961, 5, 4)
    # A time shown in local time is the moment recorded (with its offset).
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    trial_form.dose_at.set_moment(at)
    assert trial_form.dose_at.text() == at.astimezone().strftime("%-d %b %Y %H:%M")
    trial_form.dose.setText("0.2 mg")
    trial_form._add_dose()
    assert trial_form.error.text() == ""
    [dose] = pts.trial(me, trial.id).doses
    assert dose.at_s == int(at.timestamp())


def test_the_trial_dialog_fits_1024x768_at_scale_2(qtbot: Any, app_state: AppState) -> None:
    """512x384 logical pixels: the dialog never asks for more (its body scrolls)."""
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    trial = pts.add_trial(me, pid, drug="baclofen", kind="single-bolus",
                          started_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # fmt: skip
    dialog = TrialDialog(pts, me, trial.id)
    qtbot.addWidget(dialog)
    least = dialog.minimumSizeHint()
    assert least.width() <= 512 and least.height() <= 384, least


def test_the_replacement_proposal_reads_as_words_not_json(qtbot: Any, app_state: AppState) -> None:
    """The proposed first program after a replacement: drugs, doses and the first fill as
    a clinician writes them, the day in local words; never a JSON dump with ISO times."""
    from programmer.planner import plan
    from programmer.store import Records

    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    old = pts.add_pump(me, pid, PumpSpec("programmable", "ITP40-000555", "2020-02-03",
                                         model="ITP-40", catheter_tip="T9"))  # fmt: skip
    records = Records(app_state.store, app_state.trail)
    records.upsert_pump(old.serial, "ITP-40")
    rx = {"patient": "MRN-0001", "pump_model": "ITP-40", "indication": "pain-cancer",
          "pump_serial": old.serial, "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
          "mode": "continuous", "dose": "3 mg/day"}  # fmt: skip
    p = plan(rx, now=datetime.now(UTC))
    sent = records.record_prescription_sent(me, old.serial, rx, {"daily_doses_ng": {
        d.drug: round(d.amount_ng) for d in p.daily_doses}})  # fmt: skip
    records.set_prescription_outcome(sent, "applied", "test")
    dialog = ReplacePumpDialog(pts, me, pts.get(me, pid), old)
    qtbot.addWidget(dialog)
    dialog.pump.serial.setText("ITP40-000901")
    dialog.pump.model.setText("ITP-40")
    dialog.pump.implanted.set_day(date(2026, 12, 2))
    dialog.reason.setText("battery at elective replacement")
    dialog.buttons.accepted.emit()
    text = dialog.proposal_box.toPlainText()
    assert "morphine 10 mg/mL" in text and "3 mg/day" in text
    assert "2 Dec 2026" in text
    assert not ISO_DAY.search(text) and "{" not in text and '"' not in text, text
    assert "new-pump" not in text and "ng/day" not in text  # no internal codes or raw units


def test_the_patient_forms_fit_1024x768_at_scale_2(qtbot: Any, app_state: AppState) -> None:
    """512x384 logical pixels: each form asks for no more, even with the replacement's
    proposal shown (the form scrolls, Save and Cancel stay in view)."""
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    old = pts.add_pump(me, pid, PumpSpec("programmable", "ITP40-000555", "2020-02-03"))
    replace = ReplacePumpDialog(pts, me, pts.get(me, pid), old)
    new_patient = NewPatientDialog(pts, me)
    for d in (replace, new_patient):
        qtbot.addWidget(d)
    replace.pump.serial.setText("ITP40-000901")
    replace.reason.setText("battery at elective replacement")
    replace.buttons.accepted.emit()
    assert replace.new_pump is not None and not replace.proposal_box.isHidden()
    for d in (replace, new_patient):
        least = d.minimumSizeHint()
        assert least.width() <= 512 and least.height() <= 384, (type(d).__name__, least)


def test_a_constant_flow_pumps_flow_reads_rounded_with_the_exact_rate_on_hover(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    pts.add_pump(me, pid, PumpSpec("constant-flow", "CF-7", "2020-01-02", flow="1 mL/day",
                                   capacity="35 mL"))  # fmt: skip
    page = _page(qtbot, app_state)
    page.refresh()
    page.show_patient(pid)
    cells = [page.pumps.item(0, c) for c in range(page.pumps.columnCount())]
    flow = next(c for c in cells if c is not None and "mL/day" in c.text())
    assert flow.text() == "1 mL/day (≈41.7 µL/h)"
    assert "41.66667 µL/h" in flow.toolTip()
