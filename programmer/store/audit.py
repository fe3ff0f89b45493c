"""The audit trail: one HMAC-chained, append-only record per action of consequence.

The pump session writes the program intent with `append` BEFORE sending anything; if
`append` raises, nothing may be sent (fail closed).
"""

from __future__ import annotations

import hmac
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from programmer.files import write_private_atomically
from programmer.store.audit_chain import (
    FIELDS,
    GENESIS_MAC,
    AuditRecord,
    Checkpoint,
    Mac,
    Problem,
    VerifyResult,
    canonical_json,
    result_of,
    walk,
)
from programmer.store.audit_export import export_csv, export_json
from programmer.store.audit_key import AuditKeyError, create_key, default_key, key_id, load_key
from programmer.store.clock import utc_seconds, utc_text
from programmer.store.db import Store
from programmer.store.errors import StoreError, translated
from programmer.store.seals import SEAL_ENCODING, SEALED, RowProblem, Sealer, account_problems


class AuditAction(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    LOCK = "lock"
    UNLOCK = "unlock"
    PUMP_CONNECTED = "pump_connected"
    INTERROGATED = "interrogated"
    HISTORY_READ = "history_read"
    PRESCRIPTION_CHECKED = "prescription_checked"
    FINDING_OVERRIDDEN = "finding_overridden"
    PROGRAM_INTENT = "program_intent"
    PROGRAM_OUTCOME = "program_outcome"
    REFILL_RECORDED = "refill_recorded"
    CLOCK_SET = "clock_set"
    EXPORT = "export"
    ACCOUNT_CHANGED = "account_changed"
    SETTINGS_CHANGED = "settings_changed"
    SESSION_ENDED = "session_ended"  # the pump session closed (with any stopped-pump warning)
    PATIENT_CHANGED = "patient_changed"  # programmer.patients: details, pumps, trials, visits


class ProgramOutcome(StrEnum):
    """Values of `outcome` on program_outcome records."""

    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    UNCERTAIN = "uncertain"
    UNCERTAIN_RESOLVED = "uncertain_resolved"


_COLUMNS = ", ".join(FIELDS)
_KEY_ID = "audit_key_id"
# In a review copy whose trail is fetched when first read (the clinic's review,
# programmer/clinic/review.py): set until it is fetched. A reader with no way to fetch it
# is refused rather than shown an empty trail.
REVIEW_AUDIT_PENDING = "review_audit_pending"
PARALLEL_MIN = 200_000  # below this, starting processes costs more than it saves
MAX_SEQ = 2**62  # no real trail comes near; SQLite integers stop at 2^63 - 1


class AuditTrail:
    """Append, verify, checkpoint, query and export the trail of one database."""

    def __init__(self, store: Store, key: bytes) -> None:
        self.store = store
        self._key: bytes | None = key
        self.key_id = key_id(key)
        self._mac: Mac | None = Mac(key)
        self._sealer: Sealer | None = Sealer(key)
        self.key_location = "given by the caller"  # where the key came from, for people
        self.key_notice: str | None = None  # say this to the user (key in a file...)
        # Why this trail is read as stored, unverified (a copy reviewed without its key).
        self.unverified_reason: str | None = None

    @classmethod
    def unverified(cls, store: Store, reason: str) -> AuditTrail:
        """A trail read without its key (an offline review on another computer): every
        record and sealed row reads as stored; verifying, sealing and appending raise
        AuditKeyError. Never made for a database that is written."""
        trail = cls.__new__(cls)
        trail.store = store
        trail._key = trail._mac = trail._sealer = None
        row = store.query("SELECT value FROM meta WHERE key = ?", (_KEY_ID,))
        trail.key_id = str(row[0][0]) if row else ""
        trail.key_location = "not on this computer"
        trail.key_notice = None
        trail.unverified_reason = reason
        return trail

    @property
    def verifiable(self) -> bool:
        """Whether this trail holds its key (False: read as stored, nothing verified)."""
        return self._key is not None

    def _no_key(self) -> AuditKeyError:
        return AuditKeyError(
            f"{self.unverified_reason or 'no audit key'}: verifying or recording needs "
            "the audit key of this record"
        )

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise self._no_key()
        return self._key

    @property
    def sealer(self) -> Sealer:
        """Seals rows and checks them; AuditKeyError on a trail read without its key."""
        if self._sealer is None:
            raise self._no_key()
        return self._sealer

    @property
    def seals(self) -> Sealer | None:
        """The sealer, or None where rows are read as stored (no key)."""
        return self._sealer

    @classmethod
    def open(cls, store: Store, key_path: Path | None = None) -> AuditTrail:
        """Load the key (default: the OS keyring, else a file), creating it for a new trail.

        A missing key for a trail that already has records is an error, not a new key:
        a new key would make every old record look forged.
        """

        def records() -> int:
            return int(store.query("SELECT max(seq) FROM audit")[0][0] or 0)  # O(1)

        if key_path is None:
            location = default_key(records)
            trail = cls(store, location.key)
            trail.key_location, trail.key_notice = location.where, location.notice
        elif key_path.exists():
            trail = cls(store, load_key(key_path))
            trail.key_location = f"the file {key_path}"
        else:
            if records():
                raise AuditKeyError(
                    f"the audit key file {key_path} is missing but the trail has {records()} "
                    "records; restore the key from backup (a new key cannot verify the old "
                    "records)"
                )
            trail = cls(store, create_key(key_path))
            trail.key_location = f"the file {key_path}"
        trail.seal_rows_from_before_seals()
        return trail

    def seal_rows_from_before_seals(self) -> int:
        """Seal, once, the rows a database held when it was upgraded to row seals.

        The migration marks such a database; the sealing is recorded in the trail, and
        once that record exists an unsealed row is never sealed again (it is reported as
        changed outside itp instead). Returns the number of rows sealed.
        """
        if self.store.read_only or not self.verifiable or self.key_matches() is False:
            return 0
        if not self.store.query("SELECT 1 FROM meta WHERE key = 'legacy_rows_unsealed'"):
            return 0
        sealed = 0
        with self.store.write() as conn:
            done = conn.execute(
                "SELECT 1 FROM audit WHERE action = 'settings_changed'"
                " AND after LIKE '%\"row_seals\"%' LIMIT 1"
            ).fetchone()
            if not done:
                for table in SEALED:
                    sealed += conn.execute(
                        f"SELECT count(*) FROM {table} WHERE seal IS NULL"
                    ).fetchone()[0]
                    self.sealer.reseal(conn, table, "seal IS NULL", ())
                self.append(
                    AuditAction.SETTINGS_CHANGED,
                    account=None,
                    role=None,
                    after={"row_seals": SEAL_ENCODING, "sealed_rows": sealed},
                    reason="rows stored before row seals (schema 2) sealed once",
                )
            conn.execute("DELETE FROM meta WHERE key = 'legacy_rows_unsealed'")
        return sealed

    def key_matches(self) -> bool | None:
        """True/False when the database names its key, None for a trail never written."""
        if not self.verifiable:
            return None
        row = self.store.query("SELECT value FROM meta WHERE key = ?", (_KEY_ID,))
        return None if not row else hmac.compare_digest(row[0][0], self.key_id)

    def append(
        self,
        action: AuditAction | str,
        *,
        account: str | None,
        role: str | None,
        pump_serial: str | None = None,
        before: Any = None,
        after: Any = None,
        reason: str | None = None,
        outcome: str | None = None,
    ) -> AuditRecord:
        """Write one record and commit it (or join the caller's write transaction).

        Raises StoreError (locked, read-only, full, corrupt) or AuditKeyError; then
        nothing was written and the caller must not go ahead with the action.
        """
        if self._mac is None:
            raise self._no_key()
        mac_of = self._mac
        now = self.store.clock()
        values: list[Any] = [
            None,
            utc_text(now),
            utc_seconds(now),
            str(AuditAction(action)),
            _text(account),
            _text(role),
            _text(pump_serial),
            None if before is None else canonical_json(before),
            None if after is None else canonical_json(after),
            _text(reason),
            _text(outcome),
        ]
        with self.store.write() as conn:
            # A record past MAX_SEQ can only have been planted (a trail of 2^62 records
            # is impossible); chaining on after it would overflow and fail every later
            # command. It is skipped here and reported by verify.
            head = conn.execute(
                "SELECT seq, mac FROM audit WHERE seq <= ? ORDER BY seq DESC LIMIT 1", (MAX_SEQ,)
            ).fetchone()
            if head is None:
                conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (_KEY_ID, self.key_id))
                seq, prev = 1, GENESIS_MAC
            else:
                seq, prev = head[0] + 1, head[1]
            stored = conn.execute("SELECT value FROM meta WHERE key = ?", (_KEY_ID,)).fetchone()
            if stored is not None and stored[0] != self.key_id:
                raise AuditKeyError(
                    "the audit key does not belong to this database; "
                    "nothing was recorded (use the key file this trail was started with)"
                )
            values[0] = seq
            row = (*values, prev)
            mac = mac_of(row)
            conn.execute(f"INSERT INTO audit ({_COLUMNS}) VALUES ({_marks(13)})", (*row, mac))
        return AuditRecord.from_row((*row, mac))

    def head(self) -> Checkpoint:
        row = self.store.query(
            "SELECT seq, mac FROM audit WHERE seq <= ? ORDER BY seq DESC LIMIT 1", (MAX_SEQ,)
        )
        seq, mac = (row[0][0], row[0][1]) if row else (0, GENESIS_MAC)
        return Checkpoint(seq, mac, utc_text(self.store.clock()), self.key_id)

    def checkpoint(self, out: Path | None = None) -> Checkpoint:
        """The current head; written atomically to `out` when given."""
        point = self.head()
        if out is not None:
            _write_atomically(out, point.to_json())
        return point

    def verify(
        self, checkpoint: Checkpoint | None = None, *, workers: int | None = None
    ) -> VerifyResult:
        """Check every record from 1; names the first bad one and why.

        Large trails in a file are checked on several processes (workers=None: one per
        core from PARALLEL_MIN records on; workers=1 forces a single walk).
        """
        if self._key is None:
            raise self._no_key()
        key = self._key
        if self.key_matches() is False:
            return VerifyResult(
                False,
                0,
                Checkpoint(0, GENESIS_MAC),
                1,
                Problem.WRONG_KEY,
                "the audit key is not the one this trail was written with",
            )
        with translated(self.store.where), self._reading() as conn:
            max_seq = conn.execute("SELECT max(seq) FROM audit").fetchone()[0] or 0
            if max_seq > MAX_SEQ:
                workers = 1  # a planted record far out: the single walk names it
            if workers is None:
                workers = (os.cpu_count() or 1) if max_seq >= PARALLEL_MIN else 1
                if getattr(sys, "frozen", False):
                    # A frozen app re-runs itself for spawned workers unless its entry
                    # point calls multiprocessing.freeze_support(); ask for workers then.
                    workers = 1
            workers = max(1, min(workers, max_seq))
            # Other processes see only committed data: uncommitted records walk here.
            if workers > 1 and self.store.path is not None and conn is not self.store.conn:
                from programmer.store.audit_parallel import (
                    walk_parallel,  # multiprocessing: only when verifying
                )

                found = walk_parallel(self.store.path, key, max_seq, workers)
            else:
                found = walk(_rows(conn), key)

            def mac_at(seq: int) -> str | None:
                row = conn.execute("SELECT mac FROM audit WHERE seq = ?", (seq,)).fetchone()
                return None if row is None else str(row[0])

            result = result_of(found, checkpoint, mac_at)
            if not result.ok:
                return result
            rows = self.row_problems(conn)
            if rows:
                first = rows[0]
                more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
                return replace(
                    result,
                    ok=False,
                    problem=Problem.ROW_ALTERED,
                    message=first.message + more,
                    row_problems=tuple(rows),
                )
            return result

    def row_problems(self, conn: sqlite3.Connection | None = None) -> list[RowProblem]:
        """Sealed rows changed outside itp, and accounts whose role or enabled state is
        not the one the audit chain records (an old row put back with its old seal)."""
        if conn is None:
            with translated(self.store.where), self._reading() as reading:
                return self.row_problems(reading)
        found = list(self.sealer.problems(conn))
        found += account_problems(conn)
        return found

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for a long read (verify, export).

        For a trail in a file, a separate read-only snapshot, so the GUI and the device
        worker can keep appending meanwhile. The shared connection (holding the store's
        lock) in memory, or inside this thread's open transaction, whose uncommitted
        records must be seen.
        """
        # Rows a review copy fetches on demand come first: the whole trail, not what a
        # list happened to load (this read bypasses Store.query's hook).
        if self.store.on_demand is not None:
            self.store.on_demand(f"SELECT {_COLUMNS} FROM audit", ())
        pending = self.store.query("SELECT value FROM meta WHERE key = ?", (REVIEW_AUDIT_PENDING,))
        if pending:
            raise StoreError(
                f"{self.store.where} is a clinic review copy whose audit trail has not been"
                " fetched from the clinic: open the review (itp gui --offline --clinic URL)"
                " and read it there, or verify the clinic's chains with"
                " itp audit verify --clinic URL"
            )
        with self.store.lock:
            # An immutable copy (offline review) changes under nobody: its own connection.
            if self.store.path is None or self.store.conn.in_transaction or self.store.immutable:
                yield self.store.conn
                return
        conn = sqlite3.connect(f"{self.store.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            yield conn
        finally:
            conn.close()

    def query(
        self,
        *,
        account: str | None = None,
        pump: str | None = None,
        action: AuditAction | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Records matching every given filter, oldest first; since inclusive, until exclusive."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("account", account), ("pump_serial", pump), ("action", action)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        if since is not None:
            clauses.append("ts_s >= ?")
            params.append(utc_seconds(since))
        if until is not None:
            clauses.append("ts_s < ?")
            params.append(utc_seconds(until))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        if limit is not None:
            where += f" ORDER BY seq LIMIT {int(limit)}"
            sql = f"SELECT {_COLUMNS} FROM audit {where}"
        else:
            sql = f"SELECT {_COLUMNS} FROM audit {where} ORDER BY seq"
        return [AuditRecord.from_row(row) for row in self.store.query(sql, tuple(params))]

    def export(self, fmt: str, out: TextIO) -> int:
        """Write the whole trail, MACs included, as 'csv' or 'json'; returns the count."""
        if fmt not in ("csv", "json"):
            raise ValueError(f"unknown export format {fmt!r} (csv or json)")
        with translated(self.store.where), self._reading() as conn:
            if fmt == "csv":
                return export_csv(_rows(conn), out)
            return export_json(_rows(conn), out, self.key_id, utc_text(self.store.clock()))


def _rows(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    # Iterating the cursor itself is the fastest way through 1,000,000 rows.
    cursor: Iterator[tuple[Any, ...]] = conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq")
    return cursor


def _text(value: str | None) -> str | None:
    # Empty text is stored as NULL so a CSV export (empty cell) round-trips exactly.
    return None if value is None or value == "" else str(value)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _write_atomically(path: Path, text: str) -> None:
    write_private_atomically(path, text.encode("utf-8"))
