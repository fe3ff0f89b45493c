"""Pump replacement carries the old therapy over; the timeline spans both pumps."""

from __future__ import annotations

from datetime import UTC, datetime

from programmer.patients import replacement, timeline
from programmer.patients.registry import Patients, PumpSpec
from programmer.planner import plan
from programmer.store import Principal, Records

OLD_RX = {
    "patient": "MRN-0001",
    "pump_serial": "ITP40-000123",
    "pump_model": "ITP-40",
    "indication": "spasticity-spinal",
    "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}],
    "mode": "flex",
    "cycle_days": 1,
    "steps": [{"start": "00:00", "dose": "400 mcg/day"}, {"start": "06:00", "dose": "600 mcg/day"}],
    "refill": {"removed": "4 mL", "added": "18 mL", "at": "2026-06-01T09:00:00Z"},
    "previous": {
        "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}],
        "rate": "1 mL/day",
    },
}
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _setup(patients: Patients, doctor: Principal, trail, new_kind: str = "programmable"):
    p = patients.add(doctor, clinic_id="MRN-0001", name="Ada Byron", dob="1961-05-04")
    patients.add_pump(doctor, p.id, PumpSpec("programmable", "ITP40-000123", "2019-05-01",
                      model="ITP-40", catheter_tip="T10", catheter_length="60 cm",
                      catheter_volume_per_cm="0.0026 mL"))  # fmt: skip
    records = Records(patients.store, trail)
    records.upsert_pump("ITP40-000123", "ITP-40")
    old_plan = plan(OLD_RX, now=NOW)
    daily = {d.drug: round(d.amount_ng) for d in old_plan.daily_doses}
    pid = records.record_prescription_sent(
        doctor, "ITP40-000123", OLD_RX, {"daily_doses_ng": daily}
    )
    records.set_prescription_outcome(pid, "applied", "abcd")
    if new_kind == "programmable":
        spec = PumpSpec("programmable", "ITP20-000777", "2026-10-30", model="ITP-20")
    else:
        spec = PumpSpec("constant-flow", "CF-0042", "2026-10-30", flow="0.5 mL/day",
                        capacity="35 mL")  # fmt: skip
    return p, spec, old_plan


def test_the_old_pumps_last_therapy_is_the_new_pumps_proposed_first_program(
    patients, doctor, trail
):
    p, spec, old_plan = _setup(patients, doctor, trail)
    old = patients.pumps(doctor, p.id)[0]
    new, _ = patients.replace_pump(doctor, p.id, spec, reason="battery at ERI", proposed=None)
    carried = replacement.propose(patients, doctor, old, new)
    rx = carried.prescription
    assert rx is not None
    assert rx["pump_serial"] == "ITP20-000777" and rx["pump_model"] == "ITP-20"
    assert rx["bolus"] == {"kind": "priming", "fluid_path": "new-pump"}  # the new pump's priming
    assert rx["refill"]["first_fill"] is True  # a fresh stability clock
    assert rx["catheter"] == {
        "length": "600 mm",
        "volume_per_cm": "2600 nL",
    }  # the catheter as it is
    assert "previous" not in rx
    new_plan = plan(rx, now=NOW)
    # same drugs and doses
    assert [(d.drug, d.amount_ng) for d in new_plan.daily_doses] == [
        (d.drug, d.amount_ng) for d in old_plan.daily_doses
    ]
    assert new_plan.bolus is not None and new_plan.bolus.kind == "priming"
    # A new pump's first fill meets the starting-dose limits (programmer.dose.starting): the
    # carried-over dose is confirmed by typing it again and given its reason, as any first fill.
    standing = [f for f in new_plan.findings if f.severity != "info"]
    assert {f.code for f in standing} <= {"over_starting_dose_limit", "over_starting_dose"}
    typed = {f.field: f.value for f in standing if f.retype and f.value}
    reasons = {f.code: f"carried over from {f.code} the old pump" for f in standing}
    confirmed = plan(rx, now=NOW, confirmations=typed, overrides=reasons)
    assert confirmed.ok, [f.to_json() for f in confirmed.findings]


def test_a_constant_flow_replacement_keeps_the_daily_dose_through_the_concentration(
    patients, doctor, trail
):
    p, spec, old_plan = _setup(patients, doctor, trail, "constant-flow")
    old = patients.pumps(doctor, p.id)[0]
    new, _ = patients.replace_pump(doctor, p.id, spec, reason="battery at ERI", proposed=None)
    rx = replacement.propose(patients, doctor, old, new).prescription
    assert rx is not None and rx["pump"]["kind"] == "constant-flow"
    out = plan(rx, now=NOW).to_json()
    # heaviest day of the old program, at 0.5 mL/day
    assert out["daily_doses"][0]["amount_ng"] == old_plan.to_json()["daily_doses"][0]["amount_ng"]
    assert out["concentrations"][0]["conc_ng_ml"] == out["daily_doses"][0]["amount_ng"] * 2


def test_without_a_recorded_therapy_nothing_is_guessed(patients, doctor):
    p = patients.add(doctor, clinic_id="MRN-9", name="X Y", dob="1961-05-04")
    old = patients.add_pump(doctor, p.id, PumpSpec("programmable", "S-1", "2019-01-01"))
    new, _ = patients.replace_pump(doctor, p.id, PumpSpec("programmable", "S-2", "2026-10-30"),
                                   reason="battery", proposed=None)  # fmt: skip
    carried = replacement.propose(patients, doctor, old, new)
    assert carried.prescription is None and "no applied program" in carried.source


def test_one_timeline_across_the_replacement_with_each_pumps_stretch(
    patients, doctor, nurse, trail
):
    p, spec, _ = _setup(patients, doctor, trail)
    patients.replace_pump(doctor, p.id, spec, reason="battery at ERI", proposed=None)
    t0 = datetime(2019, 3, 1, 9, 0, tzinfo=UTC)
    trial = patients.add_trial(doctor, p.id, drug="baclofen", kind="single-bolus", started_at=t0)
    patients.record_result(doctor, trial.id, response="positive", decision="implant",
                           effective_dose="50 mcg", effect_duration="6 h")  # fmt: skip
    tl = timeline.build(patients, nurse, p.id)
    assert [(s.serial, str(s.start), str(s.end)) for s in tl.stretches] == [
        ("ITP40-000123", "2019-05-01", "2026-10-30"), ("ITP20-000777", "2026-10-30", "None")]  # fmt: skip
    kinds = [(e.kind, e.serial) for e in tl.entries]
    assert kinds[0] == ("trial", None)
    assert ("program", "ITP40-000123") in kinds
    assert [e.text for e in tl.replacements()] == [
        "pump replaced: ITP40-000123 -> ITP20-000777 (battery at ERI) by dr.lee"]  # fmt: skip
    # the explant comes before the new implant on the same day
    order = [k for k, _ in kinds]
    assert order.index("explant") < order.index("implant", order.index("explant"))
