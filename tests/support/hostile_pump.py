"""A hostile pump: the emulator's pump on loopback TCP, behind an answer rewriter.

It speaks the protocol correctly (frames, retries, HELLO and AUTH with the demo key),
and then answers whatever a scenario says: absurd numbers, wrong types, missing
fields, pages that never move on, another serial than HELLO gave. The pump model
underneath behaves as the emulator does, so a scenario can also change answers only
after a given moment (e.g. after COMMIT) and the pump's own log stays the truth.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

from programmer.emulator.handler import EmulatorHandler
from programmer.emulator.model import PumpModel
from programmer.link.endpoint import PumpEndpoint
from programmer.link.messages import DEMO_KEY
from programmer.link.server import TcpPumpServer

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


class HostilePump:
    """A `PumpHandler`: the emulator's answers, each passed through `rewrites[msg_type]`."""

    def __init__(self, model: PumpModel | None = None) -> None:
        self.model = model or PumpModel("ITP-40", T0, serial="ITP40-000777")
        self.inner = EmulatorHandler(self.model, speed=Fraction(0))
        self.rewrites: dict[int, Rewrite] = {}
        self.hello: tuple[str, str, str] | None = None  # (model, serial, firmware) for HELLO
        self.calls: list[int] = []
        self.address = ""

    def identity(self) -> tuple[str, str, str]:
        return self.hello or self.inner.identity()

    def on_session_opened(self, programmer_id: str) -> None:
        self.inner.on_session_opened(programmer_id)

    def on_auth_failed(self, programmer_id: str) -> None:
        self.inner.on_auth_failed(programmer_id)

    def handle(self, msg_type: int, payload: dict[str, Any], programmer_id: str) -> dict[str, Any]:
        self.calls.append(msg_type)
        answer = self.inner.handle(msg_type, payload, programmer_id)
        rewrite = self.rewrites.get(msg_type)
        return rewrite(copy.deepcopy(answer)) if rewrite is not None else answer

    # --- scenario helpers -------------------------------------------------------------

    def set_field(self, msg_type: int, path: tuple[str | int, ...], value: object) -> None:
        """Answer `msg_type` with the field at `path` replaced by `value` (a missing
        sentinel, `DELETE`, removes it)."""
        self.rewrites[msg_type] = lambda answer: with_field(answer, path, value)

    def applied(self, crc: int) -> int:
        """How many times the pump's own log shows this changeset applied."""
        return sum(
            1
            for _seq, _t, code, data in self.model.events.events
            if code == "changeset_applied" and data.get("crc") == crc
        )


DELETE = object()


def with_field(
    answer: dict[str, Any], path: tuple[str | int, ...], value: object
) -> dict[str, Any]:
    target: Any = answer
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return answer


@contextmanager
def hostile_pump(model: PumpModel | None = None) -> Iterator[HostilePump]:
    """A hostile pump listening on 127.0.0.1 (its `address`) for the `with` block."""
    pump = HostilePump(model)
    # Short polls: a fuzz run opens hundreds of connections one after another. It speaks
    # version 1 only: its scenarios rewrite version-1 answers (version-2 pages have their
    # own hostile tests, tests/link/test_client_negotiation.py and reliability/fuzz_packed.py).
    server = TcpPumpServer(
        lambda: PumpEndpoint(pump, DEMO_KEY, protocols=(1,)), "127.0.0.1", 0, poll_s=0.01
    )
    server.start()
    try:
        pump.address = f"tcp://127.0.0.1:{server.port}"
        yield pump
    finally:
        server.stop()
