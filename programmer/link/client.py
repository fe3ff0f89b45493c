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

from programmer.link import answers, packed
from programmer.link.errors import BadResponse, LinkError, LinkTimeout
from programmer.link.frames import Frame, FrameReader, Kind, encode_frame
from programmer.link.messages import (
    DEMO_KEY,
    NONCE_SIZE,
    PROGRAMMER_ID_MAX_CHARS,
    PROTOCOL_LATEST,
    PROTOCOL_VERSION,
    PROTOCOL_VERSIONS,
    ErrorCode,
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
        protocol: int | None = None,
    ) -> None:
        """`protocol`: None speaks the highest version both sides speak (section 7: say
        HELLO with 2, again with 1 if the pump refuses); 1 or 2 speaks that one only."""
        if (
            not isinstance(programmer_id, str)
            or not 1 <= len(programmer_id) <= PROGRAMMER_ID_MAX_CHARS
        ):
            raise ValueError(f"programmer_id must be 1 to {PROGRAMMER_ID_MAX_CHARS} characters")
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be positive and retries not negative")
        if protocol is not None and protocol not in PROTOCOL_VERSIONS:
            raise ValueError(f"protocol must be one of {PROTOCOL_VERSIONS}, not {protocol!r}")
        self.wanted_protocol = protocol
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
        # The version the current session speaks (None before a HELLO succeeded): what
        # the app shows in its connection details.
        self.protocol: int | None = None
        # The last packed events page, decoded: later READ_EVENTS inside it are served
        # from it (events never change once logged; the buffer dies with the session).
        self._events_buffer: tuple[list[dict[str, Any]], int] | None = None
        # The last packed hours page: (first_hour, basal, bolus). Hours can still change
        # (the current one fills; a clock set back adds to earlier ones), so it serves
        # only hours before the page's last one, and any other request forgets it.
        self._hours_buffer: tuple[int, list[int], list[int]] | None = None
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
            if msg_type != MsgType.READ_INFUSION_PACKED:
                self._hours_buffer = None
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
        self.protocol = None
        self._events_buffer = None
        self._hours_buffer = None
        offer = self.wanted_protocol or PROTOCOL_LATEST
        try:
            response = self._hello_with(offer)
        except ProtocolError as exc:
            # A version-1 pump refuses a HELLO that says 2 with bad_request (section 7).
            if exc.code != ErrorCode.BAD_REQUEST or offer == PROTOCOL_VERSION:
                raise
            if self.wanted_protocol is not None:
                raise LinkError(
                    f"the pump does not speak protocol version {offer} ({exc.message}); "
                    "leave the protocol to be negotiated, or ask for version 1"
                ) from exc
            offer = PROTOCOL_VERSION
            response = self._hello_with(offer)
        spoken = response.get("protocol")
        if spoken == PROTOCOL_VERSION and offer > PROTOCOL_VERSION:
            if self.wanted_protocol is not None:
                raise LinkError(
                    f"the pump speaks protocol version 1 only, not {offer}; leave the "
                    "protocol to be negotiated, or ask for version 1"
                )
            offer = PROTOCOL_VERSION  # it answered 1: say HELLO again with 1 (section 7)
            response = self._hello_with(offer)
            spoken = response.get("protocol")
        response = answers.check_hello(response, NONCE_SIZE)
        if response["protocol"] != offer:
            raise BadResponse(f"the pump answered protocol {spoken!r} to a HELLO with {offer}")
        nonce = response["nonce"]
        self._nonce = nonce
        self.pump_identity = response
        self.protocol = offer
        return response

    def _hello_with(self, protocol: int) -> dict[str, Any]:
        return self.request(
            MsgType.HELLO, {"programmer_id": self.programmer_id, "protocol": protocol}
        )

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
        """A READ_EVENTS answer: {"events", "next_seq", "last_seq"}, at most `max_events`.

        In a version-2 session the events come from packed pages (a page holds more than
        `max_events`; the rest is kept for the reads that follow), decoded into exactly
        the structure version 1 answers."""
        if self.protocol != 2:
            raw = self.request(MsgType.READ_EVENTS, {"from_seq": from_seq, "max": max_events})
            return answers.check_events_page(raw, from_seq, max_events)
        if not 1 <= max_events <= 1024:
            raise ValueError("max_events must be 1 to 1024")
        buffered = self._events_buffer
        if buffered is None or not (
            buffered[0][0]["seq"] <= from_seq < buffered[0][0]["seq"] + len(buffered[0])
        ):
            page = self.read_events_packed(from_seq)
            if not page["events"]:
                return page
            buffered = self._events_buffer = (page["events"], page["last_seq"])
        events, last_seq = buffered
        first = events[0]["seq"]
        start = max(from_seq, first) - first
        chosen = events[start : start + max_events]
        page = {"events": chosen, "next_seq": first + start + len(chosen), "last_seq": last_seq}
        # The same checks as a version-1 page: one place where answers enter.
        return answers.check_events_page(page, from_seq, max_events)

    def read_infusion(self, from_hour: int, max_hours: int) -> dict[str, Any]:
        """A READ_INFUSION answer: {"first_hour", "basal_nl", "bolus_nl", "next_hour"}, at
        most `max_hours` hours.

        In a version-2 session from packed pages; the rest of a page serves the reads
        that follow, up to (not including) its last hour, until any other request."""
        if self.protocol != 2:
            raw = self.request(MsgType.READ_INFUSION, {"from_hour": from_hour, "max": max_hours})
            return answers.check_infusion_page(raw, from_hour, max_hours)
        if not 1 <= max_hours <= 4096:
            raise ValueError("max_hours must be 1 to 4096")
        buffered = self._hours_buffer
        usable = 0 if buffered is None else len(buffered[1]) - 1  # never the last, kept hour
        if buffered is None or not buffered[0] <= from_hour < buffered[0] + usable:
            page = self.read_infusion_packed(from_hour)
            if not page["basal_nl"]:
                return page
            buffered = (page["first_hour"], page["basal_nl"], page["bolus_nl"])
            self._hours_buffer = buffered
            usable = len(page["basal_nl"])  # all of it: it was read just now
        first, basal, bolus = buffered
        start = max(from_hour, first) - first
        end = min(start + max_hours, usable)
        result = {
            "first_hour": first + start,
            "basal_nl": basal[start:end],
            "bolus_nl": bolus[start:end],
            "next_hour": first + end,
        }
        # The same checks as a version-1 page: one place where answers enter.
        return answers.check_infusion_page(result, from_hour, max_hours)

    def read_events_packed(self, from_seq: int) -> dict[str, Any]:
        """READ_EVENTS_PACKED, decoded and checked: {"events", "next_seq", "last_seq"}.
        BadResponse (PackedPageError) for a page that breaks the format or the paging."""
        answer = self.request(MsgType.READ_EVENTS_PACKED, {"from_seq": from_seq})
        first: Any = answer.get("first_seq")
        count: Any = answer.get("count")
        events = packed.decode_events(first, count, answer.get("packed"))
        next_seq, last_seq = answer.get("next_seq"), answer.get("last_seq")
        _check_paging("READ_EVENTS_PACKED", "seq", from_seq, int(first), len(events), next_seq)
        if type(last_seq) is not int or not 0 <= last_seq <= packed.I64_MAX:
            raise packed.PackedPageError(f"READ_EVENTS_PACKED: last_seq {last_seq!r}")
        if events and events[-1]["seq"] > last_seq:
            raise packed.PackedPageError("READ_EVENTS_PACKED: events past last_seq")
        return {"events": events, "next_seq": next_seq, "last_seq": last_seq}

    def read_infusion_packed(self, from_hour: int) -> dict[str, Any]:
        """READ_INFUSION_PACKED, decoded and checked, as READ_INFUSION answers it."""
        answer = self.request(MsgType.READ_INFUSION_PACKED, {"from_hour": from_hour})
        first: Any = answer.get("first_hour")
        count: Any = answer.get("count")
        basal, bolus = packed.decode_hours(first, count, answer.get("packed"))
        next_hour = answer.get("next_hour")
        _check_paging("READ_INFUSION_PACKED", "hour", from_hour, int(first), len(basal), next_hour)
        return {"first_hour": first, "basal_nl": basal, "bolus_nl": bolus, "next_hour": next_hour}

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


def _check_paging(what: str, unit: str, asked: int, first: int, count: int, after: Any) -> None:
    """A page starts where asked, or later (the oldest kept moved on), and says where the
    next one starts: right after its last record."""
    if first < asked:
        raise packed.PackedPageError(
            f"{what}: the page starts at {unit} {first}, before the {asked} asked for"
        )
    if type(after) is not int or after != first + count:
        raise packed.PackedPageError(
            f"{what}: next_{unit} {after!r} is not first_{unit} + count = {first + count}"
        )
