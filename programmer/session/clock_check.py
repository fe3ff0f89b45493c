"""The pump's clock against this computer's: how far apart, in words, and what to do.

The pump runs its schedule, patient-bolus lockouts and hourly history by its own clock;
a clock that is off shifts all of them. The offset check is a finding of the plan
(`pump_clock_offset`); drift is shown at interrogation with its remedy.
"""

from __future__ import annotations

DRIFT_WARN_S = 300  # five minutes: beyond any telemetry delay, within any schedule step


def drift_text(seconds: int) -> str:
    """A clock drift a person can read: seconds when small, days and hours when not."""
    left = abs(seconds)
    if left < 120:
        return f"{'+' if seconds >= 0 else '-'}{left} s"
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes and not days else ""]  # fmt: skip
    words = " ".join(p for p in parts if p)
    return f"+{words} (pump ahead)" if seconds >= 0 else f"-{words} (pump behind)"


def drift_advice(drift_s: int) -> str | None:
    """What to do about a drift, or None when it is small enough to leave alone."""
    if abs(drift_s) < DRIFT_WARN_S:
        return None
    way = "ahead of" if drift_s > 0 else "behind"
    return (
        f"The pump's clock is {span_text(drift_s)} {way} this computer's. "
        "Check this computer's time, then set the pump's clock."
    )


def span_text(seconds: int) -> str:
    """How long, without sign or direction: "325 d 7 h", "1 h 30 min", "90 s"."""
    return drift_text(abs(seconds)).split(" (")[0].lstrip("+")
