"""Feed the frame reader millions of hostile inputs: it must never raise, never hold more
than a bounded buffer, and still decode a valid frame that follows the garbage.

    .venv/bin/python reliability/fuzz_frames.py --inputs 10000000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from programmer.link.frames import MAX_BODY_SIZE, FrameReader, Kind, encode_frame

PAYLOADS = [{}, {"ok": True}, {"from_seq": 1, "max": 1024}, {"changeset": {"therapy": {"steps": [[0, 48000]]}}},
            {"basal_nl": [0] * 300, "bolus_nl": [5] * 300}]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261122)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    valid = [encode_frame(Kind.REQUEST, i, 0x10 + i % 3, p) for i, p in enumerate(PAYLOADS)]
    probe = encode_frame(Kind.REQUEST, 4242, 0x0010, {})
    reader = FrameReader()
    start = time.perf_counter()
    decoded_probes = 0
    for n in range(args.inputs):
        kind = n % 4
        if kind == 0:
            data = rng.randbytes(rng.randrange(1, 64))
        elif kind == 1:  # a valid frame with a few bytes flipped, cut or repeated
            frame = bytearray(rng.choice(valid))
            for _ in range(rng.randrange(1, 4)):
                frame[rng.randrange(len(frame))] = rng.randrange(256)
            data = bytes(frame[: rng.randrange(1, len(frame) + 1)])
        elif kind == 2:  # no zero at all for a long stretch: the buffer must stay bounded
            data = rng.randbytes(rng.randrange(1, 600)).replace(b"\x00", b"\x01")
        else:
            data = rng.choice(valid)
        try:
            reader.feed(data)
        except Exception as exc:  # the property under test: the reader never raises
            print(f"input {n}: the reader raised {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        if reader.buffered > 2 * (MAX_BODY_SIZE + 64):
            print(f"input {n}: the reader holds {reader.buffered} bytes", file=sys.stderr)
            return 1
        if n % 10_000 == 9_999:  # after garbage, a zero then a valid frame is still understood
            frames = reader.feed(b"\x00" + probe)
            if not any(f.seq == 4242 for f in frames):
                print(f"input {n}: a valid frame after garbage was not decoded", file=sys.stderr)
                return 1
            decoded_probes += 1
    elapsed = time.perf_counter() - start
    print(f"fuzz_frames: {args.inputs} inputs, seed {args.seed}: no exception, buffer bounded, "
          f"{decoded_probes} valid frames after garbage all decoded; {elapsed:.0f} s ({args.inputs / elapsed:.0f}/s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
