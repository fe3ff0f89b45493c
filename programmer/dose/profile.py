"""From the prescription's steps to the stored program: rates, profile shape, stop."""

from __future__ import annotations

import itertools
from fractions import Fraction

from programmer.dose.boluses import patient_bolus
from programmer.drugs import DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import (
    decimal_text,
    dose_per_day_text,
    volume_rate_text,
    volume_text,
)
from programmer.prescription import Prescription
from programmer.pump_limits import (
    LOW_ALARM_DEFAULT_NL,
    LOW_ALARM_MAX_NL,
    LOW_ALARM_MIN_NL,
    MAX_RATE_NL_DAY,
    MAX_STEPS_PER_DAY,
    MIN_RATE_NL_DAY,
    MINUTES_PER_DAY,
)
from programmer.therapy import (
    DrugFill,
    Step,
    Therapy,
    dose_ng,
    round_half_even,
    volume_for_dose_nl,
)


def _step_rate(
    rx: Prescription, index: int, first: DrugFill | None, unit: str | None
) -> tuple[int | None, list[Finding]]:
    """The whole nl/day a step stores, and what rounding or limits say about it."""
    step = rx.steps[index]
    out: list[Finding] = []
    if step.dose_ng_day is not None:
        if first is None:
            return None, [finding("invalid_profile", step.field,
                                  "a dose needs a drug with a concentration; the fill is saline: give a rate")]  # fmt: skip
        exact = volume_for_dose_nl(step.dose_ng_day, first.conc_ng_ml)
    else:
        assert step.rate_nl_day is not None
        exact = step.rate_nl_day
    rate = round_half_even(exact)
    if rate != exact:
        if step.dose_ng_day is not None and first is not None and unit is not None:
            given = dose_per_day_text(step.dose_ng_day, unit)
            stored = dose_per_day_text(dose_ng(rate, first.conc_ng_ml), unit)
            msg = f"{given} needs {decimal_text(exact, Fraction(1))} nl/day; the pump stores {rate} nl/day, which gives {stored}"
        else:
            msg = f"the rate is rounded to {rate} nl/day, the nearest the pump can store"
        out.append(finding("dose_rounded", step.field, msg))
    if rate == 0 and exact > 0:
        out.append(finding("below_min_rate", step.field,
                           f"{volume_rate_text(exact)} rounds to 0; the pump's minimum is "
                           f"{volume_rate_text(MIN_RATE_NL_DAY)}"))  # fmt: skip
    elif 0 < rate < MIN_RATE_NL_DAY:
        out.append(finding("below_min_rate", step.field,
                           f"{volume_rate_text(rate)} is below the pump's minimum of "
                           f"{volume_rate_text(MIN_RATE_NL_DAY)}; use 0 or a weaker concentration"))  # fmt: skip
    elif rate > MAX_RATE_NL_DAY:
        out.append(finding("above_max_rate", step.field,
                           f"{volume_rate_text(rate)} is above the pump's maximum of "
                           f"{volume_rate_text(MAX_RATE_NL_DAY)}"))  # fmt: skip
    return rate, out


def _check_profile(rx: Prescription) -> list[Finding]:
    if rx.mode != "flex":
        return []
    out: list[Finding] = []
    steps = rx.steps
    if steps and steps[0].start_min != 0:
        out.append(finding("invalid_profile", steps[0].field,
                           "the first step must start at day 1 00:00 so that every minute has a rate"))  # fmt: skip
    for prev, step in itertools.pairwise(steps):
        if step.start_min <= prev.start_min:
            out.append(finding("invalid_profile", step.field,
                               f"{step.field} starts at or before {prev.field}: list steps in time order, "
                               "each starting later than the one before"))  # fmt: skip
    per_day: dict[int, int] = {}
    for step in steps:
        per_day[step.start_min // MINUTES_PER_DAY] = (
            per_day.get(step.start_min // MINUTES_PER_DAY, 0) + 1
        )
    for day, count in sorted(per_day.items()):
        if count > MAX_STEPS_PER_DAY:
            out.append(finding("invalid_profile", "steps",
                               f"day {day + 1} has {count} steps; at most {MAX_STEPS_PER_DAY} a day"))  # fmt: skip
    return out


def build_therapy(rx: Prescription, lib: DrugLibrary) -> tuple[Therapy | None, list[Finding]]:
    """The therapy the pump would store, or None when a hard finding prevents it."""
    out: list[Finding] = []
    fills = [DrugFill(d.name, d.conc_ng_ml) for d in rx.drugs if d.conc_ng_ml is not None]
    first = fills[0] if fills else None
    first_drug = rx.drugs[0].drug if rx.drugs else None
    unit = None
    if first is not None:
        unit = first_drug.dose_unit if first_drug and first_drug.dose_unit else (
            "mg" if first.conc_ng_ml >= 1_000_000 else "mcg")  # fmt: skip
    steps: list[Step] = []
    for i, entry in enumerate(rx.steps):
        rate, found = _step_rate(rx, i, first, unit)
        out.extend(found)
        if rate is not None:
            steps.append(Step(entry.start_min, rate))
    out.extend(_check_profile(rx))
    out.extend(check_stopped(rx, steps, lib))
    low = rx.low_alarm_nl if rx.low_alarm_nl is not None else LOW_ALARM_DEFAULT_NL
    if not LOW_ALARM_MIN_NL <= low <= LOW_ALARM_MAX_NL:
        out.append(finding("invalid_low_reservoir_alarm", "low_reservoir_alarm",
                           f"{volume_text(low)} is outside the pump's {volume_text(LOW_ALARM_MIN_NL)} "
                           f"to {volume_text(LOW_ALARM_MAX_NL)}"))  # fmt: skip
    ptm, ptm_found = patient_bolus(rx, first, lib)
    out.extend(ptm_found)
    structural = any(f.severity == "hard" for f in out)
    unreadable = rx.incomplete & {
        "drugs",
        "mode",
        "cycle_days",
        "steps",
        "dose",
        "rate",
        "patient_bolus",
        "low_reservoir_alarm",
        "catheter",
    }
    if structural or unreadable or ptm is None or len(steps) != len(rx.steps):
        return None, out
    if rx.mode in ("continuous", "flex") and not steps:
        return None, out
    therapy = Therapy(
        drugs=tuple(fills),
        mode=rx.mode,
        cycle_days=rx.cycle_days,
        steps=tuple(steps),
        ptm=ptm,
        low_alarm_nl=low,
        catheter_volume_nl=rx.catheter_volume_nl or 0,
    )
    return therapy, out


def withdrawal_text(rx: Prescription, lib: DrugLibrary, extra: tuple[str, ...] = ()) -> str:
    """The label's withdrawal warnings of the drugs in this fill, the previous one and `extra`."""
    names = [d.name for d in rx.drugs]
    if rx.previous is not None:
        names += [d.name for d in rx.previous.drugs]
    warnings: list[str] = []
    for name in dict.fromkeys([*names, *extra]):
        drug = lib.find(name)
        if drug is not None and drug.withdrawal.value:
            text = f"{drug.name}: {drug.withdrawal.value} ({drug.withdrawal.source})"
            if text not in warnings:
                warnings.append(text)
    return "".join(f". WITHDRAWAL - {w}" for w in warnings)


def check_stopped(rx: Prescription, steps: list[Step], lib: DrugLibrary) -> list[Finding]:
    """A program that delivers nothing, or only the pump's keep-open rate, stops the therapy."""
    if rx.mode == "stopped":
        return [finding("therapy_stopped", "mode",
                        "mode stopped: the pump will deliver nothing, and raises a critical "
                        "alarm after 48 h" + withdrawal_text(rx, lib))]  # fmt: skip
    if not steps or any(s.rate_nl_day > MIN_RATE_NL_DAY for s in steps):
        return []
    field = "steps" if rx.mode == "flex" else rx.steps[0].field if rx.steps else "steps"
    if all(s.rate_nl_day == 0 for s in steps):
        what = "every step has rate 0" if rx.mode == "flex" else "the rate is 0"
        return [finding("therapy_stopped", field,
                        f"{what}: the pump delivers nothing" + withdrawal_text(rx, lib))]  # fmt: skip
    return [finding("therapy_stopped", field,
                    f"the program runs only the pump's minimum (keep-open) rate of "
                    f"{volume_rate_text(MIN_RATE_NL_DAY)}, the way a pump is stopped while its catheter is kept "
                    "open; if the small dose it gives is meant, override with the reason"
                    + withdrawal_text(rx, lib))]  # fmt: skip
