"""The pump's own limits (pump-link-protocol.md, section 5). One place, one source.

When a pump is connected its model decides the capacity; these are the values
the ITP-20/ITP-40 report and enforce themselves.
"""

from __future__ import annotations

MIN_RATE_NL_DAY = 48_000  # also the keep-open rate when the reservoir is empty
MAX_RATE_NL_DAY = 24_000_000
PUMP_TUBING_NL = 140_000  # pump to catheter port; the 2013 recall used 0.199 mL by mistake
LOW_ALARM_MIN_NL = 500_000
LOW_ALARM_MAX_NL = 10_000_000
LOW_ALARM_DEFAULT_NL = 2_000_000
PTM_VOLUME_MIN_NL = 1_000
PTM_VOLUME_MAX_NL = 1_000_000
PTM_DURATION_MIN = 1
PTM_DURATION_MAX = 60
PTM_LOCKOUT_MAX = 1440
PTM_PER_DAY_MIN = 1
PTM_PER_DAY_MAX = 24
MAX_DRUGS = 4
MAX_STEPS_PER_DAY = 13
MAX_CYCLE_DAYS = 7
MINUTES_PER_DAY = 1440
ERI_TO_END_OF_SERVICE_DAYS = 90
# Priming runs at the pump's fastest bolus rate unless the prescription states one:
# the fluid path holds no drug yet, so nothing reaches the patient faster than planned.
DEFAULT_PRIMING_RATE_NL_DAY = MAX_RATE_NL_DAY

CAPACITY_NL = {"ITP-20": 20_000_000, "ITP-40": 40_000_000}
SOURCE = "pump-link-protocol.md section 5"
