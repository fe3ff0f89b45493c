"""The basal program in the pump's fixed-offset local time: which rate runs, and until when."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from programmer.emulator.limits import SECONDS_PER_DAY


def local_midnight(local_t: int) -> int:
    return local_t - local_t % SECONDS_PER_DAY


@dataclass(frozen=True)
class BasalSchedule:
    """Steps as (start second in cycle, rate nl/day); the cycle starts at `anchor_local`.

    `anchor_local` is a local midnight in local seconds (UTC seconds + offset), so changing
    the UTC offset moves the whole schedule, as section 4 (SET_CLOCK) says it must.
    """

    cycle_s: int
    starts_s: tuple[int, ...]
    rates: tuple[int, ...]
    anchor_local: int

    @classmethod
    def from_therapy(
        cls, mode: str, cycle_days: int, steps: list[list[int]], anchor: int
    ) -> BasalSchedule:
        if mode == "stopped" or not steps:
            return cls(cycle_days * SECONDS_PER_DAY, (0,), (0,), anchor)
        return cls(
            cycle_days * SECONDS_PER_DAY,
            tuple(start * 60 for start, _ in steps),
            tuple(rate for _, rate in steps),
            anchor,
        )

    def cycle_start(self, local_t: int) -> int:
        """The local instant at which cycle minute 0 last began, at or before `local_t`."""
        return local_t - (local_t - self.anchor_local) % self.cycle_s

    def rate_at(self, local_t: int) -> tuple[int, int | None]:
        """(rate in nl/day, seconds until the rate may change; None if it never does)."""
        if len(self.starts_s) == 1:
            return self.rates[0], None
        position = (local_t - self.anchor_local) % self.cycle_s
        index = bisect_right(self.starts_s, position) - 1
        following = self.starts_s[index + 1] if index + 1 < len(self.starts_s) else self.cycle_s
        return self.rates[index], following - position
