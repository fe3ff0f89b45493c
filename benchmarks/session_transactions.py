"""Interrogation and a full program transaction, over loopback TCP and a simulated serial line.

Figures (medians of N runs), each against a floor measured in the same run:
- TCP: time per operation vs. the same number of request/response round trips of the
  same byte sizes on a bare loopback echo socket. Targets: interrogation < 50 ms,
  program (propose + stage/verify/commit/read back) < 150 ms.
- serial 115200 baud 8N1: time per operation vs. the transmission time of the bytes it
  exchanged (10 bits a byte), i.e. how close to the wire's own speed the protocol runs.
Password hashing is not link time: the accounts use a cheap Argon2 profile here.
Run: .venv/bin/python benchmarks/session_transactions.py
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from argon2 import PasswordHasher

from programmer.link.addresses import register_scheme
from programmer.link.tcp import TcpTransport
from programmer.link.transport import Transport
from programmer.session.pump_session import PumpSession
from programmer.store import Accounts, AuditTrail, Records, Role, open_store

RUNS = 15
BAUD = 115_200


class SerialSim:
    """A TCP transport that takes as long as a 115200 baud 8N1 line to move each byte."""

    def __init__(self, inner: Transport, baud: int) -> None:
        self.inner, self.byte_s = inner, 10 / baud
        self.bytes = 0

    def send(self, data: bytes) -> None:
        time.sleep(len(data) * self.byte_s)
        self.bytes += len(data)
        self.inner.send(data)

    def recv(self, timeout: float) -> bytes:
        data = self.inner.recv(timeout)
        if data:
            time.sleep(len(data) * self.byte_s)
            self.bytes += len(data)
        return data

    def close(self) -> None:
        self.inner.close()


SIMS: list[SerialSim] = []


def _open_sim(address: str, timeout: float) -> Transport:
    host, port = address.removeprefix("serialsim://").split(":")
    sim = SerialSim(TcpTransport.connect(host, int(port), timeout), BAUD)
    SIMS.append(sim)
    return sim  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def echo_floor(sizes: list[tuple[int, int]]) -> float:
    """Round trips of the given (request, response) sizes on a bare loopback socket."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            for req, resp in sizes * RUNS:
                got = 0
                while got < req:
                    got += len(conn.recv(65536))
                conn.sendall(b"x" * resp)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    c = socket.create_connection(srv.getsockname())
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for req, resp in sizes:
            c.sendall(b"y" * req)
            got = 0
            while got < resp:
                got += len(c.recv(65536))
        times.append(time.perf_counter() - start)
    c.close()
    srv.close()
    return statistics.median(times)


def main() -> None:
    register_scheme("serialsim", _open_sim)
    tmp = Path(tempfile.mkdtemp())
    port = free_port()
    emu = subprocess.Popen([sys.executable, "-m", "programmer.cli", "emulator", "--listen", f"127.0.0.1:{port}", "--speed", "0"],
                           stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1.0)
    try:
        store = open_store(tmp / "db.sqlite3", create=True)
        trail = AuditTrail.open(store, tmp / "key")
        accounts = Accounts(
            store, trail, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        accounts.add("admin", Role.ADMIN, "bench-admin-pw", actor=None)
        accounts.add(
            "doc",
            Role.PHYSICIAN,
            "bench-doc-pw1",
            actor=accounts.sign_in("admin", "bench-admin-pw"),
        )
        me = accounts.sign_in("doc", "bench-doc-pw1")
        for label, address in (
            ("TCP loopback", f"tcp://127.0.0.1:{port}"),
            ("serial 115200 (simulated)", f"serialsim://127.0.0.1:{port}"),
        ):
            s = PumpSession(
                address=address,
                accounts=accounts,
                records=Records(store, trail),
                trail=trail,
                principal=me,
                timeout=2.0,
            )
            s.connect()
            interrogations, programs, sizes_i, sizes_p, bytes_i, bytes_p = [], [], [], [], [], []
            for i in range(RUNS):
                c = s.client
                assert c is not None
                b0, r0, n0 = c.bytes_sent, c.bytes_received, c.requests
                sim_bytes0 = SIMS[-1].bytes if SIMS and address.startswith("serialsim") else 0
                t = time.perf_counter()
                s.interrogate()
                interrogations.append(time.perf_counter() - t)
                bytes_i.append(
                    (SIMS[-1].bytes - sim_bytes0) if address.startswith("serialsim") else 0
                )
                n = c.requests - n0
                sizes_i = [
                    ((c.bytes_sent - b0) // max(n, 1), (c.bytes_received - r0) // max(n, 1))
                ] * n
                rx = {
                    "pump_model": "ITP-40",
                    "drugs": [],
                    "mode": "continuous",
                    "rate": f"{200_000 + i * 1000} nL/day",
                }
                b0, r0, n0 = c.bytes_sent, c.bytes_received, c.requests
                sim_bytes0 = SIMS[-1].bytes if address.startswith("serialsim") else 0
                t = time.perf_counter()
                result = s.send(s.propose(rx), confirmed=True, password="bench-doc-pw1")
                programs.append(time.perf_counter() - t)
                assert result.outcome == "applied", result.message
                bytes_p.append(
                    (SIMS[-1].bytes - sim_bytes0) if address.startswith("serialsim") else 0
                )
                n = c.requests - n0
                sizes_p = [
                    ((c.bytes_sent - b0) // max(n, 1), (c.bytes_received - r0) // max(n, 1))
                ] * n
            s.close()
            ti, tp = statistics.median(interrogations), statistics.median(programs)
            if address.startswith("tcp"):
                fi, fp = echo_floor(sizes_i), echo_floor(sizes_p)
                print(
                    f"{label}: interrogation {ti * 1000:.1f} ms (target < 50 ms; floor {len(sizes_i)} bare round trips {fi * 1000:.2f} ms; ratio {ti / fi:.1f})"
                )
                print(
                    f"{label}: program transaction {tp * 1000:.1f} ms (target < 150 ms; floor {len(sizes_p)} bare round trips {fp * 1000:.2f} ms; ratio {tp / fp:.1f})"
                )
            else:
                wi = statistics.median(bytes_i) * 10 / BAUD
                wp = statistics.median(bytes_p) * 10 / BAUD
                print(
                    f"{label}: interrogation {ti * 1000:.1f} ms vs {wi * 1000:.1f} ms of bytes on the wire (ratio {ti / wi:.2f})"
                )
                print(
                    f"{label}: program transaction {tp * 1000:.1f} ms vs {wp * 1000:.1f} ms of bytes on the wire (ratio {tp / wp:.2f})"
                )
    finally:
        emu.kill()


if __name__ == "__main__":
    main()
