"""Per-day dose maxima, mg/mcg slips of the daily dose, and the daily volume window."""

from __future__ import annotations

from fractions import Fraction

from programmer.drugs import Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import decimal_text, dose_per_day_text, volume_rate_text, volume_text
from programmer.prescription import Prescription
from programmer.pump_limits import CAPACITY_NL

Where = tuple[str, str | None]  # the field a slip is retyped in, and its text


def check_daily_dose(
    drug: Drug,
    unit: str,
    base_ng: Fraction,
    most_ng: Fraction,
    rx: Prescription,
    lib: DrugLibrary,
    where: Where = ("steps", None),
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
        out.append(finding("unit_suspect", where[0],
                           f"{drug.name} {dose_per_day_text(base_ng, unit)} is more than {f}x outside the "
                           f"usual {dose_per_day_text(usual.min_ng, unit)} to "
                           f"{dose_per_day_text(usual.max_ng, unit)}: check mg against mcg and h against day",
                           where[1]))  # fmt: skip
    return out


def check_change_slip(
    drug: Drug, unit: str, new_ng: Fraction, current_ng: Fraction, where: Where, lib: DrugLibrary
) -> list[Finding]:
    """A new daily dose 8x (or 1/8) the one in the pump is a x10/x24/x60/x1000 slip, not a step."""
    k = lib.change_slip_factor
    if current_ng <= 0 or new_ng <= 0:
        return []
    if new_ng < current_ng * k and new_ng * k > current_ng:
        return []
    ratio = new_ng / current_ng
    shown = (f"{decimal_text(ratio, Fraction(1, 10))}x" if ratio > 1
             else f"1/{decimal_text(1 / ratio, Fraction(1, 10))}")  # fmt: skip
    return [finding("unit_suspect", where[0],
                    f"{drug.name} {dose_per_day_text(new_ng, unit)} is {shown} the "
                    f"{dose_per_day_text(current_ng, unit)} in the pump now: no titration step is "
                    f"{k}x; check mg against mcg and h against day", where[1])]  # fmt: skip


def check_daily_volume(
    most_nl: Fraction,
    pump_model: str | None,
    fill_nl: int | None,
    low_alarm_nl: int,
    lib: DrugLibrary,
) -> list[Finding]:
    """A program that would empty the reservoir sooner than any clinic plans a refill.

    The window's top is the reservoir over the shortest refill interval a label asks for;
    with a refill, the fill above the low-reservoir alarm must also last that long.
    """
    if most_nl <= 0:
        return []
    days = lib.min_refill_interval_days
    capacity = CAPACITY_NL.get(pump_model or "", max(CAPACITY_NL.values()))
    top = Fraction(capacity, days)
    model = pump_model or "the largest pump (no model given)"
    if most_nl > top:
        return [finding("daily_volume_high", "steps",
                        f"{volume_rate_text(most_nl)} (every allowed patient bolus taken) would empty "
                        f"the {volume_text(capacity)} reservoir of {model} in "
                        f"{decimal_text(capacity / most_nl, Fraction(1, 10))} days; the most a "
                        f"{days}-day refill interval allows is {volume_rate_text(top)}")]  # fmt: skip
    if fill_nl is not None and fill_nl > low_alarm_nl:
        lasts = (fill_nl - low_alarm_nl) / most_nl
        if lasts < days:
            return [finding("refill_interval_short", "refill.added",
                            f"{volume_text(fill_nl)} at {volume_rate_text(most_nl)} reaches the "
                            f"low-reservoir alarm in {decimal_text(lasts, Fraction(1, 10))} days; "
                            f"no clinic plans refills sooner than every {days} days")]  # fmt: skip
    return []
