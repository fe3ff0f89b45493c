"""Dates as the clinic reads them ("Thu 12 Mar 2026, 14:05"), in the pump's local time;
never ISO text in front of a person."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _at(t: int, offset_min: int) -> datetime:
    return datetime.fromtimestamp(t, timezone(timedelta(minutes=offset_min)))


def local_moment(t: int, offset_min: int) -> datetime:
    """A pump time (seconds, with the pump's UTC offset) as a datetime in that offset."""
    return _at(t, offset_min)


def local_date(t: int, offset_min: int) -> str:
    d = _at(t, offset_min)
    return f"{DAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}"


def local_text(t: int, offset_min: int) -> str:
    """Date and time to the minute."""
    return f"{local_date(t, offset_min)}, {_at(t, offset_min):%H:%M}"


def local_time(t: int, offset_min: int) -> str:
    return f"{_at(t, offset_min):%H:%M}"


def computer_text(t: int) -> str:
    """A time of this computer's clock (the store's), in this computer's local time."""
    d = datetime.fromtimestamp(t).astimezone()
    return f"{DAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}, {d:%H:%M}"


def day_text(d: date | str | None) -> str:
    """A calendar day as the clinic writes it ("4 May 1961"): a date of birth or an implant
    has no time of day. Text that is not a date is shown as it is, never hidden."""
    if d is None:
        return ""
    if isinstance(d, str):
        try:
            day = date.fromisoformat(d.strip()[:10])
        except ValueError:
            return d
    else:
        day = d
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def stored_moment(text: str | None) -> datetime | None:
    """A time as the store keeps it (ISO 8601, UTC when it has no offset); None if not one."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _day_only(text: str | None) -> bool:
    """A stored calendar day ("2019-05-01"): no time, so no time zone to convert."""
    return text is not None and len(text.strip()) == 10


def stored_text(text: str | None) -> str:
    """A stored time in this computer's (the clinic's) local time, to the minute."""
    if _day_only(text):
        return day_text(text)
    at = stored_moment(text)
    return computer_text(int(at.timestamp())) if at is not None else (text or "")


def stored_day(text: str | None) -> str:
    """The local calendar day of a stored time ("12 Mar 2026")."""
    if _day_only(text):
        return day_text(text)
    at = stored_moment(text)
    return day_text(at.astimezone().date()) if at is not None else (text or "")


_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})")


def stamp_text(iso: str) -> str:
    """A stored ISO stamp with its offset ("2026-03-12T13:05:00Z") as this computer's
    local time; text that is not such a stamp is returned as it is."""
    try:
        stamp = datetime.fromisoformat(iso.strip().replace("Z", "+00:00"))
    except ValueError:
        return iso
    if stamp.tzinfo is None:
        return iso  # no offset: which zone it meant is unknown, so it is not converted
    return computer_text(int(stamp.timestamp()))


def local_stamps(text: str) -> str:
    """Every ISO stamp with an offset in `text` (a core message) in local time."""
    return _ISO.sub(lambda m: stamp_text(m.group(0)), text)
