"""One-time boluses (single, bridge, priming), patient boluses and drug changes."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from programmer.dose.context import BolusPlan, PumpContext, conc_text
from programmer.drugs import DrugLibrary
from programmer.findings import Finding, Severity, finding
from programmer.formatting import (
    decimal_text,
    volume_rate_text,
    volume_text,
)
from programmer.prescription import Prescription
from programmer.pump_limits import (
    DEFAULT_PRIMING_RATE_NL_DAY,
    MAX_RATE_NL_DAY,
    MIN_RATE_NL_DAY,
    PTM_DURATION_MAX,
    PTM_DURATION_MIN,
    PTM_LOCKOUT_MAX,
    PTM_VOLUME_MAX_NL,
    PTM_VOLUME_MIN_NL,
    PUMP_TUBING_NL,
)
from programmer.therapy import (
    DrugFill,
    PatientBolus,
    Therapy,
    round_half_even,
    volume_for_dose_nl,
)


def patient_bolus(
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


def previous_fill(
    rx: Prescription, pump: PumpContext | None
) -> tuple[tuple[DrugFill, ...], int] | None:
    """The drugs in the fluid path now and the rate they were running at (mean, nl/day)."""
    if pump is not None and pump.therapy is not None:
        t = pump.therapy
        return t.drugs, round_half_even(t.mean_rate_nl_day())
    if rx.previous is not None and rx.previous.rate_nl_day is not None:
        drugs = tuple(
            DrugFill(d.name, d.conc_ng_ml) for d in rx.previous.drugs if d.conc_ng_ml is not None
        )
        return drugs, round_half_even(rx.previous.rate_nl_day)
    return None


def previous_drugs(rx: Prescription, pump: PumpContext | None) -> tuple[DrugFill, ...] | None:
    """The drugs in the fluid path now, known with or without the rate they ran at."""
    if pump is not None and pump.therapy is not None:
        return pump.therapy.drugs
    if rx.previous is not None:
        return tuple(
            DrugFill(d.name, d.conc_ng_ml) for d in rx.previous.drugs if d.conc_ng_ml is not None
        )
    return None


def plan_bolus(
    rx: Prescription,
    therapy: Therapy,
    previous: tuple[tuple[DrugFill, ...], int] | None,
    reservoir_nl: int | None,
) -> tuple[BolusPlan | None, list[Finding]]:
    b = rx.bolus
    if b is None:
        return None, []
    found: list[Finding] = []
    catheter = therapy.catheter_volume_nl
    if b.kind in ("bridge", "priming"):
        if catheter <= 0:
            return None, [finding("invalid_bolus", "catheter",
                                  f"a {b.kind} bolus needs the catheter volume: give catheter.length "
                                  "and catheter.volume_per_cm (or catheter.volume)")]  # fmt: skip
        volume = PUMP_TUBING_NL + catheter
        inputs: dict[str, Any] = {
            "pump_tubing_nl": PUMP_TUBING_NL,
            "pump_tubing_source": "pump-link-protocol.md section 5 (0.140 mL)",
            "catheter_volume_nl": catheter,
        }
        if b.kind == "bridge":
            if previous is None:
                return None, [finding("invalid_bolus", "bolus",
                                      "a bridge bolus runs at the previous rate, which is unknown: "
                                      "connect the pump or give previous.rate")]  # fmt: skip
            rate = previous[1]
            inputs["rate_source"] = "the previous program's mean rate (old drug, old rate)"
        else:
            rate = round_half_even(b.rate_nl_day) if b.rate_nl_day else DEFAULT_PRIMING_RATE_NL_DAY
            inputs["rate_source"] = (
                "stated in the prescription" if b.rate_nl_day else "the pump's fastest bolus rate"
            )
    else:
        first = therapy.drugs[0] if therapy.drugs else None
        if b.dose_ng is not None:
            if first is None:
                return None, [
                    finding(
                        "invalid_bolus", "bolus.dose", "a dose needs a drug: the fill is saline"
                    )
                ]
            exact = volume_for_dose_nl(b.dose_ng, first.conc_ng_ml)
        else:
            assert b.volume_nl is not None
            exact = b.volume_nl
        volume = round_half_even(exact)
        assert b.duration_min is not None
        rate = round_half_even(Fraction(volume) * 1440 / b.duration_min)
        inputs = {"duration_min": str(b.duration_min)}
    found.extend(check_bolus(b.kind, volume, rate, reservoir_nl))
    if any(f.severity is Severity.HARD for f in found):
        return None, found
    return BolusPlan(b.kind, volume, rate, inputs), found


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
    previous: tuple[DrugFill, ...] | None,
    bolus: BolusPlan | None,
) -> list[Finding]:
    """A new drug or concentration needs a refill and a bridge decision.

    The decision never depends on knowing the old rate: the rate only sizes a bridge.
    Unknown drugs in the path at a refill need the decision too (give `previous`,
    or plan a bridge or priming bolus).
    """
    if previous is None:
        if rx.refill is None or rx.refill.first_fill or bolus is not None:
            return []
        return [finding("previous_unknown", "previous",
                        "the drug in the catheter now is unknown, so whether a bridge bolus is needed "
                        "cannot be checked: connect the pump, or give previous.drugs (and "
                        "previous.rate to size a bridge)")]  # fmt: skip
    old = sorted((d.name, d.conc_ng_ml) for d in previous)
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
        olds = ", ".join(f"{n} {conc_text(c, None)}" for n, c in old) or "saline"
        news = ", ".join(f"{n} {conc_text(c, None)}" for n, c in new) or "saline"
        return [finding("bridge_bolus_needed", "bolus",
                        f"the fill changes from {olds} to {news}; the catheter still holds the old "
                        "drug, which the new rate would deliver at the wrong dose")]  # fmt: skip
    return []
