"""Titration: the change from the running dose against each drug's rules."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from programmer.dose.context import PumpContext
from programmer.dose.rolling import therapy_worst_window
from programmer.drugs import Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import (
    decimal_text,
    dose_per_day_text,
    mass_text,
)
from programmer.patients.words import INDICATION, word
from programmer.prescription import DoseRecord, Prescription


def _increases(history: Sequence[DoseRecord], drug: str) -> list[datetime]:
    """When each recorded increase of `drug` took effect."""
    records = sorted((r for r in history if r.drug == drug), key=lambda r: r.at)
    return [b.at for a, b in itertools.pairwise(records) if b.daily_ng > a.daily_ng]


def check_titration(
    drug: Drug,
    unit: str,
    new_ng: Fraction,
    current_ng: Fraction | None,
    history: Sequence[DoseRecord],
    at: datetime,
    rx: Prescription,
    lib: DrugLibrary,
) -> list[Finding]:
    """The change from the running dose against the drug's titration rules."""
    if current_ng is None or new_ng == current_ng:
        return []
    rules = drug.titration_for(rx.jurisdiction)
    default = lib.default_titration
    out: list[Finding] = []
    old_text, new_text = dose_per_day_text(current_ng, unit), dose_per_day_text(new_ng, unit)
    if new_ng < current_ng:
        table = (rules.max_decrease_percent if rules and rules.max_decrease_percent
                 else default.max_decrease_percent)  # fmt: skip
        limit = default.percent_for(table, rx.indication)
        drop = (current_ng - new_ng) * 100 / current_ng if current_ng else Fraction(0)
        if limit is not None and drop > limit:
            out.append(finding("dose_decrease_large", "steps",
                               f"{drug.name} falls from {old_text} to {new_text} (-{decimal_text(drop, Fraction(1, 10))} %), "
                               f"more than {limit} % at once"))  # fmt: skip
        return out
    rise = new_ng - current_ng
    if rules is not None and rules.max_increase_per_change_ng is not None:
        if rise > rules.max_increase_per_change_ng:
            out.append(finding("dose_change_too_large", "steps",
                               f"{drug.name} rises from {old_text} to {new_text} (+{mass_text(rise, unit)}/day); "
                               f"at most +{mass_text(rules.max_increase_per_change_ng, unit)}/day per increase ({rules.source})"))  # fmt: skip
    else:
        has_rule = rules is not None and rules.max_increase_percent
        table = rules.max_increase_percent if rules and has_rule else default.max_increase_percent
        source = rules.source if rules and has_rule else lib.sources.get("ITP_POLICY", "")
        limit = (rules or default).percent_for(table, rx.indication)
        if current_ng > 0 and limit is not None:
            pct = rise * 100 / current_ng
            if pct > limit:
                out.append(finding("dose_change_too_large", "steps",
                                   f"{drug.name} rises from {old_text} to {new_text} (+{decimal_text(pct, Fraction(1, 10))} %); "
                                   f"the limit for {word(INDICATION, rx.indication) or 'an unknown indication'} is +{limit} % ({source})"))  # fmt: skip
    if rules is None:
        return out
    increases = [t for t in _increases(history, drug.name) if t <= at]
    if rules.min_hours_between_increases is not None and increases:
        since = at - increases[-1]
        if since < timedelta(hours=rules.min_hours_between_increases):
            hours = decimal_text(Fraction(int(since.total_seconds()), 3600), Fraction(1, 10))
            out.append(finding("titration_too_frequent", "steps",
                               f"the last {drug.name} increase was {hours} h ago; increases must be at least "
                               f"{rules.min_hours_between_increases} h apart ({rules.source})"))  # fmt: skip
    if rules.max_increases is not None:
        count, days = rules.max_increases
        recent = [t for t in increases if at - t < timedelta(days=days)]
        if len(recent) + 1 > count:
            out.append(finding("titration_too_frequent", "steps",
                               f"this would be increase {len(recent) + 1} of {drug.name} within {days} days; "
                               f"at most {count} ({rules.source})"))  # fmt: skip
    return out


REFILL_AT_FUTURE = timedelta(hours=1)  # clocks differ a little; a refill is not recorded ahead


def check_dates(
    rx: Prescription, history: Sequence[DoseRecord], now: datetime
) -> tuple[datetime, list[Finding]]:
    """(the instant the titration checks run at, findings on dates that cannot be right).

    A typo in `refill.at` or a dose record dated ahead must never turn the titration checks
    off. `refill.at` ahead of now, or before a dose change the history already records,
    contradicts what is known: the checks then run at `now`, and the date is a finding.
    """
    out: list[Finding] = []
    at = now
    if rx.refill is not None and rx.refill.at is not None:
        given = rx.refill.at
        later = [r for r in history if given < r.at <= now + REFILL_AT_FUTURE]
        if given - now > REFILL_AT_FUTURE:
            out.append(finding("implausible_date", "refill.at",
                               f"refill.at {given.isoformat()} is {_span(given - now)} from now "
                               f"({now.isoformat(timespec='minutes')}): check the year, month and day"))  # fmt: skip
        elif later:
            first = min(later, key=lambda r: r.at)
            out.append(finding("implausible_date", "refill.at",
                               f"refill.at {given.isoformat()} is before the {first.drug} dose change "
                               f"recorded on {first.at.isoformat()}: check the year, month and day"))  # fmt: skip
        else:
            at = given
    for i, record in enumerate(history):
        if record.at - now > REFILL_AT_FUTURE:
            out.append(finding("implausible_date", f"dose_history[{i}].at",
                               f"a {record.drug} dose is dated {record.at.isoformat()}, in the "
                               "future: it is taken as the dose running now"))  # fmt: skip
    return at, out


def _span(delta: timedelta) -> str:
    days = abs(delta.days if delta.days >= 0 else (-delta).days)
    word = "ahead" if delta > timedelta(0) else "back"
    return f"{days} days {word}" if days else f"{int(abs(delta.total_seconds()) // 3600)} h {word}"


def current_dose(
    pump: PumpContext | None, drug: str, history: Sequence[DoseRecord], at: datetime
) -> Fraction | None:
    """The daily dose of `drug` running now (its worst 24 h of basal): the pump's, else the history."""
    if pump is not None and pump.therapy is not None:
        for fill in pump.therapy.drugs:
            if fill.name == drug:
                return therapy_worst_window(pump.therapy).basal_dose_ng(fill.conc_ng_ml)
        return Fraction(0)
    records = [r for r in history if r.drug == drug]
    earlier = [r for r in records if r.at <= at]
    ahead = [r for r in records if r.at > at]
    if ahead:  # dated in the future (a typo, said by check_dates): still the latest dose known
        return max(ahead, key=lambda r: r.at).daily_ng
    if not earlier:
        return None
    return max(earlier, key=lambda r: r.at).daily_ng


def possible_dose(pump: PumpContext | None, drug: str) -> Fraction | None:
    """The most of `drug` the pump's program can give in 24 h now, every patient bolus taken."""
    if pump is None or pump.therapy is None:
        return None
    for fill in pump.therapy.drugs:
        if fill.name == drug:
            return therapy_worst_window(pump.therapy).dose_ng(fill.conc_ng_ml)
    return Fraction(0)


def check_patient_bolus_titration(
    drug: Drug,
    unit: str,
    new_possible_ng: Fraction,
    new_basal_ng: Fraction,
    current_possible_ng: Fraction | None,
    history: Sequence[DoseRecord],
    at: datetime,
    rx: Prescription,
    lib: DrugLibrary,
) -> list[Finding]:
    """A new or larger patient bolus raises the possible daily dose: that is a titration too.

    2 mg/day of basal with a patient bolus that allows 12 mg more is a step to 14 mg; and
    like any increase it waits the drug's interval after the last one in the history.
    Without the pump the dose running now (basal, from the history) is the base.
    """
    if current_possible_ng is None or new_possible_ng <= new_basal_ng:
        return []
    if new_possible_ng <= current_possible_ng:
        return []
    found = check_titration(drug, unit, new_possible_ng, current_possible_ng, history, at, rx, lib)
    return [
        dataclasses.replace(
            f,
            field="patient_bolus",
            message="with every allowed patient bolus taken, the possible daily dose: " + f.message,
        )
        for f in found
        if f.code in ("dose_change_too_large", "titration_too_frequent")
    ]
