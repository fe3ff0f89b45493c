from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from programmer.link.client import PumpClient
from programmer.link.endpoint import PumpEndpoint
from programmer.link.errors import BadResponse, LinkClosed, LinkError, LinkTimeout
from programmer.link.frames import FrameReader, Kind, encode_frame
from programmer.link.inprocess import DirectTransport, InProcessPair
from programmer.link.messages import DEMO_KEY, ErrorCode, MsgType, ProtocolError, problem
from programmer.link.server import serve_transport

from .fakes import FakeHandler, LossyTransport

FAST = 0.05  # seconds per attempt: loss is simulated, no need to wait long


def direct_pump(key: bytes = DEMO_KEY) -> tuple[FakeHandler, PumpEndpoint, DirectTransport]:
    handler = FakeHandler()
    endpoint = PumpEndpoint(handler, key)
    return handler, endpoint, DirectTransport(endpoint.on_bytes)


class LossyReplies:
    """A DirectTransport whose pump replies are lost the first `drop` times: the pump
    executed the request, the programmer never heard back."""

    def __init__(self, endpoint: PumpEndpoint, drop: int) -> None:
        self.drop = drop
        self.inner = DirectTransport(self._respond)
        self.endpoint = endpoint

    def _respond(self, data: bytes) -> bytes:
        reply = self.endpoint.on_bytes(data)
        if self.drop > 0:
            self.drop -= 1
            return b""
        return reply


def test_connect_then_request_returns_the_payload_without_ok() -> None:
    handler, _, transport = direct_pump()
    client = PumpClient(transport, "prog-1", timeout=FAST)
    hello = client.connect()
    assert (hello["model"], hello["serial"], hello["firmware"]) == (
        "ITP-40",
        "ITP40-000123",
        "1.0.0",
    )
    assert client.authenticated
    assert client.request(MsgType.GET_STATUS, {}) == {"executions": 1}
    assert handler.sessions == ["prog-1"]


def test_wrong_key_raises_unauthorized() -> None:
    _, _, transport = direct_pump(key=b"\x01" * 32)
    client = PumpClient(transport, "prog-1", timeout=FAST)
    assert client.using_demo_key
    client.hello()
    with pytest.raises(ProtocolError) as info:
        client.auth()
    assert info.value.code == ErrorCode.UNAUTHORIZED
    assert not client.authenticated


def test_using_demo_key_is_false_for_a_clinic_key() -> None:
    _, _, transport = direct_pump()
    assert not PumpClient(transport, "p", key=b"\x01" * 32).using_demo_key


def test_auth_needs_hello_first() -> None:
    _, _, transport = direct_pump()
    with pytest.raises(LinkError, match="HELLO"):
        PumpClient(transport, "p", timeout=FAST).auth()


def test_error_answer_raises_protocol_error_with_problems() -> None:
    handler, _, transport = direct_pump()

    def refuse(payload: dict[str, Any]) -> dict[str, Any]:
        raise ProtocolError(ErrorCode.INVALID, "limits", [problem("rate", "too_high", "max 24 mL")])

    handler.behaviour[MsgType.STAGE] = refuse
    client = PumpClient(transport, "p", timeout=FAST)
    client.connect()
    with pytest.raises(ProtocolError) as info:
        client.stage({"cancel_bolus": True})
    assert (info.value.code, info.value.message) == (ErrorCode.INVALID, "limits")
    assert info.value.problems == [{"field": "rate", "code": "too_high", "message": "max 24 mL"}]


def test_seq_rises_by_one_per_request_and_wraps_at_u16() -> None:
    _, _, transport = direct_pump()
    lossy = LossyTransport(transport, drop_sends=0)
    client = PumpClient(lossy, "p", timeout=FAST, first_seq=0xFFFE)
    client.connect()
    client.request(MsgType.GET_STATUS, {})
    client.request(MsgType.GET_STATUS, {})
    seqs = [FrameReader().feed(data)[0].seq for data in lossy.sent]
    assert seqs == [0xFFFE, 0xFFFF, 0x0000, 0x0001]
    assert client.last_seq == 1


def test_first_seq_is_random_by_default() -> None:
    _, _, transport = direct_pump()
    firsts = {PumpClient(transport, "p").last_seq for _ in range(20)}
    assert len(firsts) > 1


@pytest.mark.parametrize("lost", [1, 4])
def test_lost_requests_are_resent_as_the_same_bytes(lost: int) -> None:
    handler, _, transport = direct_pump()
    lossy = LossyTransport(transport, drop_sends=0)
    client = PumpClient(lossy, "p", timeout=FAST, retries=4)
    client.connect()
    lossy.sent.clear()
    lossy.drop_sends = lost
    assert client.commit(0x1234) == {"therapy_crc": 7, "applied_t": 1_700_000_000}
    assert len(lossy.sent) == lost + 1
    assert len(set(lossy.sent)) == 1  # every attempt is the very same bytes
    assert [c[0] for c in handler.calls] == [MsgType.COMMIT]
    assert client.resends == lost


@pytest.mark.parametrize("lost", [1, 3])
def test_lost_replies_are_answered_from_the_cache_and_executed_once(lost: int) -> None:
    handler = FakeHandler()
    endpoint = PumpEndpoint(handler, DEMO_KEY)
    replies = LossyReplies(endpoint, drop=0)
    client = PumpClient(replies.inner, "p", timeout=FAST, retries=4)
    client.connect()
    replies.drop = lost
    assert client.commit(0x1234)["therapy_crc"] == 7
    assert [c[0] for c in handler.calls] == [MsgType.COMMIT]
    assert endpoint.cache_hits == lost


def test_after_every_retry_the_client_raises_link_timeout() -> None:
    handler, _, transport = direct_pump()
    lossy = LossyTransport(transport, drop_sends=0)
    client = PumpClient(lossy, "p", timeout=FAST, retries=2)
    client.connect()
    lossy.sent.clear()
    lossy.drop_sends = 3
    with pytest.raises(LinkTimeout) as info:
        client.request(MsgType.GET_STATUS, {})
    assert (info.value.attempts, info.value.msg_type) == (3, MsgType.GET_STATUS)
    assert len(lossy.sent) == 3
    assert handler.calls == []


def test_responses_with_another_seq_or_type_are_ignored() -> None:
    pair = InProcessPair()
    client = PumpClient(pair.programmer_end, "p", timeout=1.0, retries=0, first_seq=10)

    def pump_side() -> None:
        request = b""
        while not request.endswith(b"\x00"):
            request += pair.pump_end.recv(1.0)
        [frame] = FrameReader().feed(request)
        stale = encode_frame(Kind.RESPONSE, frame.seq - 1, frame.msg_type, {"ok": True, "n": 1})
        other_type = encode_frame(
            Kind.RESPONSE, frame.seq, MsgType.GET_THERAPY, {"ok": True, "n": 2}
        )
        echo = encode_frame(Kind.REQUEST, frame.seq, frame.msg_type, {"ok": True, "n": 3})
        right = encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, {"ok": True, "n": 4})
        pair.pump_end.send(stale + other_type + echo + b"junk\x00" + right)

    thread = threading.Thread(target=pump_side)
    thread.start()
    assert client.request(MsgType.GET_STATUS, {}) == {"n": 4}
    thread.join()


def test_a_response_without_boolean_ok_is_a_bad_response() -> None:
    def respond(data: bytes) -> bytes:
        [frame] = FrameReader().feed(data)
        return encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, {"ok": 1})

    client = PumpClient(DirectTransport(respond), "p", timeout=FAST)
    with pytest.raises(BadResponse):
        client.request(MsgType.GET_STATUS, {})


def test_hello_without_a_16_byte_nonce_is_a_bad_response() -> None:
    def respond(data: bytes) -> bytes:
        [frame] = FrameReader().feed(data)
        payload = {
            "ok": True,
            "protocol": 1,
            "model": "m",
            "serial": "s",
            "firmware": "f",
            "nonce": b"x",
        }
        return encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, payload)

    with pytest.raises(BadResponse, match="nonce"):
        PumpClient(DirectTransport(respond), "p", timeout=FAST).hello()


def test_a_closed_link_raises_link_closed() -> None:
    pair = InProcessPair()
    pair.pump_end.close()
    with pytest.raises(LinkClosed):
        PumpClient(pair.programmer_end, "p", timeout=FAST).hello()


@pytest.mark.parametrize("programmer_id", ["", "x" * 33])
def test_programmer_id_is_checked_before_anything_is_sent(programmer_id: str) -> None:
    _, _, transport = direct_pump()
    with pytest.raises(ValueError, match="1 to 32"):
        PumpClient(transport, programmer_id)


def test_byte_counters_add_up_what_crossed_the_link() -> None:
    _, _, transport = direct_pump()
    lossy = LossyTransport(transport, drop_sends=0)
    client = PumpClient(lossy, "p", timeout=FAST)
    client.connect()
    assert client.requests == 2
    assert client.bytes_sent == sum(len(d) for d in lossy.sent)
    assert client.bytes_received > 0


def test_client_and_endpoint_over_a_threaded_in_process_pair() -> None:
    pair = InProcessPair()
    handler = FakeHandler()
    stop = threading.Event()
    server = threading.Thread(
        target=serve_transport, args=(PumpEndpoint(handler, DEMO_KEY), pair.pump_end, stop)
    )
    server.start()
    try:
        client = PumpClient(pair.programmer_end, "prog-1", timeout=1.0)
        client.connect()
        for n in range(1, 21):
            assert client.request(MsgType.GET_STATUS, {}) == {"executions": n}
    finally:
        stop.set()
        server.join()


def test_a_per_request_timeout_waits_for_a_slow_pump() -> None:
    handler = FakeHandler()
    endpoint = PumpEndpoint(handler, DEMO_KEY)
    pair = InProcessPair()
    stop = threading.Event()
    server = threading.Thread(target=serve_transport, args=(endpoint, pair.pump_end, stop))
    server.start()

    def slow(payload: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.3)
        return {"clock_t": 1_767_225_600}

    handler.behaviour[MsgType.SIM_ADVANCE] = slow
    try:
        client = PumpClient(pair.programmer_end, "p", timeout=0.05, retries=0)
        client.connect()
        with pytest.raises(LinkTimeout):
            client.sim_advance(60)
        assert client.sim_advance(60, timeout=2.0) == {"clock_t": 1_767_225_600}
    finally:
        stop.set()
        server.join()
