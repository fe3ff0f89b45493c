"""Dates as the clinic reads them ("Thu 12 Mar 2026, 14:05"), in the pump's local time;
never ISO text in front of a person."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# One implementation of the clinic's date words: the core's (the patient report, written by
# the command line too, says the same). This module adds the pump's own clock.
from programmer.patients.words import (
    DAYS,
    MONTHS,
    day_text,
    moment_text,
    stored_day,
    stored_moment,
    stored_text,
)

__all__ = [
    "DAYS", "MONTHS", "computer_text", "day_text", "local_date", "local_moment", "local_stamps",
    "local_text", "local_time", "stamp_text", "stored_day", "stored_moment", "stored_text",
]  # fmt: skip


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
    return moment_text(datetime.fromtimestamp(t, UTC))


_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$")
_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})")


def stamp_text(iso: str) -> str:
    """A stored ISO stamp with its offset ("2026-03-12T13:05:00Z") as this computer's
    local time; text that is not such a stamp (no offset: its zone is unknown) as it is."""
    return stored_text(iso) if _OFFSET.search(iso.strip()) else iso


def local_stamps(text: str) -> str:
    """Every ISO stamp with an offset in `text` (a core message) in local time."""
    return _ISO.sub(lambda m: stamp_text(m.group(0)), text)
