from __future__ import annotations

import logging
from typing import Any

import pytest

from programmer.link.endpoint import (
    MAX_PAYLOAD_SIZE,
    PumpEndpoint,
    fits_in_frame,
    response_body_size,
)
from programmer.link.frames import MAX_BODY_SIZE, Frame, FrameReader, Kind, encode_frame
from programmer.link.messages import (
    DEMO_KEY,
    ErrorCode,
    MsgType,
    ProtocolError,
    compute_auth_mac,
    problem,
)

from .fakes import FakeClock, FakeHandler

OTHER_KEY = b"\x07" * 32


class Pump:
    """An endpoint with a fake handler and clock, and helpers to talk to it frame by frame."""

    def __init__(self) -> None:
        self.handler = FakeHandler()
        self.clock = FakeClock()
        self.endpoint = PumpEndpoint(self.handler, DEMO_KEY, clock=self.clock)
        self.seq = 100
        self.nonce = b""

    def raw(self, data: bytes) -> list[Frame]:
        return FrameReader().feed(self.endpoint.on_bytes(data))

    def send(
        self, msg_type: int, payload: dict[str, Any], seq: int | None = None
    ) -> dict[str, Any]:
        if seq is None:
            self.seq += 1
            seq = self.seq
        [frame] = self.raw(encode_frame(Kind.REQUEST, seq, msg_type, payload))
        assert (frame.kind, frame.seq, frame.msg_type) == (Kind.RESPONSE, seq, msg_type)
        return frame.payload

    def hello(self, programmer_id: str = "prog-1") -> dict[str, Any]:
        response = self.send(MsgType.HELLO, {"programmer_id": programmer_id, "protocol": 1})
        self.nonce = response.get("nonce", b"")
        return response

    def auth(self, key: bytes = DEMO_KEY, programmer_id: str = "prog-1") -> dict[str, Any]:
        return self.send(MsgType.AUTH, {"mac": compute_auth_mac(key, self.nonce, programmer_id)})

    def session(self) -> None:
        assert self.hello()["ok"] is True
        assert self.auth() == {"ok": True}


@pytest.fixture
def pump() -> Pump:
    return Pump()


# --- HELLO ---------------------------------------------------------------------------


def test_hello_answers_identity_and_a_fresh_nonce(pump: Pump) -> None:
    first = pump.hello()
    assert first == {
        "ok": True,
        "protocol": 1,
        "model": "ITP-40",
        "serial": "ITP40-000123",
        "firmware": "1.0.0",
        "nonce": first["nonce"],
    }
    assert isinstance(first["nonce"], bytes) and len(first["nonce"]) == 16
    assert pump.hello()["nonce"] != first["nonce"]
    assert pump.handler.sessions == ["prog-1", "prog-1"]


@pytest.mark.parametrize("length", [1, 32])
def test_hello_accepts_programmer_ids_of_1_and_32_chars(pump: Pump, length: int) -> None:
    assert pump.hello("é" * length)["ok"] is True
    assert pump.endpoint.programmer_id == "é" * length


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"programmer_id": "", "protocol": 1}, "programmer_id", "out_of_range"),
        ({"programmer_id": "x" * 33, "protocol": 1}, "programmer_id", "out_of_range"),
        ({"programmer_id": b"prog", "protocol": 1}, "programmer_id", "wrong_type"),
        ({"protocol": 1}, "programmer_id", "missing"),
        ({"programmer_id": "p", "protocol": 3}, "protocol", "out_of_range"),
        ({"programmer_id": "p", "protocol": 0}, "protocol", "out_of_range"),
        ({"programmer_id": "p", "protocol": True}, "protocol", "wrong_type"),
        ({"programmer_id": "p", "protocol": "1"}, "protocol", "wrong_type"),
        ({"programmer_id": "p"}, "protocol", "missing"),
        ({"programmer_id": "p", "protocol": 1, "extra": 0}, "extra", "unknown_field"),
    ],
)
def test_malformed_hello_is_bad_request_and_opens_no_session(
    pump: Pump, payload: dict[str, Any], field: str, code: str
) -> None:
    response = pump.send(MsgType.HELLO, payload)
    assert response["ok"] is False
    assert response["error"] == "bad_request"
    assert {"field": field, "code": code} == {
        k: response["problems"][0][k] for k in ("field", "code")
    }
    assert pump.handler.sessions == []


def test_hello_ends_the_authenticated_session(pump: Pump) -> None:
    pump.session()
    was_authenticated = pump.endpoint.authenticated
    pump.hello()
    assert (was_authenticated, pump.endpoint.authenticated) == (True, False)
    assert pump.send(MsgType.GET_STATUS, {})["error"] == "unauthorized"


# --- AUTH -------------------------------------------------------------------------


def test_auth_with_the_right_key_opens_every_message(pump: Pump) -> None:
    pump.session()
    assert pump.send(MsgType.GET_STATUS, {}) == {"ok": True, "executions": 1}
    assert pump.handler.calls == [(MsgType.GET_STATUS, {}, "prog-1")]


def test_auth_mac_covers_the_programmer_id_of_the_hello(pump: Pump) -> None:
    pump.hello("prog-1")
    assert pump.auth(programmer_id="prog-2")["error"] == "unauthorized"


def test_auth_with_a_wrong_key_is_refused_and_reported(pump: Pump) -> None:
    pump.hello()
    response = pump.auth(OTHER_KEY)
    assert (response["ok"], response["error"]) == (False, "unauthorized")
    assert pump.handler.auth_failures == ["prog-1"]
    assert not pump.endpoint.authenticated


def test_auth_before_any_hello_is_unauthorized(pump: Pump) -> None:
    response = pump.send(MsgType.AUTH, {"mac": b"\x00" * 32})
    assert response["error"] == "unauthorized"
    assert pump.handler.auth_failures == []


@pytest.mark.parametrize("mac", [b"\x00" * 31, b"\x00" * 33, "0" * 32, None])
def test_malformed_auth_is_bad_request(pump: Pump, mac: object) -> None:
    pump.hello()
    assert pump.send(MsgType.AUTH, {"mac": mac})["error"] == "bad_request"
    assert pump.handler.auth_failures == []


def test_any_auth_within_one_second_of_a_failure_is_refused_unchecked(pump: Pump) -> None:
    pump.hello()
    pump.auth(OTHER_KEY)
    pump.clock.now += 0.999
    refused = pump.auth(DEMO_KEY)  # the right key, but inside the window
    assert refused["error"] == "unauthorized"
    assert "wait 1 s" in refused["message"]
    assert pump.handler.auth_failures == ["prog-1"]  # a refusal is not a checked failure
    pump.clock.now += 0.001  # exactly 1 s after the failure; refusals did not extend it
    assert pump.auth(DEMO_KEY) == {"ok": True}


def test_a_new_hello_does_not_reset_the_refusal_window(pump: Pump) -> None:
    pump.hello()
    pump.auth(OTHER_KEY)
    pump.clock.now += 0.5
    pump.hello()
    assert pump.auth(DEMO_KEY)["error"] == "unauthorized"
    pump.clock.now += 0.5
    assert pump.auth(DEMO_KEY) == {"ok": True}


def test_a_failed_auth_ends_an_authenticated_session(pump: Pump) -> None:
    pump.session()
    pump.auth(OTHER_KEY)
    assert pump.send(MsgType.GET_STATUS, {})["error"] == "unauthorized"


# --- gating and dispatch ------------------------------------------------------------

GATED = [t for t in MsgType if t not in (MsgType.HELLO, MsgType.AUTH)] + [
    0x0000,
    0x0003,
    0x00FF,
    0xFFFF,
]


@pytest.mark.parametrize("msg_type", GATED)
def test_every_other_message_needs_auth_of_the_current_hello(pump: Pump, msg_type: int) -> None:
    assert pump.send(msg_type, {})["error"] == "unauthorized"
    pump.hello()
    assert pump.send(msg_type, {})["error"] == "unauthorized"
    assert pump.handler.calls == []


@pytest.mark.parametrize("msg_type", [0x0000, 0x0003, 0x0012, 0x00F5, 0x00FF, 0x0100, 0xFFFF])
def test_unknown_message_types_are_unsupported_after_auth(pump: Pump, msg_type: int) -> None:
    pump.session()
    response = pump.send(msg_type, {})
    assert response["error"] == "unsupported"
    assert f"0x{msg_type:04x}" in response["message"]
    assert pump.handler.calls == []


def test_handler_protocol_errors_are_answered_with_their_problems(pump: Pump) -> None:
    def refuse(payload: dict[str, Any]) -> dict[str, Any]:
        raise ProtocolError(
            ErrorCode.INVALID, "over limits", [problem("steps", "too_many", "≤ 13")]
        )

    pump.handler.behaviour[MsgType.STAGE] = refuse
    pump.session()
    assert pump.send(MsgType.STAGE, {"changeset": {}}) == {
        "ok": False,
        "error": "invalid",
        "message": "over limits",
        "problems": [{"field": "steps", "code": "too_many", "message": "≤ 13"}],
    }


def test_a_handler_crash_answers_busy_and_the_endpoint_lives_on(
    pump: Pump, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(payload: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("seconds")

    pump.handler.behaviour[MsgType.SIM_ADVANCE] = crash
    pump.session()
    with caplog.at_level(logging.ERROR, logger="programmer.link.endpoint"):
        response = pump.send(MsgType.SIM_ADVANCE, {})
    assert response["error"] == "busy"
    assert "outcome is unknown" in response["message"]
    assert "KeyError" in caplog.text
    assert pump.send(MsgType.GET_STATUS, {})["ok"] is True


def test_a_response_too_large_for_a_frame_answers_busy(pump: Pump) -> None:
    big = {"blob": b"\x01" * MAX_BODY_SIZE}
    assert not fits_in_frame(big)
    pump.handler.behaviour[MsgType.READ_EVENTS] = lambda payload: big
    pump.session()
    response = pump.send(MsgType.READ_EVENTS, {"from_seq": 1, "max": 10})
    assert response["error"] == "busy"
    assert "does not fit one frame" in response["message"]


def test_fits_in_frame_is_exact_at_the_limit() -> None:
    # {"ok": true, "blob": bin16(n)} packs to 1 + 3 + 1 + 5 + 3 + n bytes; the frame adds 10.
    def payload(n: int) -> dict[str, Any]:
        return {"blob": b"\x01" * n}

    assert response_body_size(payload(4073)) == MAX_BODY_SIZE
    assert fits_in_frame(payload(4073))
    assert not fits_in_frame(payload(4074))
    assert MAX_PAYLOAD_SIZE == MAX_BODY_SIZE - 10


def test_handler_cannot_set_ok_itself(pump: Pump) -> None:
    pump.handler.behaviour[MsgType.DISCARD] = lambda payload: {"ok": False}
    pump.session()
    assert pump.send(MsgType.DISCARD, {}) == {"ok": True}


def test_non_text_keys_are_a_bad_request_for_handled_messages(pump: Pump) -> None:
    pump.session()
    from .test_frames import raw_body, wire

    [frame] = pump.raw(wire(raw_body(b"\x81\x01\x02", seq=5, msg_type=MsgType.GET_STATUS)))
    assert frame.payload["error"] == "bad_request"
    assert frame.payload["problems"][0]["field"] == "1"
    assert pump.handler.calls == []


# --- retry cache -----------------------------------------------------------------------


def test_same_seq_and_crc_is_answered_from_the_cache_without_executing(pump: Pump) -> None:
    pump.session()
    request = encode_frame(Kind.REQUEST, 500, MsgType.COMMIT, {"staged_crc": 1})
    first = pump.endpoint.on_bytes(request)
    again = pump.endpoint.on_bytes(request)
    assert again == first
    assert len(pump.handler.calls) == 1
    assert pump.endpoint.cache_hits == 1


def test_same_seq_with_another_crc_is_executed(pump: Pump) -> None:
    pump.session()
    pump.send(MsgType.COMMIT, {"staged_crc": 1}, seq=500)
    pump.send(MsgType.COMMIT, {"staged_crc": 2}, seq=500)
    assert [c[1] for c in pump.handler.calls] == [{"staged_crc": 1}, {"staged_crc": 2}]


def test_only_the_last_request_is_cached(pump: Pump) -> None:
    pump.session()
    status = encode_frame(Kind.REQUEST, 600, MsgType.GET_STATUS, {})
    pump.endpoint.on_bytes(status)
    pump.send(MsgType.DISCARD, {}, seq=601)
    pump.endpoint.on_bytes(status)
    assert len(pump.handler.calls) == 3


def test_a_repeated_hello_is_answered_from_the_cache_with_the_same_nonce(pump: Pump) -> None:
    request = encode_frame(Kind.REQUEST, 1, MsgType.HELLO, {"programmer_id": "p", "protocol": 1})
    first = pump.endpoint.on_bytes(request)
    assert pump.endpoint.on_bytes(request) == first
    assert pump.handler.sessions == ["p"]


def test_a_repeated_failed_auth_is_answered_from_the_cache_not_counted_again(pump: Pump) -> None:
    pump.hello()
    mac = compute_auth_mac(OTHER_KEY, pump.nonce, "prog-1")
    request = encode_frame(Kind.REQUEST, 900, MsgType.AUTH, {"mac": mac})
    first = pump.endpoint.on_bytes(request)
    pump.clock.now += 5
    assert pump.endpoint.on_bytes(request) == first
    assert pump.handler.auth_failures == ["prog-1"]


def test_error_answers_are_cached_too(pump: Pump) -> None:
    request = encode_frame(Kind.REQUEST, 42, MsgType.GET_STATUS, {})
    refused = pump.endpoint.on_bytes(request)
    assert FrameReader().feed(refused)[0].payload["error"] == "unauthorized"
    assert pump.endpoint.on_bytes(request) == refused
    assert pump.endpoint.executed == 1


# --- the byte stream ---------------------------------------------------------------------


def test_garbage_gets_no_answer_and_responses_are_ignored(pump: Pump) -> None:
    assert pump.endpoint.on_bytes(b"\x13\x37\x00\xff" * 50 + b"\x00") == b""
    assert pump.endpoint.on_bytes(encode_frame(Kind.RESPONSE, 1, MsgType.HELLO, {})) == b""
    assert pump.handler.sessions == []


def test_several_requests_in_one_chunk_get_answers_in_order(pump: Pump) -> None:
    pump.session()
    data = b"".join(encode_frame(Kind.REQUEST, s, MsgType.GET_STATUS, {}) for s in (7, 8, 9))
    assert [(f.seq, f.payload["executions"]) for f in pump.raw(data)] == [(7, 1), (8, 2), (9, 3)]


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        PumpEndpoint(FakeHandler(), b"short")


@pytest.mark.parametrize("count", [91, 20_000])
def test_too_many_problems_are_cut_to_fit_a_frame_not_turned_into_busy(
    pump: Pump, count: int
) -> None:
    many = [
        problem(f"steps[{i}]", "below_min_rate", "rate below 48000 nl/day") for i in range(count)
    ]

    def refuse(payload: dict[str, Any]) -> dict[str, Any]:
        raise ProtocolError(ErrorCode.INVALID, "steps out of limits", many)

    pump.handler.behaviour[MsgType.STAGE] = refuse
    pump.session()
    response = pump.send(MsgType.STAGE, {"changeset": {}})
    assert response["error"] == "invalid"
    shown = len(response["problems"])
    assert 0 < shown < count
    assert response["problems"] == many[:shown]
    assert response["message"] == f"steps out of limits (more problems not shown: {count - shown})"
    one_more = {**response, "problems": many[: shown + 1]}
    assert response_body_size(one_more) > MAX_BODY_SIZE  # as many as fit are shown
