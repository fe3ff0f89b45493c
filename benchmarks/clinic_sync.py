"""Clinic sync at clinic size: 20 programmers, each with 100,000 audit records and 5 years
of one pump (43,800 infusion hours and 20,000 events), on a PostgreSQL server this
script starts itself.

Figures: the first sync of each programmer (in turn: each later one also receives the
pumps of the earlier ones); a day's incremental sync of each (a day's work: 300 audit
records, 24 hours, 20 events, then every programmer syncs once); the review's first
window on the clinic database against the same review on a local SQLite file.
Targets: a day's sync under 1 s; review first paint within 2x the local one.
Floors measured in the same run: a bare connect + SELECT 1 for the sync, the local
review for the clinic review.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/clinic_sync.py [--programmers 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

from programmer.clinic import server_schema  # noqa: E402
from programmer.clinic.connection import connect, parse_url  # noqa: E402
from programmer.clinic.run import run_sync  # noqa: E402
from programmer.store import Accounts, AuditTrail, Role, open_store  # noqa: E402
from programmer.store.audit_chain import FIELDS, Mac, canonical_json  # noqa: E402
from programmer.store.clock import utc_seconds, utc_text  # noqa: E402
from programmer.store.review import backup  # noqa: E402
from tests.clinic.pgserver import ADMIN, ADMIN_PASSWORD, running_server  # noqa: E402

HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
START = datetime(2021, 1, 1, tzinfo=UTC)
HOURS = 5 * 8760  # --years changes these (a scaled-down run says so in its output)
EVENTS = 20_000
GUI_TIMEOUT_S = 300


def _append_bulk(store, trail, n: int, at: datetime, serial: str) -> None:  # type: ignore[no-untyped-def]
    """n audit records with real MACs, in one transaction (as n appends would leave them)."""
    mac = Mac(trail._key)  # the benchmark writes as append would, in bulk
    with store.write() as conn:
        head = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (head[0], head[1]) if head else (0, "0" * 64)
        rows = []
        for i in range(n):
            seq += 1
            moment = at + timedelta(seconds=i * 7)
            after = canonical_json({"reservoir_nl": 10_000_000 + i, "delivering": "basal"})
            row = (seq, utc_text(moment), utc_seconds(moment), "interrogated", "dr.lee",
                   "physician", serial, None, after, None, "ok", prev)  # fmt: skip
            prev = mac(row)
            rows.append((*row, prev))
        conn.executemany(
            f"INSERT INTO audit ({', '.join(FIELDS)}) VALUES ({', '.join('?' * 13)})", rows
        )


def _history(store, sealer, serial: str, hours: range, events: range) -> None:  # type: ignore[no-untyped-def]
    """Rows as Records writes them: each sealed with the programmer's audit key."""
    read_at = utc_text(datetime.now(UTC))
    hour_rows = (
        (serial, utc_seconds(START) + h * 3600, utc_text(START + timedelta(hours=h)),
         4000 + h % 97, '{"basal_nl":4000}')
        for h in hours
    )  # fmt: skip
    event_rows = (
        (serial, e, (START + timedelta(hours=e * 2)).isoformat(), utc_seconds(START) + e * 7200,
         "bolus_completed", '{"kind":"patient","volume_nl":1000}')
        for e in events
    )  # fmt: skip
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO infusion_hours (pump_serial, hour_s, hour_at, volume_nl, data, read_at,"
            " seal) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((*r, read_at, sealer.seal("infusion_hours", r)) for r in hour_rows),
        )
        conn.executemany(
            "INSERT INTO pump_events (pump_serial, seq, at, at_s, kind, data, read_at, seal)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((*r, read_at, sealer.seal("pump_events", r)) for r in event_rows),
        )


def build(folder: Path, i: int, records: int) -> tuple[Path, Path, str]:
    db, key, serial = folder / "itp.sqlite3", folder / "audit.key", f"ITP40-{i:06d}"
    store = open_store(db, create=True)
    trail = AuditTrail.open(store, key)
    accounts = Accounts(store, trail, HASHER)
    accounts.add("admin", Role.ADMIN, "admin-password", actor=None)
    accounts.add(
        "dr.lee",
        Role.PHYSICIAN,
        "doctor-password",
        actor=accounts.sign_in("admin", "admin-password"),
    )
    with store.write() as conn:
        t = utc_text(START)
        conn.execute("INSERT INTO pumps VALUES (?, 'ITP-40', NULL, ?, ?, ?, ?)",
                     (serial, t, utc_seconds(START), t, utc_seconds(START)))  # fmt: skip
    _append_bulk(store, trail, records - 4, START, serial)
    _history(store, trail.sealer, serial, range(HOURS), range(1, EVENTS + 1))
    store.close()
    return db, key, serial


def a_day(db: Path, key: Path, serial: str, day: int) -> None:
    store = open_store(db, create=False)
    trail = AuditTrail.open(store, key)
    _append_bulk(store, trail, 300, START + timedelta(days=1826 + day), serial)
    _history(store, trail.sealer, serial, range(HOURS + 24 * day, HOURS + 24 * (day + 1)),
             range(EVENTS + 1 + 20 * day, EVENTS + 1 + 20 * (day + 1)))  # fmt: skip
    store.close()


def gui_first_window(args: list[str], runs: int = 3) -> float:
    env = {**os.environ, "ITP_EXIT_WHEN_SHOWN": "1", "PYTHONPATH": str(ROOT),
           "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}  # fmt: skip
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        try:  # never waits for a click: a window left open fails the run, it does not hang it
            done = subprocess.run(
                [sys.executable, "-m", "programmer.cli", "gui", "--offline", *args], env=env,
                cwd=ROOT, check=False, capture_output=True, text=True, timeout=GUI_TIMEOUT_S,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(
                f"the review window did not close within {GUI_TIMEOUT_S} s (a modal window"
                f" waiting for a click?): {str(exc.stderr or '')[-2000:]}"
            ) from None
        if done.returncode != 0:
            raise RuntimeError(f"the review did not start: {done.stderr[-2000:]}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--programmers", type=int, default=20)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--years", type=int, default=5, help="of pump history per programmer")
    args = ap.parse_args()
    global HOURS, EVENTS
    HOURS, EVENTS = args.years * 8760, args.years * 4000
    work = Path(tempfile.mkdtemp(prefix="itp-clinic-bench-"))
    with running_server() as server:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE clinic")
        with psycopg.connect(server.url(ADMIN, "clinic", ADMIN_PASSWORD), autocommit=True) as conn:
            server_schema.install(conn)
            server_schema.create_roles(conn, sync_role="itp_sync", sync_password="sync-pw",
                                       review_role="itp_review", review_password="review-pw")  # fmt: skip
        url = parse_url(f"postgresql://itp_sync:sync-pw@{server.host}:{server.port}/clinic")
        review_url = f"postgresql://itp_review:review-pw@{server.host}:{server.port}/clinic"
        t0 = time.perf_counter()
        progs = []
        for i in range(args.programmers):
            folder = work / f"p{i:02d}"
            folder.mkdir()
            progs.append(build(folder, i + 1, args.records))
        print(f"built {len(progs)} programmers x {args.records:,} audit records, {HOURS:,} hours,"
              f" {EVENTS:,} events in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        floor_times = []
        for _ in range(5):
            t = time.perf_counter()
            with connect(url, autocommit=True) as conn:
                conn.execute("SELECT 1")
            floor_times.append(time.perf_counter() - t)
        floor = statistics.median(floor_times)
        first = []
        for db, key, _ in progs:
            t = time.perf_counter()
            run_sync(db, key, url)
            first.append(time.perf_counter() - t)
        print(f"first sync: median {statistics.median(first):.2f} s, first programmer"
              f" {first[0]:.2f} s, last {first[-1]:.2f} s (it receives {len(progs) - 1} pumps),"
              f" all {sum(first):.0f} s")  # fmt: skip
        catch_up = []
        for db, key, _ in progs[:-1]:  # the earlier ones receive the later ones' pumps
            t = time.perf_counter()
            run_sync(db, key, url)
            catch_up.append(time.perf_counter() - t)
        print(
            f"second sync (receiving the pumps of those that synced later): median"
            f" {statistics.median(catch_up):.2f} s"
        )
        for day in range(2):
            for db, key, serial in progs:
                a_day(db, key, serial, day)
            daily = []
            for db, key, _ in progs:
                t = time.perf_counter()
                run_sync(db, key, url)
                daily.append(time.perf_counter() - t)
            print(f"a day's sync (day {day + 1}): median {statistics.median(daily) * 1000:.0f} ms,"
                  f" max {max(daily) * 1000:.0f} ms ({statistics.median(daily) / floor:.0f}x a bare"
                  f" connect + SELECT 1 of {floor * 1000:.1f} ms); target < 1 s:"
                  f" {'met' if max(daily) < 1 else 'NOT met'}")  # fmt: skip
        # The nurse reviews a copy made with `itp backup` (one self-contained file): the
        # programmer's own live file, closed, is in WAL mode without its -wal, which the
        # review rightly warns about in a window that waits for a click.
        local_copy = work / "local-review.sqlite3"
        with open_store(progs[0][0], create=False) as store:
            backup(store, local_copy)
        local = gui_first_window(["--db", str(local_copy), "--audit-key", str(progs[0][1])])
        clinic = gui_first_window(["--clinic", review_url], runs=2)
        print(
            f"review first window: local SQLite {local:.2f} s, clinic {clinic:.2f} s"
            f" ({clinic / local:.1f}x); target within 2x: {'met' if clinic <= 2 * local else 'NOT met'}"
        )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
