"""Issue 12, class 4: every maximum and every titration step on the worst sliding 24 h."""

from __future__ import annotations

from programmer.dose.context import PumpContext
from programmer.therapy import DrugFill, Step, Therapy

from .rxfactory import codes, run, with_, ziconotide


def _two_day_ziconotide() -> dict:
    # Nothing until 12:00 on day 1, 38.4 mcg/day from then until 12:00 on day 2, nothing after:
    # each calendar day holds 19.2 mcg (the US maximum), the 24 h across midnight 38.4 mcg.
    return with_(
        ziconotide(),
        mode="flex",
        cycle_days=2,
        dose=None,
        steps=[
            {"day": 1, "start": "00:00", "rate": "0 mL/day"},
            {"day": 1, "start": "12:00", "dose": "38.4 mcg/day"},
            {"day": 2, "start": "12:00", "rate": "0 mL/day"},
        ],
    )


def test_two_day_cycle_over_the_hard_maximum_across_midnight_is_refused():
    p = run(_two_day_ziconotide())
    assert [d.amount_ng for d in p.daily_doses] == [19_200]  # each calendar day: 19.2 mcg
    assert p.max_daily_doses[0].amount_ng == 38_400  # the worst 24 h
    assert "over_hard_max_daily_dose" in codes(p)
    assert "worst_24h_over_calendar_day" in codes(p)
    window = p.to_json()["worst_24h"]
    assert window["start_min"] == 720 and window["start_text"] == "day 1 12:00"


def test_the_same_dose_spread_evenly_passes():
    even = with_(ziconotide("19.2 mcg/day"))
    p = run(even)
    assert "over_hard_max_daily_dose" not in codes(p)
    assert p.max_daily_doses[0].amount_ng == 19_200


def test_titration_compares_worst_24_hours():
    # The pump runs 4.8 mcg/day evenly; the new two-day cycle gives each calendar day 5.4 mcg
    # (+0.6, within the 2.4 mcg step) but 9.6 mcg to the 24 h across midnight (+4.8 mcg).
    old = Therapy((DrugFill("ziconotide", 25_000),), "continuous", 1, (Step(0, 192_000),))
    pump = PumpContext("ITP-40", "S", old, 10_000_000, 0)
    rx = with_(
        ziconotide(),
        mode="flex",
        cycle_days=2,
        dose=None,
        steps=[
            {"day": 1, "start": "00:00", "rate": "0.048 mL/day"},
            {"day": 1, "start": "12:00", "dose": "9.6 mcg/day"},
            {"day": 2, "start": "12:00", "rate": "0.048 mL/day"},
        ],
    )
    assert "dose_change_too_large" in codes(run(rx, pump=pump))


def test_over_the_soft_maximum_only_across_midnight_must_be_retyped():
    # morphine: 12 mg/day each calendar day (under 15), 24 mg in the 24 h across midnight
    rx = {
        "pump_model": "ITP-40",
        "indication": "pain-cancer",
        "drugs": [{"name": "morphine", "concentration": "25 mg/mL"}],
        "mode": "flex",
        "cycle_days": 2,
        "steps": [
            {"day": 1, "start": "00:00", "rate": "0 mL/day"},
            {"day": 1, "start": "12:00", "dose": "24 mg/day"},
            {"day": 2, "start": "12:00", "rate": "0 mL/day"},
        ],
    }
    p = run(rx)
    found = [f for f in p.findings if f.code == "worst_24h_over_max"]
    assert found and found[0].severity == "hard" and found[0].retype
    assert found[0].field == "steps[1].dose" and found[0].value == "24 mg/day"
    assert "over_max_daily_dose" in codes(p)  # the soft maximum, on the worst 24 h, too
