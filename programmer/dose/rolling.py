"""The worst sliding 24 hours of a cyclic profile, boluses included.

A multi-day cycle can put more into one 24 h span than into any calendar day
(two heavy half-days on either side of midnight), and the cycle wraps from its
last day to its first. The volume of the window starting at minute `s` is a
piecewise-linear function of `s` whose slope changes only where `s` or
`s + 24 h` meets a step start, so its maximum lies at one of those points:
each step start, and each step start minus 24 h. That is O(steps) candidates,
each evaluated exactly from a prefix integral (whole nl·min/day, then one
`Fraction`), never minute by minute.

Patient boluses can be taken at any time of day, so the worst window also holds
the most boluses the lockout and the daily cap let start within 24 h, each
counted in full; a planned clinician bolus is counted in full too. Counting a
bolus whole bounds what the pump can deliver in the window from above: the
part of one that started before the window is no more than what another
would give if the patient waited for it inside the window.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from programmer.drugs import Drug
from programmer.findings import Finding, finding
from programmer.formatting import dose_per_day_text, volume_text
from programmer.prescription import Prescription
from programmer.pump_limits import MINUTES_PER_DAY
from programmer.therapy import PatientBolus, Therapy, dose_ng, round_half_even


@dataclass(frozen=True)
class Window:
    """The worst 24 h: where it starts in the cycle and what it holds (nl)."""

    start_min: int  # minute of the cycle (0 = day 1 00:00) at which the window opens
    basal_nl: Fraction
    patient_boluses: int  # how many patient boluses fit in it
    patient_bolus_nl: int  # their whole volume
    clinician_bolus_nl: int

    @property
    def volume_nl(self) -> Fraction:
        return self.basal_nl + self.patient_bolus_nl + self.clinician_bolus_nl

    def dose_ng(self, conc_ng_ml: int) -> Fraction:
        """The most of a drug at `conc_ng_ml` the window can deliver."""
        return dose_ng(self.volume_nl, conc_ng_ml)

    def basal_dose_ng(self, conc_ng_ml: int) -> Fraction:
        return dose_ng(self.basal_nl, conc_ng_ml)

    def clinician_dose_ng(self, conc_ng_ml: int) -> Fraction:
        return dose_ng(self.clinician_bolus_nl, conc_ng_ml)

    def to_json(self) -> dict[str, Any]:
        return {
            "start_min": self.start_min,
            "start_text": cycle_time_text(self.start_min),
            "volume_nl": round_half_even(self.volume_nl),
            "basal_nl": round_half_even(self.basal_nl),
            "patient_boluses": self.patient_boluses,
            "patient_bolus_nl": self.patient_bolus_nl,
            "clinician_bolus_nl": self.clinician_bolus_nl,
        }


def cycle_time_text(cycle_min: int) -> str:
    """'day 2 12:00' for minute 2160 of the cycle."""
    day, minute = divmod(cycle_min, MINUTES_PER_DAY)
    return f"day {day + 1} {minute // 60:02d}:{minute % 60:02d}"


class _Profile:
    """Prefix integral of a cyclic step profile, in nl·min/day (exact integers)."""

    def __init__(self, steps: Sequence[tuple[int, int]], cycle_days: int) -> None:
        if cycle_days < 1:
            raise ValueError(f"cycle_days must be at least 1, not {cycle_days}")
        self.cycle = cycle_days * MINUTES_PER_DAY
        self.starts = [s for s, _ in steps]
        self.rates = [r for _, r in steps]
        if self.starts and self.starts[0] != 0:
            raise ValueError("the first step must start at minute 0")
        if any(b <= a for a, b in zip(self.starts, self.starts[1:], strict=False)):
            raise ValueError("steps must start in increasing order")
        if self.starts and self.starts[-1] >= self.cycle:
            raise ValueError("a step starts outside the cycle")
        if any(r < 0 for r in self.rates):
            raise ValueError("a rate is negative")
        self.prefix = [0]  # integral from 0 to each step start
        for i in range(len(self.starts) - 1):
            width = self.starts[i + 1] - self.starts[i]
            self.prefix.append(self.prefix[-1] + self.rates[i] * width)
        if self.starts:
            last = self.cycle - self.starts[-1]
            self.total = self.prefix[-1] + self.rates[-1] * last
        else:
            self.total = 0

    def integral_to(self, t: int) -> int:
        """Integral of the rate from cycle minute 0 to absolute minute `t` >= 0."""
        whole, rest = divmod(t, self.cycle)
        if not self.starts:
            return 0
        i = bisect_right(self.starts, rest) - 1
        return whole * self.total + self.prefix[i] + self.rates[i] * (rest - self.starts[i])

    def window(self, start: int) -> int:
        """Integral over [start, start + 24 h), start in [0, cycle)."""
        return self.integral_to(start + MINUTES_PER_DAY) - self.integral_to(start)


def window_basal_nl(steps: Sequence[tuple[int, int]], cycle_days: int, start_min: int) -> Fraction:
    """The basal volume of the 24 h starting at cycle minute `start_min` (wrapping)."""
    profile = _Profile(steps, cycle_days)
    return Fraction(profile.window(start_min % profile.cycle), MINUTES_PER_DAY)


def worst_basal(steps: Sequence[tuple[int, int]], cycle_days: int) -> tuple[int, Fraction]:
    """(start minute, volume nl) of the heaviest 24 h of basal; the earliest start on ties."""
    profile = _Profile(steps, cycle_days)
    if cycle_days == 1:
        return 0, Fraction(profile.total, MINUTES_PER_DAY)
    candidates = {0}
    for s in profile.starts:
        candidates.add(s)
        candidates.add((s - MINUTES_PER_DAY) % profile.cycle)
    best_start, best = 0, -1
    for start in sorted(candidates):
        volume = profile.window(start)
        if volume > best:
            best_start, best = start, volume
    return best_start, Fraction(best, MINUTES_PER_DAY)


def patient_boluses_per_24h(ptm: PatientBolus) -> int:
    """The most patient boluses that can start within any 24 h (lockout and cap together)."""
    return ptm.allowed_per_day()


def worst_window(
    steps: Sequence[tuple[int, int]],
    cycle_days: int,
    ptm: PatientBolus | None = None,
    clinician_bolus_nl: int = 0,
) -> Window:
    """The worst 24 h of the cyclic profile with every allowed bolus taken inside it."""
    if clinician_bolus_nl < 0:
        raise ValueError("a clinician bolus volume cannot be negative")
    start, basal = worst_basal(steps, cycle_days)
    count = patient_boluses_per_24h(ptm) if ptm is not None else 0
    volume = ptm.volume_nl * count if ptm is not None else 0
    return Window(start, basal, count, volume, clinician_bolus_nl)


def therapy_worst_window(therapy: Therapy, clinician_bolus_nl: int = 0) -> Window:
    """`worst_window` of a therapy as the pump stores it (a stopped pump delivers nothing)."""
    steps = (
        [] if therapy.mode == "stopped" else [(s.start_min, s.rate_nl_day) for s in therapy.steps]
    )
    return worst_window(steps, therapy.cycle_days, therapy.ptm, clinician_bolus_nl)


def window_findings(window: Window, heaviest_day_nl: Fraction, cycle_days: int) -> list[Finding]:
    """Say so when the worst 24 h holds more basal than any calendar day of the cycle."""
    if cycle_days == 1 or window.basal_nl <= heaviest_day_nl:
        return []
    end = (window.start_min + MINUTES_PER_DAY) % (cycle_days * MINUTES_PER_DAY)
    return [finding("worst_24h_over_calendar_day", "steps",
                    f"the 24 h from {cycle_time_text(window.start_min)} to {cycle_time_text(end)} "
                    f"hold {volume_text(window.basal_nl)} of basal, more than the heaviest calendar "
                    f"day ({volume_text(heaviest_day_nl)}): every daily maximum and titration step "
                    "is checked on these 24 h")]  # fmt: skip


def check_hidden_over_max(
    drug: Drug,
    unit: str,
    window: Window,
    heaviest_day_nl: Fraction,
    conc_ng_ml: int,
    rx: Prescription,
    where: tuple[str, str | None],
) -> list[Finding]:
    """Over the soft daily maximum only across midnight, when every calendar day is within it.

    Nobody reading the calendar days sees that dose: it is taken as a slip of the profile
    and must be typed again (the hard maximum is refused anyway).
    """
    limit = drug.daily_max_for(rx.jurisdiction)
    if limit is None or limit.soft_ng is None or window.basal_nl <= heaviest_day_nl:
        return []
    boluses = window.volume_nl - window.basal_nl
    most = dose_ng(window.volume_nl, conc_ng_ml)
    by_day = dose_ng(heaviest_day_nl + boluses, conc_ng_ml)
    if most <= limit.soft_ng or by_day > limit.soft_ng:
        return []
    if limit.hard_ng is not None and most > limit.hard_ng:
        return []  # over_hard_max_daily_dose refuses it
    return [finding("worst_24h_over_max", where[0],
                    f"{drug.name} {dose_per_day_text(most, unit)} in the 24 h from "
                    f"{cycle_time_text(window.start_min)}, above the maximum of "
                    f"{dose_per_day_text(limit.soft_ng, unit)} ({limit.source}), while every "
                    f"calendar day shows at most {dose_per_day_text(by_day, unit)}: check the "
                    "steps around midnight", where[1])]  # fmt: skip
