"""A byte-stream fault proxy between a programmer and the clinic database (loopback only).

tests/support/faultproxy.py works on the pump link's frames; PostgreSQL speaks its own
protocol, so this one cuts and delays raw bytes: each new connection may be cut after a
random number of bytes in either direction (a network drop: both sides closed at once),
and chunks may be held back for a random short delay. Every loop ends with close().
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    p_cut: float = 0.3  # share of connections cut at some point
    cut_within: int = 400_000  # the cut comes after 0..cut_within bytes (both ways)
    p_delay: float = 0.05  # share of chunks held back
    max_delay_s: float = 0.03
    counts: dict[str, int] = field(
        default_factory=lambda: {"connections": 0, "cuts": 0, "delays": 0}
    )


class ByteFaultProxy:
    def __init__(self, target: tuple[str, int], faults: Faults, seed: int) -> None:
        self.target = target
        self.faults = faults
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.enabled = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.faults.counts["connections"] += 1
                cut = self.enabled and self.rng.random() < self.faults.p_cut
                budget = [self.rng.randrange(self.faults.cut_within) if cut else -1]
                seed = self.rng.randrange(2**32)
                self.sockets += [client, upstream]
            gone = threading.Event()
            rng = random.Random(seed)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(src, dst, budget, gone, rng), daemon=True
                ).start()

    def _pipe(
        self,
        src: socket.socket,
        dst: socket.socket,
        budget: list[int],
        gone: threading.Event,
        rng: random.Random,
    ) -> None:
        try:
            src.settimeout(0.5)
            while not gone.is_set() and not self.closed.is_set():
                try:
                    chunk = src.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                with self.lock:
                    if budget[0] >= 0:
                        budget[0] -= len(chunk)
                        if budget[0] < 0:
                            self.faults.counts["cuts"] += 1
                            break
                    delay = self.enabled and rng.random() < self.faults.p_delay
                    if delay:
                        self.faults.counts["delays"] += 1
                if delay:
                    time.sleep(rng.random() * self.faults.max_delay_s)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            gone.set()
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.close()
        self.thread.join(timeout=2)
