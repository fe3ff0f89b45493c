"""Compatibility re-exports for code outside the core that still imports `programmer.checks`.

The dose rules live in `programmer.dose`; new code imports them from there.
"""

from programmer.dose.refill import check_discrepancy, discrepancy
from programmer.pump_clock import check_pump_clock

__all__ = ["check_discrepancy", "check_pump_clock", "discrepancy"]
