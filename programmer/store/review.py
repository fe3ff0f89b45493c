"""Copies for review: `itp backup` makes one, `open_for_review` opens one without changing it.

A nurse reviews a copy of the database on another machine (`itp gui --offline --db FILE`).
The copy is opened `immutable`, so SQLite writes nothing beside it (no -wal, no -shm);
the audit key is needed only to verify the trail, never to read it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from programmer.files import create_private
from programmer.store.accounts import Accounts, Principal
from programmer.store.audit import AuditTrail
from programmer.store.audit_key import default_key_path, find_key, load_key
from programmer.store.clock import Clock, system_clock
from programmer.store.db import Store, _check_is_ours
from programmer.store.errors import StoreError, translate
from programmer.store.schema import LATEST_VERSION
from programmer.store.seals import SEALED, select

_HEADER = b"SQLite format 3\x00"
_WAL = 2  # header bytes 18 and 19: 1 rollback journal, 2 WAL


class ReviewRefused(StoreError):
    """The file cannot be reviewed; `title` and the message are for a window."""

    def __init__(self, kind: str, title: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # missing, not_itp, other_version, in_use, unreadable
        self.title = title
        self.message = message


@dataclass(frozen=True)
class ReviewWarning:
    kind: str  # maybe_missing_wal
    title: str
    message: str


OnDemand = Callable[[str, Any], None]
_ON_DEMAND: dict[str, OnDemand] = {}


def fill_on_demand(path: Path, fetch: OnDemand) -> None:
    """`path` is a review copy still being filled (the clinic's, programmer/clinic/review.py):
    `open_for_review` then opens it read-only but not immutable (rows arrive while it is
    open) and gives each query to `fetch` first, which fetches what the query needs."""
    _ON_DEMAND[str(path.resolve())] = fetch


def open_for_review(path: str | Path, *, clock: Clock = system_clock) -> Store:
    """Open a database (a copy, usually) to read, changing nothing on disk.

    Immutable (`?immutable=1`): nothing is written, not even -wal or -shm files. A live
    database whose -wal and -shm are beside it (the app is running) is read through them
    instead, read-only, since immutable would ignore the newest records. Raises
    ReviewRefused for a file that is not an itp database of this version. Warnings the
    user must see (a copy that may lack its -wal file) are in `store.review_warnings`.
    """
    db_path = Path(path)
    where = str(db_path)
    header = _read_header(db_path)
    warnings: list[ReviewWarning] = []
    wal, shm = Path(f"{db_path}-wal"), Path(f"{db_path}-shm")
    live = False
    if header[18] == _WAL:
        if wal.exists() and wal.stat().st_size > 0:
            if not shm.exists():
                raise ReviewRefused(
                    "in_use",
                    "Copy incomplete",
                    f"{where} has its -wal file but not its -shm file beside it. Make the "
                    "copy with `itp backup --out FILE` on the computer that holds the "
                    "database, and open that copy.",
                )
            live = True
        else:
            warnings.append(
                ReviewWarning(
                    "maybe_missing_wal",
                    "Newest records may be missing",
                    f"{where} is in WAL mode and has no -wal file beside it. If it was "
                    "copied while itp was running, the newest records (up to the last "
                    "few minutes of work) are not in it. Copies made with `itp backup "
                    "--out FILE` are always complete.",
                )
            )
    fetch = _ON_DEMAND.get(str(db_path.resolve()))
    live = live or fetch is not None
    uri = db_path.resolve().as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise _unreadable(where, exc) from exc
    store = Store(conn, db_path, clock)
    store.read_only = True
    store.immutable = not live
    store.review_warnings = warnings
    store.on_demand = fetch
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        try:
            _check_is_ours(store)
        except StoreError as exc:
            raise ReviewRefused("not_itp", "Not an itp database", str(exc)) from None
        version = store.schema_version
        if version != LATEST_VERSION:
            raise ReviewRefused(
                "other_version", "Another version of itp", _version_text(where, version)
            )
    except sqlite3.Error as exc:
        conn.close()
        raise _unreadable(where, exc) from exc
    except StoreError:
        conn.close()
        raise
    return store


def review_trail(store: Store, key_path: Path | None = None) -> AuditTrail | None:
    """The audit trail of a reviewed copy, or None without its key.

    Never creates a key: the records can be read without one; only verifying needs it
    (the app says so).
    """
    path = key_path if key_path is not None else default_key_path()
    if not path.exists():
        return None
    return AuditTrail(store, load_key(path))


NO_KEY = "this computer does not hold the audit key of this record"


def open_review_trail(store: Store, key_path: Path | None = None) -> AuditTrail:
    """The audit trail of a database under review, verifiable when this computer holds
    its key (`key_path`, else the keyring or the default file), else read as stored.

    Never creates a key. A key that is not this record's (another computer's) gives an
    unverified trail too, its `unverified_reason` saying why, for the app to show.
    """
    if key_path is not None:
        if not key_path.exists():
            return AuditTrail.unverified(store, f"{NO_KEY} (there is no key file {key_path})")
        trail = AuditTrail(store, load_key(key_path))
        trail.key_location = f"the file {key_path}"
    else:
        found = find_key()
        if found is None:
            return AuditTrail.unverified(store, NO_KEY)
        trail = AuditTrail(store, found.key)
        trail.key_location = found.where
    if trail.key_matches() is False and not _seals_rows(store, trail):
        return AuditTrail.unverified(
            store, f"the audit key in {trail.key_location} is not the audit key of this record"
        )
    # A key that seals the rows, though the chain names another (the clinic's review
    # copy, sealed with its own key), checks them: verify then names the chain's key.
    return trail


def _seals_rows(store: Store, trail: AuditTrail) -> bool:
    """Whether `trail`'s key made the seals here (one sealed row, table by table)."""
    for table in SEALED:
        row = store.query(f"SELECT {select(table)} FROM {table} LIMIT 1")
        if row:
            return trail.sealer.good(table, row[0][:-1], row[0][-1])
    return False


def sign_in_for_review(
    store: Store, trail: AuditTrail | None, name: str, password: str, hasher: Any = None
) -> Principal:
    """Sign in to a reviewed database, with or without its audit key.

    With the key, `Accounts.sign_in_read_only` (on a live database failures count). Without
    it (`review_trail` gave None), only the password is checked on the copy, a locked or
    disabled account refused; the account row's seal cannot be checked, so the app should
    say that verification needs the key.
    """
    if trail is not None:
        return Accounts(store, trail, hasher).sign_in_read_only(name, password)
    # No trail: only the copy's password check runs, which never touches it.
    return Accounts(store, cast(AuditTrail, None), hasher).sign_in_to_copy(name, password, None)


def _read_header(db_path: Path) -> bytes:
    where = str(db_path)
    try:
        info = db_path.stat()
    except FileNotFoundError:
        raise ReviewRefused("missing", "No such database", f"there is no file {where}") from None
    except OSError as exc:
        raise ReviewRefused("unreadable", "Cannot read", f"{where}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ReviewRefused("unreadable", "Not a file", f"{where} is not a regular file")
    try:
        with open(db_path, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise ReviewRefused("unreadable", "Cannot read", f"{where}: {exc.strerror}") from None
    if len(header) < 100 or not header.startswith(_HEADER):
        raise ReviewRefused(
            "not_itp", "Not an itp database", f"{where} is not an SQLite database (nor an itp one)"
        )
    return header


def _version_text(where: str, version: int) -> str:
    if version > LATEST_VERSION:
        return (
            f"{where} was written by a newer itp (schema {version}; this one knows up to "
            f"{LATEST_VERSION}). Review it with that version of itp."
        )
    return (
        f"{where} was written by an older itp (schema {version}; this one reads "
        f"{LATEST_VERSION}). A copy opened for review is never changed, so it cannot be "
        "upgraded here: review it with the itp that wrote it, or make a copy of it "
        "and open that copy with `itp gui --db COPY`, which upgrades it."
    )


def _unreadable(where: str, exc: sqlite3.Error) -> ReviewRefused:
    error = translate(exc, where)
    return ReviewRefused("unreadable", "Cannot read the database", str(error))


def backup(store: Store, out: Path) -> int:
    """A consistent copy of the database in `out` (new, mode 0600); returns its size.

    SQLite's backup API copies one snapshot while the app goes on writing. The copy is
    switched to a rollback journal, so it is one self-contained file: nothing can be
    missing beside it.
    """
    if out.exists() or out.is_symlink():
        raise StoreError(f"{out} already exists; choose another name (nothing was written)")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    os.close(create_private(tmp))
    try:
        target = sqlite3.connect(tmp, isolation_level=None)
        try:
            with store.lock:
                store.conn.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
            check = target.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise StoreError(f"the copy did not check out ({check}); nothing was kept")
        finally:
            target.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, out)  # never over a file that appeared meanwhile
        except FileExistsError:
            raise StoreError(f"{out} appeared meanwhile; nothing was written to it") from None
        except OSError:
            os.replace(tmp, out)  # a file system without hard links (FAT, some shares)
    except sqlite3.Error as exc:
        raise translate(exc, str(out)) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out.stat().st_size
