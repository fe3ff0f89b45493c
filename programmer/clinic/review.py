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

The app reads a store whose sealed rows (accounts, history, prescriptions, refills) it
checks against their seals, and the clinic holds no seals (each programmer seals with
its own key). So the copy is sealed with a key of its own, made for it and kept beside
it (`ReviewCopy.key`, 0600): the app opens the copy with that key. Those seals say only
that a row is as it was copied from the clinic; the programmers' chains are verified
with `itp audit verify --clinic URL`, never with this key.

Nothing is written to the clinic: the connection is read-only and the role can only
SELECT (refused otherwise, so a writable login is never used for review by mistake).
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from programmer.clinic import local_state, patients_sync, pgtext
from programmer.clinic.connection import ClinicUrl, connect
from programmer.clinic.errors import ClinicError
from programmer.clinic.tables import ACCOUNTS, OWNED
from programmer.store import StoreError, open_store
from programmer.store.audit import REVIEW_AUDIT_PENDING
from programmer.store.audit_chain import FIELDS
from programmer.store.audit_key import create_key
from programmer.store.review import fill_on_demand
from programmer.store.seals import SEALED, Sealer

PAGE = 50_000
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReviewCopy:
    db: Path
    programmer: str | None  # whose trail is in `audit`
    label: str | None
    key: Path  # the key the copy's rows are sealed with: open the copy with it
    pending: LazyHistory | None = None  # lazy: fetches each pump's history when first read


_HISTORY_COLS = {
    "pump_events": ("pump_serial", "seq", "at", "at_s", "kind", "data", "read_at"),
    "infusion_hours": ("pump_serial", "hour_s", "hour_at", "volume_nl", "data", "read_at"),
}
_PUMP_COLS = ("serial", "model", "info", "first_seen_at", "first_seen_s", "last_seen_at",
              "last_seen_s")  # fmt: skip


def _insert(table: str, columns: tuple[str, ...], sealed: bool) -> str:
    """An INSERT naming its columns (the store's tables grow: seals came in schema 2)."""
    names = (*columns, "seal") if sealed else columns
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def _with_seals(
    sealer: Sealer, table: str, columns: tuple[str, ...], rows: Iterable[Sequence[Any]]
) -> Iterator[tuple[Any, ...]]:
    """Each row (in `columns` order) with its seal appended."""
    order = [columns.index(c) for c in SEALED[table]]
    for row in rows:
        yield (*row, sealer.seal(table, [row[i] for i in order]))


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
    progress: Progress | None = None, lazy: bool = False,
) -> ReviewCopy:  # fmt: skip
    """The read-only review copy. `lazy`: without the pump histories, each fetched from the
    clinic when a query first reads it (the window opens on accounts, pumps, visits and the
    audit trail; `open_for_review` of the copy in this process fetches on demand)."""
    say = progress or (lambda _: None)
    where = folder or Path(tempfile.mkdtemp(prefix="itp-clinic-review-"))
    db = where / "clinic-review.sqlite3"
    with connect(url) as conn:
        conn.read_only = True
        _check_read_only(conn)
        key_path = where / "review.key"
        sealer = Sealer(create_key(key_path))
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
            with store.write() as lconn:
                lconn.executemany(
                    _insert("accounts", ACCOUNTS.fields, sealed=True),
                    _with_seals(
                        sealer,
                        "accounts",
                        ACCOUNTS.fields,
                        [tuple(s[f] for f in ACCOUNTS.fields) for s in states],
                    ),
                )
                say("pumps")
                lconn.executemany(
                    _insert("pumps", _PUMP_COLS, sealed=False),
                    _copy(conn, f"SELECT {', '.join(_PUMP_COLS)} FROM itp.pumps"),
                )
                if not lazy:
                    say("pump history")
                    _copy_history(conn, lconn, sealer, None)
                say("visits, prescriptions, refills")
                _owned(conn, lconn, sealer)
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
                    if lazy:  # until fetched, a reader that cannot fetch it is refused
                        lconn.execute(
                            "INSERT INTO meta VALUES (?, ?)", (REVIEW_AUDIT_PENDING, programmer)
                        )
                    else:
                        _copy_audit(conn, lconn, programmer)
            if patients_sync.on_clinic(conn):  # an older clinic schema: none to show
                say("patients")
                from programmer.clinic.sync import SyncReport

                patients_sync.pull(store, None, conn, local_state.ensure(store, heads=False),
                                   SyncReport("review"))  # fmt: skip
            serials = [str(r[0]) for r in store.query("SELECT serial FROM pumps")]
        finally:
            store.close()
    # One self-contained file (no -wal to miss): the review opens it with no warning.
    with closing(sqlite3.connect(db, isolation_level=None)) as settle:
        settle.execute("PRAGMA journal_mode = DELETE")
    pending = None
    if lazy:
        pending = LazyHistory(url, db, sealer, serials, audit_of=programmer)
        fill_on_demand(db, pending)
    db.chmod(0o400)  # the writer of LazyHistory opened it before
    return ReviewCopy(db, programmer, label, key_path, pending)


def _copy_audit(conn: psycopg.Connection[Any], lconn: sqlite3.Connection, origin: str) -> None:
    """One programmer's trail into the copy, as that programmer wrote it."""
    lconn.executemany(
        f"INSERT INTO audit ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
        (
            pgtext.decode_row(r[:-1], bool(r[-1]))
            for r in _copy(
                conn,
                f"SELECT {', '.join(FIELDS)}, nul_escaped FROM itp.audit"
                " WHERE origin = %s ORDER BY seq",
                (origin,),
            )
        ),
    )


def _fetch_audit(origin: str, conn: psycopg.Connection[Any], lconn: sqlite3.Connection) -> None:
    """The lazy copy's trail, and its mark that it was missing, in one local transaction."""
    _copy_audit(conn, lconn, origin)
    lconn.execute("DELETE FROM meta WHERE key = ?", (REVIEW_AUDIT_PENDING,))


def _one_pump(
    sealer: Sealer, serial: str, conn: psycopg.Connection[Any], lconn: sqlite3.Connection
) -> int:
    return _copy_history(conn, lconn, sealer, serial)


_READS_AUDIT = re.compile(r"\b(from|join)\s+audit\b")


def _copy_history(
    conn: psycopg.Connection[Any], lconn: sqlite3.Connection, sealer: Sealer, serial: str | None
) -> int:
    """The clinic's history of one pump (or of all) into the copy, sealed; rows copied."""
    n = 0
    for table, columns in _HISTORY_COLS.items():
        where = "" if serial is None else " WHERE pump_serial = %s"
        rows = _copy(
            conn,
            f"SELECT {', '.join(columns)} FROM itp.{table}{where} ORDER BY pump_serial, {columns[1]}",
            () if serial is None else (serial,),
        )
        cursor = lconn.executemany(
            _insert(table, columns, sealed=True), _with_seals(sealer, table, columns, rows)
        )
        n += max(cursor.rowcount, 0)
    return n


class LazyHistory:
    """Fetches a pump's history from the clinic into the review copy the first time a
    query reads `pump_events` or `infusion_hours` with that pump's serial among its
    parameters (a query naming no known pump fetches every pump still missing: never a
    partial history on screen). One pump at a time, each in one local transaction.
    `audit_of`: that programmer's whole trail, the first time a query reads `audit`."""

    def __init__(
        self, url: ClinicUrl, db: Path, sealer: Sealer, serials: Iterable[str],
        audit_of: str | None = None,
    ) -> None:  # fmt: skip
        self._audit_of = audit_of
        self._url, self._sealer = url, sealer
        self._pumps = frozenset(serials)
        self._left = set(self._pumps)
        self._lock = threading.Lock()
        self._writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self._conn: psycopg.Connection[Any] | None = None
        self.fetched: list[str] = []  # in order, for tests and the benchmark

    def __call__(self, sql: str, params: Any) -> None:
        if not self._left and self._audit_of is None:
            return
        low = sql.lower()
        if self._audit_of is not None and _READS_AUDIT.search(low):
            with self._lock:
                if self._audit_of is not None:
                    self._fetch("the audit trail", partial(_fetch_audit, str(self._audit_of)))
                    self._audit_of = None
                    self.fetched.append("audit")
        if "pump_events" not in low and "infusion_hours" not in low:
            return
        values = params.values() if isinstance(params, dict) else params
        named = {v for v in values if isinstance(v, str) and v in self._pumps}
        with self._lock:
            for serial in sorted((named or self._left) & self._left):
                self._fetch(
                    f"the history of pump {serial}", partial(_one_pump, self._sealer, serial)
                )
                self._left.discard(serial)
                self.fetched.append(serial)

    def _fetch(
        self, what: str, copy: Callable[[psycopg.Connection[Any], sqlite3.Connection], Any]
    ) -> None:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self._url)
                self._conn.read_only = True
                _check_read_only(self._conn)
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                copy(self._conn, self._writer)
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
        except (psycopg.Error, ClinicError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(
                f"{what} could not be read from the clinic ({first});"
                " nothing of it is shown: try again when the clinic can be reached"
            ) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._writer.close()


def _owned(conn: psycopg.Connection[Any], lconn: Any, sealer: Sealer) -> None:
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
        row = tuple(values.get(c) for c in spec.columns)
        if kind in SEALED:
            lconn.execute(
                _insert(kind, spec.columns, sealed=True),
                next(_with_seals(sealer, kind, spec.columns, [row])),
            )
        else:
            lconn.execute(_insert(kind, spec.columns, sealed=False), row)
        lconn.execute(
            "INSERT INTO clinic_rows VALUES (?, ?, ?, ?, ?)",
            (kind, origin, int(local_id), int(oseq), json.dumps({"review_id": new_id})),
        )
