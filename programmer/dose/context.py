"""What the dose rules share: the pump's state, the planned one-time bolus, units.

The rules import this module; it imports no rule and not the planner.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from programmer.drugs import Drug
from programmer.formatting import concentration_text
from programmer.prescription import Prescription
from programmer.therapy import Therapy


@dataclass(frozen=True)
class PumpContext:
    """What a connected pump says about itself (filled by the pump session)."""

    model: str
    serial: str
    therapy: Therapy | None
    reservoir_nl: int
    utc_offset_min: int
    cycle_anchor_t: int | None = None
    eri_t: int | None = None
    last_fill_nl: int | None = None  # the reservoir just after the previous refill
    first_fill: bool | None = None  # is this the first fill of a naive pump?
    last_refill_t: int | None = None  # when the fill in the pump went in (its stability runs)


@dataclass(frozen=True)
class BolusDose:
    """One drug's share of a one-time bolus: exact ng, and the unit its doses are written in."""

    drug: str
    ng: Fraction
    unit: str


@dataclass(frozen=True)
class BolusPlan:
    kind: str
    volume_nl: int
    rate_nl_day: int
    inputs: dict[str, Any]
    doses: tuple[BolusDose, ...] = ()  # the planner fills these in

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "volume_nl": self.volume_nl, "rate_nl_day": self.rate_nl_day}


def conc_text(conc: int, drug: Drug | None) -> str:
    unit = drug.dose_unit if drug and drug.dose_unit else ("mg" if conc >= 1_000_000 else "mcg")
    return concentration_text(conc, unit)


def unit_for(drug: Drug | None, conc_ng_ml: int) -> str:
    if drug is not None and drug.dose_unit:
        return drug.dose_unit
    return "mg" if conc_ng_ml >= 1_000_000 else "mcg"


def dose_field(rx: Prescription, therapy: Therapy) -> tuple[str, str | None]:
    """The field (and its text) of the step that gives the most: what a dose slip is retyped in.

    A continuous program has one `dose` or `rate`; a flex profile names the step with the
    highest rate, e.g. `steps[2].dose`.
    """
    if not rx.steps:
        return "steps", None
    rates = [s.rate_nl_day for s in therapy.steps]
    index = rates.index(max(rates)) if len(rates) == len(rx.steps) else 0
    step = rx.steps[index]
    key = "dose" if step.dose_ng_day is not None else "rate"
    field = step.field if step.field in ("dose", "rate") else f"{step.field}.{key}"
    return field, rx.values.get(field)
