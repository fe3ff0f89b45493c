"""An emulator in another process, a store with one account per role, and sessions on them."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from programmer.link import PumpClient, open_transport
from programmer.session.pump_session import PumpSession
from programmer.store import Accounts, AuditTrail, Principal, Records, Role, Store, open_store

PASSWORDS = {"admin": "admin-pass-1234", "doc": "doc-pass-123456", "nurse": "nurse-pass-12345"}
# Cheap hashing keeps hundreds of sign-ins fast; production uses argon2-cffi's defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Emulator:
    process: subprocess.Popen[bytes]
    port: int
    state: Path

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def client(self, programmer_id: str = "test-observer") -> PumpClient:
        """A separate, direct connection: to read the pump with the protocol alone."""
        c = PumpClient(open_transport(self.address, 2.0), programmer_id, timeout=1.0)
        c.connect()
        return c


def start_emulator(tmp: Path, *extra: str) -> Emulator:
    port = free_port()
    state = tmp / f"pump-{port}.state"
    cmd = [sys.executable, "-m", "programmer.cli", "emulator", "--listen", f"127.0.0.1:{port}",
           "--speed", "0", "--state", str(state), "--clock", "1767225600", *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return Emulator(proc, port, state)
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the emulator exited at start") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the emulator did not start listening")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = start_emulator(tmp_path)
    try:
        yield emu
    finally:
        emu.process.kill()
        emu.process.wait(5)


@dataclass
class Clinic:
    store: Store
    trail: AuditTrail
    accounts: Accounts
    records: Records
    db: Path
    key: Path
    opened: list[PumpSession] = field(default_factory=list)

    def principal(self, name: str) -> Principal:
        return self.accounts.sign_in(name, PASSWORDS[name])

    def session(self, name: str, address: str, **kw: object) -> PumpSession:
        s = PumpSession(address=address, accounts=self.accounts, records=self.records, trail=self.trail,
                        principal=self.principal(name), **kw)  # type: ignore[arg-type]  # fmt: skip
        self.opened.append(s)
        return s


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    db, key = tmp_path / "itp.sqlite3", tmp_path / "audit.key"
    with open_store(db, create=True) as store:
        trail = AuditTrail.open(store, key)
        accounts = Accounts(store, trail, FAST_HASHER)
        accounts.add("admin", Role.ADMIN, PASSWORDS["admin"], actor=None)
        admin = accounts.sign_in("admin", PASSWORDS["admin"])
        accounts.add("doc", Role.PHYSICIAN, PASSWORDS["doc"], actor=admin)
        accounts.add("nurse", Role.NURSE, PASSWORDS["nurse"], actor=admin)
        c = Clinic(store, trail, accounts, Records(store, trail), db, key)
        yield c
        for s in c.opened:
            s.close()
