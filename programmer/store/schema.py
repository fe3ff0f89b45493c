"""The database schema as numbered migrations. PRAGMA user_version holds the applied number.

Never edit a released migration: add a new one. Each runs in one transaction together
with its user_version bump, so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


_V1 = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT""",
    """CREATE TABLE accounts (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('physician', 'nurse', 'admin')),
        password_hash TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        failed_count INTEGER NOT NULL DEFAULT 0,
        locked_until_s INTEGER,
        created_at TEXT NOT NULL,
        created_s INTEGER NOT NULL,
        created_by TEXT
    ) STRICT""",
    """CREATE TABLE pumps (
        serial TEXT PRIMARY KEY,
        model TEXT,
        info TEXT,
        first_seen_at TEXT NOT NULL,
        first_seen_s INTEGER NOT NULL,
        last_seen_at TEXT NOT NULL,
        last_seen_s INTEGER NOT NULL
    ) STRICT""",
    """CREATE TABLE visits (
        id INTEGER PRIMARY KEY,
        pump_serial TEXT NOT NULL REFERENCES pumps(serial),
        account TEXT NOT NULL,
        started_at TEXT NOT NULL,
        started_s INTEGER NOT NULL,
        ended_at TEXT,
        ended_s INTEGER
    ) STRICT""",
    "CREATE INDEX visits_by_pump ON visits (pump_serial, started_s)",
    # Keyed by (serial, seq): a re-read inserts nothing, a gap stays a gap.
    """CREATE TABLE pump_events (
        pump_serial TEXT NOT NULL REFERENCES pumps(serial),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        read_at TEXT NOT NULL,
        PRIMARY KEY (pump_serial, seq)
    ) STRICT, WITHOUT ROWID""",
    "CREATE INDEX pump_events_by_time ON pump_events (pump_serial, at_s)",
    """CREATE TABLE infusion_hours (
        pump_serial TEXT NOT NULL REFERENCES pumps(serial),
        hour_s INTEGER NOT NULL CHECK (hour_s % 3600 = 0),
        hour_at TEXT NOT NULL,
        volume_nl INTEGER NOT NULL,
        data TEXT NOT NULL,
        read_at TEXT NOT NULL,
        PRIMARY KEY (pump_serial, hour_s)
    ) STRICT, WITHOUT ROWID""",
    """CREATE TABLE prescriptions_sent (
        id INTEGER PRIMARY KEY,
        pump_serial TEXT NOT NULL REFERENCES pumps(serial),
        visit_id INTEGER REFERENCES visits(id),
        account TEXT NOT NULL,
        at TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        prescription TEXT NOT NULL,
        program TEXT NOT NULL,
        outcome TEXT NOT NULL
            CHECK (outcome IN ('pending', 'applied', 'not_applied', 'uncertain')),
        therapy_crc TEXT,
        outcome_at TEXT
    ) STRICT""",
    "CREATE INDEX prescriptions_by_pump ON prescriptions_sent (pump_serial, at_s)",
    """CREATE TABLE refills (
        id INTEGER PRIMARY KEY,
        pump_serial TEXT NOT NULL REFERENCES pumps(serial),
        visit_id INTEGER REFERENCES visits(id),
        account TEXT NOT NULL,
        at TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        removed_nl INTEGER NOT NULL CHECK (removed_nl >= 0),
        added_nl INTEGER NOT NULL CHECK (added_nl >= 0),
        expected_nl INTEGER,
        last_fill_nl INTEGER,
        discrepancy_pct REAL,
        finding TEXT,
        drugs TEXT
    ) STRICT""",
    "CREATE INDEX refills_by_pump ON refills (pump_serial, at_s)",
    """CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    ) STRICT""",
    # The audit trail. seq is the rowid, so appends go to the end of the b-tree.
    """CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        ts_s INTEGER NOT NULL,
        action TEXT NOT NULL,
        account TEXT,
        role TEXT,
        pump_serial TEXT,
        before TEXT,
        after TEXT,
        reason TEXT,
        outcome TEXT,
        prev_mac TEXT NOT NULL,
        mac TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX audit_by_pump ON audit (pump_serial, ts_s)",
    "CREATE INDEX audit_by_account ON audit (account, ts_s)",
    "CREATE INDEX audit_by_action ON audit (action, ts_s)",
    "CREATE INDEX audit_by_time ON audit (ts_s)",
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
)

# Row seals (issue 13): an HMAC over every row a safety decision or an authorization
# reads, so an edit with plain sqlite3 is found (programmer/store/seals.py). Rows written
# before this version are sealed once, when the audit key is first at hand
# (AuditTrail.open), and that is recorded in the trail.
_SEALED_TABLES = (
    "accounts",
    "pump_events",
    "infusion_hours",
    "prescriptions_sent",
    "refills",
    "settings",
)
_V2 = (
    *(f"ALTER TABLE {table} ADD COLUMN seal TEXT" for table in _SEALED_TABLES),
    "INSERT INTO meta (key, value) SELECT 'legacy_rows_unsealed', '1' WHERE "
    + " OR ".join(f"EXISTS (SELECT 1 FROM {table})" for table in _SEALED_TABLES),
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "row seals", _V2),
)

LATEST_VERSION = MIGRATIONS[-1].version
