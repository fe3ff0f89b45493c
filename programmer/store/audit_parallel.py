"""Verifying a large trail on several cores: each process checks a run of records.

Only the MACs are costly and each covers one record, so runs can be checked apart and
then linked: run k's first prev_mac must be run k-1's last MAC. Gives the same answer
as the single walk (tests/store/test_store_tamper.py compares the two).
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from programmer.store.audit_chain import FIELDS, GENESIS_MAC, Problem, Walk, walk

_SELECT = f"SELECT {', '.join(FIELDS)} FROM audit"


def walk_range(path: str, key: bytes, lo: int, hi: int, first: bool, last: bool) -> Walk:
    """Walk seq lo..hi; the first run also takes anything below, the last anything above."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        if first and last:
            cursor = conn.execute(f"{_SELECT} ORDER BY seq")
        elif first:
            cursor = conn.execute(f"{_SELECT} WHERE seq <= ? ORDER BY seq", (hi,))
        elif last:
            cursor = conn.execute(f"{_SELECT} WHERE seq >= ? ORDER BY seq", (lo,))
        else:
            cursor = conn.execute(f"{_SELECT} WHERE seq BETWEEN ? AND ? ORDER BY seq", (lo, hi))
        return walk(
            cursor,
            key,
            expected=1 if first else lo,
            prev=GENESIS_MAC if first else None,
        )
    finally:
        conn.close()


def walk_parallel(path: Path, key: bytes, max_seq: int, workers: int) -> Walk:
    """Walk records 1..max_seq (and any stray ones) in `workers` processes."""
    step = -(-max_seq // workers)
    bounds = [(lo, min(lo + step - 1, max_seq)) for lo in range(1, max_seq + 1, step)]
    # spawn, not fork: the caller may have threads (Qt) and an open connection.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(bounds), mp_context=context) as pool:
        futures = [
            pool.submit(walk_range, str(path), key, lo, hi, i == 0, i == len(bounds) - 1)
            for i, (lo, hi) in enumerate(bounds)
        ]
        runs = [future.result() for future in futures]
    total = 0
    prev = GENESIS_MAC
    for i, ((lo, hi), run) in enumerate(zip(bounds, runs, strict=True)):
        if i > 0 and run.first_prev is not None and run.first_prev != prev:
            return Walk(
                total,
                None,
                prev,
                lo,
                Problem.BROKEN_LINK,
                f"record {lo} does not follow record {lo - 1}",
            )
        total += run.count
        if run.problem is not None:
            return Walk(total, None, run.last_mac or prev, run.bad_seq, run.problem, run.message)
        if i < len(bounds) - 1 and run.count != hi - lo + 1:
            missing = lo + run.count
            return Walk(total, None, run.last_mac or prev, missing, Problem.MISSING,
                        f"record {missing} missing (deleted?)")  # fmt: skip
        prev = run.last_mac or prev
    return Walk(total, None, prev)
