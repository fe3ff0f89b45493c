from __future__ import annotations

import itertools
import struct
import zlib
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from programmer.link import cobs
from programmer.link.frames import (
    MAX_BODY_SIZE,
    MAX_ENCODED_SIZE,
    DropReason,
    Frame,
    FrameReader,
    FrameTooLarge,
    Kind,
    decode_body,
    encode_body,
    encode_frame,
)

from .fakes import fuzz_settings


def raw_body(
    payload_bytes: bytes, *, version: int = 1, kind: int = 1, seq: int = 7, msg_type: int = 0x10
) -> bytes:
    """A body built by hand, with a correct CRC, so that each rule can be broken alone."""
    head = struct.pack("<BBHH", version, kind, seq, msg_type) + payload_bytes
    return head + struct.pack("<I", zlib.crc32(head))


def wire(body: bytes) -> bytes:
    return cobs.encode(body) + b"\x00"


def feed_one(data: bytes) -> tuple[list[Frame], FrameReader]:
    reader = FrameReader()
    return reader.feed(data), reader


def test_body_layout_is_little_endian_with_zlib_crc() -> None:
    body = encode_body(Kind.REQUEST, 0x0102, 0x0010, {})
    assert body[:7] == bytes([0x01, 0x01, 0x02, 0x01, 0x10, 0x00, 0x80])
    assert body[7:] == struct.pack("<I", zlib.crc32(body[:7]))
    assert encode_frame(Kind.REQUEST, 0x0102, 0x0010, {}) == cobs.encode(body) + b"\x00"


def test_payload_strings_are_str_and_bytes_are_bin() -> None:
    body = encode_body(Kind.RESPONSE, 1, 1, {"s": "x", "b": b"x"})
    assert body[6:-4] == b"\x82\xa1s\xa1x\xa1b\xc4\x01x"


def test_decoded_frame_carries_every_field() -> None:
    data = encode_frame(Kind.RESPONSE, 65535, 0x00F4, {"ok": True, "n": -5, "b": b"\x00\x01"})
    [frame], _ = feed_one(data)
    assert (frame.version, frame.kind, frame.seq, frame.msg_type) == (1, 2, 65535, 0x00F4)
    assert frame.payload == {"ok": True, "n": -5, "b": b"\x00\x01"}
    assert frame.body == cobs.decode(data[:-1])
    assert frame.crc == zlib.crc32(frame.body[:-4])


def _payload_of_body_size(size: int, fill: int) -> dict[str, Any]:
    # {"b": bin16} packs to 6 + n bytes; the frame adds 10.
    return {"b": bytes([fill]) * (size - 16)}


@pytest.mark.parametrize("fill", [0x00, 0x01])
def test_body_of_exactly_4096_bytes_is_sent_and_received(fill: int) -> None:
    payload = _payload_of_body_size(4096, fill)
    body = encode_body(Kind.REQUEST, 1, 0x40, payload)
    assert len(body) == MAX_BODY_SIZE
    frames, reader = feed_one(wire(body))
    assert [f.payload for f in frames] == [payload]
    assert not reader.dropped


@pytest.mark.parametrize("fill", [0x00, 0x01])
def test_body_of_4097_bytes_is_refused_and_dropped(fill: int) -> None:
    payload = _payload_of_body_size(4097, fill)
    with pytest.raises(FrameTooLarge):
        encode_body(Kind.REQUEST, 1, 0x40, payload)
    body = raw_body(msgpack.packb(payload))
    assert len(body) == MAX_BODY_SIZE + 1
    frames, reader = feed_one(wire(body))
    assert frames == []
    assert reader.dropped == {DropReason.TOO_LONG: 1}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x05\x11\x22\x00", DropReason.COBS),
        (wire(raw_body(b"")), DropReason.TOO_SHORT),
        (wire(raw_body(b"\x80")[:-1] + b"\x00"), DropReason.CRC),
        (wire(raw_body(b"\x80", version=0)), DropReason.VERSION),
        (wire(raw_body(b"\x80", version=2)), DropReason.VERSION),
        (wire(raw_body(b"\x80", kind=0)), DropReason.KIND),
        (wire(raw_body(b"\x80", kind=3)), DropReason.KIND),
        (wire(raw_body(b"\x90")), DropReason.PAYLOAD),  # an array, not a map
        (wire(raw_body(b"\x01")), DropReason.PAYLOAD),  # an int
        (wire(raw_body(b"\x80\x80")), DropReason.PAYLOAD),  # a map and trailing bytes
        (wire(raw_body(b"\x81\xa1a")), DropReason.PAYLOAD),  # truncated map
        (wire(raw_body(b"\x81\x90\x01")), DropReason.PAYLOAD),  # unhashable key
        (wire(raw_body(b"\x81\xa2\xff\xfe\x01")), DropReason.PAYLOAD),  # key not UTF-8
        (wire(raw_body(b"\x81\xa1a\xc6\xff\xff\xff\xff")), DropReason.PAYLOAD),  # 4 GiB bin
        (wire(raw_body(b"\x81\xa1a\xdd\xff\xff\xff\xff")), DropReason.PAYLOAD),  # 4 G array
        (wire(raw_body(b"\x81\xa1a" + b"\x91" * 3000 + b"\xc0")), DropReason.PAYLOAD),  # deep
    ],
)
def test_each_bad_frame_is_dropped_for_its_reason(data: bytes, reason: DropReason) -> None:
    frames, reader = feed_one(data)
    assert frames == []
    assert reader.dropped == {reason: 1}


def test_a_bad_frame_does_not_hide_the_next_good_one() -> None:
    good = encode_frame(Kind.REQUEST, 9, 0x11, {})
    frames, reader = feed_one(wire(raw_body(b"\x80", version=2)) + good)
    assert [f.seq for f in frames] == [9]
    assert reader.dropped == {DropReason.VERSION: 1}


def test_non_text_keys_decode_so_the_receiver_can_refuse_them() -> None:
    [frame], _ = feed_one(wire(raw_body(b"\x81\x01\x02")))
    assert frame.payload == {1: 2}


def test_decode_body_names_the_reason() -> None:
    with pytest.raises(ValueError, match="crc"):
        decode_body(raw_body(b"\x80")[:-1] + b"\x01")


def test_idle_zero_bytes_are_not_frames_and_not_drops() -> None:
    frames, reader = feed_one(b"\x00\x00\x00" + encode_frame(Kind.REQUEST, 1, 1, {}) + b"\x00")
    assert len(frames) == 1
    assert not reader.dropped


def test_unterminated_run_is_discarded_with_bounded_memory() -> None:
    reader = FrameReader()
    for _ in range(100):
        assert reader.feed(b"\x01" * 1000) == []
        assert reader.buffered <= MAX_ENCODED_SIZE
    assert reader.dropped == {DropReason.TOO_LONG: 1}
    good = encode_frame(Kind.REQUEST, 3, 0x10, {})
    # The over-long run is discarded up to its zero; the next frame is decoded.
    assert [f.seq for f in reader.feed(b"\x01\x00" + good)] == [3]


def test_run_of_exactly_the_longest_encoding_is_kept() -> None:
    reader = FrameReader()
    reader.feed(b"\x01" * MAX_ENCODED_SIZE)
    assert reader.buffered == MAX_ENCODED_SIZE
    assert not reader.dropped
    reader.feed(b"\x01")
    assert reader.buffered == 0
    assert reader.dropped == {DropReason.TOO_LONG: 1}


def test_encode_refuses_out_of_range_header_fields() -> None:
    for kind, seq, msg_type in [(0, 1, 1), (3, 1, 1), (1, -1, 1), (1, 65536, 1), (1, 1, 65536)]:
        with pytest.raises(ValueError):
            encode_body(kind, seq, msg_type, {})
    with pytest.raises(TypeError):
        encode_body(1, 1, 1, [])  # type: ignore[arg-type]


# --- streams ----------------------------------------------------------------------

STREAM_PAYLOADS: list[dict[str, Any]] = [
    {},
    {"programmer_id": "clinic-7", "protocol": 1},
    {"nonce": bytes(range(16)), "zeros": b"\x00" * 300, "n": [0, 1, -1, 2**40]},
]
STREAM = b"".join(
    encode_frame(Kind.REQUEST, seq, 0x20 + seq, p) for seq, p in enumerate(STREAM_PAYLOADS)
)


def test_stream_split_at_every_byte_boundary_decodes_the_same_frames() -> None:
    expected = FrameReader().feed(STREAM)
    assert [f.payload for f in expected] == STREAM_PAYLOADS
    for cut in range(len(STREAM) + 1):
        reader = FrameReader()
        assert reader.feed(STREAM[:cut]) + reader.feed(STREAM[cut:]) == expected


def test_stream_fed_byte_by_byte_decodes_the_same_frames() -> None:
    reader = FrameReader()
    frames = [f for i in range(len(STREAM)) for f in reader.feed(STREAM[i : i + 1])]
    assert [f.payload for f in frames] == STREAM_PAYLOADS


@fuzz_settings(300)
@given(st.lists(st.integers(0, len(STREAM)), max_size=20))
def test_stream_in_random_chunks_decodes_the_same_frames(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    reader = FrameReader()
    frames = [f for a, b in itertools.pairwise(bounds) for f in reader.feed(STREAM[a:b])]
    assert [f.payload for f in frames] == STREAM_PAYLOADS


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(max_size=20)
    | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=15,
)
payloads = st.dictionaries(st.text(max_size=12), values, max_size=8)


@fuzz_settings(150)
@given(
    st.sampled_from([Kind.REQUEST, Kind.RESPONSE]),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    payloads,
)
def test_decode_inverts_encode_for_frames(
    kind: Kind, seq: int, msg_type: int, payload: dict[str, Any]
) -> None:
    data = encode_frame(kind, seq, msg_type, payload)
    [frame] = FrameReader().feed(data)
    assert (frame.kind, frame.seq, frame.msg_type, frame.payload) == (kind, seq, msg_type, payload)
    assert wire(frame.body) == data


GOOD = encode_frame(Kind.REQUEST, 0x4242, 0x0011, {"probe": b"\x00\x01\x02"})


@fuzz_settings(400)
@given(st.binary(max_size=5000))
def test_random_bytes_never_raise_and_a_good_frame_after_a_zero_is_decoded(junk: bytes) -> None:
    reader = FrameReader()
    reader.feed(junk)
    assert reader.buffered <= MAX_ENCODED_SIZE
    frames = reader.feed(b"\x00" + GOOD)
    assert frames[-1].seq == 0x4242
    assert frames[-1].payload == {"probe": b"\x00\x01\x02"}


@fuzz_settings(400)
@given(st.data())
def test_mutated_frames_never_raise_and_do_not_hide_the_next_frame(data: st.DataObject) -> None:
    frame = bytearray(GOOD[:-1])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = data.draw(st.integers(0, len(frame) - 1)) if frame else 0
        if op == "flip" and frame:
            frame[pos] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            frame.insert(pos, data.draw(st.integers(0, 255)))
        elif frame:
            del frame[pos]
    reader = FrameReader()
    frames = reader.feed(bytes(frame) + b"\x00" + GOOD)
    assert frames[-1].body == cobs.decode(GOOD[:-1])
    # A mutated run that still decodes can only be the original frame (CRC-32 makes
    # anything else a one-in-four-billion event).
    assert all(f.body == frames[-1].body for f in frames)
