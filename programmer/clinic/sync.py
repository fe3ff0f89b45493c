"""`itp sync --clinic URL`: exchange this programmer's records with the clinic database.

Every step is idempotent and commits in small transactions on each side, so a sync cut
anywhere (kill -9, a dropped network) and run again ends exactly where one whole sync
would: the server is asked what it holds before anything is sent, rows are inserted
with ON CONFLICT DO NOTHING or after a check under a lock, and each local watermark is
written in the same local transaction as the rows it covers.

Order: accounts (which may write audit records here), pumps, pump history, owned
records, the other programmers' records, and last the audit chain, so a finished sync
leaves nothing of this programmer's unsent.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from programmer.clinic import chain as chainmod
from programmer.clinic import local_state, patients_sync, pgtext
from programmer.clinic.errors import ClinicDiverged, ClinicError
from programmer.clinic.merge import merge
from programmer.clinic.tables import HISTORY, OWNED, SHARED, HistoryTable, OwnedTable, SharedTable
from programmer.store import AuditAction, AuditTrail, Store
from programmer.store.audit_chain import FIELDS, canonical_json
from programmer.store.seals import KEYS, SEALED, Sealer, TamperedRow, account_problems

AUDIT_BATCH = 5000
OWNED_KINDS = frozenset(spec.kind for spec in OWNED)
HISTORY_BATCH = 20_000
PULL_BATCH = 5000
BLOCK_BITS = 10  # history is compared in blocks of 1,024 keys
MAX_LABEL = 64
MAX_ROW_NOTES = 10  # rows changed outside itp named one by one per pump and table
PgConn = psycopg.Connection[Any]


@dataclass
class SyncReport:
    programmer: str
    pushed: dict[str, int] = field(default_factory=dict)
    pulled: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # History rows changed outside itp here and so not sent, by (table, pump): keys in order
    left_out: dict[tuple[str, str], dict[tuple[Any, ...], None]] = field(default_factory=dict)

    def add(self, side: str, what: str, n: int) -> None:
        if n:
            counts = self.pushed if side == "pushed" else self.pulled
            counts[what] = counts.get(what, 0) + n

    def as_json(self) -> dict[str, Any]:
        return {
            "programmer": self.programmer,
            "pushed": self.pushed,
            "pulled": self.pulled,
            "notes": self.notes,
        }


Progress = Callable[[str], None]


def sync(
    store: Store,
    trail: AuditTrail,
    conn: PgConn,
    *,
    label: str = "",
    progress: Progress | None = None,
    audit_batch: int = AUDIT_BATCH,
) -> SyncReport:
    """One whole sync. Raises ClinicError (the link, a diverged trail) with a clear message;
    whatever committed before stays committed on both sides and the next run resumes."""
    say = progress or (lambda _: None)
    if trail.key_matches() is False:
        # Pulled rows are sealed with this key: another key would make them all look
        # edited here (and every local row would look edited, so nothing would be sent).
        raise ClinicError(
            "the audit key does not belong to this database; nothing was synced (use the key"
            " file this trail was started with)"
        )
    origin = local_state.ensure(store)
    report = SyncReport(origin)
    try:
        _register(conn, origin, trail.key_id, label[:MAX_LABEL] or origin[:8])
        say("accounts")
        for spec in SHARED:
            _sync_shared(store, trail, conn, origin, spec, report)
        say("pumps")
        _sync_pumps(store, conn, report)
        for table in HISTORY:
            say(table.name)
            _sync_history(store, trail.sealer, conn, origin, table, report)
        say("visits, prescriptions, refills")
        _push_owned(store, trail.sealer, conn, origin, report)
        _pull_owned(store, conn, origin, report)
        say("patients")
        if patients_sync.on_clinic(conn):
            patients_sync.push(store, conn, origin, report)
            patients_sync.pull(store, trail, conn, origin, report)
        else:
            report.notes.append(patients_sync.NOT_ON_CLINIC)
        say("audit trail")
        _push_audit(store, conn, origin, report, audit_batch)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClinicError(
            f"the clinic link failed mid-sync ({first}); everything already sent is kept "
            "on both sides: run the sync again to finish it"
        ) from exc
    return report


# -- identity --------------------------------------------------------------------------


def _register(conn: PgConn, origin: str, key_id: str, label: str) -> None:
    with conn.transaction():
        row = conn.execute("SELECT key_id FROM itp.programmers WHERE id = %s", (origin,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO itp.programmers (id, key_id, label) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (origin, key_id, label),
            )
        elif row[0] != key_id:
            raise ClinicDiverged(
                f"the clinic knows this programmer ({origin[:8]}) with audit key {row[0]}, "
                f"but this database's key is {key_id}: a copied database or a replaced key; "
                "nothing was sent"
            )


# -- shared records (accounts) ------------------------------------------------------------


def _local_shared(store: Store, spec: SharedTable) -> dict[str, dict[str, Any]]:
    cols = ", ".join(spec.fields)
    rows = store.query(f"SELECT {cols} FROM {spec.table}")
    return {str(r[0]).lower(): dict(zip(spec.fields, r, strict=True)) for r in rows}


def _untrusted_shared(store: Store, sealer: Sealer, spec: SharedTable) -> dict[str, str]:
    """Local records changed outside itp, by key, with what is wrong: a row whose seal
    does not match, or (accounts) one the audit chain does not account for (an old row
    put back whole). They are neither sent nor overwritten: sign-in keeps refusing them
    and `itp audit verify` keeps reporting them until an admin restores the database."""
    if spec.table not in SEALED:
        return {}
    columns = SEALED[spec.table]
    order = [spec.fields.index(c) for c in columns]
    found: dict[str, str] = {}
    select = ", ".join(spec.fields)
    for row in store.query(f"SELECT {select}, seal FROM {spec.table}"):
        values = [row[i] for i in order]
        if not sealer.good(spec.table, values, row[-1]):
            keys = [values[columns.index(k)] for k in KEYS[spec.table]]
            found[str(row[0]).lower()] = str(TamperedRow(spec.table, keys))
    if spec.table == "accounts":
        with store.lock:
            problems = account_problems(store.conn)
        for problem in problems:
            found.setdefault(str(problem.key[0]).lower(), problem.message)
    return found


def _sync_shared(
    store: Store,
    trail: AuditTrail,
    conn: PgConn,
    origin: str,
    spec: SharedTable,
    report: SyncReport,
) -> None:
    with conn.transaction():
        # One writer per kind at a time: a version number is taken as max + 1.
        conn.execute("SELECT pg_advisory_xact_lock(7433002, hashtext(%s))", (spec.kind,))
        server = {
            str(key): (int(version), _checked(spec, str(key), json.loads(state)))
            for key, version, state in conn.execute(
                "SELECT DISTINCT ON (key) key, version, state FROM itp.shared_versions"
                " WHERE kind = %s ORDER BY key, version DESC",
                (spec.kind,),
            ).fetchall()
        }
        bases = {
            str(k): (int(v), json.loads(s))
            for k, v, s in store.query(
                "SELECT key, version, state FROM clinic_shared_base WHERE kind = ?", (spec.kind,)
            )
        }
        local = _local_shared(store, spec)
        untrusted = _untrusted_shared(store, trail.sealer, spec)
        to_push: list[tuple[str, int, dict[str, Any]]] = []
        to_apply: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = []
        new_bases: list[tuple[str, int, dict[str, Any]]] = []
        for key in sorted(set(server) | set(local)):
            if key in untrusted:
                report.notes.append(
                    f"{untrusted[key]}; the {spec.kind} record {key} was not synced"
                )
                continue
            mine = local.get(key)
            s_version, theirs = server.get(key, (0, None))
            base_version, base = bases.get(key, (0, None))
            if theirs is not None and base_version == s_version and mine == base == theirs:
                continue  # nothing changed anywhere
            if base_version and (
                base_version > s_version or (base_version == s_version and base != theirs)
            ):
                # The version this side last agreed never reached the clinic (its commit
                # was lost): everything that differs here is this side's edit.
                base = theirs
            merged = merge(spec, mine, base if base_version else None, theirs)
            assert merged is not None
            version = s_version
            if merged != theirs:
                version = s_version + 1
                to_push.append((key, version, merged))
            if merged != mine:
                to_apply.append((key, mine, merged))
            new_bases.append((key, version, merged))
        for key, version, state in to_push:
            conn.execute(
                "INSERT INTO itp.shared_versions (kind, key, version, origin, state)"
                " VALUES (%s, %s, %s, %s, %s)",
                (spec.kind, key, version, origin, canonical_json(state)),
            )
        # Local second, inside the server transaction: if the local write fails the
        # server rolls back too; if the server commit is lost after the local one,
        # the next sync finds local == merged and pushes it again under a new number.
        with store.write() as lconn:
            for key, before, state in to_apply:
                _apply_shared(lconn, spec, state)
                if spec.table in SEALED:  # sealed with this programmer's key, in this write
                    trail.sealer.reseal(lconn, spec.table, f"{spec.key} = ?", (state[spec.key],))
                trail.append(
                    AuditAction.ACCOUNT_CHANGED if spec.kind == "accounts" else "settings_changed",
                    account=None,
                    role=None,
                    before=None if before is None else _view(spec, before),
                    after=_view(spec, state),
                    reason=f"clinic sync: the clinic's record of {key}",
                    outcome="synced",
                )
            for key, version, state in new_bases:
                lconn.execute(
                    "INSERT INTO clinic_shared_base VALUES (?, ?, ?, ?) ON CONFLICT (kind, key)"
                    " DO UPDATE SET version = excluded.version, state = excluded.state",
                    (spec.kind, key, version, canonical_json(state)),
                )
        report.add("pushed", spec.kind, len(to_push))
        report.add("pulled", spec.kind, len(to_apply))


_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MAX_ROW_TEXT = 1_000_000  # a pulled row larger than this is refused, not stored


def _checked(spec: SharedTable, key: str, state: Any) -> dict[str, Any]:
    """A shared record from the clinic, checked before it can reach the local table."""

    def bad(why: str) -> ClinicError:
        return ClinicError(
            f"the clinic's {spec.kind} record {key[:64]!r} is not valid ({why}); nothing of it was applied"
        )

    if not isinstance(state, dict) or set(state) != set(spec.fields):
        raise bad(f"fields {sorted(state) if isinstance(state, dict) else type(state).__name__}")
    if spec.kind == "accounts":
        name, role, pw_hash = state["name"], state["role"], state["password_hash"]
        if not isinstance(name, str) or not _ACCOUNT_NAME.fullmatch(name) or name.lower() != key:
            raise bad("name")
        if role not in ("physician", "nurse", "admin"):
            raise bad("role")
        if not isinstance(pw_hash, str) or not pw_hash.startswith("$argon2") or len(pw_hash) > 512:
            raise bad("password hash")
        if (
            state["enabled"] not in (0, 1)
            or type(state["failed_count"]) is not int
            or state["failed_count"] < 0
        ):
            raise bad("enabled or failed count")
        if state["locked_until_s"] is not None and type(state["locked_until_s"]) is not int:
            raise bad("lockout")
    return state


def _view(spec: SharedTable, state: dict[str, Any]) -> dict[str, Any]:
    return {k: state.get(k) for k in spec.audit_view}


def _apply_shared(lconn: sqlite3.Connection, spec: SharedTable, state: dict[str, Any]) -> None:
    cols = ", ".join(spec.fields)
    marks = ", ".join("?" for _ in spec.fields)
    updates = ", ".join(f"{f} = excluded.{f}" for f in spec.fields if f != spec.key)
    lconn.execute(
        f"INSERT INTO {spec.table} ({cols}) VALUES ({marks})"
        f" ON CONFLICT ({spec.key}) DO UPDATE SET {updates}",
        tuple(state[f] for f in spec.fields),
    )


# -- pumps ---------------------------------------------------------------------------------

_PUMP_COLS = ("serial", "model", "info", "first_seen_at", "first_seen_s", "last_seen_at",
              "last_seen_s")  # fmt: skip


def _sync_pumps(store: Store, conn: PgConn, report: SyncReport) -> None:
    """Pumps merge without versions: first seen is the earliest, last seen the latest."""
    local = store.query(f"SELECT {', '.join(_PUMP_COLS)} FROM pumps ORDER BY serial")
    remote = conn.execute(f"SELECT {', '.join(_PUMP_COLS)} FROM itp.pumps ORDER BY serial")
    known = {str(r[0]): tuple(r) for r in remote.fetchall()}
    changed = [row for row in local if not _pump_covered(tuple(row), known.get(str(row[0])))]
    with conn.transaction():
        for row in changed:
            conn.execute(
                "INSERT INTO itp.pumps VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (serial)"
                " DO UPDATE SET model = coalesce(itp.pumps.model, excluded.model),"
                " info = coalesce(excluded.info, itp.pumps.info),"
                " first_seen_at = CASE WHEN excluded.first_seen_s < itp.pumps.first_seen_s"
                "   THEN excluded.first_seen_at ELSE itp.pumps.first_seen_at END,"
                " first_seen_s = least(itp.pumps.first_seen_s, excluded.first_seen_s),"
                " last_seen_at = CASE WHEN excluded.last_seen_s > itp.pumps.last_seen_s"
                "   THEN excluded.last_seen_at ELSE itp.pumps.last_seen_at END,"
                " last_seen_s = greatest(itp.pumps.last_seen_s, excluded.last_seen_s)"
                " WHERE (itp.pumps.model, itp.pumps.info, itp.pumps.first_seen_s,"
                "  itp.pumps.last_seen_s) IS DISTINCT FROM"
                " (coalesce(itp.pumps.model, excluded.model), coalesce(excluded.info,"
                "  itp.pumps.info), least(itp.pumps.first_seen_s, excluded.first_seen_s),"
                "  greatest(itp.pumps.last_seen_s, excluded.last_seen_s))",
                tuple(row),
            )
    if changed:
        remote = conn.execute(f"SELECT {', '.join(_PUMP_COLS)} FROM itp.pumps ORDER BY serial")
        known = {str(r[0]): tuple(r) for r in remote.fetchall()}
    mine = {str(r[0]): tuple(r) for r in local}
    server_rows = [row for s, row in known.items() if not _pump_covered(row, mine.get(s))]
    with store.write() as lconn:
        for row in server_rows:
            cursor = lconn.execute(
                f"INSERT INTO pumps ({', '.join(_PUMP_COLS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (serial) DO UPDATE SET model = coalesce(model, excluded.model),"
                " info = coalesce(info, excluded.info),"
                " first_seen_at = CASE WHEN excluded.first_seen_s < first_seen_s"
                "   THEN excluded.first_seen_at ELSE first_seen_at END,"
                " first_seen_s = min(first_seen_s, excluded.first_seen_s),"
                " last_seen_at = CASE WHEN excluded.last_seen_s > last_seen_s"
                "   THEN excluded.last_seen_at ELSE last_seen_at END,"
                " last_seen_s = max(last_seen_s, excluded.last_seen_s)"
                " WHERE (model IS NOT coalesce(model, excluded.model))"
                "  OR (info IS NOT coalesce(info, excluded.info))"
                "  OR excluded.first_seen_s < first_seen_s OR excluded.last_seen_s > last_seen_s",
                tuple(row),
            )
            report.add("pulled", "pumps", max(cursor.rowcount, 0))


def _pump_covered(row: tuple[Any, ...], other: tuple[Any, ...] | None) -> bool:
    """True when `other` already holds all `row` would add (same first and last seen or
    wider, model and info present)."""
    if other is None:
        return False
    return (
        (other[1] is not None or row[1] is None)
        and (other[2] is not None or row[2] is None)
        and other[4] <= row[4]
        and other[6] >= row[6]
    )


# -- pump history ----------------------------------------------------------------------------


def _sync_history(
    store: Store,
    sealer: Sealer,
    conn: PgConn,
    origin: str,
    table: HistoryTable,
    report: SyncReport,
) -> None:
    # Every pump's counters from each side in one query each: most pumps did not move.
    mine = {
        str(r[0]): (int(r[1]), int(r[2]), int(r[3]))
        for r in store.query(
            "SELECT pump_serial, n, coalesce(max_key, -1), check_sum FROM clinic_heads"
            " WHERE tbl = ? AND n > 0",
            (table.name,),
        )
    }
    theirs = {
        str(r[0]): (int(r[1]), int(r[2]), int(r[3]))
        for r in conn.execute(
            "SELECT pump_serial, n, coalesce(max_key, -1), check_sum FROM itp.history_heads"
            " WHERE tbl = %s AND n > 0",
            (table.name,),
        ).fetchall()
    }
    tails: list[tuple[str, list[Any]]] = []  # fetched new rows, written in one transaction
    for serial in sorted(set(mine) | set(theirs)):
        local, server = mine.get(serial, (0, -1, 0)), theirs.get(serial, (0, -1, 0))
        if local == server:
            continue
        if _only_a_tail(store, sealer, conn, origin, table, serial, local, server, report, tails):
            continue
        # Compare from the block where the two sides' ends meet; if that does not make
        # them equal, compare every block.
        start = (
            min(local[1], server[1]) if local[0] and server[0] and local[1] != server[1] else None
        )
        _exchange(store, sealer, conn, origin, table, serial, start, report)
        if _local_head(store, table, serial) != _server_head(conn, table, serial):
            _exchange(store, sealer, conn, origin, table, serial, None, report)
        if (table.name, serial) in report.left_out:
            continue  # rows changed outside itp here: named below, that is the difference
        if _local_head(store, table, serial) != _server_head(conn, table, serial):
            report.notes.append(
                f"{table.name} of {serial}: this programmer's copy differs from the clinic's"
                " (another log under the same serial?); both kept, see history_conflicts"
            )
    if tails:
        _insert_local(store, sealer, table, tails, report)
    _note_left_out(table, report)


def _only_a_tail(
    store: Store,
    sealer: Sealer,
    conn: PgConn,
    origin: str,
    table: HistoryTable,
    serial: str,
    local: tuple[int, int, int],
    server: tuple[int, int, int],
    report: SyncReport,
    tails: list[tuple[str, list[Any]]],
) -> bool:
    """The usual day: one side only has new rows after the other's last key. Then
    those rows, counted and summed, account for the whole difference; send or fetch
    them in one go. False when the difference is anything else."""
    n_l, max_l, sum_l = local
    n_s, max_s, sum_s = server
    cols = (table.key, *table.columns)
    if max_l > max_s:
        rows = store.query(
            f"SELECT {', '.join(cols)}, seal FROM {table.name} WHERE pump_serial = ?"
            f" AND {table.key} > ? ORDER BY {table.key}",
            (serial, max_s),
        )
        check = cols.index(table.check)
        if n_l - len(rows) != n_s or sum_l - sum(int(r[check]) for r in rows) != sum_s:
            return False
        rows = _trusted(sealer, table, serial, rows, report)
        for at in range(0, len(rows), HISTORY_BATCH):
            _push_history_rows(
                conn,
                origin,
                table,
                serial,
                rows[at : at + HISTORY_BATCH],
                report,
            )
        return True
    if max_s > max_l and n_s - n_l <= HISTORY_BATCH:
        fetched = conn.execute(
            sql.SQL(
                "SELECT {cols} FROM itp.{t} WHERE pump_serial = %s AND {k} > %s ORDER BY {k}"
            ).format(
                cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
                t=sql.Identifier(table.name),
                k=sql.Identifier(table.key),
            ),
            (serial, max_l),
        ).fetchall()
        check = cols.index(table.check)
        if n_s - len(fetched) != n_l or sum_s - sum(int(r[check]) for r in fetched) != sum_l:
            return False
        tails.append((serial, fetched))
        return True
    return False


def _insert_local(
    store: Store,
    sealer: Sealer,
    table: HistoryTable,
    tails: list[tuple[str, list[Any]]],
    report: SyncReport,
) -> None:
    with store.write() as lconn:
        cursor = lconn.executemany(
            _insert_sql(table),
            [sealed for serial, rows in tails for sealed in _sealed(sealer, table, serial, rows)],
        )
        report.add("pulled", table.name, max(cursor.rowcount, 0))  # rows, not trigger writes


# Seals: a pulled row is sealed with this programmer's key as it is inserted (the clinic
# never holds seals: each programmer has its own key), and a local row is sent only while
# its seal matches, so a row edited here with sqlite3 never reaches the clinic, where the
# other programmers would take it in and seal it as their own.


def _insert_sql(table: HistoryTable) -> str:
    cols = ("pump_serial", table.key, *table.columns, "seal")
    marks = ", ".join("?" for _ in cols)
    return f"INSERT OR IGNORE INTO {table.name} ({', '.join(cols)}) VALUES ({marks})"


def _seal_order(table: HistoryTable) -> list[int]:
    """Where each sealed column sits in a (pump_serial, key, *columns) row."""
    names = ("pump_serial", table.key, *table.columns)
    return [names.index(c) for c in SEALED[table.name]]


def _sealed(
    sealer: Sealer, table: HistoryTable, serial: str, rows: Sequence[Sequence[Any]]
) -> Iterator[tuple[Any, ...]]:
    """(pump_serial, key, *columns, seal) for rows (key, *columns) from the clinic."""
    order = _seal_order(table)
    for row in rows:
        full = (serial, *row)
        yield (*full, sealer.seal(table.name, [full[i] for i in order]))


def _trusted(
    sealer: Sealer,
    table: HistoryTable,
    serial: str,
    rows: Sequence[Sequence[Any]],
    report: SyncReport,
) -> list[tuple[Any, ...]]:
    """Local rows (key, *columns, seal) whose seal matches, without the seal; each other
    one is left out of the sync and named in the report."""
    order = _seal_order(table)
    good: list[tuple[Any, ...]] = []
    for row in rows:
        full = (serial, *row[:-1])
        values = [full[i] for i in order]
        if sealer.good(table.name, values, row[-1]):
            good.append(tuple(row[:-1]))
        else:
            keys = tuple(values[SEALED[table.name].index(k)] for k in KEYS[table.name])
            report.left_out.setdefault((table.name, serial), {})[keys] = None
    return good


def _note_left_out(table: HistoryTable, report: SyncReport) -> None:
    """One note per row left out (the first few of each pump), then how many more."""
    for (name, serial), keys in sorted(report.left_out.items()):
        if name != table.name:
            continue
        for key in list(keys)[:MAX_ROW_NOTES]:
            report.notes.append(f"{TamperedRow(name, key)}; it was not sent to the clinic")
        if len(keys) > MAX_ROW_NOTES:
            report.notes.append(
                f"and {len(keys) - MAX_ROW_NOTES} more {name} rows of {serial} changed outside"
                " itp, not sent"
            )


def _local_head(store: Store, table: HistoryTable, serial: str) -> tuple[int, int, int]:
    """From the counts the clinic triggers keep (local_state), not a scan of the table."""
    rows = store.query(
        "SELECT n, coalesce(max_key, -1), check_sum FROM clinic_heads"
        " WHERE tbl = ? AND pump_serial = ?",
        (table.name, serial),
    )
    if not rows or int(rows[0][0]) == 0:
        return (0, -1, 0)
    return int(rows[0][0]), int(rows[0][1]), int(rows[0][2])


def _server_head(conn: PgConn, table: HistoryTable, serial: str) -> tuple[int, int, int]:
    row = conn.execute(
        "SELECT n, coalesce(max_key, -1), check_sum FROM itp.history_heads"
        " WHERE tbl = %s AND pump_serial = %s",
        (table.name, serial),
    ).fetchone()
    return (0, -1, 0) if row is None else (int(row[0]), int(row[1]), int(row[2]))


def _block_expr(table: HistoryTable) -> str:
    index = table.key if table.key_unit == 1 else f"({table.key} / {table.key_unit})"
    return f"({index} >> {BLOCK_BITS})"


def _blocks_local(
    store: Store, table: HistoryTable, serial: str, start: int
) -> dict[int, tuple[int, ...]]:
    rows = store.query(
        f"SELECT {_block_expr(table)}, count(*), sum({table.key}), min({table.key}),"
        f" max({table.key}), sum({table.check}) FROM {table.name}"
        f" WHERE pump_serial = ? AND {table.key} >= ?"
        " GROUP BY 1",
        (serial, start),
    )
    return {int(r[0]): tuple(int(v) for v in r[1:]) for r in rows}


def _blocks_server(
    conn: PgConn, table: HistoryTable, serial: str, start: int
) -> dict[int, tuple[int, ...]]:
    rows = conn.execute(
        sql.SQL(
            "SELECT {b}, count(*), sum({k}), min({k}), max({k}), sum({c}) FROM itp.{t}"
            " WHERE pump_serial = %s AND {k} >= %s GROUP BY 1"
        ).format(
            b=sql.SQL(_block_expr(table)),
            k=sql.Identifier(table.key),
            c=sql.Identifier(table.check),
            t=sql.Identifier(table.name),
        ),
        (serial, start),
    ).fetchall()
    return {int(r[0]): tuple(int(v) for v in r[1:]) for r in rows}


def _block_range(table: HistoryTable, block: int) -> tuple[int, int]:
    low = (block << BLOCK_BITS) * table.key_unit
    return low, low + (1 << BLOCK_BITS) * table.key_unit


def _exchange(
    store: Store,
    sealer: Sealer,
    conn: PgConn,
    origin: str,
    table: HistoryTable,
    serial: str,
    start: int | None,
    report: SyncReport,
) -> None:
    """Send the rows only this side holds and fetch the rows only the clinic holds, for
    every block (from `start`) whose count, sum, min, max or check sum differ."""
    low = -(2**62) if start is None else start - start % ((1 << BLOCK_BITS) * table.key_unit)
    mine = _blocks_local(store, table, serial, low)
    theirs = _blocks_server(conn, table, serial, low)
    differing = sorted(b for b in set(mine) | set(theirs) if mine.get(b) != theirs.get(b))
    to_push: list[tuple[Any, ...]] = []
    to_pull: list[tuple[int, int]] = []  # key ranges; rows already here are ignored
    for block in differing:
        lo, hi = _block_range(table, block)
        if block not in theirs:
            to_push.extend(_local_rows(store, sealer, table, serial, lo, hi, None, report))
            continue
        if block not in mine:
            if to_pull and to_pull[-1][1] == lo:
                to_pull[-1] = (to_pull[-1][0], hi)  # one query for a run of blocks
            else:
                to_pull.append((lo, hi))
            continue
        server_keys = {
            int(r[0])
            for r in conn.execute(
                sql.SQL(
                    "SELECT {k} FROM itp.{t} WHERE pump_serial = %s AND {k} >= %s AND {k} < %s"
                ).format(k=sql.Identifier(table.key), t=sql.Identifier(table.name)),
                (serial, lo, hi),
            ).fetchall()
        }
        local_keys = {
            int(r[0])
            for r in store.query(
                f"SELECT {table.key} FROM {table.name} WHERE pump_serial = ?"
                f" AND {table.key} >= ? AND {table.key} < ?",
                (serial, lo, hi),
            )
        }
        only_here = local_keys - server_keys
        if only_here:
            to_push.extend(_local_rows(store, sealer, table, serial, lo, hi, only_here, report))
        elif local_keys == server_keys:
            # Same keys, other content: send this copy so the clinic records the conflict.
            to_push.extend(_local_rows(store, sealer, table, serial, lo, hi, None, report))
        if server_keys - local_keys:
            to_pull.append((lo, hi))
    for start_at in range(0, len(to_push), HISTORY_BATCH):
        _push_history_rows(
            conn, origin, table, serial, to_push[start_at : start_at + HISTORY_BATCH], report
        )
    for lo, hi in to_pull:
        _pull_history_rows(store, sealer, conn, table, serial, lo, hi, report)


def _local_rows(
    store: Store,
    sealer: Sealer,
    table: HistoryTable,
    serial: str,
    lo: int,
    hi: int,
    keys: set[int] | None,
    report: SyncReport,
) -> list[tuple[Any, ...]]:
    cols = ", ".join((table.key, *table.columns))
    rows = store.query(
        f"SELECT {cols}, seal FROM {table.name} WHERE pump_serial = ? AND {table.key} >= ?"
        f" AND {table.key} < ? ORDER BY {table.key}",
        (serial, lo, hi),
    )
    wanted = [r for r in rows if keys is None or int(r[0]) in keys]
    return _trusted(sealer, table, serial, wanted, report)


def _push_history_rows(
    conn: PgConn,
    origin: str,
    table: HistoryTable,
    serial: str,
    rows: Sequence[tuple[Any, ...]],
    report: SyncReport,
) -> None:
    cols = (table.key, *table.columns)
    ident = sql.Identifier(table.name)
    col_list = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    with conn.transaction():
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE itp.{t} INCLUDING DEFAULTS)"
                " ON COMMIT DELETE ROWS"
            ).format(tmp=sql.Identifier(f"incoming_{table.name}"), t=ident)
        )
        tmp = sql.Identifier(f"incoming_{table.name}")
        copy_sql = sql.SQL("COPY {tmp} (pump_serial, {cols}, origin) FROM STDIN").format(
            tmp=tmp, cols=col_list
        )
        with conn.cursor().copy(copy_sql) as copy:
            for row in rows:
                copy.write_row((serial, *row, origin))
        inserted = conn.execute(
            sql.SQL(
                "INSERT INTO itp.{t} SELECT * FROM {tmp} ORDER BY {k} ON CONFLICT DO NOTHING"
                " RETURNING {k}, {c}"
            ).format(t=ident, tmp=tmp, k=sql.Identifier(table.key), c=sql.Identifier(table.check))
        ).fetchall()
        # A row the clinic already holds with other content: kept aside, never replaced.
        compare = sql.SQL(" OR ").join(
            sql.SQL("i.{c} IS DISTINCT FROM s.{c}").format(c=sql.Identifier(c))
            for c in table.columns
            if c != "read_at"
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO itp.history_conflicts (tbl, pump_serial, key, origin, content)"
                " SELECT %s, i.pump_serial, i.{k}, i.origin, row_to_json(i)::text FROM {tmp} i"
                " JOIN itp.{t} s ON s.pump_serial = i.pump_serial AND s.{k} = i.{k}"
                " WHERE ({cmp}) ON CONFLICT DO NOTHING"
            ).format(k=sql.Identifier(table.key), tmp=tmp, t=ident, cmp=compare),
            (table.name,),
        )
        if inserted:
            conn.execute(
                "INSERT INTO itp.history_heads (tbl, pump_serial) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (table.name, serial),
            )
            conn.execute(
                "UPDATE itp.history_heads SET n = n + %s, max_key = greatest(max_key, %s),"
                " check_sum = check_sum + %s, version = version + 1"
                " WHERE tbl = %s AND pump_serial = %s",
                (
                    len(inserted),
                    max(int(r[0]) for r in inserted),
                    sum(int(r[1]) for r in inserted),
                    table.name,
                    serial,
                ),
            )
    report.add("pushed", table.name, len(inserted))


def _pull_history_rows(
    store: Store,
    sealer: Sealer,
    conn: PgConn,
    table: HistoryTable,
    serial: str,
    lo: int,
    hi: int,
    report: SyncReport,
) -> None:
    """The clinic's rows of [lo, hi) in pages, each page in one local transaction."""
    cols = (table.key, *table.columns)
    query = sql.SQL(
        "SELECT {cols} FROM itp.{t} WHERE pump_serial = %s AND {k} >= %s AND {k} < %s"
        " ORDER BY {k} LIMIT %s"
    ).format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        t=sql.Identifier(table.name),
        k=sql.Identifier(table.key),
    )
    insert = _insert_sql(table)
    while lo < hi:
        rows = conn.execute(query, (serial, lo, hi, HISTORY_BATCH)).fetchall()
        if not rows:
            return
        with store.write() as lconn:
            cursor = lconn.executemany(insert, _sealed(sealer, table, serial, rows))
            report.add("pulled", table.name, max(cursor.rowcount, 0))
        lo = int(rows[-1][0]) + 1


# -- owned records ------------------------------------------------------------------------------


def _content(spec: OwnedTable, row: Sequence[Any]) -> tuple[str, str]:
    text = canonical_json(dict(zip(spec.columns, row, strict=True)))
    return text, hashlib.sha256(text.encode()).hexdigest()


def _owned_rows(
    store: Store, sealer: Sealer, spec: OwnedTable, report: SyncReport
) -> list[tuple[Any, ...]]:
    """This programmer's rows of `spec`; a sealed row whose seal does not match (edited
    here outside itp) is left out and named in the report, never sent."""
    cols = ", ".join(spec.columns)
    if spec.kind not in SEALED:
        return [tuple(r) for r in store.query(f"SELECT {cols} FROM {spec.kind} ORDER BY id")]
    order = [spec.columns.index(c) for c in SEALED[spec.kind]]
    good: list[tuple[Any, ...]] = []
    for row in store.query(f"SELECT {cols}, seal FROM {spec.kind} ORDER BY id"):
        values = [row[i] for i in order]
        if sealer.good(spec.kind, values, row[-1]):
            good.append(tuple(row[:-1]))
        else:
            keys = [values[SEALED[spec.kind].index(k)] for k in KEYS[spec.kind]]
            report.notes.append(f"{TamperedRow(spec.kind, keys)}; it was not sent to the clinic")
    return good


def _push_owned(
    store: Store, sealer: Sealer, conn: PgConn, origin: str, report: SyncReport
) -> None:
    with conn.transaction():
        # This programmer's versions are numbered 1, 2, 3...: one sync of it at a time.
        conn.execute("SELECT pg_advisory_xact_lock(7433003, hashtext(%s))", (origin,))
        latest = {
            (str(kind), int(local_id)): str(sha)
            for kind, local_id, sha in conn.execute(
                "SELECT DISTINCT ON (kind, local_id) kind, local_id, sha FROM itp.row_versions"
                " WHERE origin = %s ORDER BY kind, local_id, oseq DESC",
                (origin,),
            ).fetchall()
        }
        top = conn.execute(
            "SELECT coalesce(max(oseq), 0) FROM itp.row_versions WHERE origin = %s", (origin,)
        ).fetchone()
        oseq = int(top[0]) if top else 0
        pending: list[tuple[Any, ...]] = []
        for spec in OWNED:
            for row in _owned_rows(store, sealer, spec, report):
                text, sha = _content(spec, row)
                if latest.get((spec.kind, int(row[0]))) == sha:
                    continue
                oseq += 1
                pending.append((origin, oseq, spec.kind, int(row[0]), text, sha))
                report.add("pushed", spec.kind, 1)
        if pending:
            with conn.cursor().copy(
                "COPY itp.row_versions (origin, oseq, kind, local_id, content, sha) FROM STDIN"
            ) as copy:
                for item in pending:
                    copy.write_row(item)


def _pull_owned(store: Store, conn: PgConn, origin: str, report: SyncReport) -> None:
    marks = dict(
        (str(o), int(s)) for o, s in store.query("SELECT origin, last_oseq FROM clinic_pulled")
    )
    # One query says which programmers have anything new (each one's oseq only grows).
    others = [
        str(o)
        for o, top in conn.execute(
            "SELECT origin, max(oseq) FROM itp.row_versions WHERE origin <> %s GROUP BY origin"
            " ORDER BY origin",
            (origin,),
        ).fetchall()
        if int(top) > marks.get(str(o), 0)
    ]
    for other in others:
        while True:
            after = marks.get(other, 0)
            rows = conn.execute(
                "SELECT oseq, kind, local_id, content FROM itp.row_versions"
                " WHERE origin = %s AND oseq > %s ORDER BY oseq LIMIT %s",
                (other, after, PULL_BATCH),
            ).fetchall()
            if not rows:
                break
            with store.write() as lconn:
                for oseq, kind, local_id, content in rows:
                    if len(content) > MAX_ROW_TEXT or kind not in OWNED_KINDS:
                        raise ClinicError(
                            f"a {str(kind)[:40]} record from programmer {other[:8]} is not valid"
                            " (unknown kind or over 1 MB); nothing of it was stored"
                        )
                    lconn.execute(
                        "INSERT INTO clinic_rows VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (kind, origin, local_id) DO UPDATE SET"
                        " oseq = excluded.oseq, content = excluded.content"
                        " WHERE excluded.oseq > clinic_rows.oseq",
                        (kind, other, local_id, oseq, content),
                    )
                    report.add("pulled", str(kind), 1)
                last = int(rows[-1][0])
                lconn.execute(
                    "INSERT INTO clinic_pulled VALUES (?, ?) ON CONFLICT (origin)"
                    " DO UPDATE SET last_oseq = excluded.last_oseq",
                    (other, last),
                )
            marks[other] = last


# -- the audit chain ------------------------------------------------------------------------------

_AUDIT_COLS = ", ".join(FIELDS)


def _local_audit(store: Store, after: int, upto: int) -> Iterator[tuple[Any, ...]]:
    """Records after..upto in order, read in pages (a trail may hold millions)."""
    cursor = after
    while cursor < upto:
        page = store.query(
            f"SELECT {_AUDIT_COLS} FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            (cursor, upto, AUDIT_BATCH),
        )
        if not page:
            return
        yield from (tuple(r) for r in page)
        cursor = int(page[-1][0])


def _chain_at(store: Store, seq: int) -> str:
    """The chain value after local record `seq`, from the cached value when it helps."""
    cached = local_state.get(store, "audit_chain")
    start, value = 0, chainmod.GENESIS
    if cached is not None and int(cached["seq"]) <= seq:
        start, value = int(cached["seq"]), str(cached["chain"])
    value = chainmod.extend(value, _local_audit(store, start, seq))
    return value


def _push_audit(store: Store, conn: PgConn, origin: str, report: SyncReport, batch: int) -> None:
    head_row = store.query("SELECT coalesce(max(seq), 0) FROM audit")[0]
    local_head = int(head_row[0])
    srow = conn.execute(
        "SELECT seq, mac FROM itp.audit WHERE origin = %s ORDER BY seq DESC LIMIT 1", (origin,)
    ).fetchone()
    server_head = 0 if srow is None else int(srow[0])
    if server_head > local_head:
        raise ClinicDiverged(
            f"the clinic holds audit records up to {server_head} from this programmer, but "
            f"this database ends at record {local_head}: it was restored from an older copy "
            "(or copied from another machine); the audit trail was not sent. Ask the "
            "clinic's administrator before going on"
        )
    if srow is not None:
        mine = store.query("SELECT mac FROM audit WHERE seq = ?", (server_head,))
        if not mine or mine[0][0] != srow[1]:
            raise ClinicDiverged(
                f"record {server_head} of this programmer differs between the clinic and "
                "this database: a copied or restored database; the audit trail was not sent"
            )
    value = _chain_at(store, server_head)
    done = server_head
    while done < local_head:
        upto = min(done + batch, local_head)
        rows = list(_local_audit(store, done, upto))
        value = chainmod.extend(value, rows)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(7433004, hashtext(%s))", (origin,))
            again = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM itp.audit WHERE origin = %s", (origin,)
            ).fetchone()
            if again is None or int(again[0]) != done:
                raise ClinicError(
                    "another sync of this programmer ran at the same time; run the sync again"
                )
            with conn.cursor().copy(
                f"COPY itp.audit (origin, {_AUDIT_COLS}, nul_escaped) FROM STDIN"
            ) as copy:
                for row in rows:
                    stored, escaped = pgtext.encode_row(row)
                    copy.write_row((origin, *stored, escaped))
            conn.execute(
                "INSERT INTO itp.audit_checkpoints (origin, seq, mac, chain) VALUES (%s, %s, %s, %s)",
                (origin, upto, rows[-1][12], value),
            )
        local_state.put(store, "audit_chain", {"seq": upto, "chain": value})
        report.add("pushed", "audit", len(rows))
        done = upto


def state_row(store: Store) -> dict[str, Any] | None:
    """The last sync's outcome, for the app's status line."""
    try:
        rows = store.query(
            "SELECT started_at, finished_at, clinic, outcome, detail FROM clinic_sync_log"
            " ORDER BY id DESC LIMIT 1"
        )
    except Exception:  # no clinic tables yet: never synced
        return None
    if not rows:
        return None
    keys = ("started_at", "finished_at", "clinic", "outcome", "detail")
    return dict(zip(keys, rows[0], strict=True))
