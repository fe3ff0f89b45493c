"""The worst sliding 24 h of a cyclic profile against an oracle that walks every minute."""

from __future__ import annotations

import os
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programmer.dose.rolling import window_basal_nl, worst_basal, worst_window
from programmer.therapy import PatientBolus

DAY = 1440
# CI runs a few dozen random profiles; reliability/run sets thousands (ITP_ROLLING_EXAMPLES).
EXAMPLES = int(os.environ.get("ITP_ROLLING_EXAMPLES", "60"))


def oracle_basal(steps: list[tuple[int, int]], cycle_days: int) -> list[Fraction]:
    """Volume of the 24 h starting at every minute of the cycle, minute by minute over two cycles."""
    cycle = cycle_days * DAY
    per_minute: list[int] = []  # rate of each minute, nl/day
    for minute in range(2 * cycle):
        in_cycle = minute % cycle
        rate = 0
        for start, r in steps:  # the last step that has begun
            if start <= in_cycle:
                rate = r
        per_minute.append(rate)
    windows = []
    running = sum(per_minute[:DAY])
    for start in range(cycle):
        windows.append(Fraction(running, DAY))
        running += per_minute[start + DAY] - per_minute[start]
    return windows


def oracle_patient_boluses(lockout: int, max_per_day: int, horizon_days: int = 4) -> int:
    """Press the button every minute the pump would grant it; the most starts in any 24 h."""
    granted: list[int] = []
    for minute in range(horizon_days * DAY):
        if granted and minute - granted[-1] < lockout:
            continue
        if sum(1 for g in granted if minute - g < DAY) >= max_per_day:
            continue
        granted.append(minute)
    best = 0
    for open_at in range((horizon_days - 1) * DAY):
        best = max(best, sum(1 for g in granted if open_at <= g < open_at + DAY))
    return best


@st.composite
def profiles(draw: st.DrawFn) -> tuple[list[tuple[int, int]], int]:
    cycle_days = draw(st.integers(1, 4))
    cycle = cycle_days * DAY
    starts = sorted(draw(st.sets(st.integers(1, cycle - 1), max_size=min(26, 6 * cycle_days))))
    rates = st.one_of(st.just(0), st.integers(48_000, 24_000_000))
    return [(s, draw(rates)) for s in [0, *starts]], cycle_days


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles())
def test_worst_basal_window_matches_the_minute_by_minute_oracle(profile):
    steps, cycle_days = profile
    windows = oracle_basal(steps, cycle_days)
    start, volume = worst_basal(steps, cycle_days)
    assert volume == max(windows)
    assert start == windows.index(max(windows))  # the earliest worst start
    for s in {0, DAY // 2, cycle_days * DAY - 1}:
        assert window_basal_nl(steps, cycle_days, s) == windows[s]


@settings(
    max_examples=max(EXAMPLES * 2 // 3, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    profiles(),
    st.integers(1_000, 1_000_000),
    st.integers(1, 60),
    st.integers(1, 1440),
    st.integers(1, 24),
    st.integers(0, 2_000_000),
)
def test_worst_window_with_boluses_matches_the_oracle(
    profile, volume, duration, lockout, per_day, clinician
):
    steps, cycle_days = profile
    lockout = max(lockout, duration)
    ptm = PatientBolus(True, volume, duration, lockout, per_day)
    got = worst_window(steps, cycle_days, ptm, clinician)
    count = oracle_patient_boluses(lockout, per_day)
    assert got.patient_boluses == count
    expected = max(oracle_basal(steps, cycle_days)) + count * volume + clinician
    assert got.volume_nl == expected


def test_two_day_cycle_delivers_twice_the_calendar_day_across_midnight():
    # Issue 12, class 4: 0 until 12:00 on day 1, then 0.768 mL/day until 12:00 on day 2, then 0.
    # At 25 mcg/mL each calendar day holds 9.6 mcg... twice that at 50 mcg/mL: 19.2 each day,
    # while 12:00 day 1 to 12:00 day 2 holds 38.4 mcg.
    steps = [(0, 0), (720, 768_000), (DAY + 720, 0)]
    start, volume = worst_basal(steps, 2)
    assert start == 720
    assert volume == 768_000
    assert worst_window(steps, 2).dose_ng(50_000) == 38_400  # ng
    # each calendar day holds half of it
    assert window_basal_nl(steps, 2, 0) == 384_000
    assert window_basal_nl(steps, 2, DAY) == 384_000


def test_wraps_from_the_last_day_to_the_first():
    # heavy at the end of day 3 and the start of day 1: only the wrapped window sees both
    steps = [(0, 2_000_000), (360, 48_000), (3 * DAY - 360, 2_000_000)]
    start, volume = worst_basal(steps, 3)
    assert volume == Fraction(2_000_000 * 720 + 48_000 * 720, DAY)
    # a plateau from 18:00 on day 3 back to 06:00 on day 3: the earliest start is reported
    assert start == 3 * DAY - 1080
    assert window_basal_nl(steps, 3, 3 * DAY - 360) == volume
    assert window_basal_nl(steps, 3, 0) < volume


def test_patient_boluses_in_the_worst_window():
    steps = [(0, 480_000)]
    lockout_limited = worst_window(steps, 1, PatientBolus(True, 10_000, 10, 120, 24))
    assert lockout_limited.patient_boluses == 12
    capped = worst_window(steps, 1, PatientBolus(True, 10_000, 10, 10, 4))
    assert capped.patient_boluses == 4  # four in a burst, then the cap waits
    off = worst_window(steps, 1, PatientBolus(False, 10_000, 10, 10, 4))
    assert off.patient_boluses == 0 and off.volume_nl == 480_000


@pytest.mark.parametrize(
    ("steps", "cycle_days"),
    [
        ([(10, 48_000)], 1),
        ([(0, 48_000), (0, 50_000)], 1),
        ([(0, 48_000), (1440, 5)], 1),
        ([(0, -1)], 1),
    ],
)
def test_an_impossible_profile_is_refused(steps, cycle_days):
    with pytest.raises(ValueError):
        worst_basal(steps, cycle_days)
