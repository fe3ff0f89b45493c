"""`itp gui --offline --clinic URL`: the review app on the clinic database, read-only.

The review screens read an itp SQLite store, so the clinic's records are read through
the review role (SELECT only; the session is also set read-only) into a new store in a
private temporary folder, which the app then opens read-only, as it opens any copy:

- accounts: each account's latest clinic version (a nurse signs in with her clinic
  password; nothing is counted: review sign-in writes nothing);
- pumps and the whole pump history of every pump;
- visits, prescriptions sent and refills of every programmer (ids renumbered, since each
  programmer counts from 1; `clinic_rows` keeps each row's programmer and own id);
- the audit trail of one programmer in `audit` (the audit screen shows one chain; choose
  it with `programmer`, default the one with the most records). Every chain is verified
  with `itp audit verify --clinic URL`.

Nothing is written to the clinic: the connection is read-only and the role can only
SELECT (refused otherwise, so a writable login is never used for review by mistake).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from programmer.clinic import local_state
from programmer.clinic.connection import ClinicUrl, connect
from programmer.clinic.errors import ClinicError
from programmer.clinic.tables import ACCOUNTS, OWNED
from programmer.store import open_store
from programmer.store.audit_chain import FIELDS

PAGE = 50_000
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReviewCopy:
    db: Path
    programmer: str | None  # whose trail is in `audit`
    label: str | None


def _check_read_only(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(
        "SELECT has_table_privilege(current_user, 'itp.audit', 'INSERT')"
        " OR has_table_privilege(current_user, 'itp.pumps', 'UPDATE')"
    ).fetchone()
    if row is None or row[0]:
        raise ClinicError(
            "this login can write to the clinic database; review uses the clinic's read-only"
            " review login (ask the clinic's administrator for it)"
        )


def _copy(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    with conn.cursor() as cur:
        cur.execute(query, params)
        while rows := cur.fetchmany(PAGE):
            yield from rows


def mirror(
    url: ClinicUrl, folder: Path | None = None, *, programmer: str | None = None,
    progress: Progress | None = None,
) -> ReviewCopy:  # fmt: skip
    say = progress or (lambda _: None)
    where = folder or Path(tempfile.mkdtemp(prefix="itp-clinic-review-"))
    db = where / "clinic-review.sqlite3"
    with connect(url) as conn:
        conn.read_only = True
        _check_read_only(conn)
        store = open_store(db, create=True)
        try:
            local_state.ensure(store, heads=False)
            say("accounts")
            states = [
                json.loads(s)
                for (s,) in conn.execute(
                    "SELECT DISTINCT ON (key) state FROM itp.shared_versions WHERE kind = 'accounts'"
                    " ORDER BY key, version DESC"
                ).fetchall()
            ]
            cols = ", ".join(ACCOUNTS.fields)
            marks = ", ".join("?" for _ in ACCOUNTS.fields)
            with store.write() as lconn:
                lconn.executemany(
                    f"INSERT INTO accounts ({cols}) VALUES ({marks})",
                    [tuple(s[f] for f in ACCOUNTS.fields) for s in states],
                )
                say("pumps")
                lconn.executemany(
                    "INSERT INTO pumps VALUES (?, ?, ?, ?, ?, ?, ?)",
                    _copy(
                        conn,
                        "SELECT serial, model, info, first_seen_at, first_seen_s,"
                        " last_seen_at, last_seen_s FROM itp.pumps",
                    ),
                )
                say("pump history")
                lconn.executemany(
                    "INSERT INTO pump_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                    _copy(
                        conn,
                        "SELECT pump_serial, seq, at, at_s, kind, data, read_at"
                        " FROM itp.pump_events ORDER BY pump_serial, seq",
                    ),
                )
                lconn.executemany(
                    "INSERT INTO infusion_hours VALUES (?, ?, ?, ?, ?, ?)",
                    _copy(
                        conn,
                        "SELECT pump_serial, hour_s, hour_at, volume_nl, data, read_at"
                        " FROM itp.infusion_hours ORDER BY pump_serial, hour_s",
                    ),
                )
                say("visits, prescriptions, refills")
                _owned(conn, lconn)
                label = None
                if programmer is None:
                    row = conn.execute(
                        "SELECT origin FROM itp.audit_checkpoints GROUP BY origin"
                        " ORDER BY max(seq) DESC, origin LIMIT 1"
                    ).fetchone()
                    programmer = None if row is None else str(row[0])
                if programmer is not None:
                    found = conn.execute(
                        "SELECT id, key_id, label FROM itp.programmers WHERE id LIKE %s || '%%'"
                        " ORDER BY id",
                        (programmer,),
                    ).fetchall()
                    if len(found) != 1:
                        raise ClinicError(
                            f"no single programmer's id starts with {programmer!r} on the clinic"
                        )
                    programmer, key_id, label = str(found[0][0]), found[0][1], found[0][2]
                    say(f"audit trail of {label}")
                    lconn.execute("INSERT INTO meta VALUES ('audit_key_id', ?)", (key_id,))
                    lconn.executemany(
                        f"INSERT INTO audit ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
                        _copy(
                            conn,
                            f"SELECT {', '.join(FIELDS)} FROM itp.audit WHERE origin = %s"
                            " ORDER BY seq",
                            (programmer,),
                        ),
                    )
        finally:
            store.close()
    db.chmod(0o400)
    return ReviewCopy(db, programmer, label)


def _owned(conn: psycopg.Connection[Any], lconn: Any) -> None:
    """Every programmer's rows, renumbered; visit ids inside rows follow their visit."""
    rows = conn.execute(
        "SELECT DISTINCT ON (origin, kind, local_id) origin, kind, local_id, oseq, content"
        " FROM itp.row_versions ORDER BY origin, kind, local_id, oseq DESC"
    ).fetchall()
    order = {spec.kind: i for i, spec in enumerate(OWNED)}
    rows.sort(key=lambda r: (order.get(r[1], 99), r[0], r[2]))
    visit_ids: dict[tuple[str, int], int] = {}
    next_id = {spec.kind: 1 for spec in OWNED}
    for origin, kind, local_id, oseq, content in rows:
        spec = next(s for s in OWNED if s.kind == kind)
        values = json.loads(content)
        new_id = next_id[kind]
        next_id[kind] += 1
        if kind == "visits":
            visit_ids[(origin, int(local_id))] = new_id
        elif values.get("visit_id") is not None:
            values["visit_id"] = visit_ids.get((origin, int(values["visit_id"])))
        values["id"] = new_id
        cols = ", ".join(spec.columns)
        lconn.execute(
            f"INSERT INTO {kind} ({cols}) VALUES ({', '.join('?' for _ in spec.columns)})",
            tuple(values.get(c) for c in spec.columns),
        )
        lconn.execute(
            "INSERT INTO clinic_rows VALUES (?, ?, ?, ?, ?)",
            (kind, origin, int(local_id), int(oseq), json.dumps({"review_id": new_id})),
        )
