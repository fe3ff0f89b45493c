"""The pump's own limits (pump-link-protocol.md, section 5), in wire units."""

from __future__ import annotations

from dataclasses import dataclass

SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600
MINUTES_PER_DAY = 1_440

MIN_RATE_NL_DAY = 48_000
MAX_RATE_NL_DAY = 24_000_000
KEEP_OPEN_RATE_NL_DAY = 48_000  # what an empty pump runs at to keep the catheter open
PUMP_TUBING_NL = 140_000
LOW_ALARM_MIN_NL = 500_000
LOW_ALARM_MAX_NL = 10_000_000
LOW_ALARM_DEFAULT_NL = 2_000_000
PTM_VOLUME_MIN_NL = 1_000
PTM_VOLUME_MAX_NL = 1_000_000
PTM_DURATION_MIN_MIN = 1
PTM_DURATION_MAX_MIN = 60
PTM_LOCKOUT_MAX_MIN = 1_440
PTM_PER_DAY_MIN = 1
PTM_PER_DAY_MAX = 24
MAX_DRUGS = 4
DRUG_NAME_MAX_CHARS = 32
MAX_STEPS_PER_DAY = 13
CYCLE_DAYS_MIN = 1
CYCLE_DAYS_MAX = 7
UTC_OFFSET_MIN_MIN = -840
UTC_OFFSET_MAX_MIN = 840
# Clocks outside 2000-01-01 .. 2100-01-01 are refused: no pump is that old or that new.
CLOCK_MIN_T = 946_684_800
CLOCK_MAX_T = 4_102_444_800

# 6.5 years of 365.25 days, exactly.
ERI_AFTER_IMPLANT_S = 205_124_400  # = 2374 days 3 h
END_OF_SERVICE_AFTER_ERI_S = 90 * SECONDS_PER_DAY
PUMP_STOPPED_AFTER_S = 48 * SECONDS_PER_HOUR  # raised when stopped for MORE than this

FLOW_ERROR_PPM_MIN = -1_000_000  # a pump cannot deliver less than nothing
FLOW_ERROR_PPM_MAX = 1_000_000
PPM = 1_000_000

EVENTS_KEPT = 65_536
# 5 years of leap-heavy hours plus slack: "at least the last 5 years of hours".
HOURS_KEPT = 5 * 366 * 24 + 24


@dataclass(frozen=True)
class ModelSpec:
    name: str
    capacity_nl: int
    serial_prefix: str


MODELS: dict[str, ModelSpec] = {
    "ITP-20": ModelSpec("ITP-20", 20_000_000, "ITP20"),
    "ITP-40": ModelSpec("ITP-40", 40_000_000, "ITP40"),
}
