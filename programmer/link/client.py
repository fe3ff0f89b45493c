"""The programmer's side of the pump link: stop-and-wait requests with retries.

One request is in flight at a time. On timeout the very same bytes (same seq) are sent
again, so a pump that already executed the request answers from its retry cache and
does not execute it twice.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from programmer.link import answers
from programmer.link.errors import BadResponse, LinkError, LinkTimeout
from programmer.link.frames import Frame, FrameReader, Kind, encode_frame
from programmer.link.messages import (
    DEMO_KEY,
    NONCE_SIZE,
    PROGRAMMER_ID_MAX_CHARS,
    PROTOCOL_VERSION,
    MsgType,
    ProtocolError,
    check_key,
    compute_auth_mac,
)
from programmer.link.transport import Transport


class PumpClient:
    """Talks to one pump over one transport. `retries` is the number of resends after
    the first attempt, so a request is sent at most 1 + retries times.
    """

    def __init__(
        self,
        transport: Transport,
        programmer_id: str,
        key: bytes = DEMO_KEY,
        timeout: float = 0.5,
        retries: int = 4,
        *,
        first_seq: int | None = None,
    ) -> None:
        if (
            not isinstance(programmer_id, str)
            or not 1 <= len(programmer_id) <= PROGRAMMER_ID_MAX_CHARS
        ):
            raise ValueError(f"programmer_id must be 1 to {PROGRAMMER_ID_MAX_CHARS} characters")
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be positive and retries not negative")
        self._transport = transport
        self.programmer_id = programmer_id
        self._key = check_key(key)
        self.timeout = timeout
        self.retries = retries
        # A random first seq: a new programmer process must not collide with the seq and
        # bytes of the previous one's last request, which the pump would answer from its
        # retry cache without executing (e.g. an identical HELLO).
        seq = int.from_bytes(os.urandom(2), "little") if first_seq is None else first_seq
        if not 0 <= seq <= 0xFFFF:
            raise ValueError("first_seq must fit in u16")
        self._next_seq = seq
        self._reader = FrameReader()
        self._lock = threading.Lock()
        self._nonce: bytes | None = None
        self.pump_identity: dict[str, Any] | None = None  # the last HELLO response
        self.authenticated = False
        # Counters, for diagnostics and benchmarks.
        self.bytes_sent = 0
        self.bytes_received = 0
        self.requests = 0
        self.resends = 0

    @property
    def using_demo_key(self) -> bool:
        return self._key == DEMO_KEY

    @property
    def last_seq(self) -> int:
        """The seq of the most recent request (meaningless before the first)."""
        return (self._next_seq - 1) & 0xFFFF

    def request(
        self, msg_type: int, payload: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send one request and wait for its response; returns the payload without `ok`.

        `timeout` overrides the per-attempt timeout for this request only (for requests
        the pump needs long for, such as a SIM_ADVANCE over years).

        Raises ProtocolError when the pump answers `ok: false`, LinkTimeout when no
        matching response came after every attempt (outcome unknown), LinkClosed when
        the transport is gone, BadResponse when the answer breaks the protocol.
        """
        with self._lock:
            seq = self._next_seq
            self._next_seq = (seq + 1) & 0xFFFF
            data = encode_frame(Kind.REQUEST, seq, msg_type, payload)
            self.requests += 1
            attempts = 1 + self.retries
            for attempt in range(attempts):
                if attempt:
                    self.resends += 1
                self._transport.send(data)
                self.bytes_sent += len(data)
                frame = self._await_response(seq, msg_type, timeout or self.timeout)
                if frame is not None:
                    return self._unwrap(frame.payload)
            raise LinkTimeout(msg_type, seq, attempts)

    def _await_response(self, seq: int, msg_type: int, timeout: float) -> Frame | None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            chunk = self._transport.recv(remaining)
            self.bytes_received += len(chunk)
            for frame in self._reader.feed(chunk):
                # Late answers to earlier requests (and anything else) are ignored.
                if frame.kind == Kind.RESPONSE and frame.seq == seq and frame.msg_type == msg_type:
                    return frame

    @staticmethod
    def _unwrap(payload: dict[Any, Any]) -> dict[str, Any]:
        ok = payload.get("ok")
        if ok is True:
            return {k: v for k, v in payload.items() if k != "ok"}
        if ok is False:
            raise ProtocolError.from_payload(payload)
        raise BadResponse("the pump's response has no boolean 'ok'")

    # --- session -----------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        """Start a session: {"protocol", "model", "serial", "firmware", "nonce"}."""
        self.authenticated = False
        self._nonce = None
        raw = self.request(
            MsgType.HELLO, {"programmer_id": self.programmer_id, "protocol": PROTOCOL_VERSION}
        )
        response = answers.check_hello(raw, NONCE_SIZE)
        if response["protocol"] != PROTOCOL_VERSION:
            raise BadResponse(f"the pump speaks protocol {response['protocol']!r}, not 1")
        nonce = response["nonce"]
        self._nonce = nonce
        self.pump_identity = response
        return response

    def auth(self) -> None:
        """Prove the clinic key for the current HELLO; ProtocolError(unauthorized) if wrong."""
        if self._nonce is None:
            raise LinkError("AUTH needs a HELLO first")
        mac = compute_auth_mac(self._key, self._nonce, self.programmer_id)
        self.authenticated = False  # the pump drops the session's authentication on failure
        self.request(MsgType.AUTH, {"mac": mac})
        self.authenticated = True

    def connect(self) -> dict[str, Any]:
        """HELLO then AUTH; returns the HELLO response."""
        response = self.hello()
        self.auth()
        return response

    def close(self) -> None:
        self._transport.close()

    # --- typed wrappers: each answer is checked (link/answers.py) before it is returned ---

    def get_status(self) -> dict[str, Any]:
        """The pump's status; its model and serial must be those HELLO gave."""
        return answers.check_status(self.request(MsgType.GET_STATUS, {}), self.pump_identity)

    def get_therapy(self) -> dict[str, Any]:
        return answers.check_therapy_answer(self.request(MsgType.GET_THERAPY, {}))

    def stage(self, changeset: dict[str, Any]) -> dict[str, Any]:
        return answers.check_stage(self.request(MsgType.STAGE, {"changeset": changeset}))

    def commit(self, staged_crc: int) -> dict[str, Any]:
        return answers.check_commit(self.request(MsgType.COMMIT, {"staged_crc": staged_crc}))

    def discard(self) -> dict[str, Any]:
        return answers.check_empty(self.request(MsgType.DISCARD, {}))

    def set_clock(self, clock_t: int, utc_offset_min: int) -> dict[str, Any]:
        return answers.check_empty(
            self.request(MsgType.SET_CLOCK, {"clock_t": clock_t, "utc_offset_min": utc_offset_min})
        )

    def read_events(self, from_seq: int, max_events: int) -> dict[str, Any]:
        raw = self.request(MsgType.READ_EVENTS, {"from_seq": from_seq, "max": max_events})
        return answers.check_events_page(raw, from_seq, max_events)

    def read_infusion(self, from_hour: int, max_hours: int) -> dict[str, Any]:
        raw = self.request(MsgType.READ_INFUSION, {"from_hour": from_hour, "max": max_hours})
        return answers.check_infusion_page(raw, from_hour, max_hours)

    def sim_advance(self, seconds: int, *, timeout: float | None = None) -> dict[str, Any]:
        raw = self.request(MsgType.SIM_ADVANCE, {"seconds": seconds}, timeout=timeout)
        return answers.check_clock_answer(raw)

    def sim_ptm(self) -> dict[str, Any]:
        return answers.check_ptm_answer(self.request(MsgType.SIM_PTM, {}))

    def sim_fault(self, fault: str) -> dict[str, Any]:
        return answers.check_empty(self.request(MsgType.SIM_FAULT, {"fault": fault}))

    def sim_truth(self) -> dict[str, Any]:
        return answers.check_truth(self.request(MsgType.SIM_TRUTH, {}))

    def sim_set(self, flow_error_ppm: int) -> dict[str, Any]:
        return answers.check_empty(
            self.request(MsgType.SIM_SET, {"flow_error_ppm": flow_error_ppm})
        )
