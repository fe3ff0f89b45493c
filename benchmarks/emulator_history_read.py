"""Benchmark: a full history read (65,536 events and 5 years of hours) from a real
`itp emulator` process over loopback TCP, against a raw socket that answers the very same
request bytes with the very same response bytes (no framing, no CRC, no MessagePack, no
model), exchange by exchange. Prints both throughputs, the floor and the ratio, and how
much of the time the link's codec alone takes.

Superseded as the history figure by benchmarks/history_wire.py: on loopback the bytes
cost nothing, so this ratio measures Python's decoding, not what a clinic waits for (the
telemetry line). Kept as a throughput check of the version-1 path; not in run_all.

Run: .venv/bin/python benchmarks/emulator_history_read.py
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgpack

from programmer.emulator import state
from programmer.emulator.limits import EVENTS_KEPT
from programmer.emulator.model import PumpModel
from programmer.link import PumpClient, Transport, cobs, open_transport
from programmer.link.frames import FRAME_OVERHEAD, FrameReader, Kind, encode_frame

ROOT = Path(__file__).resolve().parents[1]

T0 = 1_577_836_800  # 2020-01-01T00:00:00Z
FIVE_YEARS = (5 * 365 + 1) * 86_400
FLOOR_RATIO = 3.0  # the emulator may take at most 3x the raw socket's time


class RecordingTransport:
    """Wraps a transport; keeps each request sent and the bytes received after it."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[bytes] = []
        self.received: list[bytearray] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        self.received.append(bytearray())
        self.inner.send(data)

    def recv(self, timeout: float) -> bytes:
        data = self.inner.recv(timeout)
        if self.received:
            self.received[-1] += data
        return data

    def close(self) -> None:
        self.inner.close()


def full_pump() -> PumpModel:
    pump = PumpModel("ITP-40", T0, eri_t=T0 + 10 * 365 * 86_400)
    for _ in range(EVENTS_KEPT):
        pump.press_ptm()  # disabled: one ptm_request event each
    # 5 years of the new pump's minimum rate (it never runs dry) fill the hourly record.
    pump.advance(FIVE_YEARS)
    return pump


def read_everything(client: PumpClient) -> tuple[int, int]:
    """Reads the whole history; returns how many events and hours came."""
    status = client.get_status()
    events, from_seq = 0, status["event_first_seq"]
    while from_seq <= status["event_last_seq"]:
        page = client.read_events(from_seq, 1024)
        events += len(page["events"])
        from_seq = page["next_seq"]
    hours, hour = 0, status["infusion_first_hour"]
    while hour <= status["infusion_last_hour"]:
        page = client.read_infusion(hour, 4096)
        hours += len(page["basal_nl"])
        hour = page["next_hour"]
    return events, hours


def emulator_read(
    pump: PumpModel, workdir: Path
) -> tuple[float, int, int, list[bytes], list[bytes]]:
    """Reads the history from a real `itp emulator` process holding `pump`."""
    state.save(pump, workdir / "pump.state")
    port_file = workdir / "port"
    command = [
        sys.executable, "-m", "programmer.cli", "emulator", "--listen", "127.0.0.1:0",
        "--port-file", str(port_file), "--speed", "0", "--state", str(workdir / "pump.state"),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        while not port_file.exists():
            if process.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.02)
        address = f"tcp://127.0.0.1:{port_file.read_text().strip()}"
        transport = RecordingTransport(open_transport(address, 5.0))
        client = PumpClient(transport, "bench", timeout=5.0)
        client.connect()
        transport.sent.clear()
        transport.received.clear()
        began = time.perf_counter()
        events, hours = read_everything(client)
        elapsed = time.perf_counter() - began
        client.close()
    finally:
        process.terminate()
        process.wait()
    return elapsed, events, hours, transport.sent, [bytes(r) for r in transport.received]


def raw_replay(requests: list[bytes], responses: list[bytes]) -> float:
    """The same exchanges over a bare socket: read the request's bytes, send the answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            for request, response in zip(requests, responses, strict=True):
                received = 0
                while received < len(request):
                    received += len(conn.recv(65536))
                conn.sendall(response)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    began = time.perf_counter()
    for request, response in zip(requests, responses, strict=True):
        sock.sendall(request)
        received = 0
        while received < len(response):
            received += len(sock.recv(65536))
    elapsed = time.perf_counter() - began
    sock.close()
    thread.join()
    listener.close()
    return elapsed


def codec_alone(responses: list[bytes]) -> float:
    """Decoding and re-encoding the same response frames, with nothing else: the link's
    own share of the emulator's time (COBS, CRC-32, MessagePack)."""
    began = time.perf_counter()
    for data in responses:
        for frame in FrameReader().feed(data):
            encode_frame(Kind.RESPONSE, frame.seq, frame.msg_type, frame.payload)
    return time.perf_counter() - began


def msgpack_decode_alone(responses: list[bytes]) -> float:
    """MessagePack decoding of the same payloads and nothing else, the decoded values kept
    (as a client keeps the events it stores): the share no framing work can remove.
    Best of 3."""
    header = FRAME_OVERHEAD - 4  # the body's head before the payload; the crc is last
    payloads = [cobs.decode(data[:-1])[header:-4] for data in responses]
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        kept = [msgpack.unpackb(p, raw=False, strict_map_key=False) for p in payloads]
        best = min(best, time.perf_counter() - began)
        assert len(kept) == len(payloads) and all(isinstance(k, dict) for k in kept)
        del kept
    return best


def main() -> int:
    pump = full_pump()
    with tempfile.TemporaryDirectory() as workdir:
        emulated_s, events, hours, requests, responses = emulator_read(pump, Path(workdir))
    total = sum(map(len, requests)) + sum(map(len, responses))
    raw_s = raw_replay(requests, responses)
    ratio = emulated_s / raw_s
    codec_s = codec_alone(responses)
    unpack_s = msgpack_decode_alone(responses)
    print(f"history: {events} events, {hours} hours in {len(requests)} exchanges, {total} bytes")
    print(f"emulator over TCP: {emulated_s * 1000:.1f} ms = {total / emulated_s / 1e6:.2f} MB/s")
    print(f"raw socket replay: {raw_s * 1000:.1f} ms = {total / raw_s / 1e6:.2f} MB/s")
    print(f"ratio {ratio:.2f}x (floor: within {FLOOR_RATIO:.0f}x)")
    print(
        f"of which the link codec alone (decode + encode of the same frames): "
        f"{codec_s * 1000:.1f} ms = {codec_s / raw_s:.1f}x the raw socket"
    )
    print(
        f"of which MessagePack decoding alone (the decoded values kept, best of 3): "
        f"{unpack_s * 1000:.1f} ms = {unpack_s / raw_s:.1f}x the raw socket"
    )
    ok = events >= EVENTS_KEPT and hours >= 5 * 365 * 24 and ratio <= FLOOR_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
