"""Frame bodies and the byte-stream reader of pump link protocol version 1.

body = version u8 | kind u8 | seq u16 | type u16 | payload (one MessagePack map) | crc u32,
all little-endian, crc = zlib.crc32 over every byte before it; on the wire each frame is
COBS(body) followed by one zero byte, and a body is at most 4096 bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import msgpack

from programmer.link import cobs

VERSION = 1
MAX_BODY_SIZE = 4096

_HEADER = struct.Struct("<BBHH")  # version, kind, seq, type
_CRC = struct.Struct("<I")
FRAME_OVERHEAD = _HEADER.size + _CRC.size
MIN_BODY_SIZE = FRAME_OVERHEAD + 1  # the smallest payload is the empty map, 0x80
MAX_PAYLOAD_SIZE = MAX_BODY_SIZE - FRAME_OVERHEAD
# A run between zero bytes longer than this cannot hold a valid body: it is discarded
# without being buffered, which bounds the reader's memory.
MAX_ENCODED_SIZE = cobs.max_encoded_size(MAX_BODY_SIZE)

# Limits for decoding untrusted payloads: no container or string can be larger than
# the body that carries it, so garbage cannot make the decoder allocate much.
_UNPACK_LIMITS: dict[str, int] = {
    "max_str_len": MAX_BODY_SIZE,
    "max_bin_len": MAX_BODY_SIZE,
    "max_array_len": MAX_BODY_SIZE,
    "max_map_len": MAX_BODY_SIZE,
    "max_ext_len": MAX_BODY_SIZE,
}


class Kind(IntEnum):
    REQUEST = 1
    RESPONSE = 2


class DropReason(StrEnum):
    """Why a receiver silently dropped a run of bytes (counted, never answered)."""

    TOO_LONG = "too_long"
    COBS = "cobs"
    TOO_SHORT = "too_short"
    CRC = "crc"
    VERSION = "version"
    KIND = "kind"
    PAYLOAD = "payload"


class FrameError(ValueError):
    """A received body breaks a framing rule; `reason` says which."""

    def __init__(self, reason: DropReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class FrameTooLarge(ValueError):
    """An outgoing body would exceed MAX_BODY_SIZE bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"frame body of {size} bytes exceeds the limit of {MAX_BODY_SIZE}")
        self.size = size


@dataclass(frozen=True, slots=True)
class Frame:
    version: int
    kind: int
    seq: int
    msg_type: int
    payload: dict[Any, Any]
    crc: int
    body: bytes  # the exact decoded body, crc included


def pack_payload(payload: dict[str, Any]) -> bytes:
    """MessagePack of a payload map: str as str, bytes as bin."""
    if not isinstance(payload, dict):
        raise TypeError(f"a payload must be a dict, not {type(payload).__name__}")
    packed: bytes = msgpack.packb(payload, use_bin_type=True)
    return packed


def encode_body(kind: int, seq: int, msg_type: int, payload: dict[str, Any]) -> bytes:
    """The body of one frame. Raises FrameTooLarge, ValueError or TypeError."""
    if kind not in (Kind.REQUEST, Kind.RESPONSE):
        raise ValueError(f"kind must be 1 (request) or 2 (response), not {kind}")
    if not 0 <= seq <= 0xFFFF:
        raise ValueError(f"seq must fit in u16, not {seq}")
    if not 0 <= msg_type <= 0xFFFF:
        raise ValueError(f"message type must fit in u16, not {msg_type}")
    head = _HEADER.pack(VERSION, kind, seq, msg_type) + pack_payload(payload)
    size = len(head) + _CRC.size
    if size > MAX_BODY_SIZE:
        raise FrameTooLarge(size)
    return head + _CRC.pack(zlib.crc32(head))


def encode_frame(kind: int, seq: int, msg_type: int, payload: dict[str, Any]) -> bytes:
    """The bytes to write: COBS(body) and the zero delimiter."""
    return cobs.encode(encode_body(kind, seq, msg_type, payload)) + b"\x00"


def body_size(payload: dict[str, Any]) -> int:
    """How many body bytes a frame carrying `payload` takes."""
    return FRAME_OVERHEAD + len(pack_payload(payload))


def decode_body(body: bytes) -> Frame:
    """Check and decode one body; raises FrameError naming the broken rule."""
    size = len(body)
    if size > MAX_BODY_SIZE:
        raise FrameError(DropReason.TOO_LONG, f"{size} bytes")
    if size < MIN_BODY_SIZE:
        raise FrameError(DropReason.TOO_SHORT, f"{size} bytes")
    (crc,) = _CRC.unpack_from(body, size - _CRC.size)
    if zlib.crc32(memoryview(body)[: size - _CRC.size]) != crc:
        raise FrameError(DropReason.CRC, "CRC-32 does not match")
    version, kind, seq, msg_type = _HEADER.unpack_from(body)
    if version != VERSION:
        raise FrameError(DropReason.VERSION, f"version {version}")
    if kind not in (Kind.REQUEST, Kind.RESPONSE):
        raise FrameError(DropReason.KIND, f"kind {kind}")
    payload = _unpack_payload(body[_HEADER.size : size - _CRC.size])
    return Frame(version, kind, seq, msg_type, payload, crc, bytes(body))


def _unpack_payload(raw: bytes) -> dict[Any, Any]:
    try:
        # Non-str keys are allowed through (strict_map_key=False) so that a hostile
        # map still decodes to a dict; the receiver's field checks reject them.
        value = msgpack.unpackb(raw, raw=False, strict_map_key=False, **_UNPACK_LIMITS)
    except Exception as exc:  # untrusted bytes: every decoder failure means "drop"
        raise FrameError(DropReason.PAYLOAD, f"not one MessagePack value ({exc})") from exc
    if not isinstance(value, dict):
        raise FrameError(DropReason.PAYLOAD, f"payload is a {type(value).__name__}, not a map")
    return value


class FrameReader:
    """Turns a byte stream into frames; drops anything bad silently and never raises.

    Memory is bounded: an unterminated run longer than MAX_ENCODED_SIZE is discarded
    up to the next zero byte. `dropped` counts the drops by reason, for diagnostics.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._discarding = False
        self.dropped: Counter[DropReason] = Counter()
        self.decoded = 0

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for a zero byte (never above MAX_ENCODED_SIZE)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        chunk = bytes(data)
        start = 0
        while True:
            end = chunk.find(0, start)
            if end < 0:
                self._keep(chunk[start:])
                return frames
            frame = self._finish_run(chunk[start:end])
            if frame is not None:
                frames.append(frame)
            start = end + 1

    def _keep(self, tail: bytes) -> None:
        if self._discarding or not tail:
            return
        if len(self._pending) + len(tail) > MAX_ENCODED_SIZE:
            self._pending.clear()
            self._discarding = True
            self.dropped[DropReason.TOO_LONG] += 1
            return
        self._pending += tail

    def _finish_run(self, tail: bytes) -> Frame | None:
        if self._discarding:
            self._discarding = False
            return None
        if self._pending:
            run = bytes(self._pending) + tail
            self._pending.clear()
        else:
            run = tail
        if not run:
            return None  # two zeros in a row: an idle delimiter, not a frame
        if len(run) > MAX_ENCODED_SIZE:
            self.dropped[DropReason.TOO_LONG] += 1
            return None
        try:
            frame = decode_body(cobs.decode(run))
        except cobs.CobsError:
            self.dropped[DropReason.COBS] += 1
            return None
        except FrameError as exc:
            self.dropped[exc.reason] += 1
            return None
        self.decoded += 1
        return frame
