"""The screening trial on a first fill: the starting daily dose its drug's sourced rule gives.

`trial` in a prescription (cli-and-prescription.md, Additions 2026-12):
    {"drug": "baclofen", "dose": "50 mcg", "kind": "bolus",
     "response": "positive", "effect_duration": "6 h"}
`kind` is `bolus` (one lumbar-puncture injection), `repeated-bolus` (the dose given is
the one that worked) or `continuous` (a catheter infusion; `dose` is then per day).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from programmer import care_findings as _care_findings  # registers the codes used here
from programmer.drugs import DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import dose_per_day_text, mass_text, minutes_text
from programmer.quantities import Dimension, QuantityError, parse_quantity
from programmer.therapy import round_half_even
from programmer.trial_rules import (
    BACLOFEN_LONG_EFFECT_MIN,
    BACLOFEN_RULE,
    FIXED_START,
    RULES,
    StartRule,
)

del _care_findings
TRIAL_KINDS = ("bolus", "repeated-bolus", "continuous")
RESPONSES = ("positive", "negative", "equivocal")
MAX_EFFECT_MIN = 7 * 1440  # a week: anything longer is a typing slip


@dataclass(frozen=True)
class TrialSpec:
    drug: str
    unit: str
    kind: str
    dose_ng: Fraction  # the effective bolus, or the daily dose of a continuous trial
    response: str
    effect_duration_min: int | None

    @property
    def dose_text(self) -> str:
        if self.kind == "continuous":
            return dose_per_day_text(self.dose_ng, self.unit)
        return mass_text(self.dose_ng, self.unit)

    def describe(self) -> str:
        effect = (
            f", effect lasted {minutes_text(self.effect_duration_min)}"
            if self.effect_duration_min is not None
            else ""
        )
        return f"{self.drug} {self.kind} trial of {self.dose_text}: {self.response}{effect}"


@dataclass(frozen=True)
class StartDose:
    drug: str
    unit: str
    amount_ng: Fraction | None  # None: the rule gives a range, not one dose
    range_ng: tuple[Fraction, Fraction] | None
    rule: str
    source: str
    wording: str
    trial: str

    @property
    def ceiling_ng(self) -> Fraction:
        """The highest starting dose the rule supports."""
        if self.amount_ng is not None:
            return self.amount_ng
        assert self.range_ng is not None
        return self.range_ng[1]

    @property
    def text(self) -> str:
        if self.amount_ng is not None:
            return dose_per_day_text(self.amount_ng, self.unit)
        assert self.range_ng is not None
        lo, hi = self.range_ng
        return f"{dose_per_day_text(lo, self.unit)} to {dose_per_day_text(hi, self.unit)}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "drug": self.drug,
            "amount_ng": None if self.amount_ng is None else round_half_even(self.amount_ng),
            "text": self.text,
            "rule": self.rule,
            "source": self.source,
            "wording": self.wording,
            "trial": self.trial,
        }
        if self.range_ng is not None:
            out["range_ng"] = [round_half_even(v) for v in self.range_ng]
        return out


def read_trial(raw: Any, lib: DrugLibrary) -> tuple[TrialSpec | None, list[Finding]]:
    """The `trial` object, or the hard findings that name what is wrong in it."""
    bad: list[Finding] = []

    def fail(field: str, message: str, code: str = "invalid_prescription") -> None:
        bad.append(finding(code, f"trial.{field}" if field else "trial", message))

    if not isinstance(raw, dict):
        fail("", "trial must be an object {...}")
        return None, bad
    allowed = {"drug", "dose", "kind", "response", "effect_duration"}
    for key in raw:
        if key not in allowed:
            fail(str(key), f"unknown field {key!r} (known here: {', '.join(sorted(allowed))})")
    name, kind, response = raw.get("drug"), raw.get("kind"), raw.get("response")
    if not isinstance(name, str) or not name.strip():
        fail("drug", "drug is required (a drug of the library)")
    if kind not in TRIAL_KINDS:
        fail("kind", f"kind must be one of {', '.join(TRIAL_KINDS)}, got {kind!r}")
    if response not in RESPONSES:
        fail("response", f"response must be one of {', '.join(RESPONSES)}, got {response!r}")
    drug = lib.find(name) if isinstance(name, str) else None
    if isinstance(name, str) and name.strip() and (drug is None or drug.is_saline):
        fail("drug", f"{name!r} is not a drug of the library (version {lib.version})")
    dose: Fraction | None = None
    if kind in TRIAL_KINDS:
        dim = Dimension.DOSE_RATE if kind == "continuous" else Dimension.MASS
        example = "'100 mcg/day'" if kind == "continuous" else "'50 mcg'"
        try:
            dose = parse_quantity(raw.get("dose"), dim).value
        except QuantityError as exc:
            fail("dose", f"dose (like {example}): {exc.reason}", "invalid_quantity")
        if dose is not None and dose <= 0:
            fail("dose", "the trial dose must be above 0", "invalid_quantity")
    effect: int | None = None
    if raw.get("effect_duration") is not None:
        try:
            q = parse_quantity(raw["effect_duration"], Dimension.DURATION)
        except QuantityError as exc:
            fail("effect_duration", f"effect_duration: {exc.reason}", "invalid_quantity")
        else:
            if q.value.denominator != 1 or not 0 <= q.value <= MAX_EFFECT_MIN:
                fail("effect_duration",
                     f"effect_duration {q.text!r} must be whole minutes from 0 to 7 days",
                     "invalid_quantity")  # fmt: skip
            else:
                effect = int(q.value)
    if bad or drug is None or dose is None:
        return None, bad
    unit = drug.dose_unit or "mg"
    return TrialSpec(drug.name, unit, str(kind), dose, str(response), effect), []


def start_dose(trial: TrialSpec, lib: DrugLibrary) -> tuple[StartDose | None, str]:
    """The rule's starting daily dose, or None and why there is none."""
    if trial.response != "positive":
        return (
            None,
            f"the {trial.drug} trial was {trial.response}: no starting dose follows from it",
        )
    rule = RULES.get(trial.drug)
    if rule is None:
        return None, f"the library has no sourced starting-dose rule for {trial.drug}"
    source = lib.sources.get(rule.source, rule.source)
    if rule.kind == BACLOFEN_RULE:
        return _baclofen(trial, rule, source)
    if rule.kind == FIXED_START:
        return StartDose(trial.drug, trial.unit, rule.fixed_ng_day, None, rule.kind, source,
                         rule.wording, trial.describe()), ""  # fmt: skip
    return StartDose(trial.drug, trial.unit, None, rule.range_ng_day, rule.kind, source,
                     rule.wording, trial.describe()), ""  # fmt: skip


def _baclofen(trial: TrialSpec, rule: StartRule, source: str) -> tuple[StartDose | None, str]:
    if trial.kind == "continuous":
        return None, (
            "the baclofen label's rule is for a screening bolus; a continuous catheter trial "
            "has no sourced starting-dose rule"
        )
    if trial.effect_duration_min is None:
        return None, (
            "the baclofen label's rule needs how long the screening dose worked: "
            "give trial.effect_duration"
        )
    if trial.effect_duration_min > BACLOFEN_LONG_EFFECT_MIN:
        amount, how = trial.dose_ng, "the screening dose over 24 h (effect lasted more than 8 h)"
    else:
        amount, how = 2 * trial.dose_ng, "twice the screening dose over 24 h (effect 8 h or less)"
    return StartDose(trial.drug, trial.unit, amount, None, f"{rule.kind}: {how}", source,
                     rule.wording, trial.describe()), ""  # fmt: skip


def check_start(
    trial: TrialSpec, lib: DrugLibrary, daily_ng: dict[str, Fraction], field: str
) -> tuple[StartDose | None, list[Finding]]:
    """The starting dose, and the prescription's daily dose of the trial drug against it."""
    start, why_not = start_dose(trial, lib)
    if start is None:
        code = "trial_not_positive" if trial.response != "positive" else "start_dose_unavailable"
        return None, [finding(code, "trial", why_not)]
    given = daily_ng.get(trial.drug)
    if given is None:
        return start, [finding("start_dose_unavailable", "drugs",
                               f"the trial was with {trial.drug}, which this fill does not hold; "
                               "its starting dose is not checked")]  # fmt: skip
    if given > start.ceiling_ng:
        limit = "the starting dose" if start.amount_ng is not None else "the top of the range"
        return start, [finding("start_dose_above_trial", field,
                               f"{trial.drug} starts at {dose_per_day_text(given, trial.unit)}, above "
                               f"{limit} {start.text} ({start.rule}; {start.source})")]  # fmt: skip
    return start, []


def apply_trial(
    raw: Any, lib: DrugLibrary, daily: list[tuple[str, Fraction]], field: str
) -> tuple[dict[str, Any], list[Finding]]:
    """What a plan adds for its `trial`: {"start_dose": ...} and the findings."""
    trial, bad = read_trial(raw, lib)
    if trial is None:
        return {"start_dose": None}, bad
    start, found = check_start(trial, lib, dict(daily), field)
    return {"start_dose": None if start is None else start.to_json()}, found
