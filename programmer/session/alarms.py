"""What each pump alarm means and what to do about it, declared as data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlarmAdvice:
    code: str
    title: str
    remedy: str


ADVICE: dict[str, AlarmAdvice] = {
    a.code: a
    for a in [
        AlarmAdvice("low_reservoir", "Reservoir low (estimate)", "Refill the pump soon; the estimate does not include over-infusion."),
        AlarmAdvice("empty_reservoir", "Reservoir empty (estimate)", "Refill now: the pump runs at the minimum rate only. Watch for withdrawal (baclofen, opioids)."),
        AlarmAdvice("eri", "Battery: elective replacement", "Schedule pump replacement; delivery stops for good 90 days after this alarm."),
        AlarmAdvice("end_of_service", "Battery: end of service", "The pump no longer delivers. Replace it now and manage withdrawal."),
        AlarmAdvice("motor_stall", "Motor stall", "The pump is not delivering. Check for withdrawal or overdose signs; image the pump; contact the manufacturer."),
        AlarmAdvice("pump_stopped", "Pump stopped for more than 48 h", "Restart therapy, or document why the pump stays stopped."),
    ]
}  # fmt: skip


def advice_for(code: str) -> AlarmAdvice:
    """The advice for a known code; for another, its code as the pump sent it, made safe
    to show (escaped, shortened: it may come from a stored log the link never checked)."""
    from programmer.session.display_text import display_text

    return ADVICE.get(
        code,
        AlarmAdvice(
            code,
            f"Alarm {display_text(code, 64)}",
            "Unknown alarm: consult the pump's manual and the manufacturer.",
        ),
    )
