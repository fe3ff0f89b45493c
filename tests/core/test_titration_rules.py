"""Issue 12, class 9: sourced increase and decrease rules, with intervals, for every drug."""

from __future__ import annotations

from datetime import timedelta

import pytest

from programmer.drugs import default_library

from .rxfactory import NOW, codes, morphine_continuous, run, with_, ziconotide


def _rx(drug: str, conc: str, dose: str, **kw) -> dict:
    return {"pump_model": "ITP-40", "drugs": [{"name": drug, "concentration": conc}],
            "mode": "continuous", "dose": dose, **kw}  # fmt: skip


def _history(drug: str, *doses: tuple[timedelta, str]) -> list[dict]:
    return [{"at": (NOW - ago).isoformat(), "drug": drug, "daily_dose": d} for ago, d in doses]


def test_every_drug_has_increase_and_decrease_rules_with_an_interval():
    lib = default_library()
    for drug in lib.drugs.values():
        if drug.is_saline:
            continue
        for jurisdiction in ("US", "EU"):
            rules = drug.titration_for(jurisdiction)
            assert rules is not None, drug.name
            assert rules.max_increase_percent or rules.max_increase_per_change_ng, drug.name
            assert rules.max_decrease_percent, drug.name
            assert rules.min_hours_between_increases, drug.name
            assert rules.source, drug.name


def test_the_morphine_rule_is_marked_unconfirmed():
    rules = default_library().drugs["morphine"].titration_for("US")
    assert rules is not None and rules.confirmed is False and "unconfirmed" in rules.source


def test_morphine_steps_within_a_day_are_too_frequent():
    # +30 % four hours after the last +30 %: each step is allowed, not twice within 24 h
    history = _history(
        "morphine", (timedelta(days=10), "1 mg/day"), (timedelta(hours=4), "1.3 mg/day")
    )
    p = run(with_(morphine_continuous("1.69 mg/day"), dose_history=history))
    assert "titration_too_frequent" in codes(p)
    assert "dose_change_too_large" not in codes(p)


@pytest.mark.parametrize(
    ("drug", "conc", "old", "new"),
    [
        ("hydromorphone", "10 mg/mL", "1 mg/day", "1.5 mg/day"),
        ("fentanyl", "1000 mcg/mL", "100 mcg/day", "150 mcg/day"),
        ("sufentanil", "50 mcg/mL", "20 mcg/day", "30 mcg/day"),
        ("clonidine", "500 mcg/mL", "100 mcg/day", "150 mcg/day"),
        ("bupivacaine", "7.5 mg/mL", "4 mg/day", "6 mg/day"),
    ],
)
def test_a_fifty_percent_step_is_too_large_for_every_drug(drug, conc, old, new):
    rx = _rx(drug, conc, new, dose_history=_history(drug, (timedelta(days=10), old)))
    assert "dose_change_too_large" in codes(run(rx))


def test_ziconotide_us_increases_cannot_follow_within_hours():
    history = _history(
        "ziconotide", (timedelta(days=20), "1.2 mcg/day"), (timedelta(hours=6), "2.4 mcg/day")
    )
    p = run(with_(ziconotide("3.6 mcg/day"), dose_history=history))
    assert "titration_too_frequent" in codes(p)


@pytest.mark.parametrize(
    ("drug", "conc", "old", "new", "flag"),
    [
        ("baclofen", "500 mcg/mL", "400 mcg/day", "320 mcg/day", False),  # -20 %: the label's step
        ("baclofen", "500 mcg/mL", "400 mcg/day", "300 mcg/day", True),  # -25 %: withdrawal risk
        ("clonidine", "500 mcg/mL", "200 mcg/day", "150 mcg/day", False),  # -25 %
        (
            "clonidine",
            "500 mcg/mL",
            "200 mcg/day",
            "140 mcg/day",
            True,
        ),  # -30 %: rebound hypertension
        ("ziconotide", "25 mcg/mL", "12 mcg/day", "1.2 mcg/day", False),  # any amount (label)
    ],
)
def test_decreases_follow_each_drugs_rule(drug, conc, old, new, flag):
    rx = _rx(drug, conc, new, dose_history=_history(drug, (timedelta(days=10), old)))
    assert ("dose_decrease_large" in codes(run(rx))) is flag


def test_a_refill_dated_years_ahead_is_a_finding_and_titration_still_runs():
    history = _history("morphine", (timedelta(days=10), "1 mg/day"))
    refill = {"removed": "4 mL", "added": "18 mL", "at": "2035-03-01T09:00:00-06:00"}
    p = run(with_(morphine_continuous("3 mg/day"), dose_history=history, refill=refill))
    assert "implausible_date" in codes(p)
    assert "dose_change_too_large" in codes(p)


def test_a_refill_dated_before_the_recorded_history_is_a_finding():
    history = _history("morphine", (timedelta(days=10), "1 mg/day"))
    refill = {"removed": "4 mL", "added": "18 mL", "at": "2015-03-01T09:00:00-06:00"}
    p = run(with_(morphine_continuous("3 mg/day"), dose_history=history, refill=refill))
    assert "implausible_date" in codes(p)
    assert "dose_change_too_large" in codes(p)


def test_a_dose_record_dated_in_the_future_is_a_finding_not_no_history():
    history = _history("morphine", (-timedelta(days=300), "1 mg/day"))
    p = run(with_(morphine_continuous("3 mg/day"), dose_history=history))
    assert "implausible_date" in codes(p)
    assert "dose_change_too_large" in codes(p)


def test_the_titration_message_names_the_indication_in_words_not_its_code():
    """A clinician reads "chronic non-cancer pain", never the prescription's code."""
    rx = with_(morphine_continuous("1.5 mg/day"), indication="pain-noncancer",
               dose_history=_history("morphine", (timedelta(days=10), "1 mg/day")))  # fmt: skip
    said = [f.message for f in run(rx).findings if f.code == "dose_change_too_large"]
    assert said, "a 50 % step is too large"
    assert all("chronic non-cancer pain" in m and "pain-noncancer" not in m for m in said), said
