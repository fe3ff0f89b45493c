"""The fast COBS codec gives exactly the reference codec's bytes, and decodes what it did."""

from hypothesis import given, settings
from hypothesis import strategies as st

from programmer.link import cobs

from . import cobs_reference as ref

zero_heavy = st.lists(
    st.sampled_from([b"\x00", b"\x01", b"\x00" * 7, b"\xff", bytes(range(1, 255)), b"ab"]),
    max_size=60,
).map(b"".join)


@settings(max_examples=800)
@given(st.one_of(st.binary(max_size=1200), zero_heavy))
def test_same_bytes_as_the_reference(data: bytes) -> None:
    encoded = cobs.encode(data)
    assert encoded == ref.encode(data)
    assert cobs.decode(encoded) == data == ref.decode(encoded)


@settings(max_examples=800)
@given(st.binary(min_size=1, max_size=600))
def test_same_verdict_on_any_input(data: bytes) -> None:
    try:
        expected: bytes | None = ref.decode(data)
    except ref.CobsError:
        expected = None
    try:
        got: bytes | None = cobs.decode(data)
    except cobs.CobsError:
        got = None
    assert got == expected


def test_runs_of_zeros_and_trailing_empty_blocks() -> None:
    for data in (
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x00" * 1000,
        b"a" + b"\x00" * 300 + b"b",
        b"\x01" * 5 + b"\x00",
    ):
        assert cobs.encode(data) == ref.encode(data)
        assert cobs.decode(cobs.encode(data)) == data
    assert cobs.decode(b"\x01\x01\x01") == b"\x00\x00"
