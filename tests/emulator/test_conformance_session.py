"""Conformance, sections 3 and 4 (HELLO, AUTH, gating) against `itp emulator` over TCP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from programmer.link import DEMO_KEY, MsgType, ProtocolError, PumpClient
from programmer.link.frames import Kind, encode_frame

from .conftest import EmulatorProcess, RawLink
from .helpers import T0

AUTHENTICATED_TYPES = [t for t in MsgType if t not in (MsgType.HELLO, MsgType.AUTH)]


def test_hello_answers_identity_and_a_16_byte_nonce(emulator: EmulatorProcess) -> None:
    client = emulator.client(connect=False)
    hello = client.hello()
    assert hello["protocol"] == 1
    assert hello["model"] == "ITP-40"
    assert isinstance(hello["serial"], str) and hello["serial"]
    assert isinstance(hello["firmware"], str) and hello["firmware"]
    assert isinstance(hello["nonce"], bytes) and len(hello["nonce"]) == 16
    assert client.hello()["nonce"] != hello["nonce"]
    client.close()


@pytest.mark.parametrize("msg_type", AUTHENTICATED_TYPES, ids=lambda t: t.name)
def test_every_other_request_needs_auth(emulator: EmulatorProcess, msg_type: MsgType) -> None:
    client = emulator.client(connect=False)
    with pytest.raises(ProtocolError) as caught:
        client.request(msg_type, {})
    assert caught.value.code == "unauthorized"
    client.hello()
    with pytest.raises(ProtocolError) as caught:
        client.request(msg_type, {})
    assert caught.value.code == "unauthorized"
    client.close()


def test_wrong_key_is_unauthorized_and_logged(emulator: EmulatorProcess) -> None:
    intruder = emulator.client("intruder", key=b"\x01" * 32, connect=False)
    intruder.hello()
    with pytest.raises(ProtocolError) as caught:
        intruder.auth()
    assert caught.value.code == "unauthorized"
    intruder.close()
    time.sleep(1.05)  # the pump refuses every AUTH for 1 s after a failure, on any connection
    client = emulator.client("clinic")
    events = client.read_events(1, 1024)["events"]
    # A HELLO alone is not logged (a flood must not fill the log); a session is, once
    # authenticated; the first failure of a day is logged by itself.
    assert [(e["code"], e["data"]) for e in events] == [
        ("auth_failed", {"programmer_id": "intruder"}),
        ("session_opened", {"programmer_id": "clinic"}),
    ]
    assert all(e["t"] == T0 for e in events)
    client.close()


def test_key_file_sets_the_clinic_key(tmp_path: Path) -> None:
    key = bytes(range(32))
    (tmp_path / "clinic.key").write_bytes(key)
    process = EmulatorProcess(tmp_path, "--speed", "0", "--key-file", str(tmp_path / "clinic.key"))
    process.start()
    try:
        demo = process.client("demo", key=DEMO_KEY, connect=False)
        demo.hello()
        with pytest.raises(ProtocolError):
            demo.auth()
        demo.close()
        time.sleep(1.1)  # AUTH is refused for 1 s after a failure
        process.client("clinic", key=key).close()
    finally:
        process.stop()


def test_unknown_message_type_is_unsupported(pump: PumpClient) -> None:
    with pytest.raises(ProtocolError) as caught:
        pump.request(0x0099, {})
    assert caught.value.code == "unsupported"


def test_unknown_fields_and_wrong_types_are_bad_requests(pump: PumpClient) -> None:
    for msg_type, payload in [
        (MsgType.GET_STATUS, {"extra": 1}),
        (MsgType.COMMIT, {}),
        (MsgType.COMMIT, {"staged_crc": "abc"}),
        (MsgType.STAGE, {}),
        (MsgType.SET_CLOCK, {"clock_t": T0}),
        (MsgType.READ_EVENTS, {"from_seq": 1, "max": 0}),
        (MsgType.READ_EVENTS, {"from_seq": 1, "max": 1025}),
        (MsgType.READ_INFUSION, {"from_hour": 0, "max": 4097}),
        (MsgType.SIM_ADVANCE, {"seconds": -1}),
        (MsgType.SIM_ADVANCE, {"seconds": 1.5}),
        (MsgType.SIM_FAULT, {"fault": "meteor"}),
        (MsgType.SIM_SET, {"flow_error_ppm": True}),
    ]:
        with pytest.raises(ProtocolError) as caught:
            pump.request(msg_type, payload)
        assert caught.value.code == "bad_request", (msg_type, payload)
        assert caught.value.message


def test_a_resent_request_is_answered_from_memory_not_executed_again(
    emulator: EmulatorProcess,
) -> None:
    """Section 3: same seq and CRC -> the stored response, and no second execution."""
    link = RawLink(emulator.address)
    link.login()
    frame = encode_frame(Kind.REQUEST, 4242, MsgType.SIM_ADVANCE, {"seconds": 60})
    answers = []
    for _ in range(2):
        link.send(frame)
        answers.append(link.answer())
    assert answers[0] == answers[1] == {"ok": True, "clock_t": T0 + 60}
    status = link.exchange(4243, MsgType.GET_STATUS, {})
    assert status["clock_t"] == T0 + 60
    link.close()
