"""A patient's pumps on the history screen: the words above the charts and where to draw.

The course (its pumps, stretches and replacements) is the core's
(programmer.patients.course); here its dates become words and chart positions.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from html import escape

from programmer.patients.course import PumpCourse
from programmer.patients.timeline import Stretch
from programmer.patients.words import PUMP_KIND, word
from ui.pump_text import pump_text
from ui.timefmt import day_text

__all__ = ["course_bands", "course_text", "day_text", "replacement_times", "stretch_label"]


def _x(d: date, offset_min: int) -> float:
    """Local midnight of a day, in the charts' seconds."""
    return datetime.combine(d, time(0), tzinfo=timezone(timedelta(minutes=offset_min))).timestamp()


def _name(s: Stretch) -> str:
    """The pump's model, or its kind in words when the record has no model."""
    return pump_text(s.model) if s.model else f"{word(PUMP_KIND, s.kind)} pump"


def stretch_label(s: Stretch) -> str:
    until = f"explanted {day_text(s.end)}" if s.end else "implanted now"
    return f"{_name(s)} {pump_text(s.serial)}: implanted {day_text(s.start)}, {until}"


def course_bands(course: PumpCourse, offset_min: int) -> list[tuple[float, float, str]]:
    """(start, end, label) of each pump's stretch; a pump in place now ends today."""
    today = datetime.now(timezone(timedelta(minutes=offset_min))).date() + timedelta(days=1)
    return [
        (
            _x(s.start, offset_min),
            _x(s.end or today, offset_min),
            f"{_name(s)} {pump_text(s.serial)}",
        )
        for s in course.stretches
    ]


def replacement_times(course: PumpCourse) -> list[float]:
    return [
        datetime.fromisoformat(e.at.replace("Z", "+00:00")).timestamp() for e in course.replacements
    ]


def course_text(course: PumpCourse | None) -> str:
    if course is None:
        return ""
    p = course.patient
    pumps = " → ".join(escape(stretch_label(s)) for s in course.stretches)
    replaced = "; ".join(escape(e.text.replace(" -> ", " → ")) for e in course.replacements)
    return (
        f"<b>Patient {escape(p.clinic_id)} ({escape(p.name)})</b>: one timeline across "
        f"{len(course.stretches)} pumps. {pumps}."
        + (f" <span style='color:#b00020'>{replaced}.</span>" if replaced else "")
    )
