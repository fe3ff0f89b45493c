"""Fixtures that run `itp emulator` in another process and talk to it through the link."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from programmer.link import DEMO_KEY, PumpClient, open_transport

from .helpers import T0

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 20.0


class EmulatorProcess:
    """One `itp emulator --listen 127.0.0.1:0` child; the port comes from --port-file."""

    def __init__(self, workdir: Path, *options: str) -> None:
        self.workdir = workdir
        self.options = list(options)
        self.port_file = workdir / f"port-{time.monotonic_ns()}"
        self.stderr_path = workdir / "emulator.stderr"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "programmer.cli",
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            str(self.port_file),
            *self.options,
        ]

    def start(self) -> EmulatorProcess:
        with contextlib.suppress(FileNotFoundError):
            self.port_file.unlink()
        with open(self.stderr_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=ROOT, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited {self.proc.returncode}: {self.stderr()}")
            if time.monotonic() > deadline:
                raise RuntimeError("emulator did not start")
            time.sleep(0.01)
        self.port = int(self.port_file.read_text())
        return self

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def client(
        self,
        programmer_id: str = "conformance",
        key: bytes = DEMO_KEY,
        connect: bool = True,
        protocol: int | None = 1,
    ) -> PumpClient:
        """A client speaking version 1 by default: these conformance tests check the
        version-1 wire (pages that fit a frame); test_conformance_v2.py checks version 2."""
        client = PumpClient(
            open_transport(self.address, 5.0),
            programmer_id,
            key,
            timeout=5.0,
            retries=1,
            protocol=protocol,
        )
        if connect:
            client.connect()
        return client

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path, "--speed", "0", "--clock", str(T0)).start()
    yield process
    process.stop()


@pytest.fixture
def pump(emulator: EmulatorProcess) -> Iterator[PumpClient]:
    client = emulator.client()
    yield client
    client.close()


def run_cli(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "programmer.cli", "emulator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class RawLink:
    """Frames by hand over one TCP connection: for resends and garbage that PumpClient
    would never send."""

    def __init__(self, address: str) -> None:
        from programmer.link.frames import FrameReader

        self.transport = open_transport(address, 5.0)
        self.reader = FrameReader()

    def send(self, data: bytes) -> None:
        self.transport.send(data)

    def answer(self, seq: int | None = None, timeout: float = 5.0) -> dict[str, object]:
        """The next response (to `seq`, if given; others are skipped)."""
        from programmer.link.frames import Kind

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.reader.feed(self.transport.recv(0.2)):
                if frame.kind == Kind.RESPONSE and seq in (None, frame.seq):
                    return dict(frame.payload)
        raise TimeoutError("no response")

    def exchange(self, seq: int, msg_type: int, payload: dict[str, object]) -> dict[str, object]:
        from programmer.link.frames import Kind, encode_frame

        self.send(encode_frame(Kind.REQUEST, seq, msg_type, payload))
        return self.answer(seq)

    def login(self, programmer_id: str = "raw", key: bytes = DEMO_KEY) -> None:
        from programmer.link.messages import MsgType, compute_auth_mac

        hello = self.exchange(1, MsgType.HELLO, {"programmer_id": programmer_id, "protocol": 1})
        nonce = hello["nonce"]
        assert isinstance(nonce, bytes)
        mac = compute_auth_mac(key, nonce, programmer_id)
        assert self.exchange(2, MsgType.AUTH, {"mac": mac}) == {"ok": True}

    def close(self) -> None:
        self.transport.close()
