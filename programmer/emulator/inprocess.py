"""The `emulator:` address: a pump emulator inside the programmer's own process.

Importing this module (or calling `register()`) makes `open_transport("emulator:")` return
one end of an in-process pair; the other end is served by a background thread running an
`EmulatorHandler` behind a `PumpEndpoint`. Every connection reaches the same pump, until
`install()` puts another one in its place (tests use it to get a fresh pump at speed 0).
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

from programmer.emulator import state
from programmer.emulator.handler import EmulatorHandler
from programmer.emulator.model import PumpModel
from programmer.link.addresses import register_scheme
from programmer.link.endpoint import PumpEndpoint
from programmer.link.errors import AddressError
from programmer.link.inprocess import InProcessEnd, InProcessPair
from programmer.link.messages import DEMO_KEY, PROTOCOL_LATEST, check_key
from programmer.link.server import serve_transport
from programmer.link.transport import Transport

ADDRESS = "emulator:"

_lock = threading.Lock()
_handler: EmulatorHandler | None = None
_key: bytes = DEMO_KEY
_protocol: int = PROTOCOL_LATEST


def install(
    model: PumpModel | None = None,
    *,
    speed: Fraction = Fraction(1),
    key: bytes = DEMO_KEY,
    state_path: Path | None = None,
    protocol: int = PROTOCOL_LATEST,
) -> EmulatorHandler:
    """Make `model` the in-process pump and return its handler (tests may inspect and
    drive `handler.model` directly). Without `model`: the pump saved at `state_path` if
    there is one, else a new ITP-40 whose clock starts now (its serial from that clock). With `state_path` the pump is
    saved there after every change, as `itp emulator --state` does. `protocol` is the
    highest link protocol version it speaks (1: a pump made before version 2)."""
    global _handler, _key, _protocol
    if protocol not in (1, PROTOCOL_LATEST):
        raise ValueError(f"protocol must be 1 or {PROTOCOL_LATEST}")
    if model is None and state_path is not None:
        model = state.load(state_path)
    if model is None:
        now = int(time.time())
        # A new pump each time, so with a serial of its own: the app's database outlives
        # this pump, and a fresh log under a serial already stored is another pump's.
        model = PumpModel("ITP-40", now, serial=f"ITP40-{now % 1_000_000:06d}")
    handler = EmulatorHandler(model, state_path, speed=speed)
    with _lock:
        _handler, _key, _protocol = handler, check_key(key), protocol
    return handler


def reset() -> None:
    """Forget the installed pump; the next connection creates a new default one."""
    global _handler, _key, _protocol
    with _lock:
        _handler, _key, _protocol = None, DEMO_KEY, PROTOCOL_LATEST


def current() -> EmulatorHandler:
    """The in-process pump's handler, created on first use."""
    with _lock:
        handler = _handler
    return handler if handler is not None else install()


def _open(address: str, timeout: float) -> Transport:
    if address != ADDRESS:
        raise AddressError(f"{address!r}: the built-in emulator's address is just {ADDRESS!r}")
    handler = current()
    with _lock:
        key, protocol = _key, _protocol
    pair = InProcessPair()
    endpoint = PumpEndpoint(handler, key, protocols=tuple(range(1, protocol + 1)))
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_transport, args=(endpoint, pair.pump_end, stop), daemon=True, name="emulator"
    )
    thread.start()
    return _ClosingEnd(pair, stop)


class _ClosingEnd:
    """The programmer's end; closing it also ends the pump's serving thread."""

    def __init__(self, pair: InProcessPair, stop: threading.Event) -> None:
        self._end: InProcessEnd = pair.programmer_end
        self._pair = pair
        self._stop = stop

    def send(self, data: bytes) -> None:
        self._end.send(data)

    def recv(self, timeout: float) -> bytes:
        return self._end.recv(timeout)

    def close(self) -> None:
        self._stop.set()
        self._pair.close()


def register() -> None:
    register_scheme("emulator", _open, ADDRESS)


register()
