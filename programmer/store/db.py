"""Opening the local SQLite database: pragmas, migrations, and write transactions.

One `Store` is one connection. Writes go through `Store.write()`, which takes the
write lock up front (BEGIN IMMEDIATE) so two writers queue instead of deadlocking,
and commits with synchronous=FULL so an acknowledged write survives power loss.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs

from programmer.store.clock import Clock, system_clock
from programmer.store.errors import (
    StoreCorrupt,
    StoreError,
    StoreNewerSchema,
    StoreUnavailable,
    translate,
    translated,
)
from programmer.store.schema import LATEST_VERSION, MIGRATIONS

DEFAULT_BUSY_TIMEOUT_S = 5.0


def default_db_path() -> Path:
    return platformdirs.user_data_path("itp") / "itp.sqlite3"


class Store:
    """An open itp database. Use as a context manager or call close()."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None, clock: Clock) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock
        self.where = str(path) if path is not None else "(in memory)"
        self._db: Any = None
        self._savepoints = 0
        self.notices: list[str] = []  # things the user should be told (a mode fixed)
        self.read_only = False  # opened with mode=ro: nothing can be written here
        self.immutable = False  # a copy opened with immutable=1 (offline review)
        self.review_warnings: list[Any] = []  # review.ReviewWarning, for the app to show
        # A review copy filled on demand (the clinic's): called with each query before it
        # runs, so rows the copy does not hold yet are fetched first (review.fill_on_demand).
        self.on_demand: Callable[[str, Any], None] | None = None
        # The GUI thread and the device worker share this one connection: every
        # transaction and query holds the lock, so they never interleave.
        self.lock = threading.RLock()

    @property
    def db(self) -> Any:
        """sqlite-utils on this connection, for convenience queries and bulk inserts.

        Made on first use: importing sqlite-utils pulls in numpy (~0.5 s), which every
        `itp audit`/`itp users` run and every verify worker would otherwise pay.
        """
        if self._db is None:
            import sqlite_utils

            # Nests inside our transactions as savepoints.
            self._db = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._db

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            yield from self._write()

    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls become savepoints of the outer one.

        On any exception everything since the start is rolled back and a sqlite3
        error is re-raised as a StoreError; what was committed before stays.
        """
        if self.conn.in_transaction:
            self._savepoints += 1
            name = f"sp{self._savepoints}"
            try:
                with translated(self.where):
                    self.conn.execute(f"SAVEPOINT {name}")
                try:
                    yield self.conn
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute(f"ROLLBACK TO {name}")
                        self.conn.execute(f"RELEASE {name}")
                    raise
                with translated(self.where):
                    self.conn.execute(f"RELEASE {name}")
            except sqlite3.Error as exc:
                raise translate(exc, self.where) from exc
            finally:
                self._savepoints -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                _rollback(self.conn)
                raise
        except sqlite3.Error as exc:
            raise translate(exc, self.where) from exc

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[Any]:
        if self.on_demand is not None:
            self.on_demand(sql, params)
        with self.lock, translated(self.where):
            return self.conn.execute(sql, params).fetchall()

    @property
    def schema_version(self) -> int:
        version: int = self.query("PRAGMA user_version")[0][0]
        return version

    def integrity_check(self) -> list[str]:
        """PRAGMA integrity_check; ["ok"] when the file is sound."""
        return [str(row[0]) for row in self.query("PRAGMA integrity_check")]

    def pragma(self, name: str) -> Any:
        return self.query(f"PRAGMA {name}")[0][0]


def _rollback(conn: sqlite3.Connection) -> None:
    # A failed COMMIT (disk full, busy) can leave the transaction open; close it.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def open_store(
    path: str | Path | None = None,
    *,
    create: bool = True,
    read_only: bool = False,
    clock: Clock = system_clock,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
) -> Store:
    """Open (and, unless read_only, migrate) the database; None means the default path.

    create=False refuses to make a new file, or to turn an existing empty one into an itp
    database, so a mistyped --db or a command that only reads never starts a trail. A
    file is first looked at read-only: one that is not ours, or is newer, is refused
    before anything (the switch to WAL included) is written to it. A database that other
    users can read is made owner-only (0600) and `Store.notices` says so.
    Raises StoreError subclasses with clear messages.
    """
    db_path = Path(path) if path is not None else default_db_path()
    where = str(db_path)
    notices: list[str] = []
    if not db_path.exists():
        if read_only or not create:
            raise StoreUnavailable(f"there is no database at {where}")
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            # Owner-only from the start: it holds password hashes and pump history.
            os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the database {where}: {exc}") from exc
    elif not db_path.is_file():
        raise StoreUnavailable(f"{where} is not a file")
    elif not read_only:
        _probe(db_path, busy_timeout_s, create)
        notices += _make_private(db_path)
    try:
        if read_only:
            conn = sqlite3.connect(
                f"{db_path.resolve().as_uri()}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        else:
            conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise translate(exc, where) from exc
    store = Store(conn, db_path, clock)
    store.notices = notices
    store.read_only = read_only
    try:
        _configure(conn, busy_timeout_s, read_only)
        _check_is_ours(store)
        if not read_only:
            migrate(store)
            _migrate_extensions(store)
        elif store.schema_version > LATEST_VERSION:
            raise _newer(store)
    except sqlite3.Error as exc:
        conn.close()
        raise translate(exc, where) from exc
    except StoreError:
        conn.close()
        raise
    return store


def _probe(db_path: Path, busy_timeout_s: float, create: bool) -> None:
    """Look at an existing file read-only: refuse it before writing anything to it."""
    where = str(db_path)
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise translate(exc, where) from exc
    probe = Store(conn, db_path, system_clock)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _check_is_ours(probe)
        if probe.schema_version > LATEST_VERSION:
            raise _newer(probe)
        if probe.schema_version == 0 and not create:
            raise StoreUnavailable(
                f"{where} is empty, not an itp database; nothing was written to it "
                "(choose the database with --db)"
            )
    except sqlite3.Error as exc:
        raise translate(exc, where) from exc
    finally:
        conn.close()


def _make_private(db_path: Path) -> list[str]:
    """Tighten a database (and its -wal, -shm) that group or others can read to 0600.

    Fixed rather than refused: the file holds password hashes and patient pump history,
    and refusing would leave it readable until someone finds the chmod command.
    """
    if os.name != "posix":
        return []
    notices = []
    for file in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                file.chmod(0o600)
            except OSError as exc:
                raise StoreUnavailable(
                    f"{file} can be read by other users (mode {mode:04o}) and cannot be made "
                    f"private ({exc.strerror}); run: chmod 600 {file}"
                ) from None
            notices.append(
                f"{file} could be read by other users (mode {mode:04o}); it is now 0600 "
                "(owner only)"
            )
    return notices


def open_memory_store(clock: Clock = system_clock) -> Store:
    """A migrated in-memory database (tests and `itp plan`-like dry runs)."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    store = Store(conn, None, clock)
    _configure(conn, DEFAULT_BUSY_TIMEOUT_S, read_only=False)
    migrate(store)
    _migrate_extensions(store)
    return store


def _migrate_extensions(store: Store) -> None:
    """Packages with their own versioned tables (patients) migrate after the store."""
    from programmer.patients.schema import migrate_patients

    migrate_patients(store)


def _configure(conn: sqlite3.Connection, busy_timeout_s: float, read_only: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    # Reading the header here turns "not a database" into an error now, not mid-session.
    conn.execute("PRAGMA schema_version").fetchone()
    if not read_only:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            raise StoreError(f"could not switch the database to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cell_size_check = ON")
    conn.execute("PRAGMA trusted_schema = OFF")


def _check_is_ours(store: Store) -> None:
    """A non-empty database without our version stamp is someone else's file."""
    version = store.schema_version
    if version == 0:
        tables = store.query("SELECT count(*) FROM sqlite_schema WHERE type = 'table'")[0][0]
        if tables:
            raise StoreCorrupt(
                f"{store.where} is an SQLite database but not an itp database; "
                "choose another file with --db"
            )


def _newer(store: Store) -> StoreNewerSchema:
    return StoreNewerSchema(
        f"the database {store.where} was written by a newer itp "
        f"(schema {store.schema_version}, this program knows up to {LATEST_VERSION}); "
        "update itp, do not open it with this version"
    )


def migrate(store: Store) -> None:
    """Apply pending migrations, each in its own transaction with its version bump."""
    version = store.schema_version
    if version > LATEST_VERSION:
        raise _newer(store)
    if version == LATEST_VERSION:
        return  # the usual case: no write lock taken just for opening
    for migration in MIGRATIONS:
        with store.write() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= migration.version:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {migration.version}")
