"""Feed the packed page decoder (protocol version 2) hostile pages: random bytes, real
pages with bytes flipped, cut, or grown, and raw blocks wrapped with a right CRC. Each
must be refused whole (PackedPageError) or, if it survives every check, decode to the
very records that were packed; never another exception, never more than a second, never
more than a few MiB.

    .venv/bin/python reliability/fuzz_packed.py --inputs 200000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from typing import Any

from programmer.link import packed

T = 1_735_689_600
CODES: list[tuple[str, dict[str, Any]]] = [
    ("changeset_applied", {"crc": 7, "programmer_id": "ward3", "parts": ["therapy"]}),
    ("refill", {"removed_nl": 1, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}),
    ("ptm_request", {"granted": True, "reason": "ok"}),
    ("ptm_request", {"granted": False, "reason": "lockout"}),
    ("alarm_raised", {"code": "low_reservoir"}),
    ("clock_set", {"old_t": T, "new_t": T - 60, "old_offset_min": 0, "new_offset_min": 60}),
    ("vendor_note", {"x": [1, "y"]}),
]


def sample_pages(rng: random.Random) -> list[tuple[str, int, bytes, Any]]:
    pages: list[tuple[str, int, bytes, Any]] = []
    for size in (1, 5, 60, 400):
        events = [[100 + i, T + 37 * i, *rng.choice(CODES)] for i in range(size)]
        want = [{"seq": s, "t": t, "code": c, "data": d} for s, t, c, d in events]
        pages.append(("events", size, packed.encode_events(events), want))
        basal = [rng.choice([0, 41_666, 41_667]) for _ in range(size * 10)]
        bolus = [rng.choice([0, 0, 20_000]) for _ in range(size * 10)]
        pages.append(("hours", size * 10, packed.encode_hours(basal, bolus), (basal, bolus)))
    return pages


def mutate(rng: random.Random, page: bytes) -> tuple[bytes, bool]:
    """A damaged copy of `page`, and whether it was damaged in transit (True) rather than
    rebuilt as a well-formed page of random records (False)."""
    data = bytearray(page)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randrange(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:
        del data[rng.randrange(len(data)) :]
    elif kind == 2:
        data += rng.randbytes(rng.randrange(1, 16))
    else:  # a raw block of random bytes with a right CRC: only the layout checks remain
        return packed.pack_raw(rng.randbytes(rng.randrange(0, 200))), False
    return bytes(data), True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pages = sample_pages(rng)
    refused = same = well_formed = 0
    slowest = 0.0
    tracemalloc.start()
    started = time.perf_counter()
    for n in range(args.inputs):
        what, count, page, want = rng.choice(pages)
        if n % 5 == 0:
            data, damaged = rng.randbytes(rng.randrange(0, 300)), False
        else:
            data, damaged = mutate(rng, page)
        claimed = count if rng.random() < 0.9 else rng.choice([0, count + 1, 10**9, -1])
        began = time.perf_counter()
        try:
            if what == "events":
                got: Any = packed.decode_events(100, claimed, data)
            else:
                got = packed.decode_hours(0, claimed, data)
        except packed.PackedPageError:
            refused += 1
        else:
            if damaged and data != page and got != want:  # damage must never pass unseen
                print(f"fuzz_packed: input {n} decoded to other records than were packed")
                return 1
            if damaged:
                same += 1
            else:
                well_formed += 1
        slowest = max(slowest, time.perf_counter() - began)
    _, peak = tracemalloc.get_traced_memory()
    elapsed = time.perf_counter() - started
    print(f"fuzz_packed: {args.inputs} inputs in {elapsed:.1f} s: {refused} refused whole, "
          f"{same} damaged copies decoded to exactly the packed records, {well_formed} "
          f"well-formed random pages decoded, 0 other outcomes; slowest {slowest * 1000:.1f} ms, "
          f"peak {peak / 2**20:.1f} MiB traced")  # fmt: skip
    return 0 if slowest < 1.0 and peak < 64 * 2**20 else 1


if __name__ == "__main__":
    sys.exit(main())
