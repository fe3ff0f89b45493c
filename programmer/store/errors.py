"""Errors of the local store, each with a message a clinician can act on.

Every sqlite3 error that leaves the store is translated into one of these, so callers
(the CLI, the GUI, the pump session) never show a traceback or a bare SQLite code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


class StoreError(Exception):
    """Base class: the store could not do what was asked. Nothing committed is lost."""


class StoreUnavailable(StoreError):
    """The database file cannot be opened (missing, no permission, not a file)."""


class StoreLocked(StoreError):
    """Another program holds the database for writing."""


class StoreReadOnly(StoreError):
    """The database (or its folder) cannot be written."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full."""


class StoreCorrupt(StoreError):
    """The file is damaged or is not an itp database."""


class StoreIOError(StoreError):
    """The operating system reported a read or write error."""


class StoreNewerSchema(StoreError):
    """The database was written by a newer version of itp."""


class AppendOnlyViolation(StoreError):
    """Something tried to change or delete an audit record."""


def translate(exc: sqlite3.Error, where: str) -> StoreError:
    """Map a sqlite3 error onto a StoreError with a message naming the database."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return StoreLocked(
            f"the database {where} is in use by another itp window or program; "
            "close it and try again (nothing was lost)"
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return StoreReadOnly(
            f"the database {where} cannot be written (read-only file, folder or medium); "
            "nothing was changed"
        )
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return StoreFull(
            f"the disk holding {where} is full; free some space and try again "
            "(what was saved before is intact, the last action was not saved)"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return StoreCorrupt(
            f"the database {where} is damaged or is not an itp database; "
            "do not delete it: keep a copy and restore from backup"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreUnavailable(f"the database {where} cannot be opened ({text})")
    if name.startswith("SQLITE_IOERR"):
        return StoreIOError(f"the disk reported an error on {where} ({text}); nothing was lost")
    if name.startswith("SQLITE_CONSTRAINT_TRIGGER") and "append-only" in text:
        return AppendOnlyViolation("refused: the audit trail is append-only")
    return StoreError(f"database error on {where}: {text}")


@contextmanager
def translated(where: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, where) from exc
