"""Dates for the therapy a pump holds now: low-reservoir alarm, refill due, replacement.

Computed by the same code as a plan's dates (one tested place), from the pump's
own estimate of its reservoir: an estimate, and always shown as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import floor

from programmer.drugs import default_library
from programmer.planner import ALARM_HORIZON_DAYS
from programmer.pump_limits import ERI_TO_END_OF_SERVICE_DAYS
from programmer.reservoir import low_alarm_instant
from programmer.session.pump_session import Interrogation


@dataclass(frozen=True)
class Forecast:
    low_alarm_t: int | None
    stability_t: int | None
    eri_t: int
    end_of_service_t: int
    refill_due_t: int | None
    refill_due_reason: str | None


def forecast(i: Interrogation) -> Forecast:
    now = int(i.status["clock_t"])
    hit = low_alarm_instant(
        i.therapy,
        now,
        i.cycle_anchor_t,
        int(i.status["reservoir_nl"]),
        None,
        ALARM_HORIZON_DAYS * 86_400,
    )
    low = floor(hit) if hit is not None else None
    stability = None
    if i.last_refill_t is not None:
        days = []
        for fill in i.therapy.drugs:
            drug = default_library().find(fill.name)
            if drug is None:
                continue
            st = drug.stability
            if st.days is not None:
                days.append(st.days)
            elif st.first_fill_days is not None:
                # the pump cannot tell a first fill from a later one: the stricter rule
                days.append(st.first_fill_days)
        if days:
            stability = i.last_refill_t + min(days) * 86_400
    eri = int(i.status["eri_t"])
    candidates = [
        (t, r)
        for t, r in (
            (low, "low_reservoir_alarm"),
            (stability, "drug_stability"),
            (eri, "elective_replacement"),
        )
        if t is not None
    ]
    due, reason = min(candidates) if candidates else (None, None)
    return Forecast(low, stability, eri, eri + ERI_TO_END_OF_SERVICE_DAYS * 86_400, due, reason)
