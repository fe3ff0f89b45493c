"""Frame codec throughput: frames encoded and decoded per second, against a floor.

The floor is raw MessagePack (packb + unpackb of the same payloads) measured in the
same run, so the ratio does not depend on the machine: it shows what COBS, the CRC,
the header and the reader's checks cost on top of the payload encoding itself.

    .venv/bin/python benchmarks/link_codec.py [--seconds S]

Exits 1 when the ratio falls below MIN_RATIO (a regression guard, not a target).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import msgpack

from programmer.link.endpoint import fits_in_frame
from programmer.link.frames import FrameReader, Kind, encode_frame

MIN_RATIO = 0.05  # pure-Python COBS vs C msgpack; measured 0.12 (tiny) to 0.5 (4 KB) on 2 cores


def _events_page() -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    page: dict[str, Any] = {"events": events, "next_seq": 0, "last_seq": 99_999}
    seq = 1000
    while True:
        event = {
            "seq": seq,
            "t": 1_700_000_000 + seq * 60,
            "code": "ptm_request",
            "data": {"granted": seq % 3 != 0, "reason": "ok" if seq % 3 else "lockout"},
        }
        events.append(event)
        page["next_seq"] = seq + 1
        if not fits_in_frame(page):
            events.pop()
            page["next_seq"] = seq
            return page
        seq += 1


PAYLOADS: dict[str, tuple[int, int, dict[str, Any]]] = {
    "HELLO request": (Kind.REQUEST, 0x0001, {"programmer_id": "clinic-7-ws2", "protocol": 1}),
    "GET_STATUS response": (
        Kind.RESPONSE,
        0x0010,
        {
            "ok": True,
            "model": "ITP-40",
            "serial": "ITP40-000123",
            "firmware": "1.0.0",
            "implanted_t": 1_600_000_000,
            "clock_t": 1_700_000_000,
            "utc_offset_min": 60,
            "reservoir_capacity_nl": 40_000_000,
            "reservoir_nl": 12_345_678,
            "low_alarm_nl": 2_000_000,
            "therapy_crc": 0xDEADBEEF,
            "last_changeset_crc": 0x12345678,
            "last_changeset_t": 1_699_000_000,
            "delivering": "basal",
            "bolus_remaining_nl": 0,
            "alarms": [{"code": "low_reservoir", "since_t": 1_699_500_000, "critical": False}],
            "eri_t": 1_800_000_000,
            "event_first_seq": 1,
            "event_last_seq": 99_999,
            "infusion_first_hour": 440_000,
            "infusion_last_hour": 472_222,
        },
    ),
    "READ_EVENTS page (full frame)": (Kind.RESPONSE, 0x0040, {"ok": True, **_events_page()}),
}


def _rate(work: Callable[[], None], seconds: float) -> float:
    """Calls per second of `work`, timed in batches for at least `seconds`."""
    calls = 0
    batch = 1
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            work()
        calls += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed
        batch = min(batch * 2, 4096)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = parser.parse_args(argv)
    worst = float("inf")
    print(f"{'payload':32} {'bytes':>6} {'frames/s':>10} {'msgpack/s':>10} {'ratio':>6}")
    for name, (kind, msg_type, payload) in PAYLOADS.items():
        reader = FrameReader()
        wire = encode_frame(kind, 1, msg_type, payload)

        def codec(
            kind: int = kind,
            msg_type: int = msg_type,
            payload: Any = payload,
            reader: FrameReader = reader,
        ) -> None:
            frames = reader.feed(encode_frame(kind, 1, msg_type, payload))
            assert len(frames) == 1

        def floor(payload: Any = payload) -> None:
            msgpack.unpackb(msgpack.packb(payload, use_bin_type=True), raw=False)

        codec_rate = _rate(codec, args.seconds)
        floor_rate = _rate(floor, args.seconds)
        ratio = codec_rate / floor_rate
        worst = min(worst, ratio)
        print(f"{name:32} {len(wire):6d} {codec_rate:10.0f} {floor_rate:10.0f} {ratio:6.2f}")
    ok = worst >= MIN_RATIO
    print(f"worst ratio {worst:.2f} (minimum {MIN_RATIO}): {'ok' if ok else 'REGRESSION'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
