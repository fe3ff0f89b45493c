"""The safety checks. Each returns findings; a limit is allowed AT the limit (<=).

Every message names the value, the limit and the unit, so a person can act on
it without opening a manual.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from programmer.drugs import Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import (
    concentration_text,
    decimal_text,
    dose_per_day_text,
    mass_text,
    volume_rate_text,
    volume_text,
)
from programmer.prescription import DoseRecord, Prescription
from programmer.pump_limits import (
    LOW_ALARM_DEFAULT_NL,
    LOW_ALARM_MAX_NL,
    LOW_ALARM_MIN_NL,
    MAX_DRUGS,
    MAX_RATE_NL_DAY,
    MAX_STEPS_PER_DAY,
    MIN_RATE_NL_DAY,
    MINUTES_PER_DAY,
    PTM_DURATION_MAX,
    PTM_DURATION_MIN,
    PTM_LOCKOUT_MAX,
    PTM_VOLUME_MAX_NL,
    PTM_VOLUME_MIN_NL,
)
from programmer.therapy import (
    DrugFill,
    PatientBolus,
    Step,
    Therapy,
    dose_ng,
    round_half_even,
    volume_for_dose_nl,
)

if TYPE_CHECKING:
    from programmer.planner import BolusPlan, PumpContext

DISCREPANCY_LIMIT = Fraction(145, 1000)  # pump accuracy ±14.5 % (lessons-from-the-field)


def _conc_text(conc: int, drug: Drug | None) -> str:
    unit = drug.dose_unit if drug and drug.dose_unit else ("mg" if conc >= 1_000_000 else "mcg")
    return concentration_text(conc, unit)


def check_drugs(rx: Prescription, lib: DrugLibrary) -> list[Finding]:
    out: list[Finding] = []
    real = [d for d in rx.drugs if not (d.drug and d.drug.is_saline)]
    if len(rx.drugs) > MAX_DRUGS:
        out.append(finding("invalid_prescription", "drugs",
                           f"{len(rx.drugs)} drugs listed; the pump holds at most {MAX_DRUGS}"))  # fmt: skip
    seen: set[str] = set()
    for d in rx.drugs:
        if d.name in seen:
            out.append(finding("invalid_prescription", d.field, f"{d.name} is listed twice"))
        seen.add(d.name)
        if d.drug is None:
            out.append(finding("unknown_drug", d.field + ".name",
                               f"{d.written!r} is not in the drug library (version {lib.version}); "
                               "no dose limits can be checked for it"))  # fmt: skip
            continue
        if not d.drug.approved:
            out.append(finding("off_label", d.field + ".name",
                               f"{d.drug.name} is not approved for implanted intrathecal pumps"))  # fmt: skip
        if d.conc_ng_ml is None:
            continue
        out.extend(_check_concentration(d.drug, d.conc_ng_ml, d.field + ".concentration", lib))
    if len(real) > 1:
        names = ", ".join(d.name for d in real)
        out.append(finding("admixture", "drugs",
                           f"{len(real)} drugs in one fill ({names}): admixtures are off-label and "
                           "raise the rate of pump motor failure"))  # fmt: skip
    if len(rx.drugs) > 1:
        for d in rx.drugs:
            if d.drug is not None and not d.drug.mix_with_others.value:
                out.append(finding("mixing_not_allowed", d.field,
                                   f"{d.drug.name} must not be mixed with other drugs "
                                   f"({d.drug.mix_with_others.source})"))  # fmt: skip
    return out


def _check_concentration(drug: Drug, conc: int, field: str, lib: DrugLibrary) -> list[Finding]:
    out: list[Finding] = []
    text = _conc_text(conc, drug)
    if drug.max_conc is not None and conc > drug.max_conc.value:
        out.append(finding("over_max_concentration", field,
                           f"{drug.name} at {text} is above the library's maximum of "
                           f"{_conc_text(drug.max_conc.value, drug)} ({drug.max_conc.source})"))  # fmt: skip
    usual = drug.usual_conc
    f = lib.unit_suspect_factor
    if usual is not None and (conc > usual.max_ng * f or conc * f < usual.min_ng):
        out.append(finding("unit_suspect", field,
                           f"{drug.name} at {text} is more than {f}x outside the usual "
                           f"{_conc_text(int(usual.min_ng), drug)} to "
                           f"{_conc_text(int(usual.max_ng), drug)}: check mg against mcg"))  # fmt: skip
    return out


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


def _patient_bolus(
    rx: Prescription, first: DrugFill | None, lib: DrugLibrary
) -> tuple[PatientBolus | None, list[Finding]]:
    pb = rx.patient_bolus
    if pb is None:
        return PatientBolus(), []
    out: list[Finding] = []
    for d in rx.drugs:
        if d.drug is not None and not d.drug.patient_bolus_allowed.value:
            out.append(finding("patient_bolus_not_allowed", "patient_bolus",
                               f"patient boluses are not allowed with {d.drug.name} "
                               f"({d.drug.patient_bolus_allowed.source})"))  # fmt: skip
    if pb.dose_ng is not None:
        if first is None:
            return None, [*out, finding("invalid_patient_bolus", "patient_bolus.dose",
                                        "a dose needs a drug with a concentration")]  # fmt: skip
        exact = volume_for_dose_nl(pb.dose_ng, first.conc_ng_ml)
    else:
        assert pb.volume_nl is not None
        exact = pb.volume_nl
    volume = round_half_even(exact)
    if not PTM_VOLUME_MIN_NL <= volume <= PTM_VOLUME_MAX_NL:
        out.append(finding("invalid_patient_bolus", "patient_bolus",
                           f"a patient bolus of {volume_text(volume)} is outside the pump's "
                           f"{volume_text(PTM_VOLUME_MIN_NL)} to {volume_text(PTM_VOLUME_MAX_NL)}"))  # fmt: skip
    if not PTM_DURATION_MIN <= pb.duration_min <= PTM_DURATION_MAX:
        out.append(finding("invalid_patient_bolus", "patient_bolus.duration",
                           f"duration {pb.duration_min} min is outside {PTM_DURATION_MIN} to "
                           f"{PTM_DURATION_MAX} min"))  # fmt: skip
    if not pb.duration_min <= pb.lockout_min <= PTM_LOCKOUT_MAX:
        out.append(finding("invalid_patient_bolus", "patient_bolus.lockout",
                           f"lockout {pb.lockout_min} min must be from the duration "
                           f"({pb.duration_min} min) to {PTM_LOCKOUT_MAX} min (24 h)"))  # fmt: skip
    if out:
        return None, out
    return PatientBolus(True, volume, pb.duration_min, pb.lockout_min, pb.max_per_day), out


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
    if rx.mode == "stopped":
        out.append(finding("therapy_stopped", "mode",
                           "mode stopped: the pump will deliver nothing, and raises a critical "
                           "alarm after 48 h"))  # fmt: skip
    elif rx.mode == "flex" and steps and all(s.rate_nl_day == 0 for s in steps):
        out.append(
            finding("therapy_stopped", "steps", "every step has rate 0: the pump delivers nothing")
        )
    low = rx.low_alarm_nl if rx.low_alarm_nl is not None else LOW_ALARM_DEFAULT_NL
    if not LOW_ALARM_MIN_NL <= low <= LOW_ALARM_MAX_NL:
        out.append(finding("invalid_low_reservoir_alarm", "low_reservoir_alarm",
                           f"{volume_text(low)} is outside the pump's {volume_text(LOW_ALARM_MIN_NL)} "
                           f"to {volume_text(LOW_ALARM_MAX_NL)}"))  # fmt: skip
    ptm, ptm_found = _patient_bolus(rx, first, lib)
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


def check_daily_dose(
    drug: Drug, unit: str, base_ng: Fraction, most_ng: Fraction, rx: Prescription, lib: DrugLibrary
) -> list[Finding]:
    out: list[Finding] = []
    limit = drug.daily_max_for(rx.jurisdiction)
    with_ptm = " with every allowed patient bolus taken" if most_ng != base_ng else ""
    shown = dose_per_day_text(most_ng, unit)
    if limit is not None and limit.hard_ng is not None and most_ng > limit.hard_ng:
        out.append(finding("over_hard_max_daily_dose", "steps",
                           f"{drug.name} {shown}{with_ptm} is above the {rx.jurisdiction} label's "
                           f"absolute maximum of {dose_per_day_text(limit.hard_ng, unit)} ({limit.source})"))  # fmt: skip
    elif limit is not None and limit.soft_ng is not None and most_ng > limit.soft_ng:
        out.append(finding("over_max_daily_dose", "steps",
                           f"{drug.name} {shown}{with_ptm} is above the library's maximum of "
                           f"{dose_per_day_text(limit.soft_ng, unit)} ({limit.source})"))  # fmt: skip
    usual = drug.usual_daily
    f = lib.unit_suspect_factor
    if (
        usual is not None
        and base_ng > 0
        and (base_ng > usual.max_ng * f or base_ng * f < usual.min_ng)
    ):
        out.append(finding("unit_suspect", "steps",
                           f"{drug.name} {dose_per_day_text(base_ng, unit)} is more than {f}x outside the "
                           f"usual {dose_per_day_text(usual.min_ng, unit)} to "
                           f"{dose_per_day_text(usual.max_ng, unit)}: check mg against mcg and h against day"))  # fmt: skip
    return out


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
                                   f"the limit for {rx.indication or 'an unknown indication'} is +{limit} % ({source})"))  # fmt: skip
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


def check_bolus(
    kind: str, volume_nl: int, rate_nl_day: int, reservoir_nl: int | None
) -> list[Finding]:
    out: list[Finding] = []
    if volume_nl < 1:
        out.append(finding("invalid_bolus", "bolus", f"a {kind} bolus of {volume_nl} nl is empty"))
    if rate_nl_day < MIN_RATE_NL_DAY:
        out.append(finding("invalid_bolus", "bolus",
                           f"the {kind} bolus rate {volume_rate_text(rate_nl_day)} is below the pump's "
                           f"minimum of {volume_rate_text(MIN_RATE_NL_DAY)}"))  # fmt: skip
    elif rate_nl_day > MAX_RATE_NL_DAY:
        out.append(finding("invalid_bolus", "bolus",
                           f"the {kind} bolus rate {volume_rate_text(rate_nl_day)} is above the pump's "
                           f"maximum of {volume_rate_text(MAX_RATE_NL_DAY)}"))  # fmt: skip
    if reservoir_nl is not None and volume_nl > reservoir_nl:
        out.append(finding("bolus_over_reservoir", "bolus",
                           f"the {kind} bolus of {volume_text(volume_nl)} is more than the "
                           f"{volume_text(reservoir_nl)} in the reservoir"))  # fmt: skip
    return out


def check_drug_change(
    rx: Prescription,
    therapy: Therapy,
    previous: tuple[tuple[DrugFill, ...], int] | None,
    bolus: BolusPlan | None,
) -> list[Finding]:
    """A new drug or concentration needs a refill and a bridge bolus."""
    if previous is None:
        if rx.refill is not None:
            return [finding("previous_unknown", "previous",
                            "the drug in the catheter now is unknown: connect the pump or give "
                            "previous.drugs and previous.rate to check for a bridge bolus")]  # fmt: skip
        return []
    old = sorted((d.name, d.conc_ng_ml) for d in previous[0])
    new = sorted((d.name, d.conc_ng_ml) for d in therapy.drugs)
    if old == new:
        return []
    if rx.refill is None:
        return [finding("invalid_prescription", "drugs",
                        "the drugs or concentrations differ from those in the pump, which can only "
                        "change with a refill: add the refill, or correct the drugs")]  # fmt: skip
    if not old:
        # The catheter holds saline: bridging it at the old (often minimum) rate only delays the drug.
        if bolus is not None and bolus.kind == "bridge":
            days = decimal_text(
                Fraction(bolus.volume_nl, max(bolus.rate_nl_day, 1)), Fraction(1, 10)
            )
            return [finding("bridge_from_saline", "bolus",
                            f"the catheter holds saline: a bridge bolus would run it at the old rate for {days} days "
                            "before any drug reaches the patient")]  # fmt: skip
        return []
    if bolus is None or bolus.kind != "bridge":
        olds = ", ".join(f"{n} {_conc_text(c, None)}" for n, c in old) or "saline"
        news = ", ".join(f"{n} {_conc_text(c, None)}" for n, c in new) or "saline"
        return [finding("bridge_bolus_needed", "bolus",
                        f"the fill changes from {olds} to {news}; the catheter still holds the old "
                        "drug, which the new rate would deliver at the wrong dose")]  # fmt: skip
    return []


def check_refill(
    rx: Prescription, therapy: Therapy, capacity_nl: int | None, pump: PumpContext | None
) -> list[Finding]:
    if rx.refill is None:
        return []
    out: list[Finding] = []
    added = rx.refill.added_nl
    if capacity_nl is None:
        out.append(finding("capacity_unknown", "pump_model",
                           "no pump model given: the fill is checked against the largest reservoir (40 mL)"))  # fmt: skip
        capacity_nl = 40_000_000
    if added > capacity_nl:
        out.append(finding("over_capacity", "refill.added",
                           f"{volume_text(added)} is more than the reservoir's {volume_text(capacity_nl)}"))  # fmt: skip
    if added <= therapy.low_alarm_nl:
        out.append(finding("fill_below_low_alarm", "refill.added",
                           f"a fill of {volume_text(added)} is at or below the low-reservoir alarm of "
                           f"{volume_text(therapy.low_alarm_nl)}"))  # fmt: skip
    last_fill = rx.refill.last_fill_nl if rx.refill.last_fill_nl is not None else (
        pump.last_fill_nl if pump else None)  # fmt: skip
    ceiling = last_fill if last_fill is not None else capacity_nl
    if rx.refill.removed_nl > ceiling:
        what = "the last fill" if last_fill is not None else "the reservoir can hold"
        out.append(finding("refill_removed_over_fill", "refill.removed",
                           f"{volume_text(rx.refill.removed_nl)} drawn out is more than {what} "
                           f"({volume_text(ceiling)}): the needle may be in the pocket"))  # fmt: skip
    return out


@dataclass(frozen=True)
class RefillCheck:
    programmed_nl: int
    actual_nl: int
    deviation: Fraction  # (actual - programmed) / programmed

    def to_json(self) -> dict[str, Any]:
        return {
            "programmed_nl": self.programmed_nl,
            "actual_nl": self.actual_nl,
            "deviation_percent": str(round(self.deviation * 100, 1)),
        }


def discrepancy(removed_nl: int, expected_nl: int, last_fill_nl: int) -> RefillCheck | None:
    """Programmed delivery is last_fill - expected; actual is last_fill - removed."""
    programmed = last_fill_nl - expected_nl
    if programmed <= 0:
        return None
    actual = last_fill_nl - removed_nl
    return RefillCheck(programmed, actual, Fraction(actual - programmed, programmed))


def refill_discrepancy(rx: Prescription, pump: PumpContext | None) -> RefillCheck | None:
    if rx.refill is None:
        return None
    expected = rx.refill.expected_nl if rx.refill.expected_nl is not None else (
        pump.reservoir_nl if pump else None)  # fmt: skip
    last_fill = rx.refill.last_fill_nl if rx.refill.last_fill_nl is not None else (
        pump.last_fill_nl if pump else None)  # fmt: skip
    if expected is None or last_fill is None:
        return None
    return discrepancy(rx.refill.removed_nl, expected, last_fill)


def check_discrepancy(check: RefillCheck) -> list[Finding]:
    dev = check.deviation
    pct = decimal_text(dev * 100, Fraction(1, 10))
    detail = (f"programmed delivery {volume_text(check.programmed_nl)}, actual "
              f"{volume_text(check.actual_nl)} ({'+' if dev > 0 else ''}{pct} %); the pump is "
              "accurate to ±14.5 %")  # fmt: skip
    if dev > DISCREPANCY_LIMIT:
        return [finding("refill_over_infusion", "refill.removed",
                        "less fluid came out than expected: " + detail)]  # fmt: skip
    if dev < -DISCREPANCY_LIMIT:
        return [finding("refill_under_infusion", "refill.removed",
                        "more fluid came out than expected: " + detail)]  # fmt: skip
    return []


def stability_days(
    therapy: Therapy, rx: Prescription, pump: PumpContext | None, lib: DrugLibrary
) -> tuple[int | None, bool]:
    """(days until the fill must be replaced, whether a stricter rule was assumed)."""
    days: list[int] = []
    assumed = False
    for fill in therapy.drugs:
        drug = lib.find(fill.name)
        if drug is None:
            continue
        st = drug.stability
        if st.first_fill_days is not None:
            first = rx.refill.first_fill if rx.refill else None
            if first is None and pump is not None and pump.therapy is not None:
                first = all(d.name != drug.name for d in pump.therapy.drugs)
            if first is None:
                assumed = True
                days.append(st.first_fill_days)
            elif first:
                days.append(st.first_fill_days)
            elif st.undiluted_conc_ng_ml is not None and fill.conc_ng_ml == st.undiluted_conc_ng_ml:
                days.append(st.undiluted_days or st.first_fill_days)
            else:
                days.append(st.diluted_days or st.first_fill_days)
        elif st.days is not None:
            days.append(st.days)
    return (min(days) if days else None), assumed


def check_pump_clock(pump_offset_min: int, local_offset_min: int) -> list[Finding]:
    """The pump runs its steps in its own fixed offset; warn when it differs from ours."""
    if pump_offset_min == local_offset_min:
        return []
    shift = local_offset_min - pump_offset_min
    return [finding("pump_clock_offset", "pump.utc_offset_min",
                    f"the pump keeps UTC offset {pump_offset_min} min, this computer {local_offset_min} min: "
                    f"every step runs {abs(shift)} min {'later' if shift > 0 else 'earlier'} by the wall clock "
                    "than the time written in the prescription")]  # fmt: skip
