"""Benchmark: a realistic five years of one pump's history read over a telemetry line,
protocol version 1 against version 2, in the same run.

The history is built in the emulator's own model: an ITP-20 with morphine on a 5-step
flex profile; 3 to 7 patient bolus presses a day at waking hours, some inside the
lockout (refused, logged); a refill visit every 60 to 90 days with a titration (the
profile scaled by -10 % to +15 %); the low and empty reservoir alarms that follow when a
refill comes late. It is read by a `PumpClient` from a real `itp emulator` process over
loopback TCP, paged as the session pages it (events 1,024 at a time, hours 4,096). The
line's time is added per exchange, as benchmarks/session_transactions.py does: 10 bits
a byte at 115,200 baud (8N1), for every byte sent and received; the rest of the time is
what the two programs and the loopback really took.

Printed: bytes, exchanges and seconds of each version, their ratio; the floor, the same
records' columns (the version-2 raw layout of every event and hour, one block) as one xz
stream; the programmer's decode CPU time against the wire time; a 12-week visit's
incremental read; and the worst case, a full 65,536-event log with 5 years of hours.

Targets: version 2 at least 12x fewer bytes than version 1 and within 1.5x the xz floor;
the full read at most 6 s at 115,200 baud; a 12-week visit's read at most 0.5 s; decode
CPU at most 10 % of the wire time.

Run: .venv/bin/python benchmarks/history_wire.py
"""

from __future__ import annotations

import contextlib
import lzma
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from programmer.emulator import state
from programmer.emulator.errors import PumpRefusal
from programmer.emulator.limits import EVENTS_KEPT
from programmer.emulator.model import PumpModel
from programmer.link import PumpClient, open_transport, packed

ROOT = Path(__file__).resolve().parents[1]
BAUD = 115_200
BYTE_S = 10 / BAUD  # 8N1: a start bit, 8 data bits, a stop bit
T0 = 1_577_836_800  # 2020-01-01T00:00:00Z, the implant
DAY = 86_400
FIVE_YEARS_DAYS = 5 * 365 + 1
VISIT_DAYS = 84  # twelve weeks
SEED = 20_261_202

PROFILE = [[0, 150_000], [360, 260_000], [600, 210_000], [960, 280_000], [1320, 170_000]]


def therapy(steps: list[list[int]]) -> dict[str, Any]:
    return {
        "drugs": [{"name": "morphine", "conc_ng_ml": 10_000_000}],
        "low_alarm_nl": 2_000_000,
        "mode": "flex",
        "cycle_days": 1,
        "steps": steps,
        "ptm": {
            "enabled": True,
            "volume_nl": 20_000,
            "duration_min": 10,
            "lockout_min": 120,
            "max_per_day": 6,
        },
        "catheter_volume_nl": 150_000,
    }


def commit(pump: PumpModel, changeset: dict[str, Any], who: str) -> None:
    pump.stage(changeset)
    assert pump.staged is not None
    pump.commit(pump.staged[2], who)


def visit(pump: PumpModel, rng: random.Random, steps: list[list[int]]) -> list[list[int]]:
    """A refill visit: a session, the refill, a titration."""
    who = "itp-clinic-ward3"
    pump.open_session(who)
    pump.authenticated(who)
    factor = rng.randint(90, 115)
    steps = [[start, max(48_000, rate * factor // 100)] for start, rate in steps]
    removed = max(0, pump.true_reservoir_nl - rng.randint(0, 300_000))
    refill = {"removed_nl": removed, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}
    commit(pump, {"therapy": therapy(steps), "refill": refill}, who)
    return steps


def realistic_pump(rng: random.Random) -> tuple[PumpModel, int, int]:
    """Five years of one pump; also the event seq and hour where the last 12 weeks begin."""
    pump = PumpModel("ITP-20", T0, serial="ITP20-052117", eri_t=T0 + 7 * 365 * DAY)
    steps = [list(step) for step in PROFILE]
    commit(pump, {"therapy": therapy(steps), "refill": {"removed_nl": 0,
           "added_nl": 20_000_000, "reservoir_nl": 20_000_000}}, "itp-implant")  # fmt: skip
    next_visit = rng.randint(60, 90)
    visit_seq = visit_hour = 0
    for day in range(FIVE_YEARS_DAYS):
        if day == FIVE_YEARS_DAYS - VISIT_DAYS:
            visit_seq, visit_hour = pump.events.last_seq + 1, pump.clock_t // 3600
        if day == next_visit:
            pump.advance_to(T0 + day * DAY + rng.randint(9 * 3600, 16 * 3600))
            steps = visit(pump, rng, steps)
            next_visit = day + rng.randint(60, 90)
        presses = sorted(rng.randint(7 * 3600, 22 * 3600) for _ in range(rng.randint(3, 7)))
        for at in presses:
            target = T0 + day * DAY + at
            if target > pump.clock_t:
                pump.advance_to(target)
            with contextlib.suppress(PumpRefusal):
                pump.press_ptm()
    pump.advance_to(T0 + FIVE_YEARS_DAYS * DAY)
    return pump, visit_seq, visit_hour


def worst_case_pump(rng: random.Random) -> PumpModel:
    """A full log: 65,536 events (patient presses at random moments, about one every 40
    minutes for five years, most refused) and 5 years of hours."""
    pump = PumpModel("ITP-40", T0, eri_t=T0 + 10 * 365 * DAY)
    commit(pump, {"therapy": therapy([list(s) for s in PROFILE])}, "itp")
    mean = FIVE_YEARS_DAYS * DAY // EVENTS_KEPT
    at = T0
    while pump.events.last_seq < EVENTS_KEPT:
        at += rng.randint(mean // 4, mean * 7 // 4)
        pump.advance_to(at)
        with contextlib.suppress(PumpRefusal):
            pump.press_ptm()
    pump.advance_to(T0 + FIVE_YEARS_DAYS * DAY)
    return pump


# ----------------------------------------------------------------- reading


@dataclass
class Read:
    version: int
    bytes: int
    exchanges: int
    wall_s: float
    decode_s: float
    events: list[dict[str, Any]]
    basal: list[int]
    bolus: list[int]

    @property
    def wire_s(self) -> float:
        return self.bytes * BYTE_S

    @property
    def line_s(self) -> float:
        """What the read takes on the line: the bytes' time plus the programs' own."""
        return self.wall_s + self.wire_s


class DecodeTimer:
    """Adds up the CPU time the programmer spends in the packed decoders."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._saved = (packed.decode_events, packed.decode_hours)

    def __enter__(self) -> DecodeTimer:
        events, hours = self._saved

        # CPU time of this thread: what decoding costs, whatever else the machine runs.
        def timed_events(*args: Any) -> Any:
            started = time.thread_time()
            try:
                return events(*args)
            finally:
                self.seconds += time.thread_time() - started

        def timed_hours(*args: Any) -> Any:
            started = time.thread_time()
            try:
                return hours(*args)
            finally:
                self.seconds += time.thread_time() - started

        packed.decode_events, packed.decode_hours = timed_events, timed_hours  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        packed.decode_events, packed.decode_hours = self._saved


def read(address: str, version: int, from_seq: int | None = None,
         from_hour: int | None = None) -> Read:  # fmt: skip
    """Connect, read the status, then every event and hour from the given points on (all
    the pump keeps by default). Bytes and exchanges count the read after the HELLO."""
    client = PumpClient(open_transport(address, 5.0), "bench", timeout=30.0, protocol=version)
    client.connect()
    sent, received, requests = client.bytes_sent, client.bytes_received, client.requests
    events: list[dict[str, Any]] = []
    basal: list[int] = []
    bolus: list[int] = []
    with DecodeTimer() as timer:
        started = time.perf_counter()
        status = client.get_status()
        seq = max(from_seq or 0, status["event_first_seq"])
        while seq <= status["event_last_seq"]:
            page = client.read_events(seq, 1024)
            if not page["events"]:
                break
            events += page["events"]
            seq = page["next_seq"]
        hour = max(from_hour or 0, status["infusion_first_hour"])
        while hour <= status["infusion_last_hour"]:
            page = client.read_infusion(hour, 4096)
            basal += page["basal_nl"]
            bolus += page["bolus_nl"]
            hour = page["next_hour"]
        wall = time.perf_counter() - started
    total = client.bytes_sent - sent + client.bytes_received - received
    client.close()
    return Read(version, total, client.requests - requests, wall, timer.seconds, events,
                basal, bolus)  # fmt: skip


def same_records(a: Read, b: Read) -> bool:
    """Every event both reads hold is the same (each connection logs its own session, so
    the later read holds one event more), and every hour."""
    by_seq = {event["seq"]: event for event in b.events}
    common = [event for event in a.events if event["seq"] in by_seq]
    return (
        len(common) >= len(a.events) - 1
        and all(event == by_seq[event["seq"]] for event in common)
        and (a.basal, a.bolus) == (b.basal, b.bolus)
    )


def xz_floor(pump: PumpModel) -> int:
    """The same records in the version-2 raw layout, all events and all hours as one block
    (no pages), compressed as one xz stream at its strongest setting."""
    events = pump.events.events
    codes, times, data = bytearray(), bytearray(), bytearray()
    strings = packed._Strings()
    previous = 0
    for _seq, t, code, values in events:
        codes.append(packed._put_data(data, strings, code, values))
        packed.put_signed(times, t - previous)
        previous = t
    hours = bytearray()
    last = 0
    for value in pump.hours.basal:
        packed.put_signed(hours, value - last)
        last = value
    for value in pump.hours.bolus:
        packed.put_signed(hours, value)
    raw = bytes(codes + times + data + hours)
    return len(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))


class Emulator:
    """`itp emulator` on the saved pump, at speed 0."""

    def __init__(self, pump: PumpModel, workdir: Path) -> None:
        path = workdir / f"{pump.serial}.state"
        state.save(pump, path)
        port_file = workdir / f"{pump.serial}.port"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "programmer.cli", "emulator", "--listen", "127.0.0.1:0",
             "--speed", "0", "--state", str(path), "--port-file", str(port_file)],
            cwd=ROOT, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        self.address = f"tcp://127.0.0.1:{int(port_file.read_text())}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def line(read_: Read) -> str:
    return (f"v{read_.version}: {read_.bytes:>9,} bytes, {read_.exchanges:>5} exchanges, "
            f"{read_.line_s:7.2f} s on the line ({read_.wire_s:.2f} s of bytes, "
            f"{read_.wall_s:.2f} s in the programs)")  # fmt: skip


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    pump, visit_seq, visit_hour = realistic_pump(rng)
    codes: dict[str, int] = {}
    for _s, _t, code, _d in pump.events.events:
        codes[code] = codes.get(code, 0) + 1
    print(f"realistic five years, built in {time.perf_counter() - started:.1f} s: "
          f"{len(pump.events.events):,} events, {len(pump.hours.basal):,} hours")  # fmt: skip
    print("  events: " + ", ".join(f"{c} {n:,}" for c, n in sorted(codes.items())))
    workdir = Path(tempfile.mkdtemp())
    emulator = Emulator(pump, workdir)
    try:
        v1 = read(emulator.address, 1)
        v2 = read(emulator.address, 2)
        visit = read(emulator.address, 2, visit_seq, visit_hour)
    finally:
        emulator.stop()
    assert same_records(v1, v2), "v1 and v2 read differently"
    floor = xz_floor(pump)
    ratio = v1.bytes / v2.bytes
    print(f"full read at {BAUD:,} baud, status and every event and hour:")
    print("  " + line(v1))
    print("  " + line(v2))
    print(f"  v2 moves {ratio:.1f}x fewer bytes than v1 (target >= 12x: {verdict(ratio >= 12)})")
    print(f"  xz floor (same columns, one xz stream): {floor:,} bytes; v2 is {v2.bytes / floor:.2f}x"
          f" it (target <= 1.5x: {verdict(v2.bytes <= 1.5 * floor)})")  # fmt: skip
    print(f"  v2 full read {v2.line_s:.2f} s (target <= 6 s: {verdict(v2.line_s <= 6)})")
    share = v2.decode_s / v2.wire_s
    print(
        f"  v2 decode CPU {v2.decode_s * 1000:.0f} ms = {share:.1%} of its wire time "
        f"(target <= 10 %: {verdict(share <= 0.10)})"
    )
    print(
        f"12-week visit, incremental (status, {len(visit.events)} events, "
        f"{len(visit.basal):,} hours):"
    )
    print("  " + line(visit) + f" (target <= 0.5 s: {verdict(visit.line_s <= 0.5)})")
    worst = worst_case_pump(rng)
    emulator = Emulator(worst, workdir)
    try:
        w1 = read(emulator.address, 1)
        w2 = read(emulator.address, 2)
    finally:
        emulator.stop()
    assert same_records(w1, w2), "worst case: v1 and v2 read differently"
    print(f"worst case, {len(w1.events):,} events and {len(w1.basal):,} hours:")
    print("  " + line(w1))
    print("  " + line(w2))
    print(
        f"  v2 moves {w1.bytes / w2.bytes:.1f}x fewer bytes; decode CPU "
        f"{w2.decode_s / w2.wire_s:.1%} of its wire time"
    )


if __name__ == "__main__":
    main()
