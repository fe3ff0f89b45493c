"""`itp audit verify --clinic URL`: every programmer's chain on the clinic database,
checked against the checkpoints that programmer pushed (programmer/clinic/chain.py).

Per programmer: sequence numbers 1, 2, 3... with no gap or repeat, each record's
prev_mac the previous record's mac, and at every checkpoint the recomputed chain and
the record's mac equal to what the programmer pushed; a checkpoint beyond the last
record means records were cut from the end. With a programmer's audit key, its
records' MACs are checked as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from programmer.clinic import chain as chainmod
from programmer.clinic import pgtext
from programmer.store.audit_chain import FIELDS, GENESIS_MAC, Mac

PAGE = 20_000


@dataclass(frozen=True)
class ChainResult:
    programmer: str
    label: str
    records: int
    checkpoints: int
    ok: bool
    first_bad_seq: int | None = None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "programmer": self.programmer,
            "label": self.label,
            "records": self.records,
            "checkpoints": self.checkpoints,
            "ok": self.ok,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def verify_clinic(
    conn: psycopg.Connection[Any], keys: dict[str, bytes] | None = None
) -> list[ChainResult]:
    """One result per programmer known to the clinic. `keys`: key_id -> audit key."""
    programmers = conn.execute(
        "SELECT id, key_id, label FROM itp.programmers ORDER BY registered_at, id"
    ).fetchall()
    return [
        verify_one(conn, str(pid), str(label), (keys or {}).get(str(key_id)))
        for pid, key_id, label in programmers
    ]


def verify_one(
    conn: psycopg.Connection[Any], origin: str, label: str, key: bytes | None = None
) -> ChainResult:
    checkpoints = {
        int(seq): (str(mac), str(value))
        for seq, mac, value in conn.execute(
            "SELECT seq, mac, chain FROM itp.audit_checkpoints WHERE origin = %s", (origin,)
        ).fetchall()
    }
    mac_of = Mac(key) if key is not None else None
    expected, prev, value, count = 1, GENESIS_MAC, chainmod.GENESIS, 0

    def bad(seq: int, problem: str) -> ChainResult:
        return ChainResult(origin, label, count, len(checkpoints), False, seq, problem)

    after = 0
    cols = ", ".join(FIELDS)
    while True:
        with conn.cursor() as cur:
            raw = cur.execute(
                f"SELECT {cols}, nul_escaped FROM itp.audit WHERE origin = %s AND seq > %s"
                " ORDER BY seq LIMIT %s",
                (origin, after, PAGE),
            ).fetchall()
        rows = [pgtext.decode_row(r[:-1], bool(r[-1])) for r in raw]
        if not rows:
            break
        for row in rows:
            seq = int(row[0])
            if seq != expected:
                return bad(expected, f"record {expected} is missing (next is {seq})")
            if row[11] != prev:
                return bad(seq, f"record {seq} does not link to record {seq - 1}")
            if mac_of is not None and mac_of(row) != row[12]:
                return bad(seq, f"record {seq} does not match its MAC (altered or forged)")
            value = chainmod.extend(value, [row])
            point = checkpoints.get(seq)
            if point is not None and point != (row[12], value):
                return bad(
                    seq,
                    f"the records up to {seq} differ from what the programmer sent"
                    " (a record at or before it was altered, removed or inserted)",
                )
            prev, expected, count = row[12], seq + 1, count + 1
        after = int(rows[-1][0])
    beyond = [s for s in checkpoints if s > count]
    if beyond:
        return bad(count + 1, f"records {count + 1} to {max(beyond)} were removed from the end")
    return ChainResult(origin, label, count, len(checkpoints), True)
