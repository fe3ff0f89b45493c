"""The pump's side of the link: sessions, authentication, retry cache, error answers.

Transport-agnostic: feed it raw bytes with `on_bytes` and write back what it returns,
whether they came from TCP, a serial port or an in-process pair. What the pump does
with an authenticated request is the `PumpHandler`'s business.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from programmer.link.fields import FieldChecker
from programmer.link.frames import (
    MAX_BODY_SIZE,
    MAX_PAYLOAD_SIZE,
    Frame,
    FrameReader,
    FrameTooLarge,
    Kind,
    body_size,
    encode_frame,
)
from programmer.link.messages import (
    MAC_SIZE,
    NONCE_SIZE,
    PROGRAMMER_ID_MAX_CHARS,
    PROTOCOL_VERSION,
    V2_TYPES,
    ErrorCode,
    MsgType,
    ProtocolError,
    check_key,
    compute_auth_mac,
)

__all__ = [
    "AUTH_REFUSAL_S",
    "MAX_PAYLOAD_SIZE",
    "AuthThrottle",
    "PumpEndpoint",
    "PumpHandler",
    "fits_in_frame",
    "response_body_size",
]

log = logging.getLogger(__name__)

AUTH_REFUSAL_S = 1.0  # every AUTH within this long after a failed one is refused unchecked
_KNOWN_TYPES = frozenset(int(t) for t in MsgType)


class PumpHandler(Protocol):
    """What the pump does; the endpoint handles sessions, AUTH and framing around it."""

    def identity(self) -> tuple[str, str, str]: ...  # (model, serial, firmware)

    # a valid HELLO: discard the staged changeset (the emulator counts it as an attempt
    # until its AUTH succeeds, and logs session_opened then)
    def on_session_opened(self, programmer_id: str) -> None: ...

    # a wrong MAC (the emulator logs auth_failed at most once a day, counts the rest)
    def on_auth_failed(self, programmer_id: str) -> None: ...

    # Optional (looked up with getattr, so older handlers still work):
    # `on_authenticated(programmer_id)`, called when AUTH of a session succeeds;
    # `protocols`, the versions it serves (default (1,): a handler without the packed
    # history reads of version 2 is not offered to a version-2 programmer).

    # Authenticated requests other than HELLO/AUTH; returns the response payload WITHOUT
    # "ok" (the endpoint adds ok=True). Raises ProtocolError for errors (unsupported,
    # invalid with problems, no_staged, crc_mismatch, bad_request, pump_fault, ...).
    def handle(
        self, msg_type: int, payload: dict[str, Any], programmer_id: str
    ) -> dict[str, Any]: ...


def response_body_size(payload: dict[str, Any]) -> int:
    """Body bytes of the response frame that would carry `payload` (a handler's result,
    without "ok"; the endpoint's `"ok": true` is counted)."""
    return body_size({"ok": True, **payload})


def fits_in_frame(payload: dict[str, Any]) -> bool:
    """Whether a handler's result fits one response frame (for paging history reads)."""
    return response_body_size(payload) <= MAX_BODY_SIZE


class AuthThrottle:
    """The 1 s AUTH refusal, kept per pump: every connection to one pump shares one, so
    reconnecting does not buy another MAC check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_failure: float | None = None

    def refusing(self, now: float) -> bool:
        with self._lock:
            failed_at = self._last_failure
            return failed_at is not None and 0 <= now - failed_at < AUTH_REFUSAL_S

    def failed(self, now: float) -> None:
        with self._lock:
            self._last_failure = now


_throttles: weakref.WeakKeyDictionary[object, AuthThrottle] = weakref.WeakKeyDictionary()
_throttles_lock = threading.Lock()


def throttle_for(handler: object) -> AuthThrottle:
    """The AuthThrottle of the pump behind `handler` (one per handler object)."""
    with _throttles_lock:
        try:
            throttle = _throttles.get(handler)
            if throttle is None:
                throttle = _throttles[handler] = AuthThrottle()
        except TypeError:  # a handler that cannot be weakly referenced or hashed
            throttle = AuthThrottle()
        return throttle


@dataclass(frozen=True, slots=True)
class _Exchange:
    """The last executed request (seq, crc) and the exact bytes answered to it."""

    seq: int
    crc: int
    response: bytes


class PumpEndpoint:
    """One link's session state. Create one per connection (a TCP client), or one for the
    life of a serial line; it is thread-safe but meant to be fed by one reader.
    """

    def __init__(
        self,
        handler: PumpHandler,
        key: bytes,
        clock: Callable[[], float] = time.monotonic,
        *,
        protocols: Sequence[int] | None = None,
        throttle: AuthThrottle | None = None,
    ) -> None:
        self._handler = handler
        self._key = check_key(key)
        self._clock = clock
        self._reader = FrameReader()
        self._lock = threading.Lock()
        self._programmer_id: str | None = None
        self._nonce: bytes | None = None
        self._authenticated = False
        if protocols is None:  # what the handler says it speaks; version 1 if it says nothing
            protocols = tuple(getattr(handler, "protocols", (PROTOCOL_VERSION,)))
        if not protocols or PROTOCOL_VERSION not in protocols:
            raise ValueError("a pump speaks protocol version 1 at least")
        self._protocols = tuple(sorted(set(protocols)))
        self._protocol = PROTOCOL_VERSION  # of the current session
        self._throttle = throttle if throttle is not None else throttle_for(handler)
        self._last: _Exchange | None = None
        # Counters, for diagnostics and tests.
        self.executed = 0
        self.cache_hits = 0

    @property
    def authenticated(self) -> bool:
        return self._authenticated

    @property
    def protocol(self) -> int:
        """The protocol version of the current session (1 before any HELLO)."""
        return self._protocol

    @property
    def programmer_id(self) -> str | None:
        return self._programmer_id

    @property
    def reader(self) -> FrameReader:
        return self._reader

    def on_bytes(self, data: bytes) -> bytes:
        """Feed received bytes; returns the bytes to send back (possibly b""). Never raises
        for anything a peer can send."""
        with self._lock:
            out = bytearray()
            for frame in self._reader.feed(data):
                if frame.kind == Kind.REQUEST:  # a pump answers requests only
                    out += self._answer(frame)
            return bytes(out)

    def _answer(self, frame: Frame) -> bytes:
        last = self._last
        if last is not None and last.seq == frame.seq and last.crc == frame.crc:
            self.cache_hits += 1
            return last.response
        self.executed += 1
        response = self._encode(frame, self._execute(frame))
        self._last = _Exchange(frame.seq, frame.crc, response)
        return response

    def _execute(self, frame: Frame) -> dict[str, Any]:
        try:
            result = self._dispatch(frame)
        except ProtocolError as exc:
            return exc.to_payload()
        except Exception:
            # A defect in the pump software, not the programmer's fault: do not blame
            # the request with bad_request. `busy` says "not done as asked"; the message
            # says the outcome is unknown, so the programmer reads the status.
            log.exception("pump handler failed on message 0x%04x", frame.msg_type)
            return _busy(
                f"internal error in the pump while handling message 0x{frame.msg_type:04x}; "
                "its outcome is unknown: read the pump's status before going on"
            )
        response: dict[str, Any] = {"ok": True}
        response.update((k, v) for k, v in result.items() if k != "ok")
        return response

    def _encode(self, frame: Frame, payload: dict[str, Any]) -> bytes:
        try:
            return encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, payload)
        except FrameTooLarge as exc:
            trimmed = _with_fewer_problems(frame, payload)
            if trimmed is not None:
                return trimmed
            log.error("response to message 0x%04x too large: %s", frame.msg_type, exc)
            reason = f"the response of {exc.size} bytes does not fit one frame"
        except (TypeError, ValueError, OverflowError) as exc:
            log.error("response to message 0x%04x cannot be encoded: %s", frame.msg_type, exc)
            reason = "the response could not be encoded"
        busy = _busy(f"{reason}; its outcome is unknown: read the pump's status before going on")
        return encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, busy)

    def _dispatch(self, frame: Frame) -> dict[str, Any]:
        msg_type = frame.msg_type
        payload = frame.payload
        if msg_type == MsgType.HELLO:
            return self._hello(payload)
        if msg_type == MsgType.AUTH:
            return self._auth(payload)
        # Gate before anything else: an unauthenticated peer learns nothing, not even
        # which message types exist.
        if not self._authenticated or self._programmer_id is None:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "not authenticated: send HELLO, then AUTH")
        if msg_type not in _KNOWN_TYPES or (msg_type in V2_TYPES and self._protocol < 2):
            raise ProtocolError(
                ErrorCode.UNSUPPORTED,
                f"message type 0x{msg_type:04x} is not supported"
                + (" in a version-1 session" if msg_type in _KNOWN_TYPES else ""),
            )
        if not all(isinstance(k, str) for k in payload):
            # raises bad_request naming the non-text keys
            FieldChecker(payload, [k for k in payload if isinstance(k, str)]).check()
        result = self._handler.handle(MsgType(msg_type), payload, self._programmer_id)
        if not isinstance(result, dict):
            raise TypeError(f"handler returned {type(result).__name__}, not a dict")
        return result

    def _hello(self, payload: dict[Any, Any]) -> dict[str, Any]:
        fields = FieldChecker(payload, ("programmer_id", "protocol"))
        programmer_id = fields.text("programmer_id", 1, PROGRAMMER_ID_MAX_CHARS)
        # A version this pump does not speak is bad_request: a newer programmer then
        # says HELLO again with a version both speak (section 7).
        protocol = fields.integer("protocol", self._protocols[0], self._protocols[-1])
        fields.check()
        # A new session: forget the old one before anything else can fail. The AUTH
        # refusal window is NOT reset, or HELLO+AUTH would bypass it.
        self._authenticated = False
        self._nonce = None
        self._programmer_id = programmer_id
        self._protocol = protocol
        self._handler.on_session_opened(programmer_id)
        model, serial, firmware = self._handler.identity()
        nonce = os.urandom(NONCE_SIZE)
        self._nonce = nonce
        return {
            "protocol": protocol,
            "model": model,
            "serial": serial,
            "firmware": firmware,
            "nonce": nonce,
        }

    def _auth(self, payload: dict[Any, Any]) -> dict[str, Any]:
        now = self._clock()
        if self._throttle.refusing(now):
            # Refused unchecked, and not logged: a flood would otherwise fill the event
            # log; it does not restart the window either.
            raise ProtocolError(
                ErrorCode.UNAUTHORIZED, "AUTH refused: wait 1 s after a failed AUTH"
            )
        fields = FieldChecker(payload, ("mac",))
        mac = fields.binary("mac", MAC_SIZE)
        fields.check()
        if self._nonce is None or self._programmer_id is None:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "no session: send HELLO first")
        expected = compute_auth_mac(self._key, self._nonce, self._programmer_id)
        if not hmac.compare_digest(expected, mac):
            self._authenticated = False
            self._throttle.failed(now)
            self._handler.on_auth_failed(self._programmer_id)
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "AUTH failed: wrong clinic key")
        on_authenticated = getattr(self._handler, "on_authenticated", None)
        if on_authenticated is not None:
            on_authenticated(self._programmer_id)
        self._authenticated = True
        return {}


def _with_fewer_problems(frame: Frame, payload: dict[str, Any]) -> bytes | None:
    """The error response with as many of its problems as fit one frame, the others
    counted in the message, so that a long list of findings is still answered as itself
    rather than as `busy`. None when even no problem at all does not fit."""
    problems = payload.get("problems")
    if not isinstance(problems, list) or not problems:
        return None

    def attempt(shown: int) -> bytes | None:
        hidden = len(problems) - shown
        trimmed = {
            **payload,
            "message": f"{payload.get('message', '')} (more problems not shown: {hidden})",
            "problems": problems[:shown],
        }
        try:
            return encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, trimmed)
        except FrameTooLarge:
            return None

    best = attempt(0)
    low, high = 0, len(problems) - 1
    while best is not None and low < high:  # the most problems that still fit
        middle = (low + high + 1) // 2
        data = attempt(middle)
        if data is None:
            high = middle - 1
        else:
            low, best = middle, data
    return best


def _busy(message: str) -> dict[str, Any]:
    return ProtocolError(ErrorCode.BUSY, message).to_payload()
