"""Audit trail benchmarks (issue 4).

    .venv/bin/python benchmarks/store_audit.py [--records 1000000] [--appends 2000] [--json]

1. Append latency, p50/p99, of AuditTrail.append (WAL, synchronous=FULL) against a bare
   SQLite insert with the same pragmas, in the same run and folder.
2. Verify time for --records records (target under 10 s), on all cores and on one.
3. A filtered query (one pump, a 7-day range) on the same trail (target under 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from programmer.store import AuditAction, AuditTrail, open_store
from programmer.store.audit_chain import FIELDS, GENESIS_MAC, Mac, canonical_json
from programmer.store.audit_key import create_key
from programmer.store.clock import utc_seconds, utc_text

PUMPS = 50
START = datetime(2025, 1, 1, tzinfo=UTC)


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
    }


def bench_append(folder: Path, count: int) -> dict[str, dict[str, float]]:
    bare_path = folder / "bare.sqlite3"
    bare = sqlite3.connect(bare_path, isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = FULL")
    bare.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, ts TEXT, action TEXT, payload TEXT)")
    store = open_store(folder / "append.sqlite3")
    trail = AuditTrail.open(store, folder / "append.key")
    audit_times: list[float] = []
    bare_times: list[float] = []
    # Interleaved blocks so both see the same disk and load.
    for block in range(count // 100):
        for i in range(100):
            n = block * 100 + i
            t0 = time.perf_counter()
            trail.append(
                AuditAction.PROGRAM_INTENT,
                account="phil",
                role="physician",
                pump_serial="ITP40-000123",
                before={"rate_nl_day": n},
                after={"rate_nl_day": n + 1},
                reason="benchmark",
            )
            audit_times.append(time.perf_counter() - t0)
        for i in range(100):
            n = block * 100 + i
            t0 = time.perf_counter()
            bare.execute(
                "INSERT INTO t (ts, action, payload) VALUES (?, ?, ?)",
                (utc_text(datetime.now(UTC)), "program_intent", f'{{"rate_nl_day":{n}}}'),
            )
            bare_times.append(time.perf_counter() - t0)
    store.close()
    bare.close()
    return {"audit_append": _percentiles(audit_times), "bare_insert": _percentiles(bare_times)}


def build_trail(path: Path, key_path: Path, count: int) -> float:
    """A valid trail of `count` records written in bulk (same MACs as append)."""
    key = create_key(key_path)
    mac = Mac(key)
    rng = random.Random(4)
    store = open_store(path)
    trail = AuditTrail(store, key)
    trail.append(AuditAction.SIGN_IN, account="root", role="admin")  # stamps the key id
    first = store.query("SELECT * FROM audit")[0]
    prev = first[-1]
    step = 365 * 86400 / count
    actions = [str(a) for a in AuditAction]
    t0 = time.perf_counter()
    conn = store.conn
    conn.execute("BEGIN")
    batch: list[tuple[object, ...]] = []
    for seq in range(2, count + 1):
        moment = START + timedelta(seconds=seq * step)
        row = (
            seq,
            utc_text(moment),
            utc_seconds(moment),
            actions[seq % len(actions)],
            "phil",
            "physician",
            f"ITP40-{rng.randrange(PUMPS):06d}",
            canonical_json({"rate_nl_day": seq}),
            canonical_json({"rate_nl_day": seq + 1}),
            None,
            "ok",
            prev,
        )
        prev = mac(row)
        batch.append((*row, prev))
        if len(batch) == 10_000:
            conn.executemany(f"INSERT INTO audit VALUES ({', '.join('?' * len(FIELDS))})", batch)
            batch.clear()
    conn.executemany(f"INSERT INTO audit VALUES ({', '.join('?' * len(FIELDS))})", batch)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    assert first[-2] == GENESIS_MAC
    return time.perf_counter() - t0


def bench_verify(path: Path, key_path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    with open_store(path, create=False) as store:
        trail = AuditTrail.open(store, key_path)
        for label, workers in (("all_cores", None), ("one_core", 1)):
            t0 = time.perf_counter()
            result = trail.verify(workers=workers)
            out[f"{label}_s"] = round(time.perf_counter() - t0, 2)
            assert result.ok, result.message
        out["records"] = result.records
        out["cores"] = os.cpu_count() or 1
    return out


def bench_query(path: Path, key_path: Path) -> dict[str, float]:
    times: list[float] = []
    rows = 0
    with open_store(path, create=False) as store:
        trail = AuditTrail.open(store, key_path)
        rng = random.Random(9)
        for _ in range(30):
            pump = f"ITP40-{rng.randrange(PUMPS):06d}"
            since = START + timedelta(days=rng.randrange(350))
            t0 = time.perf_counter()
            hits = trail.query(pump=pump, since=since, until=since + timedelta(days=7))
            times.append(time.perf_counter() - t0)
            rows += len(hits)
    result = _percentiles(times)
    result["rows_avg"] = rows / len(times)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument(
        "--keep", type=Path, help="folder to keep the big trail in and reuse on later runs"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        report: dict[str, object] = {"append": bench_append(folder, args.appends)}
        big = args.keep if args.keep is not None else folder
        big.mkdir(parents=True, exist_ok=True)
        db, key = big / f"big-{args.records}.sqlite3", big / f"big-{args.records}.key"
        if not db.exists():
            report["build_s"] = round(build_trail(db, key, args.records), 1)
        report["verify"] = bench_verify(db, key)
        report["query_pump_7_days"] = bench_query(db, key)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for name, value in report.items():
        sys.stdout.write(f"{name}: {value}\n")


if __name__ == "__main__":
    main()
