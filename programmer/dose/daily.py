"""Per-day dose maxima and mg/mcg slips of the daily dose."""

from __future__ import annotations

from fractions import Fraction

from programmer.drugs import Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import dose_per_day_text
from programmer.prescription import Prescription


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
