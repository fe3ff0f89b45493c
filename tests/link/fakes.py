"""Test doubles for the link layer: a fake pump handler, a lossy transport, a fake clock."""

from __future__ import annotations

import os
import select
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

from programmer.link import packed
from programmer.link.errors import LinkClosed
from programmer.link.messages import ErrorCode, MsgType, ProtocolError
from programmer.link.transport import Transport


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeHandler:
    """Records what the endpoint calls; answers GET_STATUS with a counter of executions.

    `behaviour` maps a message type to a callable (payload -> result) to override, e.g.
    one raising an exception. It speaks versions 1 and 2 (its history is empty).
    """

    protocols = (1, 2)

    def __init__(self) -> None:
        self.sessions: list[str] = []
        self.auth_failures: list[str] = []
        self.calls: list[tuple[int, dict[str, Any], str]] = []
        self.behaviour: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

    def identity(self) -> tuple[str, str, str]:
        return ("ITP-40", "ITP40-000123", "1.0.0")

    def on_session_opened(self, programmer_id: str) -> None:
        self.sessions.append(programmer_id)

    def on_auth_failed(self, programmer_id: str) -> None:
        self.auth_failures.append(programmer_id)

    def handle(self, msg_type: int, payload: dict[str, Any], programmer_id: str) -> dict[str, Any]:
        self.calls.append((msg_type, payload, programmer_id))
        override = self.behaviour.get(msg_type)
        if override is not None:
            return override(payload)
        if msg_type == MsgType.GET_STATUS:
            return {"executions": len(self.calls)}
        if msg_type == MsgType.COMMIT:
            return {"therapy_crc": 7, "applied_t": 1_700_000_000}
        if msg_type in (MsgType.DISCARD, MsgType.SET_CLOCK):
            return {}
        if msg_type == MsgType.READ_EVENTS:
            return {"events": [], "next_seq": payload.get("from_seq", 1), "last_seq": 0}
        if msg_type == MsgType.READ_EVENTS_PACKED:
            start = payload.get("from_seq", 1)
            return {"first_seq": start, "count": 0, "packed": packed.encode_events([]),
                    "next_seq": start, "last_seq": 0}  # fmt: skip
        raise ProtocolError(ErrorCode.UNSUPPORTED, f"fake handler does not do 0x{msg_type:04x}")


class LossyTransport:
    """Wraps a transport and loses the first `drop_sends` writes (each write is one
    frame in our client and server), like a radio link losing frames."""

    def __init__(self, inner: Transport, drop_sends: int) -> None:
        self.inner = inner
        self.drop_sends = drop_sends
        self.sent: list[bytes] = []  # every write, lost or not

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        if self.drop_sends > 0:
            self.drop_sends -= 1
            return
        self.inner.send(data)

    def recv(self, timeout: float) -> bytes:
        return self.inner.recv(timeout)

    def close(self) -> None:
        self.inner.close()


class FdTransport:
    """A Transport over a raw file descriptor (the master side of a pseudo-terminal)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 65536)
        except OSError as exc:  # EIO once the other side is closed
            raise LinkClosed(str(exc)) from exc
        if not data:
            raise LinkClosed("end of file")
        return data

    def close(self) -> None:
        os.close(self.fd)


def fuzz_settings(max_examples: int = 200) -> settings:
    """Hypothesis settings for this suite: no per-example deadline (two shared cores and
    other suites running would only make it flake), a bounded number of examples."""
    return settings(
        deadline=None, max_examples=max_examples, suppress_health_check=[HealthCheck.too_slow]
    )
