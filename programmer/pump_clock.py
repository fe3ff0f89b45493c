"""The pump keeps its own UTC offset; warn when it differs from this computer's."""

from __future__ import annotations

from programmer.findings import Finding, finding


def check_pump_clock(pump_offset_min: int, local_offset_min: int) -> list[Finding]:
    """The pump runs its steps in its own fixed offset; warn when it differs from ours."""
    if pump_offset_min == local_offset_min:
        return []
    shift = local_offset_min - pump_offset_min
    return [finding("pump_clock_offset", "pump.utc_offset_min",
                    f"the pump keeps UTC offset {pump_offset_min} min, this computer {local_offset_min} min: "
                    f"every step runs {abs(shift)} min {'later' if shift > 0 else 'earlier'} by the wall clock "
                    "than the time written in the prescription")]  # fmt: skip
