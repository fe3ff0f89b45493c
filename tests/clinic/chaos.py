"""Three programmers syncing with one clinic at once, through a fault proxy, some of them
killed with SIGKILL mid-sync; then every programmer's chain must be whole on the server,
nothing twice, nothing lost. Used by tests/clinic (a short run) and
reliability/clinic_sync.py (1,000 rounds and more).

Each round every programmer first does some work locally (audit records, its pump's
events and hours, a visit started or ended, now and then an account disabled or
enabled; patients added and edited, the same patient on two programmers offline, and
constant-flow refills: tests/clinic/chaos_patients.py), then all three sync at once, each in its own process through the proxy; a
share of them are killed at a random moment. At the end each syncs once more with no
faults, twice, and everything is compared.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from programmer.clinic.connection import parse_url
from programmer.clinic.run import run_sync
from programmer.clinic.verify import verify_clinic
from programmer.store import Accounts, AuditTrail, Principal, Records, Role, open_store
from programmer.store.records import InfusionHour, PumpEvent
from tests.clinic.chaos_patients import check_patients, patient_work
from tests.clinic.tcpfaults import ByteFaultProxy, Faults
from tests.clinic.visitdb import FAST_HASHER, make_visit_db

ROOT = Path(__file__).resolve().parents[2]
CHILD = "from tests.clinic.chaos import child; child()"


def child() -> None:
    """A programmer's sync process: argv = db, key, url, batch; one sync per input line,
    answered "ok" or "failed" (the parent kills it mid-sync now and then)."""
    db, key, url = sys.argv[1:4]
    for _ in sys.stdin:
        try:
            run_sync(Path(db), Path(key), parse_url(url), audit_batch=int(sys.argv[4]))
            answer = "ok"
        except Exception as exc:  # the parent counts; the next line tries again
            answer = f"failed {type(exc).__name__}"
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()


@dataclass
class Counts:
    rounds: int = 0
    syncs: int = 0
    finished: int = 0
    failed: int = 0
    killed: int = 0
    audit_records: int = 0
    history_rows: int = 0
    row_versions: int = 0
    patients: dict[str, int] = field(default_factory=dict)  # rows compared, by kind
    problems: list[str] = field(default_factory=list)
    proxy: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Programmer:
    db: Path
    key: Path
    serial: str
    next_seq: int
    hour: datetime
    patients_added: int = 0


def _work(p: Programmer, rng: random.Random) -> None:
    store = open_store(p.db, create=False)
    try:
        trail = AuditTrail.open(store, p.key)
        records = Records(store, trail)
        accounts = Accounts(store, trail, FAST_HASHER)
        for _ in range(rng.randrange(1, 12)):
            trail.append("interrogated", account="dr.lee", role="physician", pump_serial=p.serial,
                         after={"reservoir_nl": rng.randrange(10**8)}, outcome="ok")  # fmt: skip
        events = [
            PumpEvent(p.next_seq + i, p.hour + timedelta(minutes=i), "bolus_completed",
                      {"kind": "patient", "volume_nl": 1000})
            for i in range(rng.randrange(0, 30))
        ]  # fmt: skip
        if events:
            records.save_events(p.serial, events)
            p.next_seq += len(events)
        hours = [
            InfusionHour(p.hour + timedelta(hours=i), rng.randrange(5000), {"basal_nl": 1})
            for i in range(rng.randrange(0, 48))
        ]
        if hours:
            records.save_infusion_hours(p.serial, hours)
            p.hour += timedelta(hours=len(hours))
        me = Principal("dr.lee", Role.PHYSICIAN)  # signed in once at the start
        if rng.random() < 0.5:
            records.start_visit(p.serial, me)
        else:
            open_ids = store.query("SELECT id FROM visits WHERE ended_s IS NULL")
            if open_ids:
                records.end_visit(int(open_ids[0][0]))
        if rng.random() < 0.1:
            admin = accounts.sign_in("admin", "admin-password")
            enabled = store.query("SELECT enabled FROM accounts WHERE name = 'nurse.kim'")
            if enabled and enabled[0][0]:
                accounts.disable("nurse.kim", actor=admin, reason="chaos")
            elif enabled:
                accounts.enable("nurse.kim", actor=admin, reason="chaos")
        patient_work(p, store, trail, rng)
    finally:
        store.close()


def _spawn(p: Programmer, url: str, batch: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(p.db), str(p.key), url, str(batch)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )


def _close(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def _round(
    procs: list[subprocess.Popen[str]], kills: list[float | None], counts: Counts
) -> list[bool]:
    """One sync by each process at once; returns which processes were killed."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("sync\n")
        proc.stdin.flush()
    start = time.monotonic()
    done = [False] * len(procs)
    killed = [False] * len(procs)
    waiting = {proc.stdout.fileno(): i for i, proc in enumerate(procs) if proc.stdout}
    while waiting and time.monotonic() - start < 120:
        ready, _, _ = select.select(list(waiting), [], [], 0.005)
        for fd in ready:
            i = waiting.pop(fd)
            line = procs[i].stdout.readline() if procs[i].stdout else ""
            done[i] = True
            counts.syncs += 1
            if line.startswith("ok"):
                counts.finished += 1
            else:
                counts.failed += 1
        for fd, i in list(waiting.items()):
            at = kills[i]
            if at is not None and time.monotonic() - start >= at:
                procs[i].send_signal(signal.SIGKILL)
                procs[i].wait()
                killed[i] = True
                counts.syncs += 1
                counts.killed += 1
                del waiting[fd]
    for fd, i in waiting.items():  # stuck past two minutes: a failure of its own
        procs[i].kill()
        procs[i].wait()
        killed[i] = True
        counts.syncs += 1
        counts.failed += 1
        counts.problems.append(f"a sync hung for 2 minutes (fd {fd})")
    return killed


def run_chaos(
    pg_host: str,
    pg_port: int,
    sync_url_for: Any,
    workdir: Path,
    *,
    rounds: int,
    seed: int,
    p_kill: float = 0.2,
    kill_within_s: float = 0.3,
    faults: Faults | None = None,
    audit_batch: int = 16,
    deadline_s: float | None = None,
    progress: Any = None,
) -> Counts:
    """Runs `rounds` rounds, or fewer when `deadline_s` (seconds from now) comes first;
    the checks at the end run either way, and `rounds` in the result says how many ran."""
    """`sync_url_for(host, port)`: the sync role's URL through a given address."""
    rng = random.Random(seed)
    counts = Counts()
    started = time.perf_counter()
    programmers = []
    for i in range(3):
        folder = workdir / f"p{i}"
        folder.mkdir()
        serial = f"ITP40-{100 + i:06d}"
        db, key, _ = make_visit_db(folder, serial=serial)
        store = open_store(db, create=False)
        trail = AuditTrail.open(store, key)
        accounts = Accounts(store, trail, FAST_HASHER)
        if i == 0:
            accounts.add(
                "nurse.kim",
                "nurse",
                "nurse-password",
                actor=accounts.sign_in("admin", "admin-password"),
            )
        last = store.query("SELECT coalesce(max(seq), 0) FROM pump_events")[0][0]
        store.close()
        programmers.append(
            Programmer(db, key, serial, int(last) + 1, datetime(2026, 1, 1, tzinfo=UTC))
        )
    proxy = ByteFaultProxy((pg_host, pg_port), faults or Faults(), seed)
    url = sync_url_for("127.0.0.1", proxy.port)
    procs = [_spawn(p, url, audit_batch) for p in programmers]
    try:
        for _ in range(rounds):
            if deadline_s is not None and time.perf_counter() - started > deadline_s:
                break
            counts.rounds += 1
            if progress is not None and counts.rounds % 50 == 0:
                progress(counts)
            for p in programmers:
                _work(p, rng)
            kills = [rng.random() * kill_within_s if rng.random() < p_kill else None for _ in procs]
            killed = _round(procs, kills, counts)
            for i, was in enumerate(killed):
                if was:
                    _close(procs[i])
                    procs[i] = _spawn(programmers[i], url, audit_batch)
        proxy.enabled = False
        direct = sync_url_for(pg_host, pg_port)
        for _ in range(2):  # twice: the second must find nothing left to do
            for p in programmers:
                run_sync(p.db, p.key, parse_url(direct))
        for p in programmers:
            report = run_sync(p.db, p.key, parse_url(direct))
            if any(report.pushed.values()) or any(report.pulled.values()):
                counts.problems.append(
                    f"{p.serial}: a sync after a whole sync still moved {report.as_json()}"
                )
        _check(programmers, direct, counts)
    finally:
        for proc in procs:
            _close(proc)
        proxy.close()
        counts.proxy = dict(proxy.faults.counts)
        counts.seconds = time.perf_counter() - started
    return counts


def _check(programmers: list[Programmer], url: str, counts: Counts) -> None:
    with psycopg.connect(url) as conn:
        results = verify_clinic(conn)
        for r in results:
            if not r.ok:
                counts.problems.append(
                    f"chain {r.programmer[:8]} broken at {r.first_bad_seq}: {r.problem}"
                )
        if len(results) != len(programmers):
            counts.problems.append(
                f"{len(results)} programmers on the clinic, expected {len(programmers)}"
            )
        for p in programmers:
            with open_store(p.db, create=False) as store:
                origin = store.query("SELECT value FROM clinic_meta WHERE key = 'programmer_id'")[
                    0
                ][0]
                local = [tuple(r) for r in store.query("SELECT * FROM audit ORDER BY seq")]
                server = [
                    tuple(r)
                    for r in conn.execute(
                        "SELECT seq, ts, ts_s, action, account, role, pump_serial, before, after,"
                        " reason, outcome, prev_mac, mac FROM itp.audit WHERE origin = %s ORDER BY seq",
                        (origin,),
                    ).fetchall()
                ]
                if local != server:
                    counts.problems.append(
                        f"{p.serial}: audit differs ({len(local)} here, {len(server)} on the clinic)"
                    )
                counts.audit_records += len(server)
                # Every pulled row sealed with this programmer's key and every pulled account
                # change in its chain, whatever was killed or cut mid-sync.
                local_check = AuditTrail.open(store, p.key).verify()
                if not local_check.ok:
                    counts.problems.append(f"{p.serial}: local verify: {local_check.message}")
                for table, key in (("pump_events", "seq"), ("infusion_hours", "hour_s")):
                    mine = sorted(tuple(r) for r in store.query(
                        f"SELECT pump_serial, {key} FROM {table}"))  # fmt: skip
                    theirs = sorted(tuple(r) for r in conn.execute(
                        f"SELECT pump_serial, {key} FROM itp.{table}").fetchall())  # fmt: skip
                    if mine != theirs:
                        counts.problems.append(f"{p.serial}: {table} differ from the clinic's")
                twice = conn.execute(
                    "SELECT count(*) FROM (SELECT sha, lag(sha) OVER (PARTITION BY kind, local_id"
                    " ORDER BY oseq) AS before FROM itp.row_versions WHERE origin = %s) v"
                    " WHERE sha = before",
                    (origin,),
                ).fetchone()
                if twice and twice[0]:
                    counts.problems.append(f"{p.serial}: {twice[0]} versions sent twice")
                for kind in ("visits",):
                    local_rows = len(store.query(f"SELECT id FROM {kind}"))
                    server_rows = conn.execute(
                        "SELECT count(DISTINCT local_id) FROM itp.row_versions WHERE origin = %s AND kind = %s",
                        (origin, kind),
                    ).fetchone()
                    if server_rows is None or server_rows[0] != local_rows:
                        counts.problems.append(
                            f"{p.serial}: {kind} {local_rows} here, {server_rows} on the clinic"
                        )
                enabled = store.query("SELECT enabled FROM accounts WHERE name = 'nurse.kim'")
                counts.row_versions = int(
                    conn.execute("SELECT count(*) FROM itp.row_versions").fetchone()[0]
                )  # type: ignore[index]
                p_enabled = enabled[0][0] if enabled else None
                if p is not programmers[0]:
                    with open_store(programmers[0].db, create=False) as first:
                        want = first.query("SELECT enabled FROM accounts WHERE name = 'nurse.kim'")[
                            0
                        ][0]
                    if p_enabled != want:
                        counts.problems.append(
                            f"{p.serial}: nurse.kim enabled={p_enabled}, first programmer {want}"
                        )
        counts.patients = check_patients(programmers, conn, counts.problems)
        counts.history_rows = int(
            conn.execute(
                "SELECT (SELECT count(*) FROM itp.pump_events) + (SELECT count(*) FROM itp.infusion_hours)"
            ).fetchone()[0]  # type: ignore[index]
        )
