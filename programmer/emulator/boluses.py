"""Boluses in progress. Each knows, exactly in whole nanolitres, how much it has given by t.

Volumes are floors of exact rationals measured from the bolus's own start, so a bolus that
runs to its end gives exactly its volume, and the per-hour split loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from programmer.emulator.limits import SECONDS_PER_DAY


@dataclass
class ClinicianBolus:
    """Replaces the basal rate until `volume_nl` is delivered at `rate_nl_day`."""

    kind: str
    volume_nl: int
    rate_nl_day: int
    start_t: int
    delivered_nl: int = 0

    def delivered_by(self, t: int) -> int:
        elapsed = max(t - self.start_t, 0)
        return min(self.volume_nl, self.rate_nl_day * elapsed // SECONDS_PER_DAY)

    @property
    def end_t(self) -> int:
        """The first whole second at which the whole volume has been given."""
        return self.start_t + -(-self.volume_nl * SECONDS_PER_DAY // self.rate_nl_day)

    def to_wire(self) -> list[Any]:
        return [self.kind, self.volume_nl, self.rate_nl_day, self.start_t, self.delivered_nl]

    @classmethod
    def from_wire(cls, raw: list[Any]) -> ClinicianBolus:
        return cls(str(raw[0]), int(raw[1]), int(raw[2]), int(raw[3]), int(raw[4]))


@dataclass
class PatientBolus:
    """A granted PTM bolus: `volume_nl` spread evenly over `duration_s`, on top of basal."""

    volume_nl: int
    duration_s: int
    start_t: int
    delivered_nl: int = 0

    def delivered_by(self, t: int) -> int:
        elapsed = min(max(t - self.start_t, 0), self.duration_s)
        return self.volume_nl * elapsed // self.duration_s

    @property
    def end_t(self) -> int:
        return self.start_t + self.duration_s

    def to_wire(self) -> list[int]:
        return [self.volume_nl, self.duration_s, self.start_t, self.delivered_nl]

    @classmethod
    def from_wire(cls, raw: list[Any]) -> PatientBolus:
        return cls(int(raw[0]), int(raw[1]), int(raw[2]), int(raw[3]))
