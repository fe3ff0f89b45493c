"""Dates as the clinic reads them ("Thu 12 Mar 2026, 14:05"), in the pump's local time;
never ISO text in front of a person."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _at(t: int, offset_min: int) -> datetime:
    return datetime.fromtimestamp(t, timezone(timedelta(minutes=offset_min)))


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
