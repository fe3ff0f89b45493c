"""The change shown side by side before sending: every field that differs, in clinician
units beside the values the pump stores, and nothing that does not differ."""

from __future__ import annotations

from programmer.session.changes import ChangeRow, daily_change, step_text, therapy_changes
from programmer.therapy import DrugFill, PatientBolus, Step, Therapy

MORPHINE_10 = (DrugFill("morphine", 10_000_000),)
MORPHINE_20 = (DrugFill("morphine", 20_000_000),)


def _continuous(rate: int, drugs: tuple[DrugFill, ...] = MORPHINE_10) -> Therapy:
    return Therapy(drugs, "continuous", 1, (Step(0, rate),))


def test_a_step_shows_the_dose_and_the_rate_the_pump_stores() -> None:
    assert step_text(170_000, _continuous(1)) == "morphine 1.7 mg/day = 0.17 mL/day (≈7.08333 µL/h)"
    saline = Therapy((), "continuous", 1, (Step(0, 48_000),))
    assert step_text(48_000, saline) == "0.048 mL/day (2 µL/h)"
    mix = (DrugFill("morphine", 10_000_000), DrugFill("clonidine", 100_000))
    assert step_text(240_000, _continuous(1, mix)) == (
        "morphine 2.4 mg/day, clonidine 24 mcg/day = 0.24 mL/day (10 µL/h)"
    )


def test_continuous_to_flex_lists_mode_new_steps_and_the_daily_dose() -> None:
    old = _continuous(100_000)
    new = Therapy(
        MORPHINE_10, "flex", 1, (Step(0, 100_000), Step(480, 170_000), Step(1200, 100_000))
    )
    rows = therapy_changes(old, new)
    assert ChangeRow("mode", "continuous", "flex") in rows
    assert ChangeRow("step 08:00", "—", "morphine 1.7 mg/day = 0.17 mL/day (≈7.08333 µL/h)") in rows
    assert not [r for r in rows if r.field == "step 00:00"], "an unchanged step is not a change"
    # 00:00-08:00 and 20:00-24:00 at 0.1 mL/day, 08:00-20:00 at 0.17 mL/day
    assert ChangeRow("daily dose morphine", "1 mg/day", "1.35 mg/day") in rows
    assert ChangeRow("daily volume", "0.1 mL/day", "0.135 mL/day") in rows


def test_a_new_concentration_at_the_same_rate_shows_at_every_step() -> None:
    rows = therapy_changes(_continuous(100_000), _continuous(100_000, MORPHINE_20))
    assert ChangeRow("drugs", "morphine 10 mg/mL", "morphine 20 mg/mL") in rows
    assert ChangeRow("step 00:00", "morphine 1 mg/day = 0.1 mL/day (≈4.16667 µL/h)",
                     "morphine 2 mg/day = 0.1 mL/day (≈4.16667 µL/h)") in rows  # fmt: skip
    assert ChangeRow("daily dose morphine", "1 mg/day", "2 mg/day") in rows
    assert not [r for r in rows if r.field == "daily volume"]
    assert daily_change(_continuous(100_000), _continuous(100_000, MORPHINE_20)) == 0


def test_nothing_changed_shows_nothing_and_an_unknown_pump_shows_unknown() -> None:
    t = _continuous(100_000)
    assert therapy_changes(t, t) == []
    rows = therapy_changes(None, t)
    assert ChangeRow("drugs", "unknown", "morphine 10 mg/mL") in rows
    assert ChangeRow("step 00:00", "—", "morphine 1 mg/day = 0.1 mL/day (≈4.16667 µL/h)") in rows


def test_patient_bolus_changes_are_shown() -> None:
    old = _continuous(100_000)
    new = Therapy(MORPHINE_10, "continuous", 1, (Step(0, 100_000),),
                  PatientBolus(True, 10_000, 10, 180, 3))  # fmt: skip
    (row,) = [r for r in therapy_changes(old, new) if r.field == "patient bolus"]
    assert row.old == "off" and "0.01 mL over 10 min, lockout 3 h, at most 3/day" in row.new
