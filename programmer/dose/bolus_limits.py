"""Per-drug limits of every bolus: the clinician's single bolus and the patient's (PTM).

Limits come in pairs (ISMP 2020): below the lower or above the upper is a soft
finding; a dose `change_slip_factor` (8x) beyond either is a x10/x24/x60/x1000 slip,
`unit_suspect`, cleared only by typing the value again. The lockout too: one under
the drug's minimum that would be plausible in hours (at most 24 min) is the 2004
recall's slip, "2 min" typed where 2 h was meant. Against the patient bolus in the
pump now, an 8x change of dose or lockout either way is a slip too.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from programmer.dose.context import BolusPlan, PumpContext
from programmer.drugs import BolusRange, Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import decimal_text, mass_text
from programmer.prescription import Prescription
from programmer.pump_limits import MINUTES_PER_DAY
from programmer.therapy import DrugFill, PatientBolus, Therapy, dose_ng

MINUTES_PER_HOUR = 60


def _field(rx: Prescription, base: str, by_dose: bool) -> tuple[str, str | None]:
    name = f"{base}.dose" if by_dose else f"{base}.volume"
    return name, rx.values.get(name)


def _range_findings(
    what: str,
    drug: Drug,
    unit: str,
    amount_ng: Fraction,
    limits: BolusRange,
    field: tuple[str, str | None],
    codes: tuple[str, str],
    lib: DrugLibrary,
) -> list[Finding]:
    k = lib.change_slip_factor
    shown = mass_text(amount_ng, unit)
    over, under = codes
    if limits.max_ng is not None and amount_ng > limits.max_ng:
        top = mass_text(limits.max_ng, unit)
        if amount_ng >= limits.max_ng * k:
            return [finding("unit_suspect", field[0],
                            f"a {what} of {shown} {drug.name} is {k}x or more above the largest "
                            f"of {top} ({limits.source}): check mg against mcg", field[1])]  # fmt: skip
        return [finding(over, field[0],
                        f"a {what} of {shown} {drug.name} is above {top} ({limits.source})")]  # fmt: skip
    if limits.min_ng is not None and amount_ng < limits.min_ng:
        low = mass_text(limits.min_ng, unit)
        if amount_ng * k <= limits.min_ng:
            return [finding("unit_suspect", field[0],
                            f"a {what} of {shown} {drug.name} is {k}x or more below the smallest "
                            f"of {low} ({limits.source}): check mg against mcg", field[1])]  # fmt: skip
        return [finding(under, field[0],
                        f"a {what} of {shown} {drug.name} is below {low} ({limits.source})")]  # fmt: skip
    return []


def _ratio_text(ratio: Fraction) -> str:
    if ratio > 1:
        return f"{decimal_text(ratio, Fraction(1, 10))}x"
    return f"1/{decimal_text(1 / ratio, Fraction(1, 10))}"


def _pump_fill(pump: PumpContext | None, name: str) -> DrugFill | None:
    if pump is None or pump.therapy is None:
        return None
    return next((f for f in pump.therapy.drugs if f.name == name), None)


def check_bolus_limits(
    rx: Prescription,
    therapy: Therapy,
    bolus: BolusPlan | None,
    drugs: Sequence[tuple[DrugFill, Drug, str]],
    pump: PumpContext | None,
    lib: DrugLibrary,
) -> list[Finding]:
    """Every bolus's dose of each drug, the lockout and the count, against the library."""
    out: list[Finding] = []
    ptm = therapy.ptm
    k = lib.change_slip_factor
    old_ptm = pump.therapy.ptm if pump is not None and pump.therapy is not None else None
    for fill, drug, unit in drugs:
        limits = drug.bolus_limits
        if limits is None:
            continue
        if bolus is not None and bolus.kind == "single" and rx.bolus is not None:
            amount = dose_ng(bolus.volume_nl, fill.conc_ng_ml)
            where = _field(rx, "bolus", rx.bolus.dose_ng is not None)
            out.extend(_range_findings("clinician bolus", drug, unit, amount, limits.clinician,
                                       where, ("over_max_clinician_bolus", "below_min_clinician_bolus"),
                                       lib))  # fmt: skip
        if not ptm.enabled or rx.patient_bolus is None:
            continue
        amount = dose_ng(ptm.volume_nl, fill.conc_ng_ml)
        where = _field(rx, "patient_bolus", rx.patient_bolus.dose_ng is not None)
        if limits.patient.max_ng is None:
            if drug.patient_bolus_allowed.value:
                out.append(finding("patient_bolus_off_label", "patient_bolus",
                                   f"a patient bolus of {drug.name}: {limits.patient.source}"))  # fmt: skip
        else:
            out.extend(_range_findings("patient bolus", drug, unit, amount, limits.patient,
                                       where, ("over_max_patient_bolus", "below_min_patient_bolus"),
                                       lib))  # fmt: skip
        old_fill = _pump_fill(pump, fill.name)
        if old_ptm is not None and old_ptm.enabled and old_fill is not None:
            before = dose_ng(old_ptm.volume_nl, old_fill.conc_ng_ml)
            if before > 0 and not (before < amount * k and amount < before * k):
                out.append(finding("unit_suspect", where[0],
                                   f"a patient bolus of {mass_text(amount, unit)} {drug.name} is "
                                   f"{_ratio_text(amount / before)} the {mass_text(before, unit)} "
                                   f"in the pump now: check mg against mcg", where[1]))  # fmt: skip
    if ptm.enabled and rx.patient_bolus is not None:
        out.extend(_lockout_and_count(rx, ptm, old_ptm, [d for _, d, _ in drugs], k))
    return out


def _lockout_and_count(
    rx: Prescription, ptm: PatientBolus, old: PatientBolus | None, drugs: list[Drug], k: int
) -> list[Finding]:
    out: list[Finding] = []
    rules = [d.bolus_limits for d in drugs if d.bolus_limits is not None]
    if not rules:
        return out
    strict = max(rules, key=lambda r: r.min_lockout_min)
    lockout, value = ptm.lockout_min, rx.values.get("patient_bolus.lockout")
    if lockout < strict.min_lockout_min:
        if lockout * MINUTES_PER_HOUR <= MINUTES_PER_DAY:
            out.append(finding("unit_suspect", "patient_bolus.lockout",
                               f"a lockout of {lockout} min lets a bolus run every {lockout} min; "
                               f"{lockout} h was probably meant (the 2004 recall: hours typed as "
                               f"minutes). At least {strict.min_lockout_min} min "
                               f"({strict.min_lockout_source})", value))  # fmt: skip
        else:
            out.append(finding("lockout_short", "patient_bolus.lockout",
                               f"a lockout of {lockout} min is under {strict.min_lockout_min} min "
                               f"({strict.min_lockout_source})"))  # fmt: skip
    elif old is not None and old.enabled and old.lockout_min > 0:
        ratio = Fraction(lockout, old.lockout_min)
        if ratio >= k or ratio * k <= 1:
            out.append(finding("unit_suspect", "patient_bolus.lockout",
                               f"a lockout of {lockout} min is {_ratio_text(ratio)} the "
                               f"{old.lockout_min} min in the pump now: check minutes against hours",
                               value))  # fmt: skip
    strict_count = min(rules, key=lambda r: r.max_patient_per_day)
    count = ptm.allowed_per_day()
    if count > strict_count.max_patient_per_day:
        out.append(finding("too_many_patient_boluses", "patient_bolus.max_per_day",
                           f"{count} patient boluses can be taken in 24 h (lockout {lockout} min, "
                           f"at most {ptm.max_per_day} a day); at most "
                           f"{strict_count.max_patient_per_day} ({strict_count.max_patient_per_day_source})"))  # fmt: skip
    return out
