"""Screenshots of the patient, trial, constant-flow refill and replacement screens.

    xvfb-run -a -s "-screen 0 1024x768x24" .venv/bin/python build_scripts/screenshots_patients.py
    QT_SCALE_FACTOR=2 xvfb-run -a -s "-screen 0 2048x1536x24" \
        .venv/bin/python build_scripts/screenshots_patients.py --suffix=-2x

A throwaway database with demo patients (the delivered volumes are made up, labelled so);
the screens are filled in as a person would and grabbed at 1024x768 (logical pixels).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from argon2 import PasswordHasher
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.patients.registry import Patients, PumpSpec
from programmer.planner import plan
from programmer.store import InfusionHour, Records, Role
from ui.app_state import AppState
from ui.constant_flow.refill import ConstantFlowRefillDialog
from ui.history.page import HistoryPage
from ui.main_window import MainWindow
from ui.patients.forms import ReplacePumpDialog
from ui.patients.page import PatientsPage
from ui.refill.wizard import RefillPage
from ui.therapy.page import TherapyPage
from ui.trial.page import TrialDialog

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
RX = {
    "patient": "MRN-0001", "pump_model": "ITP-40", "indication": "spasticity-spinal",
    "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}], "mode": "flex", "cycle_days": 1,
    "steps": [{"start": "00:00", "dose": "400 mcg/day"}, {"start": "06:00", "dose": "600 mcg/day"}],
}  # fmt: skip


def pump_events(until: Callable[[], bool], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        QCoreApplication.processEvents()
        time.sleep(0.01)
    QCoreApplication.processEvents()


def shot(widget: QWidget, name: str, suffix: str) -> None:
    pump_events(lambda: False, 0.4)
    path = OUT / f"{name}{suffix}.png"
    widget.grab().save(str(path))
    print("saved", path)


def demo_data(state: AppState) -> dict[str, int]:
    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    records = Records(state.store, state.trail)
    ids = {}
    for cid, name, dob, ind in (
        ("MRN-0001", "Ada Byron", "1961-05-04", "spasticity-spinal"),
        ("MRN-0002", "Charles Babbage", "1948-12-26", "pain-cancer"),
        ("MRN-0003", "Grace Hopper", "1956-12-09", "pain-noncancer"),
        ("MRN-0004", "Alan Turing", "1972-06-23", "spasticity-cerebral"),
        ("MRN-0005", "Edsger Dijkstra", "1950-05-11", "pain-noncancer"),
        ("MRN-0006", "Barbara Liskov", "1959-11-07", "spasticity-spinal"),
    ):
        ids[cid] = pts.add(me, clinic_id=cid, name=name, dob=dob, indication=ind).id
    a = ids["MRN-0001"]
    t0 = datetime(2019, 3, 4, 8, 0, tzinfo=UTC)
    trial = pts.add_trial(me, a, drug="baclofen", kind="repeated-bolus", started_at=t0,
                          concentration="50 mcg/mL")  # fmt: skip
    pts.add_trial_dose(me, trial.id, t0, "50 mcg", "lumbar puncture")
    for h, score in ((0, 4), (2, 3), (4, 2), (6, 2), (9, 3), (12, 4)):
        pts.add_observation(me, trial.id, t0 + timedelta(hours=h), "ashworth", score)
    pts.add_side_effect(me, trial.id, t0 + timedelta(hours=3), "headache", "settled by evening")
    pts.add_trial_dose(me, trial.id, t0 + timedelta(hours=24), "75 mcg")
    for h, score in ((24, 4), (26, 2), (28, 1), (31, 1), (34, 2), (37, 3)):
        pts.add_observation(me, trial.id, t0 + timedelta(hours=h), "ashworth", score)
    pts.record_result(me, trial.id, response="positive", decision="implant", effective_dose="75 mcg",
                      effect_duration="10 h", rationale="clear fall in tone for 10 h; walking easier")  # fmt: skip
    old = pts.add_pump(me, a, PumpSpec("programmable", "ITP40-000123", "2019-05-01", model="ITP-40",
                                       catheter_tip="T10", catheter_length="60 cm",
                                       catheter_volume_per_cm="0.0026 mL"))  # fmt: skip
    records.upsert_pump(old.serial, "ITP-40")
    # Demo delivered volumes (made up), hour by hour: about 1.8 mL/day on the old pump.
    day0 = datetime(2019, 5, 2, tzinfo=UTC)
    replaced = NOW - timedelta(days=120)
    hours = int((replaced - day0).total_seconds()) // 3600
    records.save_infusion_hours(old.serial, (
        InfusionHour(day0 + timedelta(hours=h), 72_000 + (h // 24 % 30) * 300 + (h % 24) * 100)
        for h in range(hours)))  # fmt: skip
    p = plan(RX, now=NOW)
    pid = records.record_prescription_sent(me, old.serial, RX, {"daily_doses_ng": {
        d.drug: round(d.amount_ng) for d in p.daily_doses}})  # fmt: skip
    records.set_prescription_outcome(pid, "applied", "demo")
    new, _ = pts.replace_pump(me, a, PumpSpec("programmable", "ITP20-000777", replaced.date().isoformat(),
                                              model="ITP-20", catheter_tip="T10"),
                              reason="battery at elective replacement", proposed=None)  # fmt: skip
    records.upsert_pump(new.serial, "ITP-20")
    # The new pump, hour by hour (made up): about 1.9 mL/day.
    records.save_infusion_hours(new.serial, (
        InfusionHour(replaced + timedelta(hours=h), 77_000 + (h % 24) * 150) for h in range(0, 118 * 24)))  # fmt: skip
    # A constant-flow patient with three refills, the flow falling.
    b = ids["MRN-0002"]
    cf = pts.add_pump(me, b, PumpSpec("constant-flow", "CF-0042", "2025-06-02", model="CF-35",
                                      flow="1 mL/day", capacity="35 mL", catheter_tip="T8",
                                      catheter_length="50 cm", catheter_volume_per_cm="0.0026 mL"))  # fmt: skip
    drugs = [{"drug": "morphine", "conc_ng_ml": 2_000_000}]
    at = NOW - timedelta(days=140)
    pts.record_cf_refill(me, cf.id, at=at, removed_nl=0, added_nl=35_000_000, drugs=drugs,
                         measured_flow_nl_day=None, plan={"note": "demo"})  # fmt: skip
    for flow in (1_000_000, 966_667, 900_000):
        at += timedelta(days=30)
        removed = 35_000_000 - flow * 30
        pts.record_cf_refill(me, cf.id, at=at, removed_nl=removed, added_nl=35_000_000, drugs=drugs,
                             measured_flow_nl_day=flow, plan={"note": "demo"})  # fmt: skip
    ids["cf"] = cf.id
    return ids


def first_fill(state: AppState, window: MainWindow, suffix: str) -> None:
    """MRN-0004: a baclofen screening bolus of 50 mcg that worked for 6 h; the new pump
    (the emulator's) holds saline. The editor proposes 100 mcg/day; 150 is above it."""
    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    d = pts.by_clinic_id(me, "MRN-0004")
    t0 = NOW - timedelta(days=30)
    trial = pts.add_trial(me, d.id, drug="baclofen", kind="single-bolus", started_at=t0)
    pts.add_trial_dose(me, trial.id, t0, "50 mcg", "lumbar puncture")
    pts.record_result(me, trial.id, response="positive", decision="implant",
                      effective_dose="50 mcg", effect_duration="6 h")  # fmt: skip
    model = PumpModel("ITP-40", int(time.time()))
    pts.add_pump(me, d.id, PumpSpec("programmable", model.serial, NOW.date().isoformat(),
                                    model="ITP-40"))  # fmt: skip
    inprocess.install(model, speed=Fraction(0))
    state.connect_pump("emulator:", None)
    pump_events(lambda: state.interrogation is not None, 20.0)
    window.show_page("Therapy editor")
    editor = window.page("Therapy editor")
    assert isinstance(editor, TherapyPage)
    pump_events(lambda: "trial" in editor.model.data, 5.0)
    editor.model.add_drug()
    editor.model.set_drug(0, "baclofen", "500 mcg/mL")
    editor.model.set_mode("continuous")
    editor.model.set_continuous_dose("150 mcg/day")
    pump_events(lambda: False, 0.3)
    for area in editor.findChildren(QScrollArea):  # the form: down to the step table's Check
        inner = area.widget()
        if inner is not None and inner.isAncestorOf(editor.table):
            area.verticalScrollBar().setValue(editor.start_dose.y() - 4)
    shot(window, "28-therapy-first-fill-trial", suffix)


def main() -> int:
    global OUT
    parser = argparse.ArgumentParser()
    parser.add_argument("--suffix", default="")
    parser.add_argument("--out", default=str(OUT), help="folder (another size: not the README's)")
    parser.add_argument("--size", default="1024x768", help="window size, e.g. 1366x768")
    args = parser.parse_args()
    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    size = tuple(int(n) for n in args.size.split("x"))
    QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    state = AppState(tmp / "itp.sqlite3", audit_key=tmp / "audit.key", hasher=fast)
    state.create_first_admin("admin", "admin-password-1")
    state.accounts.add("dr.lee", Role.PHYSICIAN, "physician-pass-1", actor=state.principal)
    state.sign_out()
    state.sign_in("dr.lee", "physician-pass-1")
    ids = demo_data(state)
    window = MainWindow(state)
    window.resize(*size)
    window.show()
    window.show_page("Patients")
    page = window.page("Patients")
    assert isinstance(page, PatientsPage)
    page.refresh()
    page.show_patient(ids["MRN-0001"])
    shot(window, "20-patients", args.suffix)
    me = state.principal
    assert me is not None
    trial_id = page.patients.trials(me, ids["MRN-0001"])[0].id
    trial = TrialDialog(page.patients, me, trial_id, window)
    trial.resize(*size)
    trial.show()
    shot(trial, "21-trial", args.suffix)
    trial.close()
    b = page.patients.get(me, ids["MRN-0002"])
    pump = next(p for p in page.patients.pumps(me, b.id) if p.current)
    # The refill screen with no pump connected: a constant-flow pump starts from its patient.
    window.show_page("Refill")
    refill_page = window.page("Refill")
    assert isinstance(refill_page, RefillPage)
    refill_page.cf_start.reload()
    shot(window, "24-refill-constant-flow-start", args.suffix)
    refill = ConstantFlowRefillDialog(page.patients, me, b, pump, window)
    refill.resize(*size)
    last_at = datetime.fromisoformat(refill.history[-1].at.replace("Z", "+00:00"))
    refill.at.set_moment(last_at + timedelta(days=30))
    refill.removed.setText("11 mL")  # 24 mL in 30 days: 0.8 mL/day, 20 % slow
    refill.show()
    refill.go(1)
    shot(refill, "22-constant-flow-refill", args.suffix)
    refill.go(2)
    refill.set_drug(0, "morphine", "daily dose", "2 mg/day")
    refill.go(3)
    refill.added.setText("35 mL")
    refill.go(5)
    for box in refill.retypes.values():
        box.setText("2 mg/day")  # the dose typed again: 2.5 mg/mL is what this flow needs
    refill.check()
    for code, box in refill.reasons.items():
        box.setText("dye study booked for next week" if code == "flow_deviation"
                    else "2.5 mg/mL prepared for the slower flow")  # fmt: skip
    refill.check()
    shot(refill, "25-constant-flow-confirm", args.suffix)
    refill.record.click()
    shot(refill, "26-constant-flow-report", args.suffix)
    refill.close()
    # History of MRN-0001's new pump: one timeline across the pump it replaced.
    window.show_page("History")
    history = window.page("History")
    assert isinstance(history, HistoryPage)
    history.reload("ITP20-000777")
    pump_events(lambda: history.course is not None, 20.0)
    history.range_select.setCurrentIndex(history.range_select.findText("1 year"))
    shot(window, "27-history-across-pumps", args.suffix)
    # A first fill of a patient with a baclofen trial: the editor proposes the start dose.
    first_fill(state, window, args.suffix)
    page.show_patient(ids["MRN-0003"])
    c = page.patients.get(me, ids["MRN-0003"])
    old = page.patients.add_pump(me, c.id, PumpSpec("programmable", "ITP40-000555", "2020-02-03",
                                                    model="ITP-40", catheter_tip="T9"))  # fmt: skip
    records = Records(state.store, state.trail)
    records.upsert_pump(old.serial, "ITP-40")
    rx = {**RX, "patient": "MRN-0003", "indication": "pain-noncancer", "pump_serial": old.serial,
          "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}], "mode": "continuous",
          "dose": "3 mg/day"}  # fmt: skip
    rx.pop("steps")
    rx.pop("cycle_days")
    p = plan(rx, now=NOW)
    sent = records.record_prescription_sent(me, old.serial, rx, {"daily_doses_ng": {
        d.drug: round(d.amount_ng) for d in p.daily_doses}})  # fmt: skip
    records.set_prescription_outcome(sent, "applied", "demo")
    replace = ReplacePumpDialog(page.patients, me, c, old, window)
    replace.resize(760, 740)
    replace.pump.serial.setText("ITP40-000901")
    replace.pump.model.setText("ITP-40")
    replace.pump.implanted.set_day(NOW.date())
    replace.reason.setText("battery at elective replacement")
    replace.show()
    replace.buttons.accepted.emit()  # save: the old pump out, the new one in, the proposal shown
    shot(replace, "23-replacement", args.suffix)
    replace.close()
    state.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
