"""The programmer's side of version negotiation (contract section 7) and of packed pages
that break the paging rules, against scripted pumps."""

from __future__ import annotations

from typing import Any

import pytest

from programmer.link import packed
from programmer.link.client import PumpClient
from programmer.link.endpoint import PumpEndpoint
from programmer.link.errors import BadResponse, LinkError
from programmer.link.frames import FrameReader, Kind, encode_frame
from programmer.link.inprocess import DirectTransport
from programmer.link.messages import DEMO_KEY, MsgType, ProtocolError

NONCE = b"n" * 16


class ScriptedPump:
    """Answers HELLO by `hello_answer(protocol asked)`, AUTH with ok, and a packed read
    with `page`; records every HELLO's protocol."""

    def __init__(self, hello_answer: Any, page: dict[str, Any] | None = None) -> None:
        self.hello_answer = hello_answer
        self.page = page or {}
        self.hellos: list[int] = []

    def respond(self, data: bytes) -> bytes:
        out = b""
        for frame in FrameReader().feed(data):
            payload: dict[str, Any]
            if frame.msg_type == MsgType.HELLO:
                self.hellos.append(frame.payload["protocol"])
                payload = self.hello_answer(frame.payload["protocol"])
            elif frame.msg_type == MsgType.AUTH:
                payload = {"ok": True}
            else:
                payload = {"ok": True, **self.page}
            out += encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, payload)
        return out


def identity(protocol: int) -> dict[str, Any]:
    return {"ok": True, "protocol": protocol, "model": "ITP-40", "serial": "S", "firmware": "f",
            "nonce": NONCE}  # fmt: skip


def old_pump(protocol: int) -> dict[str, Any]:
    if protocol != 1:
        return {"ok": False, "error": "bad_request", "message": "malformed request: protocol",
                "problems": [{"field": "protocol", "code": "out_of_range", "message": "1"}]}  # fmt: skip
    return identity(1)


def client(pump: ScriptedPump, protocol: int | None = None) -> PumpClient:
    return PumpClient(DirectTransport(pump.respond), "p", timeout=0.05, protocol=protocol)


def test_an_old_pump_refusing_2_gets_a_second_hello_with_1() -> None:
    pump = ScriptedPump(old_pump)
    c = client(pump)
    c.connect()
    assert pump.hellos == [2, 1] and c.protocol == 1


def test_a_pump_answering_1_to_a_hello_with_2_is_spoken_to_in_1() -> None:
    pump = ScriptedPump(lambda asked: identity(1))
    c = client(pump)
    c.connect()
    assert pump.hellos == [2, 1] and c.protocol == 1


def test_a_pump_answering_another_version_is_a_bad_response() -> None:
    for answer in (3, 0, True, "2", None):
        pump = ScriptedPump(lambda asked, answer=answer: {**identity(2), "protocol": answer})
        with pytest.raises(BadResponse):
            client(pump).connect()


def test_other_hello_errors_are_not_taken_for_an_old_pump() -> None:
    pump = ScriptedPump(lambda asked: {"ok": False, "error": "busy", "message": "another"})
    with pytest.raises(ProtocolError):
        client(pump).connect()
    assert pump.hellos == [2]


def test_asking_for_1_says_1_only_and_asking_for_2_never_falls_back() -> None:
    pump = ScriptedPump(identity)
    c = client(pump, protocol=1)
    c.connect()
    assert pump.hellos == [1] and c.protocol == 1
    for answer in (old_pump, lambda asked: identity(1)):
        with pytest.raises(LinkError, match="protocol version"):
            client(ScriptedPump(answer), protocol=2).connect()
    with pytest.raises(ValueError):
        PumpClient(DirectTransport(pump.respond), "p", protocol=3)


def events_page(**overrides: Any) -> dict[str, Any]:
    events = [[10, 1_700_000_000, "alarm_raised", {"code": "eri"}]]
    page = {"first_seq": 10, "count": 1, "packed": packed.encode_events(events),
            "next_seq": 11, "last_seq": 10}  # fmt: skip
    return {**page, **overrides}


def test_a_v2_events_page_is_returned_in_the_v1_structure() -> None:
    c = client(ScriptedPump(identity, events_page()))
    c.connect()
    assert c.read_events(5, 1024) == {
        "events": [
            {"seq": 10, "t": 1_700_000_000, "code": "alarm_raised", "data": {"code": "eri"}}
        ],
        "next_seq": 11,
        "last_seq": 10,
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"first_seq": 4},  # before the seq asked for
        {"next_seq": 12},  # not right after the page
        {"next_seq": None},
        {"last_seq": 9},  # an event past the last
        {"last_seq": -1},
        {"count": 10**9},  # a billion records claimed
        {"packed": b"\x01\x00"},  # corrupt
    ],
)
def test_a_v2_page_that_breaks_the_paging_is_refused(overrides: dict[str, Any]) -> None:
    c = client(ScriptedPump(identity, events_page(**overrides)))
    c.connect()
    with pytest.raises(packed.PackedPageError):
        c.read_events(5, 1024)


def test_a_v2_hours_page_that_breaks_the_paging_is_refused() -> None:
    good = {"first_hour": 400_100, "count": 2, "packed": packed.encode_hours([1, 2], [0, 0]),
            "next_hour": 400_102}  # fmt: skip
    c = client(ScriptedPump(identity, good))
    c.connect()
    assert c.read_infusion(400_100, 4096) == {"first_hour": 400_100, "basal_nl": [1, 2],
                                         "bolus_nl": [0, 0], "next_hour": 400_102}  # fmt: skip
    for bad in ({"first_hour": 400_099}, {"next_hour": 400_100}, {"count": 3}):
        c = client(ScriptedPump(identity, {**good, **bad}))
        c.connect()
        with pytest.raises(packed.PackedPageError):
            c.read_infusion(400_100, 4096)


def test_a_handler_that_says_nothing_of_versions_is_served_as_version_1() -> None:
    """A PumpHandler written before version 2 (no `protocols`) is never offered to a
    version-2 programmer: its endpoint refuses HELLO with 2, the client falls back."""

    class OldHandler:
        def identity(self) -> tuple[str, str, str]:
            return ("ITP-40", "S", "f")

        def on_session_opened(self, programmer_id: str) -> None:
            pass

        def on_auth_failed(self, programmer_id: str) -> None:
            pass

        def handle(self, msg_type: int, payload: dict[str, Any], pid: str) -> dict[str, Any]:
            return {}

    endpoint = PumpEndpoint(OldHandler(), DEMO_KEY)
    c = PumpClient(DirectTransport(endpoint.on_bytes), "p", timeout=0.05)
    c.connect()
    assert c.protocol == endpoint.protocol == 1
    with pytest.raises(ProtocolError) as caught:
        c.request(MsgType.READ_EVENTS_PACKED, {"from_seq": 1})
    assert caught.value.code == "unsupported"
