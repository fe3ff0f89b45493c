from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programmer.link import cobs

from .fakes import fuzz_settings

RUN_254 = bytes(range(1, 255))  # 254 non-zero bytes

# Reference examples (Cheshire and Baker; the usual published table).
VECTORS = [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (RUN_254, b"\xff" + RUN_254),
    (b"\x00" + RUN_254, b"\x01\xff" + RUN_254),
    (RUN_254 + b"\xff", b"\xff" + RUN_254 + b"\x02\xff"),
    (RUN_254 + b"\x00", b"\xff" + RUN_254 + b"\x01\x01"),
]


@pytest.mark.parametrize(("plain", "encoded"), VECTORS)
def test_reference_vectors(plain: bytes, encoded: bytes) -> None:
    assert cobs.encode(plain) == encoded
    assert cobs.decode(encoded) == plain


def test_decode_accepts_trailing_code_after_a_final_full_block() -> None:
    # Some encoders end a 254-byte run with an extra 0x01; it means the same bytes.
    assert cobs.decode(b"\xff" + RUN_254 + b"\x01") == RUN_254


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00", b"\x03\x11", b"\x05\x11\x22\x33", b"\x02\x11\x00", b"\x03\x00\x11"],
)
def test_decode_rejects_invalid_encodings(bad: bytes) -> None:
    with pytest.raises(cobs.CobsError):
        cobs.decode(bad)


@fuzz_settings(500)
@given(st.binary(max_size=2000))
def test_decode_inverts_encode(data: bytes) -> None:
    encoded = cobs.encode(data)
    assert 0 not in encoded
    assert len(encoded) <= cobs.max_encoded_size(len(data))
    assert cobs.decode(encoded) == data


@fuzz_settings(300)
@given(st.lists(st.sampled_from([b"\x00", b"\x01", RUN_254[:253], RUN_254]), max_size=12))
def test_round_trip_around_block_boundaries(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert cobs.decode(cobs.encode(data)) == data


@fuzz_settings(500)
@given(st.binary(max_size=600))
def test_decode_of_arbitrary_bytes_returns_or_raises_cobs_error(data: bytes) -> None:
    with contextlib.suppress(cobs.CobsError):
        cobs.decode(data)
