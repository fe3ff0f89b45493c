"""Shared builders for the emulator tests: therapies, changesets, a fresh model."""

from __future__ import annotations

import copy
from typing import Any

from programmer.emulator.model import PumpModel

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z, a UTC midnight
DAY = 86_400
HOUR = 3_600


def ptm(enabled: bool = True, **overrides: Any) -> dict[str, Any]:
    base = {
        "enabled": enabled,
        "volume_nl": 50_000,
        "duration_min": 10,
        "lockout_min": 120,
        "max_per_day": 4,
    }
    base.update(overrides)
    return base


def therapy(
    mode: str = "continuous",
    steps: list[list[int]] | None = None,
    cycle_days: int = 1,
    **overrides: Any,
) -> dict[str, Any]:
    if steps is None:
        steps = [] if mode == "stopped" else [[0, 500_000]]
    base: dict[str, Any] = {
        "drugs": [{"name": "baclofen", "conc_ng_ml": 2_000_000}],
        "low_alarm_nl": 2_000_000,
        "mode": mode,
        "cycle_days": cycle_days,
        "steps": steps,
        "ptm": ptm(enabled=False),
        "catheter_volume_nl": 150_000,
    }
    base.update(overrides)
    return base


def flex13() -> list[list[int]]:
    """A 13-step daily profile with uneven rates and step lengths."""
    starts = [0, 60, 150, 300, 420, 480, 600, 720, 800, 960, 1080, 1200, 1320]
    return [[start, 100_000 + 37_000 * index] for index, start in enumerate(starts)]


def new_pump(model: str = "ITP-40", clock_t: int = T0, **kwargs: Any) -> PumpModel:
    return PumpModel(model, clock_t, **kwargs)


def apply(pump: PumpModel, changeset: dict[str, Any], who: str = "tester") -> dict[str, Any]:
    staged = pump.stage(copy.deepcopy(changeset))
    return pump.commit(staged["staged_crc"], who)


def codes(pump: PumpModel) -> list[str]:
    return [event[2] for event in pump.events.events]


def alarm_codes(pump: PumpModel) -> set[str]:
    return set(pump.alarms)
