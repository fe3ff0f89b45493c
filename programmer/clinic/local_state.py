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
import sqlite3
import uuid
from typing import Any

from programmer.clinic import patients_sync
from programmer.clinic.tables import HISTORY
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
    """CREATE TABLE IF NOT EXISTS clinic_heads (
        tbl TEXT NOT NULL, pump_serial TEXT NOT NULL, n INTEGER NOT NULL,
        max_key INTEGER, check_sum INTEGER NOT NULL,
        PRIMARY KEY (tbl, pump_serial)) STRICT""",
    """CREATE TABLE IF NOT EXISTS clinic_sync_log (
        id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
        clinic TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT) STRICT""",
)


def _head_triggers(conn: sqlite3.Connection) -> None:
    """`clinic_heads` counts each pump's history rows (count, last key, check sum) as
    they are written, so a day's sync compares two small rows instead of scanning five
    years of hours per pump. Created with the triggers; recounted whenever a trigger
    was missing (a new database, or a table rebuilt by a migration)."""
    for table in HISTORY:
        names = [f"clinic_heads_{table.name}_{op}" for op in ("ins", "del", "upd")]
        have = conn.execute(
            f"SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"
            f" AND name IN ({', '.join('?' * len(names))})",
            names,
        ).fetchone()[0]
        if have == len(names):
            continue
        for name in names:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        t, k, c = table.name, table.key, table.check
        conn.execute(f"""CREATE TRIGGER {names[0]} AFTER INSERT ON {t} BEGIN
            INSERT INTO clinic_heads VALUES ('{t}', NEW.pump_serial, 1, NEW.{k}, NEW.{c})
            ON CONFLICT (tbl, pump_serial) DO UPDATE SET n = n + 1,
              max_key = max(max_key, excluded.max_key), check_sum = check_sum + excluded.check_sum;
            END""")
        conn.execute(f"""CREATE TRIGGER {names[1]} AFTER DELETE ON {t} BEGIN
            UPDATE clinic_heads SET n = n - 1, check_sum = check_sum - OLD.{c},
              max_key = (SELECT max({k}) FROM {t} WHERE pump_serial = OLD.pump_serial)
            WHERE tbl = '{t}' AND pump_serial = OLD.pump_serial;
            END""")
        conn.execute(f"""CREATE TRIGGER {names[2]} AFTER UPDATE ON {t} BEGIN
            UPDATE clinic_heads SET check_sum = check_sum - OLD.{c} + NEW.{c},
              max_key = (SELECT max({k}) FROM {t} WHERE pump_serial = NEW.pump_serial)
            WHERE tbl = '{t}' AND pump_serial = NEW.pump_serial;
            END""")
        conn.execute("DELETE FROM clinic_heads WHERE tbl = ?", (t,))
        conn.execute(
            f"INSERT INTO clinic_heads SELECT '{t}', pump_serial, count(*), max({k}),"
            f" sum({c}) FROM {t} GROUP BY pump_serial"
        )


def ensure(store: Store, *, heads: bool = True) -> str:
    """Creates the clinic tables if needed; returns this programmer's id (32 hex digits).
    `heads=False`: without the history triggers (a review copy, filled in bulk)."""
    with store.write() as conn:
        for statement in LOCAL_DDL:
            conn.execute(statement)
        patients_sync.ensure_local(conn)
        if heads:
            _head_triggers(conn)
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
