from __future__ import annotations

import hashlib

import pytest

from programmer.link.messages import (
    DEMO_KEY,
    ErrorCode,
    MsgType,
    ProtocolError,
    check_key,
    compute_auth_mac,
    problem,
)


def test_message_type_numbers_match_the_contract() -> None:
    assert {t.name: int(t) for t in MsgType} == {
        "HELLO": 0x0001,
        "AUTH": 0x0002,
        "GET_STATUS": 0x0010,
        "GET_THERAPY": 0x0011,
        "STAGE": 0x0020,
        "COMMIT": 0x0021,
        "DISCARD": 0x0022,
        "SET_CLOCK": 0x0030,
        "READ_EVENTS": 0x0040,
        "READ_INFUSION": 0x0041,
        "READ_EVENTS_PACKED": 0x0042,
        "READ_INFUSION_PACKED": 0x0043,
        "SIM_ADVANCE": 0x00F0,
        "SIM_PTM": 0x00F1,
        "SIM_FAULT": 0x00F2,
        "SIM_TRUTH": 0x00F3,
        "SIM_SET": 0x00F4,
    }


def test_error_codes_are_exactly_section_6() -> None:
    assert {str(c) for c in ErrorCode} == {
        "bad_request",
        "unauthorized",
        "invalid",
        "no_staged",
        "crc_mismatch",
        "unsupported",
        "busy",
        "pump_fault",
    }


def _hmac_sha256_by_hand(key: bytes, message: bytes) -> bytes:
    # RFC 2104 written out, so the test does not reuse the code under test.
    ipad = bytes(b ^ 0x36 for b in key.ljust(64, b"\x00"))
    opad = bytes(b ^ 0x5C for b in key.ljust(64, b"\x00"))
    inner = hashlib.sha256(ipad + message).digest()
    return hashlib.sha256(opad + inner).digest()


def test_auth_mac_is_hmac_sha256_of_nonce_then_utf8_programmer_id() -> None:
    nonce = bytes(range(16))
    mac = compute_auth_mac(DEMO_KEY, nonce, "Dr Müller")
    assert mac == _hmac_sha256_by_hand(b"\x42" * 32, nonce + "Dr Müller".encode())
    assert len(mac) == 32
    assert compute_auth_mac(DEMO_KEY, nonce, "Dr Muller") != mac


def test_error_payload_has_ok_error_message_and_problems_when_any() -> None:
    plain = ProtocolError(ErrorCode.NO_STAGED, "nothing staged")
    assert plain.to_payload() == {"ok": False, "error": "no_staged", "message": "nothing staged"}
    assert type(plain.to_payload()["error"]) is str
    invalid = ProtocolError("invalid", "limits", [problem("steps", "too_many", "at most 13")])
    assert invalid.code is ErrorCode.INVALID
    assert invalid.to_payload()["problems"] == [
        {"field": "steps", "code": "too_many", "message": "at most 13"}
    ]
    assert ProtocolError(ErrorCode.INVALID, "x").to_payload()["problems"] == []


def test_error_from_a_pump_is_rebuilt_even_when_malformed() -> None:
    err = ProtocolError.from_payload(
        {"ok": False, "error": "invalid", "message": "m", "problems": [{"field": "a"}, 3]}
    )
    assert (err.code, err.message) == (ErrorCode.INVALID, "m")
    assert err.problems == [{"field": "a", "code": "", "message": ""}]
    odd = ProtocolError.from_payload({"ok": False, "error": "teapot"})
    assert odd.code == "teapot"
    assert odd.message == "the pump gave no message"
    assert ProtocolError.from_payload({"ok": False, "error": 5}).code == "unknown_error"


@pytest.mark.parametrize("key", [b"", b"\x42" * 31, b"\x42" * 33])
def test_clinic_key_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        check_key(key)
