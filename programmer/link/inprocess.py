"""In-memory transports: a connected pair for threads, and a direct call into an endpoint."""

from __future__ import annotations

import threading
from collections.abc import Callable

from programmer.link.errors import LinkClosed


class _Pipe:
    """One direction of an in-memory link."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.buffer = bytearray()
        self.closed = False


class InProcessEnd:
    """One end of an InProcessPair; a Transport."""

    def __init__(self, inbox: _Pipe, outbox: _Pipe) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._closed = False

    def send(self, data: bytes) -> None:
        with self._outbox.cond:
            if self._closed or self._outbox.closed:
                raise LinkClosed("the in-process link is closed")
            self._outbox.buffer += data
            self._outbox.cond.notify_all()

    def recv(self, timeout: float) -> bytes:
        inbox = self._inbox
        with inbox.cond:
            if self._closed:
                raise LinkClosed("this end of the in-process link is closed")
            inbox.cond.wait_for(lambda: bool(inbox.buffer) or inbox.closed, max(timeout, 0.0))
            if inbox.buffer:  # what the peer sent before closing is still delivered
                data = bytes(inbox.buffer)
                inbox.buffer.clear()
                return data
            if inbox.closed:
                raise LinkClosed("the peer closed the in-process link")
            return b""

    def close(self) -> None:
        self._closed = True
        for pipe in (self._inbox, self._outbox):
            with pipe.cond:
                pipe.closed = True
                pipe.cond.notify_all()


class InProcessPair:
    """Two connected ends: bytes sent on one are received on the other. Thread-safe."""

    def __init__(self) -> None:
        to_pump, to_programmer = _Pipe(), _Pipe()
        self.programmer_end = InProcessEnd(inbox=to_programmer, outbox=to_pump)
        self.pump_end = InProcessEnd(inbox=to_pump, outbox=to_programmer)

    def close(self) -> None:
        self.programmer_end.close()
        self.pump_end.close()


class DirectTransport:
    """A Transport that hands each write to `respond` (e.g. PumpEndpoint.on_bytes) in the
    caller's thread and queues what it returns for `recv`: an in-process pump, no thread.
    """

    def __init__(self, respond: Callable[[bytes], bytes]) -> None:
        self._respond = respond
        self._pipe = _Pipe()
        self._closed = False

    def send(self, data: bytes) -> None:
        if self._closed:
            raise LinkClosed("the direct transport is closed")
        reply = self._respond(data)
        with self._pipe.cond:
            self._pipe.buffer += reply
            self._pipe.cond.notify_all()

    def recv(self, timeout: float) -> bytes:
        pipe = self._pipe
        with pipe.cond:
            if self._closed:
                raise LinkClosed("the direct transport is closed")
            # Nothing can arrive later from another thread, but a caller timing out a
            # lost frame expects recv to take its timeout, not to spin.
            pipe.cond.wait_for(lambda: bool(pipe.buffer) or pipe.closed, max(timeout, 0.0))
            if pipe.buffer:
                data = bytes(pipe.buffer)
                pipe.buffer.clear()
                return data
            if pipe.closed:
                raise LinkClosed("the direct transport is closed")
            return b""

    def close(self) -> None:
        self._closed = True
        with self._pipe.cond:
            self._pipe.closed = True
            self._pipe.cond.notify_all()
