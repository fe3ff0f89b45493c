"""Tamper proof: every mutation of a 10,000-record trail is detected, no clean trail is flagged.

An attacker with a raw connection drops the triggers, then edits a field, deletes,
inserts, swaps, duplicates, re-chains without the key, or truncates. Each mutation is
applied inside a transaction on the real database, verified, and rolled back; a sample
is also committed to a copy and verified from a fresh connection, single-walk and
multi-process. ITP_AUDIT_MUTATIONS (default 1050) and ITP_AUDIT_SEED set the run.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from programmer.store import AuditAction, AuditTrail, Checkpoint, Problem, Store, open_store
from programmer.store.audit_chain import FIELDS, Mac

from .conftest import FakeClock

RECORDS = 10_000
COLUMNS = ", ".join(FIELDS)
Mutation = Callable[[sqlite3.Connection, random.Random, int], int]  # returns first bad seq


def _row(conn: sqlite3.Connection, seq: int) -> list[object]:
    return list(conn.execute(f"SELECT {COLUMNS} FROM audit WHERE seq = ?", (seq,)).fetchone())


def _put(conn: sqlite3.Connection, row: list[object]) -> None:
    conn.execute(f"INSERT INTO audit ({COLUMNS}) VALUES ({', '.join('?' * 13)})", row)


def _changed(value: object, rng: random.Random, field: str) -> object:
    if field in ("seq", "ts_s"):
        assert isinstance(value, int)
        return value + rng.choice([-2, 1, 7, 1000])
    if field in ("mac", "prev_mac"):
        assert isinstance(value, str)
        pos = rng.randrange(64)
        return value[:pos] + ("0" if value[pos] != "0" else "1") + value[pos + 1 :]
    choices: list[object] = [None, "", "x", "phil", "nurse", '{"rate_nl_day":1}']
    if value is not None:
        text = str(value)
        pos = rng.randrange(len(text))
        choices += [text[:pos] + chr(ord(text[pos]) ^ 1) + text[pos + 1 :], text + " "]
    if field in ("ts", "action"):
        choices.remove(None)  # NOT NULL columns
    choices = [c for c in choices if c != value and c != ""]  # "" is stored as NULL
    return rng.choice(choices)


def edit_field(conn: sqlite3.Connection, rng: random.Random, n: int) -> int:
    seq = rng.randint(1, n)
    field = FIELDS[rng.randrange(len(FIELDS))]
    value = _row(conn, seq)[FIELDS.index(field)]
    new = _changed(value, rng, field)
    if field == "seq":
        assert isinstance(new, int)
        if conn.execute("SELECT 1 FROM audit WHERE seq = ?", (new,)).fetchone():
            conn.execute("UPDATE audit SET seq = -1 WHERE seq = ?", (new,))  # make room
            conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (new, seq))
            conn.execute("UPDATE audit SET seq = ? WHERE seq = -1", (seq,))  # a swap
            return min(seq, new)
        conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (new, seq))
        return new if new < 1 else seq  # out of order at the front, else a hole at seq
    conn.execute(f"UPDATE audit SET {field} = ? WHERE seq = ?", (new, seq))
    return seq


def delete(conn: sqlite3.Connection, rng: random.Random, n: int) -> int:
    seq = rng.choice([1, n, rng.randint(1, n)])
    conn.execute("DELETE FROM audit WHERE seq = ?", (seq,))
    return seq


def insert(conn: sqlite3.Connection, rng: random.Random, n: int) -> int:
    """A forged record (no key: a guessed MAC), at the end or shifting the rest up."""
    at = rng.choice([n + 1, rng.randint(1, n)])
    forged = _row(conn, max(1, at - 1))
    forged[0], forged[3], forged[9] = at, "clock_set", "inserted later"
    forged[11] = _row(conn, at - 1)[12] if at > 1 else "0" * 64
    forged[12] = Mac(os.urandom(32))(forged)
    if at <= n:
        conn.execute("UPDATE audit SET seq = -seq WHERE seq >= ?", (at,))
        conn.execute("UPDATE audit SET seq = 1 - seq WHERE seq < 0")
    _put(conn, forged)
    return at


def swap(conn: sqlite3.Connection, rng: random.Random, n: int) -> int:
    i, j = sorted(rng.sample(range(1, n + 1), 2))
    a, b = _row(conn, i), _row(conn, j)
    conn.execute("DELETE FROM audit WHERE seq IN (?, ?)", (i, j))
    _put(conn, [i, *b[1:]])
    _put(conn, [j, *a[1:]])
    return i


def duplicate(conn: sqlite3.Connection, rng: random.Random, n: int) -> int:
    i = rng.randint(1, n - 1)
    copy = _row(conn, i)
    if rng.random() < 0.5:
        _put(conn, [n + 1, *copy[1:]])  # appended again at the end
        return n + 1
    conn.execute("DELETE FROM audit WHERE seq = ?", (i + 1,))
    _put(conn, [i + 1, *copy[1:]])  # over its successor
    return i + 1


def rechain(conn: sqlite3.Connection, rng: random.Random, n: int) -> int:
    """Edit a record, then recompute every later MAC and link with a guessed key."""
    start = rng.randint(1, n)
    fake = Mac(os.urandom(32))
    rows = [
        list(r)
        for r in conn.execute(f"SELECT {COLUMNS} FROM audit WHERE seq >= ? ORDER BY seq", (start,))
    ]
    rows[0][9] = "nothing to see here"
    prev = _row(conn, start - 1)[12] if start > 1 else "0" * 64
    for row in rows:
        row[11] = prev
        row[12] = prev = fake(row)
    conn.executemany(
        "UPDATE audit SET reason = ?, prev_mac = ?, mac = ? WHERE seq = ?",
        [(row[9], row[11], row[12], row[0]) for row in rows],
    )
    return start


def truncate(conn: sqlite3.Connection, rng: random.Random, n: int) -> int:
    keep = rng.choice([0, n - 1, rng.randint(0, n - 1)])
    conn.execute("DELETE FROM audit WHERE seq > ?", (keep,))
    return keep + 1


MUTATIONS: dict[str, Mutation] = {
    "edit": edit_field,
    "delete": delete,
    "insert": insert,
    "swap": swap,
    "duplicate": duplicate,
    "rechain": rechain,
    "truncate": truncate,
}


def _build(tmp_path: Path, seed: int) -> tuple[Path, Path, Checkpoint]:
    db, key = tmp_path / "itp.sqlite3", tmp_path / "audit.key"
    rng = random.Random(seed)
    clock = FakeClock()
    with open_store(db, clock=clock) as store:
        trail = AuditTrail.open(store, key)
        actions = list(AuditAction)
        with store.write():  # one transaction: the real append path, built fast
            for i in range(RECORDS):
                clock.advance(seconds=rng.randint(0, 600))
                trail.append(
                    rng.choice(actions),
                    account=rng.choice(["phil", "nina", "root", "zoë", None]),
                    role=rng.choice(["physician", "nurse", "admin", None]),
                    pump_serial=rng.choice([f"ITP40-{rng.randrange(50):06d}", None]),
                    before=rng.choice([None, {"rate_nl_day": i, "note": 'µ, "q"\n'}]),
                    after=rng.choice([None, {"rate_nl_day": i + 1}]),
                    reason=rng.choice([None, f"reason {i}", "line\nbreak, comma"]),
                    outcome=rng.choice([None, "applied", "uncertain"]),
                )
        point = trail.checkpoint()
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db, key, point


def _raw(store: Store) -> sqlite3.Connection:
    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    return conn


SEED = int(os.environ.get("ITP_AUDIT_SEED", random.randrange(2**32)))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Checkpoint]:
    """One trail for both tests; the first rolls every mutation back, the second copies."""
    return _build(tmp_path_factory.mktemp("tamper"), SEED)


@pytest.mark.slow
def test_every_mutation_is_detected_and_clean_trails_never_flagged(
    built: tuple[Path, Path, Checkpoint],
) -> None:
    total = int(os.environ.get("ITP_AUDIT_MUTATIONS", 1050))
    seed = SEED
    rng = random.Random(seed)
    db, key, point = built
    names = list(MUTATIONS)
    detected = {name: 0 for name in names}
    clean_checks = 0
    with open_store(db) as store:
        trail = AuditTrail.open(store, key)
        assert trail.verify(point).ok
        for k in range(total):
            name = names[k % len(names)]
            conn = _raw(store)
            try:
                expected_bad = MUTATIONS[name](conn, rng, RECORDS)
                result = trail.verify(point)
            finally:
                conn.execute("ROLLBACK")
            note = f"seed {seed}, mutation {k} ({name}): {result}"
            assert not result.ok, note
            assert result.first_bad_seq == expected_bad, note
            if name == "truncate":
                assert result.problem is Problem.TRUNCATED, note
            detected[name] += 1
            if k % 50 == 0:
                clean = trail.verify(point)
                assert clean.ok and clean.records == RECORDS, f"seed {seed}: clean trail flagged"
                clean_checks += 1
        assert trail.verify(point).ok
    assert sum(detected.values()) == total >= 1000 or "ITP_AUDIT_MUTATIONS" in os.environ
    print(
        f"tamper test: seed {seed}, {total} mutations of a {RECORDS}-record trail, each found"
        f" at its first bad record: {detected}; the untouched trail verified {clean_checks}"
        " times between them, never flagged"
    )


@pytest.mark.slow
def test_committed_mutations_are_detected_from_a_fresh_connection(
    built: tuple[Path, Path, Checkpoint], tmp_path: Path
) -> None:
    seed = SEED
    rng = random.Random(seed + 1)
    db, key, point = built
    for name, mutate in MUTATIONS.items():
        copy = tmp_path / f"{name}.sqlite3"
        shutil.copy(db, copy)
        conn = sqlite3.connect(copy, isolation_level=None)
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute("BEGIN")
        expected_bad = mutate(conn, rng, RECORDS)
        conn.execute("COMMIT")
        conn.close()
        with open_store(copy, create=False) as store:
            trail = AuditTrail.open(store, key)
            single = trail.verify(point, workers=1)
            multi = trail.verify(point, workers=2)
        assert not single.ok and single.first_bad_seq == expected_bad, f"seed {seed} {name}"
        assert (multi.ok, multi.first_bad_seq, multi.problem, multi.records) == (
            single.ok,
            single.first_bad_seq,
            single.problem,
            single.records,
        ), f"seed {seed} {name}: {multi} != {single}"
    with open_store(db, create=False) as store:
        trail = AuditTrail.open(store, key)
        assert trail.verify(point, workers=1).ok
        assert trail.verify(point, workers=2).records == RECORDS
