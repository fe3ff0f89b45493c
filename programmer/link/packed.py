"""The packed history pages of protocol version 2 (READ_EVENTS_PACKED, READ_INFUSION_PACKED).

The byte layout is specified in docs/protocol.md ("Packed pages"); this module is its
reference implementation, both ways. In short:

    packed = format u8 (= 1) | raw_len varint | crc32(raw) u32 LE | raw DEFLATE(raw)

where `raw` is the page's records laid out in columns (events: codes, then time deltas,
then each event's data by the code's schema; hours: basal deltas, then bolus values),
every integer a LEB128 varint (signed ones zigzag-mapped first).

The decoder trusts nothing: it refuses a page claiming more than `MAX_RECORDS` records
or `MAX_RAW_BYTES` of raw data before it inflates anything, inflates with a cap on the
output, checks the CRC of the raw block, and parses all of it before it returns a
single record. A page is decoded whole or refused whole.
"""

from __future__ import annotations

import re
import struct
import zlib
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

import msgpack

from programmer.link.errors import BadResponse

FORMAT = 1
MAX_RECORDS = 16_384  # events or hours in one page
MAX_RAW_BYTES = 262_144  # the inflated raw block of one page
MAX_PACKED_BYTES = 4_096  # a page travels in one frame body
DEFLATE_LEVEL = 6
MAX_TEXT_BYTES = 1_024  # one string in the string table
MAX_LIST_ITEMS = 64  # one list of strings
MAX_VARINT_BYTES = 10
U64_LIMIT = 1 << 64
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1

_CRC = struct.Struct("<I")
# One varint: up to nine bytes with the high bit set, then one without.
_VARINT = re.compile(rb"[\x80-\xff]{0,9}[\x00-\x7f]")

# Event codes as small numbers; 0 is the escape for any event that does not match its
# code's schema exactly (an unknown code, an extra field, a value of another type).
# Field kinds: "u" unsigned varint, "s" zigzag varint, "b" one byte 0/1, "t" text (string
# table reference), "l" list of text (count varint, then references).
SCHEMAS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("changeset_applied", (("crc", "u"), ("programmer_id", "t"), ("parts", "l"))),
    ("refill", (("removed_nl", "u"), ("added_nl", "u"), ("reservoir_nl", "u"))),
    ("bolus_started", (("kind", "t"), ("volume_nl", "u"), ("rate_nl_day", "u"))),
    ("bolus_completed", (("kind", "t"), ("volume_nl", "u"))),
    ("bolus_cancelled", (("kind", "t"), ("volume_nl", "u"), ("delivered_nl", "u"))),
    ("ptm_request", (("granted", "b"), ("reason", "t"))),
    ("alarm_raised", (("code", "t"),)),
    ("alarm_cleared", (("code", "t"),)),
    (
        "clock_set",
        (("old_t", "s"), ("new_t", "s"), ("old_offset_min", "s"), ("new_offset_min", "s")),
    ),
    ("session_opened", (("programmer_id", "t"),)),
    ("auth_failed", (("programmer_id", "t"),)),
    (
        "access_attempts",
        (("hellos", "u"), ("auth_failures", "u"), ("since_t", "s"), ("programmer_id", "t")),
    ),
)
CODE_NUMBERS = {code: number for number, (code, _) in enumerate(SCHEMAS, start=1)}
OTHER = 0


class PackedPageError(BadResponse):
    """A packed page that breaks the format: refused whole, nothing of it used."""


# ----------------------------------------------------------------- integers


def zigzag(value: int) -> int:
    return (value << 1) if value >= 0 else ((-value) << 1) - 1


def unzigzag(value: int) -> int:
    return (value >> 1) if not value & 1 else -((value + 1) >> 1)


def put_varint(out: bytearray, value: int) -> None:
    """LEB128: seven bits a byte, least significant first, the high bit says more follow."""
    if not 0 <= value < U64_LIMIT:
        raise ValueError(f"{value} does not fit an unsigned 64-bit varint")
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def put_signed(out: bytearray, value: int) -> None:
    if not I64_MIN <= value <= I64_MAX:
        raise ValueError(f"{value} does not fit a signed 64-bit integer")
    put_varint(out, zigzag(value))


class _Reader:
    """Reads the raw block; every overrun or overlong number is a PackedPageError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self) -> int:
        data, pos = self.data, self.pos
        if pos < len(data) and data[pos] < 0x80:  # the common one-byte case
            self.pos = pos + 1
            return data[pos]
        value = shift = 0
        for index in range(MAX_VARINT_BYTES):
            if pos + index >= len(data):
                raise PackedPageError("packed page: a number runs past the end of the page")
            byte = data[pos + index]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if value >= U64_LIMIT:
                    raise PackedPageError("packed page: a number exceeds 64 bits")
                self.pos = pos + index + 1
                return value
            shift += 7
        raise PackedPageError(f"packed page: a number longer than {MAX_VARINT_BYTES} bytes")

    def signed(self) -> int:
        return unzigzag(self.varint())

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise PackedPageError("packed page: a field runs past the end of the page")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk


def _leb128(chunk: bytes) -> int:
    value = 0
    for shift, byte in enumerate(chunk):
        value |= (byte & 0x7F) << (7 * shift)
    return value


def _signed_column(data: bytes, pos: int, count: int, what: str) -> tuple[list[int], int]:
    """`count` zigzag varints from `pos` (the columns of hours and times, read in bulk:
    the regular expression finds the numbers, each distinct one is turned once)."""
    found: list[bytes] = []
    expected = pos
    for match in _VARINT.finditer(data, pos):
        if match.start() != expected:  # bytes skipped: more than ten in one number
            raise PackedPageError(f"{what}: a number longer than {MAX_VARINT_BYTES} bytes")
        chunk = match.group()
        found.append(chunk)
        expected += len(chunk)
        if len(found) == count:
            break
    if len(found) < count:
        raise PackedPageError(f"{what}: a column runs past the end of the page")
    return _turn(found, what), expected


def _signed_to_end(data: bytes, count: int, what: str) -> list[int]:
    """Exactly `count` zigzag varints filling `data` from its start to its end."""
    found = _VARINT.findall(data)
    if len(found) != count or sum(map(len, found)) != len(data):
        raise PackedPageError(f"{what}: the columns do not hold exactly {count} numbers each")
    return _turn(found, what)


def _turn(found: list[bytes], what: str) -> list[int]:
    table: dict[bytes, int] = {}
    for chunk in set(found):
        if len(chunk) == MAX_VARINT_BYTES and chunk[-1] > 1:
            raise PackedPageError(f"{what}: a number exceeds 64 bits")
        table[chunk] = unzigzag(_leb128(chunk))
    return list(map(table.__getitem__, found))


# ----------------------------------------------------------------- string table


class _Strings:
    """Per-page string table: reference k < n names the k-th string defined so far;
    k == n defines a new one (byte length varint, then UTF-8) and names it."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def put(self, out: bytearray, text: str) -> None:
        known = self.index.get(text)
        if known is not None:
            put_varint(out, known)
            return
        raw = text.encode("utf-8")
        if len(raw) > MAX_TEXT_BYTES:
            raise ValueError(f"a text of {len(raw)} bytes exceeds {MAX_TEXT_BYTES}")
        number = len(self.index)
        self.index[text] = number
        put_varint(out, number)
        put_varint(out, len(raw))
        out += raw


def _get_text(reader: _Reader, table: list[str]) -> str:
    number = reader.varint()
    if number < len(table):
        return table[number]
    if number > len(table):
        raise PackedPageError(f"packed page: string reference {number} is not defined yet")
    size = reader.varint()
    if size > MAX_TEXT_BYTES:
        raise PackedPageError(f"packed page: a text of {size} bytes exceeds {MAX_TEXT_BYTES}")
    try:
        text = reader.take(size).decode("utf-8")
    except UnicodeDecodeError:
        raise PackedPageError("packed page: a text is not UTF-8") from None
    table.append(text)
    return text


# ----------------------------------------------------------------- events


def _fits_schema(data: Any, fields: tuple[tuple[str, str], ...]) -> bool:
    if not isinstance(data, dict) or len(data) != len(fields):
        return False
    for name, kind in fields:
        if name not in data:
            return False
        value = data[name]
        if kind == "b":
            ok = isinstance(value, bool)
        elif kind == "t":
            ok = isinstance(value, str) and len(value.encode("utf-8")) <= MAX_TEXT_BYTES
        elif kind == "l":
            ok = (
                isinstance(value, list)
                and len(value) <= MAX_LIST_ITEMS
                and all(
                    isinstance(v, str) and len(v.encode("utf-8")) <= MAX_TEXT_BYTES for v in value
                )
            )
        elif isinstance(value, bool) or not isinstance(value, int):
            ok = False
        elif kind == "u":
            ok = 0 <= value < U64_LIMIT
        else:
            ok = I64_MIN <= value <= I64_MAX
        if not ok:
            return False
    return True


def _put_data(out: bytearray, strings: _Strings, code: str, data: Any) -> int:
    """Append one event's data; returns its code number (0 when escaped)."""
    number = CODE_NUMBERS.get(code, OTHER)
    fields = SCHEMAS[number - 1][1] if number else ()
    if number and not _fits_schema(data, fields):
        number = OTHER
    if number == OTHER:
        strings.put(out, code)
        blob: bytes = msgpack.packb(data, use_bin_type=True)
        put_varint(out, len(blob))
        out += blob
        return OTHER
    for name, kind in fields:
        value = data[name]
        if kind == "u":
            put_varint(out, value)
        elif kind == "s":
            put_signed(out, value)
        elif kind == "b":
            out.append(1 if value else 0)
        elif kind == "t":
            strings.put(out, value)
        else:
            put_varint(out, len(value))
            for item in value:
                strings.put(out, item)
    return number


class EventColumns:
    """The raw-block pieces of consecutive events, built once so that any prefix of them
    can be packed (the pump tries several counts to fill one frame)."""

    def __init__(self, events: Sequence[Sequence[Any]], raw_budget: int = MAX_RAW_BYTES) -> None:
        self.codes = bytearray()
        self.times = bytearray()
        self.data = bytearray()
        self.time_ends: list[int] = [0]
        self.data_ends: list[int] = [0]
        strings = _Strings()
        previous_t = 0
        for _seq, t, code, data in events[:MAX_RECORDS]:
            if isinstance(t, bool) or not isinstance(t, int) or not isinstance(code, str):
                raise ValueError("an event's t must be an integer and its code text")
            number = _put_data(self.data, strings, code, data)
            self.codes.append(number)
            put_signed(self.times, t - previous_t)
            previous_t = t
            self.time_ends.append(len(self.times))
            self.data_ends.append(len(self.data))
            if len(self.codes) + len(self.times) + len(self.data) > raw_budget:
                self._drop_last()
                break

    def _drop_last(self) -> None:
        self.codes.pop()
        self.time_ends.pop()
        self.data_ends.pop()
        del self.times[self.time_ends[-1] :]
        del self.data[self.data_ends[-1] :]

    def __len__(self) -> int:
        return len(self.codes)

    def raw(self, count: int) -> bytes:
        return bytes(
            self.codes[:count]
            + self.times[: self.time_ends[count]]
            + self.data[: self.data_ends[count]]
        )


def pack_raw(raw: bytes) -> bytes:
    """The page bytes around a raw block: format, raw length, CRC, raw DEFLATE."""
    if len(raw) > MAX_RAW_BYTES:
        raise ValueError(f"a raw block of {len(raw)} bytes exceeds {MAX_RAW_BYTES}")
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY)
    out = bytearray([FORMAT])
    put_varint(out, len(raw))
    out += _CRC.pack(zlib.crc32(raw))
    out += compressor.compress(raw) + compressor.flush()
    return bytes(out)


def encode_events(events: Sequence[Sequence[Any]]) -> bytes:
    """Pack events ([seq, t, code, data], consecutive seqs) whole; ValueError if too many."""
    if len(events) > MAX_RECORDS:
        raise ValueError(f"a page holds at most {MAX_RECORDS} events")
    columns = EventColumns(events, raw_budget=1 << 62)
    if len(columns) != len(events):
        raise ValueError("these events do not fit one page")
    return pack_raw(columns.raw(len(events)))


def _inflate(packed: bytes, what: str) -> bytes:
    if not isinstance(packed, bytes):
        raise PackedPageError(f"{what}: 'packed' is not binary")
    if len(packed) > MAX_PACKED_BYTES:
        raise PackedPageError(f"{what}: {len(packed)} bytes, more than one frame can hold")
    header = _Reader(packed)
    if header.take(1)[0] != FORMAT:
        raise PackedPageError(f"{what}: unknown format {packed[0]} (this programmer reads 1)")
    raw_len = header.varint()
    if raw_len > MAX_RAW_BYTES:
        raise PackedPageError(
            f"{what}: claims {raw_len} bytes of records, more than {MAX_RAW_BYTES}"
        )
    (crc,) = _CRC.unpack(header.take(_CRC.size))
    inflater = zlib.decompressobj(-15)
    try:
        raw = inflater.decompress(packed[header.pos :], raw_len + 1)
    except zlib.error as exc:
        raise PackedPageError(f"{what}: the compressed data is corrupt ({exc})") from None
    if len(raw) != raw_len or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise PackedPageError(f"{what}: the compressed data does not hold exactly {raw_len} bytes")
    if zlib.crc32(raw) != crc:
        raise PackedPageError(f"{what}: the CRC of the records does not match")
    return raw


def _check_count(count: Any, what: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_RECORDS:
        raise PackedPageError(f"{what}: count {count!r} is not 0 to {MAX_RECORDS}")
    return count


def _check_start(start: Any, what: str, name: str) -> int:
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= I64_MAX:
        raise PackedPageError(f"{what}: {name} {start!r} is not 0 to 2^63-1")
    return start


_OTHER_LIMITS = {
    "max_str_len": MAX_TEXT_BYTES,
    "max_bin_len": MAX_TEXT_BYTES,
    "max_array_len": MAX_LIST_ITEMS,
    "max_map_len": MAX_LIST_ITEMS,
    "max_ext_len": 0,
}


def _get_other(reader: _Reader, table: list[str]) -> tuple[str, dict[str, Any]]:
    code = _get_text(reader, table)
    size = reader.varint()
    blob = reader.take(size)
    try:
        data = msgpack.unpackb(blob, raw=False, strict_map_key=True, **_OTHER_LIMITS)
    except Exception as exc:  # untrusted bytes: any decoder failure refuses the page
        raise PackedPageError(f"packed page: an event's data is not MessagePack ({exc})") from None
    if not isinstance(data, dict):
        raise PackedPageError("packed page: an event's data is not a map")
    return code, data


def _get_fields(
    reader: _Reader, table: list[str], fields: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, kind in fields:
        if kind == "u":
            data[name] = reader.varint()
        elif kind == "s":
            value = reader.signed()
            if not I64_MIN <= value <= I64_MAX:
                raise PackedPageError(f"packed page: {name} exceeds 64 bits")
            data[name] = value
        elif kind == "b":
            flag = reader.take(1)[0]
            if flag > 1:
                raise PackedPageError(f"packed page: {name} is {flag}, not 0 or 1")
            data[name] = flag == 1
        elif kind == "t":
            data[name] = _get_text(reader, table)
        else:
            items = reader.varint()
            if items > MAX_LIST_ITEMS:
                raise PackedPageError(f"packed page: a list of {items} exceeds {MAX_LIST_ITEMS}")
            data[name] = [_get_text(reader, table) for _ in range(items)]
    return data


def decode_events(first_seq: Any, count: Any, packed: Any) -> list[dict[str, Any]]:
    """The events of one READ_EVENTS_PACKED answer, as READ_EVENTS gives them:
    [{"seq", "t", "code", "data"}, ...]. Raises PackedPageError, never half-decodes."""
    what = "READ_EVENTS_PACKED page"
    first = _check_start(first_seq, what, "first_seq")
    n = _check_count(count, what)
    raw = _inflate(packed, what)
    if len(raw) < n:
        raise PackedPageError(f"{what}: {len(raw)} bytes cannot hold {n} events")
    codes = raw[:n]
    deltas, end = _signed_column(raw, n, n, what)
    times = list(accumulate(deltas))
    if times and not (min(times) >= I64_MIN and max(times) <= I64_MAX):
        raise PackedPageError(f"{what}: an event time exceeds 64 bits")
    reader = _Reader(raw)
    reader.pos = end
    table: list[str] = []
    events: list[dict[str, Any]] = []
    for index, number in enumerate(codes):
        if number == OTHER:
            code, data = _get_other(reader, table)
        elif number <= len(SCHEMAS):
            code, fields = SCHEMAS[number - 1]
            data = _get_fields(reader, table, fields)
        else:
            raise PackedPageError(f"{what}: event code number {number} is not defined")
        events.append({"seq": first + index, "t": times[index], "code": code, "data": data})
    if reader.pos != len(raw):
        raise PackedPageError(f"{what}: {len(raw) - reader.pos} bytes left after {n} events")
    return events


# ----------------------------------------------------------------- hours


def _signed_pieces(values: Sequence[int]) -> list[bytes]:
    """Each value as a zigzag varint; values repeat a lot, so each distinct one is
    encoded once."""
    memo: dict[int, bytes] = {}
    pieces = []
    for value in values:
        piece = memo.get(value)
        if piece is None:
            out = bytearray()
            put_signed(out, value)
            piece = memo[value] = bytes(out)
        pieces.append(piece)
    return pieces


class HourColumns:
    """Raw-block pieces of consecutive hours, for packing any prefix of them."""

    def __init__(
        self, basal: Sequence[int], bolus: Sequence[int], raw_budget: int = MAX_RAW_BYTES
    ) -> None:
        if len(basal) != len(bolus):
            raise ValueError("basal and bolus must have one value per hour")
        basal, bolus = list(basal[:MAX_RECORDS]), list(bolus[:MAX_RECORDS])
        basal_pieces = _signed_pieces([b - p for b, p in zip(basal, [0, *basal], strict=False)])
        bolus_pieces = _signed_pieces(bolus)
        self.basal_ends = list(accumulate(map(len, basal_pieces), initial=0))
        self.bolus_ends = list(accumulate(map(len, bolus_pieces), initial=0))
        # The most hours whose two columns stay within the budget (both ends only grow).
        totals = [a + b for a, b in zip(self.basal_ends, self.bolus_ends, strict=True)]
        count = bisect_right(totals, raw_budget) - 1
        del self.basal_ends[count + 1 :], self.bolus_ends[count + 1 :]
        self.basal = b"".join(basal_pieces[:count])
        self.bolus = b"".join(bolus_pieces[:count])

    def __len__(self) -> int:
        return len(self.basal_ends) - 1

    def raw(self, count: int) -> bytes:
        return self.basal[: self.basal_ends[count]] + self.bolus[: self.bolus_ends[count]]


def encode_hours(basal: Sequence[int], bolus: Sequence[int]) -> bytes:
    if len(basal) > MAX_RECORDS:
        raise ValueError(f"a page holds at most {MAX_RECORDS} hours")
    columns = HourColumns(basal, bolus, raw_budget=1 << 62)
    return pack_raw(columns.raw(len(columns)))


def decode_hours(first_hour: Any, count: Any, packed: Any) -> tuple[list[int], list[int]]:
    """(basal_nl, bolus_nl) of one READ_INFUSION_PACKED answer; PackedPageError if broken."""
    what = "READ_INFUSION_PACKED page"
    _check_start(first_hour, what, "first_hour")
    n = _check_count(count, what)
    raw = _inflate(packed, what)
    values = _signed_to_end(raw, 2 * n, what)
    basal = list(accumulate(values[:n]))
    bolus = values[n:]
    if basal and not (min(basal) >= I64_MIN and max(basal) <= I64_MAX):
        raise PackedPageError(f"{what}: a volume exceeds 64 bits")
    return basal, bolus


# ----------------------------------------------------------------- filling a frame


def largest_fitting(available: int, size: Callable[[int], int], budget: int) -> int:
    """The largest count in 0..available whose `size` is within `budget`, found by
    interpolation between a count that fits and one that does not (a page's size grows
    about linearly with its count, so a few compressions find the edge, where a
    bisection would need a dozen). `size(0)` must fit. The answer always fits and the
    next count does not, or it is `available`."""
    high_size = size(available)
    if high_size <= budget:
        return available
    low, low_size, high = 0, size(0), available
    while high - low > 1:
        share = (budget - low_size) / max(1, high_size - low_size)
        guess = min(high - 1, max(low + 1, low + int((high - low) * share)))
        guess_size = size(guess)
        if guess_size <= budget:
            low, low_size = guess, guess_size
        else:
            high, high_size = guess, guess_size
    return low
