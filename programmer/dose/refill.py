"""Refill: capacity, the discrepancy of what came out, and drug stability."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from programmer.dose.context import PumpContext
from programmer.drugs import DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import (
    decimal_text,
    volume_text,
)
from programmer.prescription import Prescription
from programmer.therapy import Therapy

DISCREPANCY_LIMIT = Fraction(145, 1000)  # pump accuracy ±14.5 % (lessons-from-the-field)


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
            elif (
                st.undiluted_conc_ng_ml is not None
                and fill.conc_ng_ml == st.undiluted_conc_ng_ml
                and len(therapy.drugs) == 1  # in an admixture the drug is diluted by the others
            ):
                days.append(st.undiluted_days or st.first_fill_days)
            else:
                days.append(st.diluted_days or st.first_fill_days)
        elif st.days is not None:
            days.append(st.days)
    return (min(days) if days else None), assumed


def stability_notes(therapy: Therapy, lib: DrugLibrary) -> list[Finding]:
    """Say which drugs' stability is a clinic default rather than a sourced limit."""
    out: list[Finding] = []
    for fill in therapy.drugs:
        drug = lib.find(fill.name)
        if drug is not None and drug.stability.clinic_default and drug.stability.days is not None:
            out.append(finding("stability_default", "drugs",
                               f"{drug.name} has no sourced stability in the pump: the clinic "
                               f"default of {drug.stability.days} days is used ({drug.stability.source})"))  # fmt: skip
    return out


def check_stability_now(
    therapy: Therapy, rx: Prescription, pump: PumpContext, lib: DrugLibrary, now_t: int
) -> tuple[int | None, list[Finding]]:
    """At a visit without a refill: the fill in the pump against its stability, from its refill date.

    Returns (the instant the fill must be replaced, findings). Nothing known of the last
    refill is said, never taken as "no limit".
    """
    if pump.therapy is None or not therapy.drugs:
        return None, []
    days, _ = stability_days(pump.therapy, rx, pump, lib)
    if days is None:
        return None, []
    if pump.last_refill_t is None:
        return None, [finding("stability_unknown", "refill",
                              f"the pump does not say when it was last refilled: its {days}-day "
                              "stability limit cannot be checked; look up the last refill date")]  # fmt: skip
    until = pump.last_refill_t + days * 86_400
    if until > now_t:
        return until, []
    age = (now_t - pump.last_refill_t) // 86_400
    return until, [finding("stability_expired", "refill",
                           f"the fill in the pump is {age} days old, past its {days}-day stability "
                           "limit: refill the pump (a new program does not renew the drug)")]  # fmt: skip


def check_discrepancy_inputs(rx: Prescription, pump: PumpContext | None) -> list[Finding]:
    """When the discrepancy cannot be computed from values that were given, say so as a finding."""
    if rx.refill is None:
        return []
    expected = rx.refill.expected_nl if rx.refill.expected_nl is not None else (
        pump.reservoir_nl if pump else None)  # fmt: skip
    last_fill = rx.refill.last_fill_nl if rx.refill.last_fill_nl is not None else (
        pump.last_fill_nl if pump else None)  # fmt: skip
    if expected is None or last_fill is None:
        return [finding("refill_check_skipped", "refill",
                        "the refill discrepancy was not checked: refill.expected and refill.last_fill "
                        "(or a connected pump) are needed")]  # fmt: skip
    if expected >= last_fill:
        return [finding("refill_check_impossible", "refill.expected",
                        f"the expected volume ({volume_text(expected)}) is not below the last fill "
                        f"({volume_text(last_fill)}): no delivery was programmed since, so what was "
                        "drawn out cannot be checked. One of the two is wrong, or the pump ran "
                        "nothing: find out before refilling")]  # fmt: skip
    return []
