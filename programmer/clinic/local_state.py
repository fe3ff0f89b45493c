"""The clinic's own tables inside the programmer's SQLite file (all named `clinic_*`).

They hold what sync needs to resume and to merge: this programmer's identity, how far
each other programmer's records were pulled, the last merged version of each shared
record, the chain hash at the last audit record the clinic holds, and a log of syncs.
Created on first use with CREATE TABLE IF NOT EXISTS; the store's own tables are not
changed. Another programmer's visits, prescriptions and refills live in `clinic_rows`
(their ids are that programmer's, so they never mix with this one's).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from programmer.store import Store

LOCAL_DDL = (
    "CREATE TABLE IF NOT EXISTS clinic_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT",
    """CREATE TABLE IF NOT EXISTS clinic_pulled (
        origin TEXT PRIMARY KEY, last_oseq INTEGER NOT NULL) STRICT""",
    """CREATE TABLE IF NOT EXISTS clinic_rows (
        kind TEXT NOT NULL, origin TEXT NOT NULL, local_id INTEGER NOT NULL,
        oseq INTEGER NOT NULL, content TEXT NOT NULL,
        PRIMARY KEY (kind, origin, local_id)) STRICT""",
    """CREATE TABLE IF NOT EXISTS clinic_shared_base (
        kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (kind, key)) STRICT""",
    """CREATE TABLE IF NOT EXISTS clinic_sync_log (
        id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
        clinic TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT) STRICT""",
)


def ensure(store: Store) -> str:
    """Creates the clinic tables if needed; returns this programmer's id (32 hex digits)."""
    with store.write() as conn:
        for statement in LOCAL_DDL:
            conn.execute(statement)
        row = conn.execute("SELECT value FROM clinic_meta WHERE key = 'programmer_id'").fetchone()
        if row is not None:
            return str(row[0])
        new_id = uuid.uuid4().hex
        conn.execute("INSERT INTO clinic_meta VALUES ('programmer_id', ?)", (new_id,))
        return new_id


def get(store: Store, key: str) -> Any:
    rows = store.query("SELECT value FROM clinic_meta WHERE key = ?", (key,))
    return json.loads(rows[0][0]) if rows else None


def put(store: Store, key: str, value: Any) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO clinic_meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value",
            (key, json.dumps(value, sort_keys=True)),
        )
