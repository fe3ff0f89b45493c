"""`EmulatorHandler`: the `PumpHandler` that puts a `PumpModel` behind a link endpoint.

It checks each request's fields (wrong shape -> `bad_request`), lets the pump's clock run
at `speed` simulated seconds per real second, and saves the pump's memory before it
answers anything that changed it, so an answered request survives `kill -9`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from programmer.emulator import state
from programmer.emulator.errors import PumpRefusal
from programmer.emulator.model import PumpModel
from programmer.link.fields import FieldChecker
from programmer.link.messages import PROTOCOL_VERSIONS, ErrorCode, MsgType, ProtocolError, problem

U32_MAX = 0xFFFF_FFFF
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
MAX_ADVANCE_S = 100 * 366 * 86_400  # one request runs at most a century of pump time
NS_PER_S = 1_000_000_000

# Requests after which the pump's memory has changed and must be on disk before answering.
SAVED_AFTER = frozenset(
    {
        MsgType.COMMIT,
        MsgType.SET_CLOCK,
        MsgType.SIM_ADVANCE,
        MsgType.SIM_PTM,
        MsgType.SIM_FAULT,
        MsgType.SIM_SET,
    }
)


class RealTimeClock:
    """Turns real elapsed time into whole simulated seconds, carrying the remainder.

    Integer arithmetic on the speed's numerator and denominator: elapsed real ns × speed
    = ns × numerator / (1e9 × denominator) simulated seconds.
    """

    def __init__(self, speed: Fraction, now_ns: Callable[[], int] = time.monotonic_ns) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.speed = speed
        self._now_ns = now_ns
        self._last_ns = now_ns()
        self._carry = 0  # in 1 / (1e9 × denominator) simulated seconds
        self._per_second = NS_PER_S * speed.denominator

    def elapsed_s(self) -> int:
        if not self.speed:
            return 0
        now = self._now_ns()
        self._carry += (now - self._last_ns) * self.speed.numerator
        self._last_ns = now
        whole, self._carry = divmod(self._carry, self._per_second)
        return whole


class EmulatorHandler:
    """Serves one pump to any number of endpoints (one per connection); thread-safe."""

    protocols = PROTOCOL_VERSIONS  # versions 1 and 2: it serves the packed history reads

    def __init__(
        self,
        model: PumpModel,
        state_path: Path | None = None,
        *,
        speed: Fraction = Fraction(0),
        now_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.model = model
        self.state_path = state_path
        self._clock = RealTimeClock(speed, now_ns)
        self._lock = threading.RLock()
        if state_path is not None:
            state.save(model, state_path)

    # ------------------------------------------------------------ PumpHandler

    def identity(self) -> tuple[str, str, str]:
        return self.model.identity()

    def on_session_opened(self, programmer_id: str) -> None:
        # Saved only when the log changed: an unauthenticated HELLO is only counted, so a
        # flood of them neither fills the log nor costs an fsync each.
        with self._lock:
            self._catch_up()
            if self.model.open_session(programmer_id):
                self._save()

    def on_authenticated(self, programmer_id: str) -> None:
        with self._lock:
            self._catch_up()
            self.model.authenticated(programmer_id)
            self._save()

    def on_auth_failed(self, programmer_id: str) -> None:
        with self._lock:
            self._catch_up()
            if self.model.auth_failed(programmer_id):
                self._save()

    def handle(self, msg_type: int, payload: dict[str, Any], programmer_id: str) -> dict[str, Any]:
        with self._lock:
            self._catch_up()
            try:
                result = self._dispatch(msg_type, payload, programmer_id)
            except PumpRefusal as refusal:
                raise ProtocolError(
                    refusal.code, refusal.message, [p.to_wire() for p in refusal.problems]
                ) from None
            except ProtocolError:
                raise
            except Exception:
                self._roll_back()
                raise
            if msg_type in SAVED_AFTER:
                self._save()
            return result

    # ------------------------------------------------------------ internals

    def _catch_up(self) -> None:
        seconds = self._clock.elapsed_s()
        if seconds:
            self.model.advance(seconds)

    def _save(self) -> None:
        if self.state_path is None:
            return
        try:
            state.save(self.model, self.state_path)
        except OSError as exc:
            self._roll_back()
            raise ProtocolError(
                ErrorCode.BUSY, f"the pump could not save its memory ({exc.strerror}); not done"
            ) from exc

    def _roll_back(self) -> None:
        """Back to what is on disk: the last state that was answered for."""
        if self.state_path is None:
            return
        saved = state.load(self.state_path)
        if saved is not None:
            self.model = saved

    def _dispatch(
        self, msg_type: int, payload: dict[str, Any], programmer_id: str
    ) -> dict[str, Any]:
        model = self.model
        if msg_type == MsgType.GET_STATUS:
            _fields(payload)
            return model.status()
        if msg_type == MsgType.GET_THERAPY:
            _fields(payload)
            return {"therapy": model.therapy_wire()}
        if msg_type == MsgType.STAGE:
            _fields(payload, "changeset")
            if "changeset" not in payload:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    "malformed request: changeset",
                    [problem("changeset", "missing", "required")],
                )
            return model.stage(payload["changeset"])
        if msg_type == MsgType.COMMIT:
            fields = _fields(payload, "staged_crc")
            crc = fields.integer("staged_crc", 0, U32_MAX)
            fields.check()
            return model.commit(crc, programmer_id)
        if msg_type == MsgType.DISCARD:
            _fields(payload)
            model.discard()
            return {}
        if msg_type == MsgType.SET_CLOCK:
            fields = _fields(payload, "clock_t", "utc_offset_min")
            clock_t = fields.integer("clock_t", I64_MIN, I64_MAX)
            offset = fields.integer("utc_offset_min", I64_MIN, I64_MAX)
            fields.check()
            model.set_clock(clock_t, offset)
            return {}
        if msg_type == MsgType.READ_EVENTS:
            fields = _fields(payload, "from_seq", "max")
            from_seq = fields.integer("from_seq", I64_MIN, I64_MAX)
            most = fields.integer("max", 1, 1024)
            fields.check()
            return model.read_events(from_seq, most)
        if msg_type == MsgType.READ_INFUSION:
            fields = _fields(payload, "from_hour", "max")
            from_hour = fields.integer("from_hour", I64_MIN, I64_MAX)
            most = fields.integer("max", 1, 4096)
            fields.check()
            return model.read_infusion(from_hour, most)
        if msg_type == MsgType.READ_EVENTS_PACKED:
            fields = _fields(payload, "from_seq")
            from_seq = fields.integer("from_seq", I64_MIN, I64_MAX)
            fields.check()
            return model.events.packed_page(from_seq)
        if msg_type == MsgType.READ_INFUSION_PACKED:
            fields = _fields(payload, "from_hour")
            from_hour = fields.integer("from_hour", I64_MIN, I64_MAX)
            fields.check()
            return model.hours.packed_page(from_hour)
        return self._dispatch_sim(msg_type, payload)

    def _dispatch_sim(self, msg_type: int, payload: dict[str, Any]) -> dict[str, Any]:
        model = self.model
        if msg_type == MsgType.SIM_ADVANCE:
            fields = _fields(payload, "seconds")
            seconds = fields.integer("seconds", 0, MAX_ADVANCE_S)
            fields.check()
            return {"clock_t": model.advance(seconds)}
        if msg_type == MsgType.SIM_PTM:
            _fields(payload)
            return model.press_ptm()
        if msg_type == MsgType.SIM_FAULT:
            fields = _fields(payload, "fault")
            fault = fields.text("fault", 1, 32)
            fields.check()
            model.fault(fault)
            return {}
        if msg_type == MsgType.SIM_TRUTH:
            _fields(payload)
            return model.truth()
        if msg_type == MsgType.SIM_SET:
            fields = _fields(payload, "flow_error_ppm")
            ppm = fields.integer("flow_error_ppm", I64_MIN, I64_MAX)
            fields.check()
            model.set_flow_error(ppm)
            return {}
        raise ProtocolError(
            ErrorCode.UNSUPPORTED, f"message type 0x{msg_type:04x} is not supported"
        )


def _fields(payload: dict[str, Any], *allowed: str) -> FieldChecker:
    """A checker that has already refused unknown fields (raises at once if any)."""
    checker = FieldChecker(payload, allowed)
    if checker.problems:
        checker.check()
    return checker
