"""A pump therapy as the pump stores it (wire units), and the dose arithmetic on it.

Everything here is exact: rates are whole nl/day, concentrations whole ng/mL,
and volumes over part of a day are `Fraction`s of a nanolitre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from programmer.pump_limits import LOW_ALARM_DEFAULT_NL, MINUTES_PER_DAY
from programmer.quantities import NL_PER_ML

MODES = ("continuous", "flex", "stopped")


@dataclass(frozen=True)
class DrugFill:
    name: str
    conc_ng_ml: int


@dataclass(frozen=True)
class Step:
    start_min: int
    rate_nl_day: int


@dataclass(frozen=True)
class PatientBolus:
    # Disabled, the pump still stores in-range values: its own minimums.
    enabled: bool = False
    volume_nl: int = 1_000
    duration_min: int = 1
    lockout_min: int = 1
    max_per_day: int = 1

    def allowed_per_day(self) -> int:
        """Most boluses the patient can get in any 24 h: lockout and daily cap together."""
        if not self.enabled or self.lockout_min <= 0:
            return 0
        by_lockout = -(-MINUTES_PER_DAY // self.lockout_min)  # ceil: starts at 0, L, 2L, ...
        return min(self.max_per_day, by_lockout)

    def to_wire(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "volume_nl": self.volume_nl,
            "duration_min": self.duration_min,
            "lockout_min": self.lockout_min,
            "max_per_day": self.max_per_day,
        }


@dataclass(frozen=True)
class Therapy:
    drugs: tuple[DrugFill, ...]
    mode: str
    cycle_days: int
    steps: tuple[Step, ...]
    ptm: PatientBolus = field(default_factory=PatientBolus)
    low_alarm_nl: int = LOW_ALARM_DEFAULT_NL
    catheter_volume_nl: int = 0

    @property
    def cycle_min(self) -> int:
        return self.cycle_days * MINUTES_PER_DAY

    def step_spans(self) -> list[tuple[Step, int]]:
        """Each step with how many minutes of the cycle it runs."""
        spans = []
        for i, step in enumerate(self.steps):
            end = self.steps[i + 1].start_min if i + 1 < len(self.steps) else self.cycle_min
            spans.append((step, end - step.start_min))
        return spans

    def day_volumes_nl(self) -> list[Fraction]:
        """Programmed volume for each day of the cycle (basal only)."""
        days = [Fraction(0)] * self.cycle_days
        for step, minutes in self.step_spans():
            t, end = step.start_min, step.start_min + minutes
            while t < end:
                day = t // MINUTES_PER_DAY
                upto = min(end, (day + 1) * MINUTES_PER_DAY)
                days[day] += Fraction(step.rate_nl_day * (upto - t), MINUTES_PER_DAY)
                t = upto
        return days

    def max_day_volume_nl(self) -> Fraction:
        """The heaviest day of the cycle: the one the daily limits must hold for."""
        return max(self.day_volumes_nl(), default=Fraction(0))

    def mean_rate_nl_day(self) -> Fraction:
        return sum(self.day_volumes_nl(), Fraction(0)) / self.cycle_days

    def rate_at(self, cycle_minute: int) -> int:
        rate = 0
        for step in self.steps:
            if step.start_min <= cycle_minute:
                rate = step.rate_nl_day
        return rate

    def to_wire(self) -> dict[str, Any]:
        """THERAPY of the protocol, without cycle_anchor_t (what STAGE takes)."""
        return {
            "drugs": [{"name": d.name, "conc_ng_ml": d.conc_ng_ml} for d in self.drugs],
            "low_alarm_nl": self.low_alarm_nl,
            "mode": self.mode,
            "cycle_days": self.cycle_days,
            "steps": [[s.start_min, s.rate_nl_day] for s in self.steps],
            "ptm": self.ptm.to_wire(),
            "catheter_volume_nl": self.catheter_volume_nl,
        }

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> Therapy:
        ptm = raw.get("ptm") or {}
        return cls(
            drugs=tuple(DrugFill(str(d["name"]), int(d["conc_ng_ml"])) for d in raw["drugs"]),
            mode=str(raw["mode"]),
            cycle_days=int(raw["cycle_days"]),
            steps=tuple(Step(int(a), int(b)) for a, b in raw["steps"]),
            ptm=PatientBolus(
                enabled=bool(ptm.get("enabled", False)),
                volume_nl=int(ptm.get("volume_nl", 0)),
                duration_min=int(ptm.get("duration_min", 0)),
                lockout_min=int(ptm.get("lockout_min", 0)),
                max_per_day=int(ptm.get("max_per_day", 0)),
            ),
            low_alarm_nl=int(raw["low_alarm_nl"]),
            catheter_volume_nl=int(raw.get("catheter_volume_nl", 0)),
        )


def dose_ng(volume_nl: Fraction | int, conc_ng_ml: int) -> Fraction:
    """Drug mass in a volume: nl × ng/mL ÷ 10^6 nl/mL."""
    return Fraction(volume_nl) * conc_ng_ml / NL_PER_ML


def volume_for_dose_nl(amount_ng: Fraction, conc_ng_ml: int) -> Fraction:
    return amount_ng * NL_PER_ML / conc_ng_ml


def round_half_even(value: Fraction) -> int:
    """The one rounding step: exact value to a whole wire unit, ties to even."""
    return round(value)
