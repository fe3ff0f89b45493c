"""The packed page codec of protocol version 2: lossless both ways, and a decoder that
refuses every broken page whole (never a crash, a hang or an unbounded allocation)."""

from __future__ import annotations

import contextlib
import struct
import time
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programmer.link import packed
from programmer.link.packed import PackedPageError, decode_events, decode_hours

T = 1_735_689_600

EVERY_CODE: list[tuple[str, dict[str, Any]]] = [
    ("changeset_applied", {"crc": 0xFFFFFFFF, "programmer_id": "itp-ward3", "parts": ["therapy", "refill"]}),
    ("refill", {"removed_nl": 1_234_567, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}),
    ("bolus_started", {"kind": "bridge", "volume_nl": 140_000, "rate_nl_day": 1_000_000}),
    ("bolus_completed", {"kind": "patient", "volume_nl": 50_000}),
    ("bolus_cancelled", {"kind": "single", "volume_nl": 9, "delivered_nl": 3}),
    ("ptm_request", {"granted": False, "reason": "lockout"}),
    ("ptm_request", {"granted": True, "reason": "ok"}),
    ("alarm_raised", {"code": "low_reservoir"}),
    ("alarm_cleared", {"code": "low_reservoir"}),
    ("clock_set", {"old_t": T, "new_t": T - 7200, "old_offset_min": -840, "new_offset_min": 840}),
    ("session_opened", {"programmer_id": "é" * 32}),
    ("auth_failed", {"programmer_id": "x"}),
    ("access_attempts", {"hellos": 71_999, "auth_failures": 3, "since_t": T, "programmer_id": "x"}),
]  # fmt: skip

# Events that do not match their code's schema go through the escape, unchanged.
ODD: list[tuple[str, dict[str, Any]]] = [
    ("a_code_of_tomorrow", {"anything": [1, "two", None, True]}),
    ("refill", {"removed_nl": -1, "added_nl": 0, "reservoir_nl": 0}),  # negative: not "u"
    ("refill", {"removed_nl": 1, "added_nl": 0}),  # a field missing
    ("alarm_raised", {"code": "eri", "extra": 1}),  # a field more
    ("ptm_request", {"granted": 1, "reason": "ok"}),  # an int where a bool belongs
    ("bolus_completed", {"kind": "single", "volume_nl": True}),  # a bool where an int belongs
    ("session_opened", {}),
]


def as_wire(first_seq: int, rows: list[tuple[int, str, dict[str, Any]]]) -> list[list[Any]]:
    return [[first_seq + i, t, code, data] for i, (t, code, data) in enumerate(rows)]


def as_v1(events: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"seq": s, "t": t, "code": c, "data": d} for s, t, c, d in events]


def test_every_event_code_and_every_odd_event_round_trips_exactly() -> None:
    rows = [(T + 60 * i, code, data) for i, (code, data) in enumerate(EVERY_CODE + ODD)]
    events = as_wire(77, rows)
    decoded = decode_events(77, len(events), packed.encode_events(events))
    assert decoded == as_v1(events)
    for got, want in zip(decoded, as_v1(events), strict=True):  # True stays True, not 1
        assert [type(v) for v in got["data"].values()] == [type(v) for v in want["data"].values()]


def test_the_same_history_gives_the_same_bytes() -> None:
    events = as_wire(
        1, [(T + i, "ptm_request", {"granted": i % 2 == 0, "reason": "ok"}) for i in range(500)]
    )
    assert packed.encode_events(events) == packed.encode_events([list(e) for e in events])
    assert packed.encode_hours([5] * 100, [0] * 100) == packed.encode_hours([5] * 100, [0] * 100)


def test_hours_round_trip_with_gaps_and_spikes() -> None:
    basal = [0, 0, 41_666, 41_667, 41_666, 0, 0, 2**62, 0, 1]
    bolus = [0, 50_000, 0, 0, 0, 0, 7, 0, 0, 2**40]
    assert decode_hours(10, len(basal), packed.encode_hours(basal, bolus)) == (basal, bolus)
    assert decode_hours(10, 0, packed.encode_hours([], [])) == ([], [])


WORKED_EVENTS = [
    [1000, T, "refill", {"removed_nl": 1_500_000, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}],
    [1001, T + 90, "ptm_request", {"granted": True, "reason": "ok"}],
    [1002, T + 4_000, "ptm_request", {"granted": False, "reason": "lockout"}],
]  # fmt: skip


def test_the_worked_example_of_docs_protocol_md() -> None:
    """docs/protocol.md shows these bytes; this keeps the document true."""
    columns = packed.EventColumns(WORKED_EVENTS)
    raw = columns.raw(3)
    assert raw.hex(" ") == (
        "02 06 06 80 96 a4 f7 0c b4 01 8c 3d e0 c6 5b 80 da c4 09 80 da c4 09 01 00 02 6f 6b "
        "00 01 07 6c 6f 63 6b 6f 75 74"
    )
    page = packed.pack_raw(raw)
    assert page[:6] == bytes([1, 38]) + struct.pack("<I", zlib.crc32(raw))
    assert decode_events(1000, 3, page) == as_v1(WORKED_EVENTS)
    hours = packed.HourColumns([41_666, 41_667, 41_667, 0], [0, 50_000, 0, 0]).raw(4)
    assert hours.hex(" ") == "84 8b 05 02 00 85 8b 05 00 a0 8d 06 00 00"


# ----------------------------------------------------------------- refusals


def good_page() -> bytes:
    return packed.encode_events(WORKED_EVENTS)


@pytest.mark.parametrize("count", [10**9, -1, packed.MAX_RECORDS + 1, True, None, "3"])
def test_a_page_claiming_an_impossible_count_is_refused(count: Any) -> None:
    with pytest.raises(PackedPageError, match="count"):
        decode_events(1000, count, good_page())
    with pytest.raises(PackedPageError, match="count"):
        decode_hours(0, count, packed.encode_hours([1], [1]))


def test_a_count_that_disagrees_with_the_records_is_refused() -> None:
    for count in (2, 4):
        with pytest.raises(PackedPageError):
            decode_events(1000, count, good_page())


def test_a_page_claiming_a_huge_raw_block_is_refused_before_inflating() -> None:
    raw_len = bytearray()
    packed.put_varint(raw_len, 10**9)
    page = bytes([1]) + bytes(raw_len) + b"\0" * 4 + zlib.compress(b"", 9)[2:-4]
    with pytest.raises(PackedPageError, match="claims"):
        decode_events(1, 0, page)


def test_a_deflate_bomb_is_cut_at_the_declared_size() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = bomb.compress(b"\0" * 4_000_000) + bomb.flush()
    assert len(body) < packed.MAX_PACKED_BYTES
    page = bytes([1, 0x80, 0x80, 0x10]) + b"\0" * 4 + body  # says 262,144 bytes
    tracemalloc.start()
    try:
        with pytest.raises(PackedPageError):
            decode_hours(0, 0, page)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * packed.MAX_RAW_BYTES


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda p: p[:-1], "does not hold"),  # cut short
        (lambda p: p + b"\0", "does not hold"),  # trailing bytes
        (lambda p: b"\x02" + p[1:], "format"),
        (lambda p: p[:2] + bytes([p[2] ^ 1]) + p[3:], "CRC"),
        (lambda p: b"", "past the end"),
        (lambda p: p[:1] + b"\xff" * 11, "longer than"),
    ],
)
def test_a_corrupted_page_is_refused(mangle: Any, reason: str) -> None:
    with pytest.raises(PackedPageError, match=reason):
        decode_events(1000, 3, mangle(good_page()))


def test_a_raw_block_that_breaks_the_layout_is_refused_even_with_a_right_crc() -> None:
    for raw in (
        b"\x63" + b"\0" * 8,  # event code number 99
        b"\x07\x00\x05",  # a string reference not defined yet
        b"\x07\x00\x00\x05ab",  # a text running past the end
        b"\x06\x00\x02\x00",  # a bool that is 2
    ):
        with pytest.raises(PackedPageError):
            decode_events(1, 1, packed.pack_raw(raw))
    with pytest.raises(PackedPageError):
        decode_events(1, 1, packed.pack_raw(b"\x00\x00\x00\x01x\x01\xc1"))  # not MessagePack
    with pytest.raises(PackedPageError):
        decode_events(1, 1, packed.pack_raw(b"\x00\x00\x00\x01x\x01\x01"))  # not a map


def test_binary_packed_and_start_fields_are_checked() -> None:
    with pytest.raises(PackedPageError):
        decode_events(1, 3, "not bytes")
    with pytest.raises(PackedPageError):
        decode_events(-1, 3, good_page())
    with pytest.raises(PackedPageError):
        decode_events(1, 3, good_page() + b"\0" * 4096)


# ----------------------------------------------------------------- fuzz


def _decode_or_refuse(first: int, count: int, page: bytes) -> None:
    with contextlib.suppress(PackedPageError):
        decode_events(first, count, page)
    with contextlib.suppress(PackedPageError):
        decode_hours(first, count, page)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 40))
def test_random_pages_never_crash_the_decoder(page: bytes, count: int) -> None:
    _decode_or_refuse(1, count, page)
    _decode_or_refuse(1, count, b"\x01" + page)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_pages_are_refused_or_decoded_whole(data: st.DataObject) -> None:
    rows = [(T + 60 * i, code, d) for i, (code, d) in enumerate(EVERY_CODE)]
    events = as_wire(5, rows)
    page = bytearray(packed.encode_events(events))
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(page) - 1))
        page[where] = data.draw(st.integers(0, 255))
    started = time.monotonic()
    try:
        got = decode_events(5, len(events), bytes(page))
    except PackedPageError:
        got = None
    assert time.monotonic() - started < 1.0
    # A page that survived every check is the page that was sent (the CRC saw to it).
    assert got is None or got == as_v1(events)


def test_a_number_of_more_than_ten_bytes_in_a_column_is_refused() -> None:
    raw = b"\x80" * 11 + b"\x01" + b"\x00"
    with pytest.raises(PackedPageError, match="exactly"):
        decode_hours(0, 1, packed.pack_raw(raw))
    with pytest.raises(PackedPageError, match="longer than"):
        decode_events(1, 1, packed.pack_raw(b"\x07" + raw))
    with pytest.raises(PackedPageError, match="64 bits"):
        decode_hours(0, 1, packed.pack_raw(b"\xff" * 9 + b"\x7f" + b"\x00"))
