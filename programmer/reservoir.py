"""When the low-reservoir alarm will sound: the steps followed exactly, not an average.

The estimate assumes the worst the prescription allows: every patient bolus
taken as soon as the lockout and the rolling 24 h cap let it. A one-time bolus
at the start replaces the basal rate until its volume is given (as the pump
does). Time is exact (`Fraction` seconds); the crossing is found by walking
constant-rate segments, skipping whole repeats of the pattern arithmetically.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from math import ceil, lcm

from programmer.therapy import PatientBolus, Therapy

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class OneTimeBolus:
    volume_nl: int
    rate_nl_day: int


def _ptm_starts_in(ptm: PatientBolus, period_min: int) -> tuple[int, list[int]]:
    """(period Q in minutes, bolus start minutes within one period), greedy earliest."""
    n, lockout = ptm.max_per_day, ptm.lockout_min
    if n * lockout >= 1440:
        return lockout, [0]  # the lockout alone limits: one every `lockout` minutes
    return 1440, [i * lockout for i in range(n)]  # n in a burst, then the 24 h cap waits


def _segments(
    therapy: Therapy, t0: Fraction, anchor_t: int, window_s: Fraction, ptm_on: bool
) -> list[tuple[Fraction, Fraction]]:
    """(duration s, rate nl/day) pieces covering [t0, t0 + window_s)."""
    cycle_s = therapy.cycle_min * 60
    bounds: set[Fraction] = {Fraction(0), window_s}
    phase = (t0 - anchor_t) % cycle_s
    first_cycle = t0 - phase
    k = 0
    while first_cycle + k * cycle_s < t0 + window_s:
        for step in therapy.steps:
            b = first_cycle + k * cycle_s + step.start_min * 60 - t0
            if 0 < b < window_s:
                bounds.add(b)
        k += 1
    ptm_intervals: list[tuple[Fraction, Fraction]] = []
    ptm_rate = Fraction(0)
    if ptm_on:
        q_min, starts = _ptm_starts_in(therapy.ptm, therapy.ptm.duration_min)
        ptm_rate = Fraction(therapy.ptm.volume_nl * 1440, therapy.ptm.duration_min)
        j = 0
        while j * q_min * 60 < window_s:
            for s in starts:
                a = Fraction(j * q_min * 60 + s * 60)
                b = a + therapy.ptm.duration_min * 60
                if a < window_s:
                    ptm_intervals.append((a, min(b, window_s)))
                    bounds.update({a, min(b, window_s)})
            j += 1
    ordered = sorted(bounds)
    out: list[tuple[Fraction, Fraction]] = []
    pi = 0
    for a, b in pairwise(ordered):
        cyc_min = int(((t0 + a - anchor_t) % cycle_s) // 60)
        rate = Fraction(therapy.rate_at(cyc_min))
        while pi < len(ptm_intervals) and ptm_intervals[pi][1] <= a:
            pi += 1
        if pi < len(ptm_intervals) and ptm_intervals[pi][0] <= a < ptm_intervals[pi][1]:
            rate += ptm_rate
        out.append((b - a, rate))
    return out


def low_alarm_instant(
    therapy: Therapy,
    start_t: int,
    anchor_t: int,
    reservoir_nl: int,
    bolus: OneTimeBolus | None,
    horizon_s: int,
) -> Fraction | None:
    """The instant (UTC seconds) the estimate reaches therapy.low_alarm_nl, or None before the horizon."""
    need = Fraction(reservoir_nl - therapy.low_alarm_nl)
    if need <= 0:
        return Fraction(start_t)
    t = Fraction(start_t)
    end = start_t + horizon_s
    if bolus is not None and bolus.volume_nl > 0:
        duration = Fraction(bolus.volume_nl * SECONDS_PER_DAY, bolus.rate_nl_day)
        if bolus.volume_nl >= need:
            hit = t + need * SECONDS_PER_DAY / bolus.rate_nl_day
            return hit if hit <= end else None
        need -= bolus.volume_nl
        t += duration
    if therapy.mode == "stopped" or not therapy.steps:
        return None
    ptm_on = therapy.ptm.enabled and therapy.ptm.allowed_per_day() > 0
    window = therapy.cycle_min * 60
    if ptm_on:
        q_min, _ = _ptm_starts_in(therapy.ptm, therapy.ptm.duration_min)
        window = lcm(window, q_min * 60)
    window_s = Fraction(min(window, horizon_s + 1))
    segments = _segments(therapy, t, anchor_t, window_s, ptm_on)
    per_window = sum((d * r / SECONDS_PER_DAY for d, r in segments), Fraction(0))
    if per_window == 0:
        return None
    # Skip whole windows, leaving 0 < need <= per_window for the walk below.
    whole = ceil(need / per_window) - 1
    need -= whole * per_window
    t += whole * window_s
    while t <= end:
        for duration, rate in segments:
            used = duration * rate / SECONDS_PER_DAY
            if rate > 0 and used >= need:
                hit = t + need * SECONDS_PER_DAY / rate
                return hit if hit <= end else None
            need -= used
            t += duration
        if window_s < window:  # the window was cut at the horizon: nothing repeats
            return None
    return None
