"""Issue 12, class 5: sourced per-drug limits of every bolus, the lockout and the count."""

from __future__ import annotations

from programmer.dose.context import PumpContext
from programmer.findings import Severity
from programmer.therapy import DrugFill, PatientBolus, Step, Therapy

from .rxfactory import codes, morphine_continuous, run, with_, ziconotide

STRONG = [{"name": "morphine", "concentration": "25 mg/mL"}]  # the volumes fit the pump
GOOD_PTM = {"dose": "0.1 mg", "duration": "10 min", "lockout": "2 h", "max_per_day": 4}


def _at(p, field):
    return {f.code for f in p.findings if f.field == field}


def test_a_bolus_within_the_limits_passes():
    p = run(with_(morphine_continuous("2 mg/day"), patient_bolus=GOOD_PTM))
    assert not _at(p, "patient_bolus.dose") and not _at(p, "patient_bolus.lockout")
    assert "too_many_patient_boluses" not in codes(p)


def test_ten_mg_clinician_bolus_on_two_mg_a_day_must_be_retyped():
    rx = with_(
        morphine_continuous("2 mg/day"),
        drugs=STRONG,
        bolus={"kind": "single", "dose": "10 mg", "duration": "60 min"},
    )
    p = run(rx)
    assert not [f for f in p.findings if f.code == "invalid_bolus"]
    slip = [f for f in p.findings if f.field == "bolus.dose" and f.code == "unit_suspect"]
    assert (
        slip and slip[0].severity is Severity.HARD and slip[0].retype and slip[0].value == "10 mg"
    )


def test_clinician_bolus_above_the_trial_bolus_is_soft():
    rx = with_(
        morphine_continuous("2 mg/day"),
        bolus={"kind": "single", "dose": "1 mg", "duration": "30 min"},
    )
    assert "over_max_clinician_bolus" in _at(run(rx), "bolus.dose")


def test_twelve_mg_patient_bolus_must_be_retyped():
    ptm = {**GOOD_PTM, "dose": "12 mg"}
    p = run(with_(morphine_continuous("2 mg/day"), drugs=STRONG, patient_bolus=ptm))
    assert "invalid_patient_bolus" not in codes(p)
    assert "unit_suspect" in _at(p, "patient_bolus.dose")


def test_twenty_four_boluses_a_day_with_a_ten_minute_lockout():
    ptm = {**GOOD_PTM, "lockout": "10 min", "max_per_day": 24}
    p = run(with_(morphine_continuous("2 mg/day"), patient_bolus=ptm))
    assert "too_many_patient_boluses" in codes(p)
    assert "unit_suspect" in _at(p, "patient_bolus.lockout")  # 10 h typed as 10 min?


def test_two_minute_lockout_where_two_hours_was_meant_must_be_retyped():
    ptm = {**GOOD_PTM, "duration": "1 min", "lockout": "2 min"}
    p = run(with_(morphine_continuous("2 mg/day"), patient_bolus=ptm))
    slip = [f for f in p.findings if f.field == "patient_bolus.lockout"]
    assert slip and slip[0].code == "unit_suspect" and slip[0].value == "2 min"
    assert "2004 recall" in slip[0].message


def test_a_forty_minute_lockout_is_short_but_not_a_slip():
    p = run(with_(morphine_continuous("2 mg/day"), patient_bolus={**GOOD_PTM, "lockout": "40 min"}))
    assert _at(p, "patient_bolus.lockout") == {"lockout_short"}


def test_a_new_patient_bolus_that_raises_the_possible_dose_is_a_titration():
    # 2 mg/day running, no patient bolus; the new program allows 12 x 1 mg more: 2 -> 14 mg/day
    old = Therapy((DrugFill("morphine", 10_000_000),), "continuous", 1, (Step(0, 200_000),))
    pump = PumpContext("ITP-40", "S", old, 10_000_000, 0)
    ptm = {"dose": "1 mg", "duration": "10 min", "lockout": "2 h", "max_per_day": 12}
    p = run(with_(morphine_continuous("2 mg/day"), patient_bolus=ptm), pump=pump)
    assert "dose_change_too_large" in _at(p, "patient_bolus")
    assert p.max_daily_doses[0].amount_ng == 14_000_000


def test_a_small_patient_bolus_added_within_the_step_is_no_titration_finding():
    old = Therapy((DrugFill("morphine", 10_000_000),), "continuous", 1, (Step(0, 200_000),))
    pump = PumpContext("ITP-40", "S", old, 10_000_000, 0)
    ptm = {"dose": "0.1 mg", "duration": "10 min", "lockout": "4 h", "max_per_day": 6}  # +0.6 mg
    p = run(with_(morphine_continuous("2 mg/day"), patient_bolus=ptm), pump=pump)
    assert "dose_change_too_large" not in _at(p, "patient_bolus")


def test_ziconotide_patient_bolus_is_off_label():
    ptm = {"dose": "0.5 mcg", "duration": "10 min", "lockout": "4 h", "max_per_day": 2}
    p = run(with_(ziconotide("2.4 mcg/day"), patient_bolus=ptm))
    assert "patient_bolus_off_label" in codes(p)


def test_against_the_pump_an_8x_change_of_bolus_or_lockout_is_a_slip():
    old_ptm = PatientBolus(True, 10_000, 10, 120, 4)  # 0.1 mg at 10 mg/mL, 2 h lockout
    old = Therapy(
        (DrugFill("morphine", 10_000_000),), "continuous", 1, (Step(0, 200_000),), old_ptm
    )
    pump = PumpContext("ITP-40", "S", old, 10_000_000, 0)
    rx = with_(morphine_continuous("2 mg/day"), patient_bolus={**GOOD_PTM, "dose": "0.01 mg"})
    assert "unit_suspect" in _at(run(rx, pump=pump), "patient_bolus.dose")
    rx = with_(morphine_continuous("2 mg/day"), patient_bolus={**GOOD_PTM, "lockout": "16 h"})
    assert "unit_suspect" in _at(run(rx, pump=pump), "patient_bolus.lockout")
    same = with_(morphine_continuous("2 mg/day"), patient_bolus=GOOD_PTM)
    assert not _at(run(same, pump=pump), "patient_bolus.dose")


def test_a_patient_bolus_added_hours_after_an_increase_is_too_frequent():
    # morphine went from 1.5 to 2 mg/day six hours ago; a patient bolus now is another increase
    from datetime import timedelta

    from .rxfactory import NOW

    history = [
        {
            "at": (NOW - timedelta(days=10)).isoformat(),
            "drug": "morphine",
            "daily_dose": "1.5 mg/day",
        },
        {
            "at": (NOW - timedelta(hours=6)).isoformat(),
            "drug": "morphine",
            "daily_dose": "2 mg/day",
        },
    ]
    ptm = {"dose": "0.05 mg", "duration": "10 min", "lockout": "4 h", "max_per_day": 4}  # +10 %
    p = run(with_(morphine_continuous("2 mg/day"), patient_bolus=ptm, dose_history=history))
    assert "titration_too_frequent" in _at(p, "patient_bolus")
    assert "dose_change_too_large" not in _at(p, "patient_bolus")
