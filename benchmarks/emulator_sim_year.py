"""Benchmark: SIM_ADVANCE of 365 days with a 13-step flex profile, event by event, against
a reference that ticks once per simulated minute. Prints both times, the floor and the ratio.

Run: .venv/bin/python benchmarks/emulator_sim_year.py
"""

from __future__ import annotations

import sys
import time
from fractions import Fraction

from programmer.emulator.handler import EmulatorHandler
from programmer.emulator.model import PumpModel
from programmer.link.messages import MsgType

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z
DAY, HOUR, YEAR = 86_400, 3_600, 365 * 86_400
FLOOR_S = 0.25  # a simulated year must take less than this
STEPS = [[start, 48_000 + 9_000 * i] for i, start in
         enumerate([0, 60, 150, 300, 420, 480, 600, 720, 800, 960, 1080, 1200, 1320])]  # fmt: skip


def programmed_pump() -> EmulatorHandler:
    pump = PumpModel("ITP-40", T0)
    therapy = {
        "drugs": [{"name": "morphine", "conc_ng_ml": 10_000_000}],
        "low_alarm_nl": 2_000_000,
        "mode": "flex",
        "cycle_days": 1,
        "steps": STEPS,
        "ptm": {
            "enabled": False,
            "volume_nl": 1_000,
            "duration_min": 1,
            "lockout_min": 1,
            "max_per_day": 1,
        },
        "catheter_volume_nl": 0,
    }
    handler = EmulatorHandler(pump, None, speed=Fraction(0))
    staged = handler.handle(MsgType.STAGE, {"changeset": {"therapy": therapy}}, "bench")
    handler.handle(MsgType.COMMIT, {"staged_crc": staged["staged_crc"]}, "bench")
    return handler


def tick_per_minute_reference() -> list[int]:
    """The naive way: one step of the loop per simulated minute, carrying sub-nl remainders."""
    hours = [0] * (YEAR // HOUR)
    carry = 0
    starts = [start for start, _ in STEPS]
    for minute in range(YEAR // 60):
        of_day = minute % 1440
        index = 0
        while index + 1 < len(starts) and starts[index + 1] <= of_day:
            index += 1
        carry += STEPS[index][1] * 60
        given, carry = divmod(carry, DAY)
        hours[minute // 60] += given
    return hours


def main() -> int:
    handler = programmed_pump()
    began = time.perf_counter()
    handler.handle(MsgType.SIM_ADVANCE, {"seconds": YEAR}, "bench")
    event_s = time.perf_counter() - began
    model = handler.model
    start = T0 // HOUR - model.hours.first_hour
    emulated = model.hours.basal[start : start + YEAR // HOUR]

    began = time.perf_counter()
    reference = tick_per_minute_reference()
    tick_s = time.perf_counter() - began

    same = emulated == reference
    print(
        f"SIM_ADVANCE 365 days, 13-step profile: {event_s * 1000:.1f} ms (floor {FLOOR_S * 1000:.0f} ms)"
    )
    print(f"tick-per-minute reference:            {tick_s * 1000:.1f} ms")
    print(f"ratio reference / event-by-event:     {tick_s / event_s:.1f}x faster")
    print(f"ratio to the floor:                   {event_s / FLOOR_S:.2f} of the allowed time")
    print(
        f"hourly totals identical to the reference: {same} ({sum(emulated)} nl in {len(emulated)} h)"
    )
    return 0 if same and event_s < FLOOR_S else 1


if __name__ == "__main__":
    sys.exit(main())
