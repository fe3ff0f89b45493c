"""Whatever a peer sends, the endpoint neither raises nor answers a dropped frame, and
answers every well-formed request with exactly one response of the same seq and type."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from programmer.link.endpoint import PumpEndpoint
from programmer.link.frames import FrameReader, Kind, encode_frame
from programmer.link.messages import DEMO_KEY, MsgType, compute_auth_mac

from .fakes import FakeClock, FakeHandler, fuzz_settings

leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=40)
value = st.recursive(
    leaf | st.binary(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)
payloads = st.dictionaries(
    st.sampled_from(["programmer_id", "protocol", "mac", "seconds", "x"]) | st.text(max_size=4),
    value,
    max_size=4,
)
types = st.sampled_from([int(t) for t in MsgType]) | st.integers(0, 0xFFFF)


def _authenticated_endpoint() -> PumpEndpoint:
    endpoint = PumpEndpoint(FakeHandler(), DEMO_KEY, clock=FakeClock())
    hello = encode_frame(Kind.REQUEST, 1, MsgType.HELLO, {"programmer_id": "p", "protocol": 1})
    nonce = FrameReader().feed(endpoint.on_bytes(hello))[0].payload["nonce"]
    mac = compute_auth_mac(DEMO_KEY, nonce, "p")
    endpoint.on_bytes(encode_frame(Kind.REQUEST, 2, MsgType.AUTH, {"mac": mac}))
    assert endpoint.authenticated
    return endpoint


@fuzz_settings(300)
@given(st.binary(max_size=3000))
def test_random_bytes_get_no_answer(junk: bytes) -> None:
    endpoint = _authenticated_endpoint()
    reply = endpoint.on_bytes(junk)
    # Random bytes pass COBS, CRC-32, version and kind checks about never.
    assert reply == b""


@fuzz_settings(150)
@given(st.lists(st.tuples(st.integers(0, 0xFFFF), types, payloads), min_size=1, max_size=5))
def test_every_request_gets_exactly_one_answer(
    requests: list[tuple[int, int, dict[str, Any]]],
) -> None:
    endpoint = _authenticated_endpoint()
    for seq, msg_type, payload in requests:
        answers = FrameReader().feed(
            endpoint.on_bytes(encode_frame(Kind.REQUEST, seq, msg_type, payload))
        )
        assert [(a.kind, a.seq, a.msg_type) for a in answers] == [(Kind.RESPONSE, seq, msg_type)]
        assert isinstance(answers[0].payload["ok"], bool)
        if answers[0].payload["ok"] is False:
            assert isinstance(answers[0].payload["error"], str)
            assert isinstance(answers[0].payload["message"], str)
