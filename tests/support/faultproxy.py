"""A fault-injecting TCP proxy between the programmer and a pump emulator.

It forwards whole frames (split at the zero byte) and asks a policy what to do
with each one: pass it, corrupt a byte, drop it, delay it, or cut the
connection before or after it. The policy sees the direction, the frame's
index on its connection, and the decoded message type when the frame decodes.
Loopback only; every loop is bounded by the sockets' timeouts and `close()`.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from programmer.link.frames import FrameReader


class Direction(Enum):
    TO_PUMP = "to_pump"
    TO_PROGRAMMER = "to_programmer"


class Act(Enum):
    PASS = "pass"
    CORRUPT = "corrupt"
    DROP = "drop"
    DELAY = "delay"
    CUT_BEFORE = "cut_before"  # close both sides without forwarding this frame
    CUT_AFTER = "cut_after"  # forward this frame, then close both sides


@dataclass(frozen=True)
class FrameInfo:
    direction: Direction
    index: int  # frames seen in this direction on this connection
    msg_type: int | None  # None when the frame does not decode
    data: bytes  # the frame including its trailing zero


Policy = Callable[[FrameInfo], Act]


def passthrough(_: FrameInfo) -> Act:
    return Act.PASS


def random_policy(
    rng: random.Random, p_corrupt: float, p_drop: float, p_cut: float, p_delay: float
) -> Policy:
    def decide(_: FrameInfo) -> Act:
        x = rng.random()
        for act, p in (
            (Act.CORRUPT, p_corrupt),
            (Act.DROP, p_drop),
            (Act.CUT_AFTER, p_cut),
            (Act.DELAY, p_delay),
        ):
            if x < p:
                return act
            x -= p
        return Act.PASS

    return decide


class FaultProxy:
    def __init__(self, target: tuple[str, int], policy: Policy = passthrough, delay_s: float = 1.0,
                 rng: random.Random | None = None) -> None:  # fmt: skip
        self.target = target
        self.policy = policy
        self.delay_s = delay_s
        self.rng = rng or random.Random(0)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self.cuts = 0
        self.blocked = False  # refuse every new connection (the link is gone for good)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.blocked:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(0.2)
            with self._lock:
                # closed sockets are dropped so that 10,000-session runs do not pile them up
                self._conns = [s for s in self._conns if s.fileno() != -1] + [client, upstream]
            pair_closed = threading.Event()
            for src, dst, direction in (
                (client, upstream, Direction.TO_PUMP),
                (upstream, client, Direction.TO_PROGRAMMER),
            ):
                threading.Thread(target=self._pump_frames, args=(src, dst, direction, pair_closed, client, upstream),
                                 daemon=True).start()  # fmt: skip

    def _pump_frames(self, src: socket.socket, dst: socket.socket, direction: Direction,
                     closed: threading.Event, a: socket.socket, b: socket.socket) -> None:  # fmt: skip
        buffer = b""
        index = 0
        while not self._stop.is_set() and not closed.is_set():
            try:
                chunk = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            while b"\x00" in buffer:
                end = buffer.index(b"\x00") + 1
                frame, buffer = buffer[:end], buffer[end:]
                decoded = FrameReader().feed(frame)
                info = FrameInfo(direction, index, decoded[0].msg_type if decoded else None, frame)
                index += 1
                act = self.policy(info)
                if act is Act.CUT_BEFORE:
                    self._cut(closed, a, b)
                    return
                if act is Act.DROP:
                    continue
                if act is Act.CORRUPT and len(frame) > 1:
                    pos = self.rng.randrange(len(frame) - 1)
                    flipped = (frame[pos] ^ (1 << self.rng.randrange(8))) or 1  # never a new zero
                    frame = frame[:pos] + bytes([flipped]) + frame[pos + 1 :]
                if act is Act.DELAY:
                    time.sleep(self.delay_s)
                try:
                    dst.sendall(frame)
                except OSError:
                    break
                if act is Act.CUT_AFTER:
                    self._cut(closed, a, b)
                    return
        self._cut(closed, a, b)

    def _cut(self, closed: threading.Event, a: socket.socket, b: socket.socket) -> None:
        if not closed.is_set():
            closed.set()
            with self._lock:
                self.cuts += 1
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.close()
        self._thread.join(timeout=2)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
