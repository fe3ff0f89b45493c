"""Message types, error codes and authentication of pump link protocol versions 1 and 2."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from enum import IntEnum, StrEnum
from typing import Any

PROTOCOL_VERSION = 1  # the version every pump speaks
PROTOCOL_LATEST = 2  # version 2 adds the packed history reads (section 7)
PROTOCOL_VERSIONS = (1, 2)
KEY_SIZE = 32
NONCE_SIZE = 16
MAC_SIZE = 32
PROGRAMMER_ID_MAX_CHARS = 32

# The demo clinic key: used when no key file is given, and every output must say so.
DEMO_KEY = b"\x42" * KEY_SIZE


class MsgType(IntEnum):
    HELLO = 0x0001
    AUTH = 0x0002
    GET_STATUS = 0x0010
    GET_THERAPY = 0x0011
    STAGE = 0x0020
    COMMIT = 0x0021
    DISCARD = 0x0022
    SET_CLOCK = 0x0030
    READ_EVENTS = 0x0040
    READ_INFUSION = 0x0041
    READ_EVENTS_PACKED = 0x0042
    READ_INFUSION_PACKED = 0x0043
    SIM_ADVANCE = 0x00F0
    SIM_PTM = 0x00F1
    SIM_FAULT = 0x00F2
    SIM_TRUTH = 0x00F3
    SIM_SET = 0x00F4


# Emulator-only messages: a real pump answers them with `unsupported`.
SIM_TYPES = frozenset(t for t in MsgType if 0x00F0 <= t <= 0x00FF)
# Messages of a version-2 session only: `unsupported` in a version-1 session.
V2_TYPES = frozenset({MsgType.READ_EVENTS_PACKED, MsgType.READ_INFUSION_PACKED})


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    INVALID = "invalid"
    NO_STAGED = "no_staged"
    CRC_MISMATCH = "crc_mismatch"
    UNSUPPORTED = "unsupported"
    BUSY = "busy"
    PUMP_FAULT = "pump_fault"


def problem(field: str, code: str, message: str) -> dict[str, str]:
    """One entry of `problems`: which field, a machine code, and text for a person."""
    return {"field": field, "code": code, "message": message}


MESSAGE_MAX_CHARS = 300  # of a pump's error message, as shown to people


class ProtocolError(Exception):
    """An error answer (`ok: false`): raised by pump handlers, and by the client on receipt."""

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        problems: Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        known = code in ErrorCode.__members__.values()
        self.code: ErrorCode | str = ErrorCode(code) if known else str(code)
        self.message = message
        self.problems: list[dict[str, str]] = [dict(p) for p in problems or ()]
        super().__init__(f"{self.code}: {message}")

    def to_payload(self) -> dict[str, Any]:
        """The response payload for this error (plain str values, ready to pack)."""
        payload: dict[str, Any] = {"ok": False, "error": str(self.code), "message": self.message}
        if self.problems or self.code == ErrorCode.INVALID:
            payload["problems"] = [
                {
                    "field": str(p.get("field", "")),
                    "code": str(p.get("code", "")),
                    "message": str(p.get("message", "")),
                }
                for p in self.problems
            ]
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[Any, Any]) -> ProtocolError:
        """Rebuild the error a pump sent; tolerant of a malformed answer, never raises.

        The pump's words are shown to people as they are here: control and formatting
        characters escaped, a long message shortened (display_text), once, where they enter.
        """
        from programmer.session.display_text import display_text

        code = payload.get("error")
        message = payload.get("message")
        if isinstance(code, str) and code not in ErrorCode.__members__.values():
            code = display_text(code, 32)
        if isinstance(message, str):
            message = display_text(message, MESSAGE_MAX_CHARS)
        problems: list[dict[str, str]] = []
        raw_problems = payload.get("problems")
        if isinstance(raw_problems, list):
            for entry in raw_problems:
                if isinstance(entry, dict):
                    problems.append(
                        problem(
                            display_text(str(entry.get("field", "")), 80),
                            display_text(str(entry.get("code", "")), 32),
                            display_text(str(entry.get("message", "")), MESSAGE_MAX_CHARS),
                        )
                    )
        return cls(
            code if isinstance(code, str) else "unknown_error",
            message if isinstance(message, str) else "the pump gave no message",
            problems,
        )


def compute_auth_mac(key: bytes, nonce: bytes, programmer_id: str) -> bytes:
    """HMAC-SHA256(clinic_key, nonce || programmer_id as UTF-8), the AUTH proof."""
    return hmac.new(key, nonce + programmer_id.encode("utf-8"), hashlib.sha256).digest()


def check_key(key: bytes) -> bytes:
    """The clinic key, or ValueError when it is not 32 bytes."""
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise ValueError(f"a clinic key is exactly {KEY_SIZE} bytes")
    return key
