"""Fixed-offset local time, as the pump keeps it, and the daylight-saving check."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

OffsetAt = Callable[[int], int]  # UTC seconds -> this computer's UTC offset in minutes then


def system_offset_at(t: int) -> int:
    return time.localtime(t).tm_gmtoff // 60


def local_midnight_t(t: int, offset_min: int) -> int:
    """UTC seconds of the local midnight (fixed offset) on or before `t`."""
    local = t + offset_min * 60
    return local - local % 86_400 - offset_min * 60


def offset_of(at: datetime) -> int:
    delta = at.utcoffset()
    assert delta is not None, "aware datetimes only"
    return int(delta.total_seconds()) // 60


def iso_utc(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(t: int, offset_min: int) -> str:
    tz = timezone(timedelta(minutes=offset_min))
    return datetime.fromtimestamp(t, tz).isoformat()


def offset_changes(start_t: int, end_t: int, offset_at: OffsetAt) -> list[tuple[int, int, int]]:
    """(first UTC second with the new offset, old offset, new offset) between two instants.

    Found by daily sampling then bisection to the second: no zone changes its
    offset twice within a day.
    """
    changes = []
    t, prev = start_t, offset_at(start_t)
    while t < end_t:
        nxt = min(t + 86_400, end_t)
        now = offset_at(nxt)
        if now != prev:
            lo, hi = t, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_at(mid) == prev:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, prev, now))
            prev = now
        t = nxt
    return changes
