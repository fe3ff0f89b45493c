"""The pump's two histories: the numbered event log and the hourly infusion totals.

Both page their answers to fit one link frame, so they know MessagePack sizes exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack

from programmer.emulator.limits import EVENTS_KEPT, HOURS_KEPT
from programmer.link import packed
from programmer.link.frames import MAX_BODY_SIZE, body_size

# A decoded frame body is at most 4096 bytes: version, kind, seq, type (6) and crc (4) are
# not payload.
MAX_PAYLOAD_BYTES = 4096 - 10
_TRIM_SLACK = 4_096  # trim in chunks, not on every append


def int_size(value: int) -> int:
    """Bytes of MessagePack's shortest encoding of an integer."""
    if 0 <= value <= 0x7F or -32 <= value < 0:
        return 1
    if value >= 0:
        return 2 if value <= 0xFF else 3 if value <= 0xFFFF else 5 if value <= 0xFFFFFFFF else 9
    return 2 if value >= -0x80 else 3 if value >= -0x8000 else 5 if value >= -0x80000000 else 9


def array_header_size(length: int) -> int:
    return 1 if length <= 15 else 3 if length <= 0xFFFF else 5


def key_size(key: str) -> int:
    return len(msgpack.packb(key))


def _packed_size(values: list[int]) -> int:
    return len(msgpack.packb(values))


def _packed_page(
    available: int,
    first_try: int,
    columns_for: Callable[[int], packed.EventColumns | packed.HourColumns],
    answer: Callable[[int, bytes], dict[str, Any]],
) -> dict[str, Any]:
    """The fullest packed answer that fits one frame. Columns are built for `first_try`
    records, four times more while every one of them fits."""
    limit = min(available, first_try, packed.MAX_RECORDS)
    while True:
        columns = columns_for(limit)
        count, response = _fill_frame(columns, answer)
        grown = min(available, limit * 4, packed.MAX_RECORDS)
        if count < len(columns) or len(columns) < limit or grown == limit:
            return response
        limit = grown


def _fill_frame(
    columns: packed.EventColumns | packed.HourColumns,
    answer: Callable[[int, bytes], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    cache: dict[int, dict[str, Any]] = {}

    def size(count: int) -> int:
        if count not in cache:
            cache[count] = answer(count, packed.pack_raw(columns.raw(count)))
        return body_size({"ok": True, **cache[count]})

    count = packed.largest_fitting(len(columns), size, MAX_BODY_SIZE)
    size(count)
    return count, cache[count]


def _event_size(seq: int, t: int, code: str, data: dict[str, Any]) -> int:
    event = {"seq": seq, "t": t, "code": code, "data": data}
    return len(msgpack.packb(event, use_bin_type=True))


class EventLog:
    """Events numbered from 1, never reused; keeps at least the last `EVENTS_KEPT`."""

    def __init__(self, next_seq: int = 1, events: list[list[Any]] | None = None) -> None:
        self.next_seq = next_seq
        self.events: list[list[Any]] = events if events is not None else []  # [seq, t, code, data]
        # Encoded size of each event as READ_EVENTS sends it (derived, never saved).
        self.sizes = [_event_size(*event) for event in self.events]

    @property
    def first_seq(self) -> int:
        return int(self.events[0][0]) if self.events else self.next_seq

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1

    def append(self, t: int, code: str, data: dict[str, Any]) -> int:
        seq = self.next_seq
        self.events.append([seq, t, code, data])
        self.sizes.append(_event_size(seq, t, code, data))
        self.next_seq += 1
        if len(self.events) > EVENTS_KEPT + _TRIM_SLACK:
            excess = len(self.events) - EVENTS_KEPT
            del self.events[:excess]
            del self.sizes[:excess]
        return seq

    def page(self, from_seq: int, most: int) -> dict[str, Any]:
        start = max(from_seq, self.first_seq)
        index = start - self.first_seq
        fixed = (
            1  # map header
            + key_size("ok") + 1
            + key_size("events")
            + key_size("next_seq")
            + key_size("last_seq") + int_size(self.last_seq)
        )  # fmt: skip
        count = used = 0
        for size in self.sizes[index : index + most]:
            total = fixed + array_header_size(count + 1) + used + size + int_size(start + count + 1)
            if total > MAX_PAYLOAD_BYTES:
                break
            count += 1
            used += size
        chosen = [
            {"seq": seq, "t": t, "code": code, "data": data}
            for seq, t, code, data in self.events[index : index + count]
        ]
        return {"events": chosen, "next_seq": start + count, "last_seq": self.last_seq}

    def packed_page(self, from_seq: int) -> dict[str, Any]:
        """READ_EVENTS_PACKED: as many events from `from_seq` as fit one frame."""
        start = max(from_seq, self.first_seq)
        index = start - self.first_seq
        last = self.last_seq
        available = max(0, len(self.events) - index)

        def columns_for(limit: int) -> packed.EventColumns:
            return packed.EventColumns(self.events[index : index + limit])

        def answer(count: int, blob: bytes) -> dict[str, Any]:
            return {"first_seq": start, "count": count, "packed": blob,
                    "next_seq": start + count, "last_seq": last}  # fmt: skip

        return _packed_page(available, 4_096, columns_for, answer)

    def to_wire(self) -> dict[str, Any]:
        return {"next_seq": self.next_seq, "events": self.events}

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> EventLog:
        return cls(int(raw["next_seq"]), [list(event) for event in raw["events"]])


class HourLog:
    """Basal and bolus nanolitres per UTC hour (`t // 3600`), contiguous from `first_hour`."""

    def __init__(self, first_hour: int, basal: list[int], bolus: list[int]) -> None:
        self.first_hour = first_hour
        self.basal = basal
        self.bolus = bolus

    @property
    def last_hour(self) -> int:
        return self.first_hour + len(self.basal) - 1

    def add(self, hour: int, basal_nl: int, bolus_nl: int) -> None:
        index = hour - self.first_hour
        if index >= len(self.basal):
            self._extend_to(hour)
            index = hour - self.first_hour
        elif index < 0:
            # The clock was set back before the oldest kept hour.
            self.basal[:0] = [0] * -index
            self.bolus[:0] = [0] * -index
            self.first_hour = hour
            index = 0
        self.basal[index] += basal_nl
        self.bolus[index] += bolus_nl

    def _extend_to(self, hour: int) -> None:
        missing = hour - self.last_hour
        if missing > HOURS_KEPT:  # a jump far forward: the kept window holds only zeros
            self.first_hour = hour - HOURS_KEPT + 1
            self.basal, self.bolus = [0] * HOURS_KEPT, [0] * HOURS_KEPT
            return
        self.basal.extend([0] * missing)
        self.bolus.extend([0] * missing)
        excess = len(self.basal) - HOURS_KEPT
        if excess > _TRIM_SLACK:
            del self.basal[:excess]
            del self.bolus[:excess]
            self.first_hour += excess

    def page(self, from_hour: int, most: int) -> dict[str, Any]:
        start = max(from_hour, self.first_hour)
        index = start - self.first_hour
        fixed = (
            1
            + key_size("ok") + 1
            + key_size("first_hour") + int_size(start)
            + key_size("basal_nl")
            + key_size("bolus_nl")
            + key_size("next_hour")
        )  # fmt: skip
        basal = self.basal[index : index + most]
        bolus = self.bolus[index : index + most]

        def fits(count: int) -> bool:
            arrays = _packed_size(basal[:count]) + _packed_size(bolus[:count])
            return fixed + arrays + int_size(start + count) <= MAX_PAYLOAD_BYTES

        # The largest count that fits: sizes only grow with count, so bisect.
        low, high = 0, len(basal)
        while low < high:
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        count = low
        return {
            "first_hour": start,
            "basal_nl": basal[:count],
            "bolus_nl": bolus[:count],
            "next_hour": start + count,
        }

    def packed_page(self, from_hour: int) -> dict[str, Any]:
        """READ_INFUSION_PACKED: as many hours from `from_hour` as fit one frame."""
        start = max(from_hour, self.first_hour)
        index = start - self.first_hour
        available = max(0, len(self.basal) - index)

        def columns_for(limit: int) -> packed.HourColumns:
            end = index + limit
            return packed.HourColumns(self.basal[index:end], self.bolus[index:end])

        def answer(count: int, blob: bytes) -> dict[str, Any]:
            return {"first_hour": start, "count": count, "packed": blob,
                    "next_hour": start + count}  # fmt: skip

        return _packed_page(available, packed.MAX_RECORDS, columns_for, answer)

    def to_wire(self) -> dict[str, Any]:
        return {"first_hour": self.first_hour, "basal": self.basal, "bolus": self.bolus}

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> HourLog:
        return cls(int(raw["first_hour"]), list(raw["basal"]), list(raw["bolus"]))
