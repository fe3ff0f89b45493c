"""The starting daily dose a screening trial gives at the first fill, by each drug's sourced rule."""

from __future__ import annotations

from typing import Any

import pytest

from programmer.planner import plan
from tests.core.rxfactory import NOW, baclofen_flex, morphine_continuous, with_, ziconotide


def _baclofen(dose: str, *, trial_dose: str = "50 mcg", effect: str | None = "6 h",
              response: str = "positive", kind: str = "bolus") -> dict[str, Any]:  # fmt: skip
    trial: dict[str, Any] = {"drug": "baclofen", "dose": trial_dose, "kind": kind,
                             "response": response}  # fmt: skip
    if effect is not None:
        trial["effect_duration"] = effect
    return with_(baclofen_flex(), mode="continuous", steps=None, cycle_days=None, dose=dose,
                 trial=trial)  # fmt: skip


def _codes(p: Any) -> list[str]:
    return [f.code for f in p.findings]


def test_baclofen_short_effect_starts_at_twice_the_screening_dose_over_24_h():
    """Lioresal Intrathecal label: "the screening dose that gave a positive effect should be
    doubled and administered over a 24-hour period, unless the efficacy of the bolus dose was
    maintained for more than 8 hours"."""
    out = plan(_baclofen("100 mcg/day"), now=NOW).to_json()
    start = out["start_dose"]
    assert start["amount_ng"] == 100_000 and start["text"] == "100 mcg/day"
    assert start["drug"] == "baclofen"
    assert "Lioresal Intrathecal" in start["source"]
    assert "twice" in start["rule"]
    assert "start_dose_above_trial" not in [f["code"] for f in out["findings"]]


def test_baclofen_long_effect_starts_at_the_screening_dose_itself():
    """Lioresal Intrathecal label: "...in which case the starting daily dose should be the
    screening dose delivered over a 24-hour period" (effect maintained for more than 8 hours)."""
    start = plan(_baclofen("50 mcg/day", effect="481 min"),
                 now=NOW).to_json()["start_dose"]  # fmt: skip
    assert start["amount_ng"] == 50_000


def test_baclofen_exactly_8_h_is_not_more_than_8_h_so_the_dose_is_doubled():
    """Lioresal Intrathecal label: only an effect "maintained for more than 8 hours" keeps the
    screening dose; 8 hours exactly doubles it."""
    assert (
        plan(_baclofen("100 mcg/day", effect="8 h"), now=NOW).to_json()["start_dose"]["amount_ng"]
        == 100_000
    )


def test_a_start_above_the_trial_rule_is_a_soft_finding_that_names_both_doses():
    """Lioresal Intrathecal label rule (double the 50 mcg screening dose): 100 mcg/day.
    Starting at 200 mcg/day (twice that, a classic doubling slip) must be stopped."""
    p = plan(_baclofen("200 mcg/day"), now=NOW)
    found = [f for f in p.findings if f.code == "start_dose_above_trial"]
    assert len(found) == 1 and found[0].severity == "soft"
    assert "200 mcg/day" in found[0].message and "100 mcg/day" in found[0].message
    assert not p.ok
    assert plan(_baclofen("200 mcg/day"), now=NOW,
                overrides={"start_dose_above_trial": "slow responder, discussed"}).ok  # fmt: skip


def test_baclofen_without_effect_duration_gives_no_start_dose_and_says_why():
    """Lioresal Intrathecal label: the rule depends on whether the effect lasted more than 8 h;
    without that duration no starting dose is derived."""
    out = plan(_baclofen("100 mcg/day", effect=None), now=NOW).to_json()
    assert out["start_dose"] is None
    info = [f for f in out["findings"] if f["code"] == "start_dose_unavailable"]
    assert info and "effect_duration" in info[0]["message"]


def test_a_negative_trial_proposes_nothing_and_needs_a_reason_to_go_on():
    out = plan(_baclofen("100 mcg/day", response="negative"), now=NOW).to_json()
    assert out["start_dose"] is None
    assert "trial_not_positive" in [f["code"] for f in out["findings"]]
    assert out["ok"] is False


def test_ziconotide_starts_at_the_labels_fixed_dose_whatever_the_trial():
    """Prialt US label: "Prialt should be initiated at no more than 2.4 mcg/day (0.1 mcg/hr)
    and titrated to patient response"."""
    rx = with_(ziconotide("3.6 mcg/day"),
               trial={"drug": "ziconotide", "dose": "5 mcg", "kind": "bolus",
                      "response": "positive"})  # fmt: skip
    out = plan(rx, now=NOW).to_json()
    assert out["start_dose"]["amount_ng"] == 2_400
    assert "Prialt" in out["start_dose"]["source"]
    assert "start_dose_above_trial" in [f["code"] for f in out["findings"]]
    ok = plan(with_(rx, dose="2.4 mcg/day"), now=NOW).to_json()
    assert "start_dose_above_trial" not in [f["code"] for f in ok["findings"]]


def test_morphine_shows_the_pacc_range_beside_the_trial_never_a_converted_dose():
    """PACC 2017 recommended starting dosage range for intrathecal morphine: 0.1-0.5 mg/day.
    The trial's bolus is shown beside it; no conversion from it is computed."""
    rx = with_(morphine_continuous("0.3 mg/day"),
               drugs=[{"name": "morphine", "concentration": "1 mg/mL"}],
               trial={"drug": "morphine", "dose": "0.2 mg", "kind": "bolus",
                      "response": "positive", "effect_duration": "20 h"})  # fmt: skip
    out = plan(rx, now=NOW).to_json()
    start = out["start_dose"]
    assert start["amount_ng"] is None
    assert start["range_ng"] == [100_000, 500_000]
    assert "0.2 mg" in start["trial"] and "Polyanalgesic" in start["source"]
    high = plan(with_(rx, dose="0.6 mg/day"), now=NOW)
    assert "start_dose_above_trial" in _codes(high)


def test_a_drug_without_a_rule_gives_no_start_dose_and_says_so():
    rx = with_(morphine_continuous(),
               drugs=[{"name": "saline"}], dose=None, rate="0.5 mL/day",
               trial={"drug": "morphine", "dose": "0.2 mg", "kind": "bolus",
                      "response": "positive"})  # fmt: skip
    out = plan(rx, now=NOW).to_json()
    assert out["start_dose"]["range_ng"] == [100_000, 500_000]
    assert any(f["code"] == "start_dose_unavailable" and "does not hold" in f["message"]
               for f in out["findings"])  # fmt: skip


@pytest.mark.parametrize(
    ("trial", "field"),
    [
        ({"drug": "baclofen", "dose": "50", "kind": "bolus", "response": "positive"}, "trial.dose"),
        ({"drug": "baclofen", "dose": "50 mcg/day", "kind": "bolus", "response": "positive"},
         "trial.dose"),
        ({"drug": "baclofen", "dose": "50 mcg", "kind": "spinal", "response": "positive"},
         "trial.kind"),
        ({"drug": "baclofen", "dose": "50 mcg", "kind": "bolus", "response": "yes"},
         "trial.response"),
        ({"drug": "aspirin", "dose": "50 mcg", "kind": "bolus", "response": "positive"},
         "trial.drug"),
        ({"drug": "baclofen", "dose": "50 mcg", "kind": "bolus", "response": "positive",
          "effect_duration": "30 day"}, "trial.effect_duration"),
        ({"drug": "baclofen", "dose": "50 mcg", "kind": "bolus", "response": "positive",
          "extra": 1}, "trial.extra"),
        ("baclofen 50 mcg", "trial"),
    ],
)  # fmt: skip
def test_a_malformed_trial_is_a_hard_finding_naming_its_field(trial: Any, field: str):
    p = plan(with_(_baclofen("100 mcg/day"), trial=trial), now=NOW)
    hard = [f for f in p.findings if f.severity == "hard"]
    assert any(f.field == field for f in hard), [f.to_json() for f in p.findings]
    assert not p.ok
