"""Starting doses: a first fill (new pump, saline in the pump, or a drug new to it).

The first dose of a new drug is the riskiest (ISMP: smart pumps carry separate
starting limits). Above the drug's sourced starting range is soft; above the
limit judged lethal it must be typed again.
"""

from __future__ import annotations

from fractions import Fraction

from programmer.dose.context import PumpContext
from programmer.drugs import Drug
from programmer.findings import Finding, finding
from programmer.formatting import dose_per_day_text
from programmer.prescription import Prescription

Where = tuple[str, str | None]


def is_first_fill(
    drug: str,
    rx: Prescription,
    pump: PumpContext | None,
    current_ng: Fraction | None,
) -> str | None:
    """Why this is the drug's first fill ("new pump", ...), or None when it is not (or unknown)."""
    if rx.refill is not None and rx.refill.first_fill:
        return "refill.first_fill says so"
    if pump is not None:
        if pump.first_fill:
            return "the pump says it has never been filled"
        if pump.therapy is None:
            return "the pump has no therapy yet"
        if not pump.therapy.drugs:
            return "the pump holds saline"
        if all(f.name != drug for f in pump.therapy.drugs):
            return f"{drug} is not in the pump now"
    elif rx.previous is not None:
        previous = [d for d in rx.previous.drugs if d.conc_ng_ml is not None]
        if not previous:
            return "the pump held saline (previous.drugs)"
        if all(d.name != drug for d in previous):
            return f"{drug} was not in the pump (previous.drugs)"
    if current_ng == 0:
        return f"the dose of {drug} now is 0"
    return None


def check_starting_dose(
    drug: Drug, unit: str, base_ng: Fraction, most_ng: Fraction, why: str, where: Where
) -> list[Finding]:
    start = drug.starting
    if start is None or base_ng <= 0:
        return []
    with_ptm = " with every allowed patient bolus taken" if most_ng != base_ng else ""
    shown = dose_per_day_text(most_ng, unit)
    rng = f"{dose_per_day_text(start.min_ng, unit)} to {dose_per_day_text(start.max_ng, unit)}"
    first = f"a first fill ({why})"
    if most_ng > start.limit_ng:
        return [finding("over_starting_dose_limit", where[0],
                        f"{drug.name} {shown}{with_ptm} as {first} is above "
                        f"{dose_per_day_text(start.limit_ng, unit)} ({start.limit_source}); "
                        f"the starting range is {rng} ({start.source})", where[1])]  # fmt: skip
    if most_ng > start.max_ng:
        return [finding("over_starting_dose", where[0],
                        f"{drug.name} {shown}{with_ptm} as {first} is above the starting range "
                        f"{rng} ({start.source})")]  # fmt: skip
    if base_ng < start.min_ng:
        return [finding("below_starting_dose", where[0],
                        f"{drug.name} {dose_per_day_text(base_ng, unit)} as {first} is below the "
                        f"starting range {rng} ({start.source}): check mg against mcg, h against day")]  # fmt: skip
    return []
