"""Time for the store: an injectable clock and the two forms every timestamp is stored in.

Every timestamp is kept twice: ISO-8601 UTC text with a 'Z' (for people and exports)
and integer Unix seconds (for indexed range queries).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# A clock returns an aware datetime. Tests pass a fake one so nothing sleeps.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time is ambiguous (local? UTC?); refusing it avoids an hour-shifted record.
        raise ValueError("a timestamp must carry its UTC offset")
    return moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and a 'Z', e.g. 2026-11-22T02:35:00.000000Z."""
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_seconds(moment: datetime) -> int:
    """Whole Unix seconds (floor), for range queries."""
    return int(to_utc(moment).timestamp() // 1)


def parse_utc_text(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
