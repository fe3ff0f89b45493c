"""A simulated year: the hourly totals add up exactly, to the nanolitre.

The expected volumes are computed here with Fractions from the therapy alone (not by the
model): basal is the integral of the step rates over the time no clinician bolus ran.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

from .helpers import DAY, HOUR, T0, apply, flex13, new_pump, ptm, therapy

PTM_TIMES = [
    8 * HOUR + 55 * 60,
    12 * HOUR + 55 * 60 + 30,
    16 * HOUR + 59 * 60 + 59,
    20 * HOUR + 30 * 60,
]
PTM_VOLUME = 50_000
BOLUSES = [  # (day, second of day, volume nl, rate nl/day)
    (100, 10 * HOUR + 17 * 60 + 13, 333_333, 1_234_567),
    (200, 23 * HOUR + 50 * 60, 1_000_001, 24_000_000),
]


def rate_at(steps: list[list[int]], second_of_day: int) -> int:
    rate = steps[0][1]
    for start, step_rate in steps:
        if start * 60 <= second_of_day:
            rate = step_rate
    return rate


def basal_integral(steps: list[list[int]], start: int, end: int) -> Fraction:
    """nl given by the daily profile between two instants (anchored at UTC midnight)."""
    edges = sorted(
        {start, end}
        | {
            day + s * 60
            for day in range(start - start % DAY, end + DAY, DAY)
            for s, _ in steps
            if start < day + s * 60 < end
        }
    )
    total = Fraction(0)
    for a, b in itertools.pairwise(edges):
        total += Fraction(rate_at(steps, (a - T0) % DAY) * (b - a), DAY)
    return total


def test_a_year_of_hourly_totals_adds_up_exactly() -> None:
    steps = flex13()
    pump = new_pump("ITP-40")
    apply(
        pump,
        {
            "therapy": therapy(
                "flex",
                steps,
                ptm=ptm(volume_nl=PTM_VOLUME, duration_min=10, lockout_min=120, max_per_day=4),
            )
        },
    )
    first_hour = T0 // HOUR
    fallen = 0  # estimated reservoir fall, summed between refills
    level = pump.reservoir_nl
    granted = 0
    bolus_windows = []
    for day in range(365):
        day_t = T0 + day * DAY
        if pump.reservoir_nl < 10_000_000:
            pump.advance_to(day_t)
            fallen += level - pump.reservoir_nl
            refill = {
                "removed_nl": pump.reservoir_nl,
                "added_nl": 40_000_000,
                "reservoir_nl": 40_000_000,
            }
            apply(pump, {"refill": refill})
            level = pump.reservoir_nl
        moments = [(s, "ptm") for s in PTM_TIMES] + [(s, b) for d, s, *b in BOLUSES if d == day]
        for second, what in sorted(moments, key=lambda m: m[0]):
            pump.advance_to(day_t + second)
            if what == "ptm":
                granted += pump.press_ptm()["granted"]
            else:
                volume, rate = what  # type: ignore[misc]
                apply(pump, {"bolus": {"kind": "single", "volume_nl": volume, "rate_nl_day": rate}})
                bolus_windows.append((day_t + second, day_t + second - (-volume * DAY // rate)))
    end = T0 + 365 * DAY
    pump.advance_to(end)
    fallen += level - pump.reservoir_nl

    hours = pump.hours
    start = first_hour - hours.first_hour
    basal = hours.basal[start : start + 365 * 24]
    bolus = hours.bolus[start : start + 365 * 24]
    assert len(basal) == 365 * 24

    # Independently: the profile's integral, minus what the two boluses replaced.
    expected_basal = basal_integral(steps, T0, end)
    for a, b in bolus_windows:
        expected_basal -= basal_integral(steps, a, b)
    assert sum(basal) == int(expected_basal)  # the carry starts at 0: the floor is exact
    assert 1_300 < granted <= 4 * 365  # a few refused while a clinician bolus ran
    assert sum(bolus) == granted * PTM_VOLUME + sum(volume for _, _, volume, _ in BOLUSES)
    assert sum(basal) + sum(bolus) == fallen

    # Hour by hour: an hour inside one step holds that step's hourly rate, floor or ceiling.
    for index, basal_nl in enumerate(basal):
        hour_start = T0 + index * HOUR
        if any(a < hour_start + HOUR and hour_start < b for a, b in bolus_windows):
            continue
        rates = {rate_at(steps, (hour_start - T0) % DAY + s) for s in (0, HOUR - 1)}
        if len(rates) == 1:
            exact = Fraction(rates.pop() * HOUR, DAY)
            assert basal_nl in (exact.__floor__(), exact.__ceil__()), index
    events = [e[2] for e in pump.events.events]
    assert events.count("bolus_completed") == 2
    assert events.count("ptm_request") == 4 * 365
