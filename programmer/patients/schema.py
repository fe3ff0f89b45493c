"""The patients tables: their own numbered migrations, version kept in `meta`.

Separate from the store's PRAGMA user_version so the two schemas evolve without
renumbering each other. Hooked into the store's open (`programmer.store.db`). Like the
store's: never edit a released migration; add one. Patient details, trial results and
visits are append-only (triggers), so a record is versioned, never overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from programmer.store.db import Store

VERSION_KEY = "patients_schema_version"


def _append_only(table: str) -> tuple[str, str]:
    return (
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
    )


_V1 = (
    # One row per patient with its CURRENT details, pump and last visit: what the list shows,
    # read in one scan (10,000 patients in milliseconds). The details' history is in
    # patient_versions, append-only; each change writes both in one transaction.
    """CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        clinic_id TEXT NOT NULL UNIQUE COLLATE NOCASE,
        version INTEGER NOT NULL CHECK (version >= 1),
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        dob TEXT NOT NULL,
        indication TEXT,
        pump_serial TEXT,
        pump_kind TEXT,
        last_visit_at TEXT,
        last_visit_s INTEGER,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX patients_by_name ON patients (name_key, clinic_id)",
    """CREATE TABLE patient_versions (
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        dob TEXT NOT NULL,
        indication TEXT,
        notes TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        by TEXT NOT NULL,
        reason TEXT,
        PRIMARY KEY (patient_id, version)
    ) STRICT, WITHOUT ROWID""",
    *_append_only("patient_versions"),
    # A serial belongs to one patient for ever: a second link is refused by the key.
    """CREATE TABLE patient_pumps (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        kind TEXT NOT NULL CHECK (kind IN ('programmable', 'constant-flow')),
        model TEXT,
        serial TEXT NOT NULL UNIQUE,
        implanted_on TEXT NOT NULL,
        explanted_on TEXT,
        explant_reason TEXT,
        catheter_tip TEXT,
        catheter_length_mm INTEGER,
        catheter_nl_per_cm INTEGER,
        flow_nl_day INTEGER,
        capacity_nl INTEGER,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX patient_pumps_by_patient ON patient_pumps (patient_id, implanted_on)",
    """CREATE TABLE patient_visits (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        pump_id INTEGER REFERENCES patient_pumps(id),
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        account TEXT NOT NULL,
        summary TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX patient_visits_by_patient ON patient_visits (patient_id, at_s)",
    *_append_only("patient_visits"),
    """CREATE TABLE trials (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients(id),
        drug TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('single-bolus', 'repeated-bolus', 'continuous')),
        conc_ng_ml INTEGER,
        rate_nl_day INTEGER,
        started_at TEXT NOT NULL,
        started_s INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX trials_by_patient ON trials (patient_id, started_s)",
    *_append_only("trials"),
    """CREATE TABLE trial_entries (
        trial_id INTEGER NOT NULL REFERENCES trials(id),
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('dose', 'observation', 'side_effect')),
        at TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        amount_ng INTEGER,
        per_day INTEGER CHECK (per_day IN (0, 1)),
        scale TEXT,
        score INTEGER,
        effect TEXT,
        note TEXT NOT NULL DEFAULT '',
        by TEXT NOT NULL,
        PRIMARY KEY (trial_id, seq)
    ) STRICT, WITHOUT ROWID""",
    *_append_only("trial_entries"),
    """CREATE TABLE trial_results (
        trial_id INTEGER PRIMARY KEY REFERENCES trials(id),
        response TEXT NOT NULL CHECK (response IN ('positive', 'negative', 'equivocal')),
        effective_dose_ng INTEGER,
        effect_duration_min INTEGER,
        decision TEXT NOT NULL CHECK (decision IN ('implant', 'no-implant', 'repeat-trial')),
        decided_by TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        rationale TEXT NOT NULL DEFAULT ''
    ) STRICT""",
    *_append_only("trial_results"),
    """CREATE TABLE cf_refills (
        id INTEGER PRIMARY KEY,
        pump_id INTEGER NOT NULL REFERENCES patient_pumps(id),
        visit_id INTEGER REFERENCES patient_visits(id),
        at TEXT NOT NULL,
        at_s INTEGER NOT NULL,
        removed_nl INTEGER NOT NULL CHECK (removed_nl >= 0),
        added_nl INTEGER NOT NULL CHECK (added_nl >= 0),
        measured_flow_nl_day INTEGER,
        drugs TEXT NOT NULL,
        account TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX cf_refills_by_pump ON cf_refills (pump_id, at_s)",
    *_append_only("cf_refills"),
)

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "patients, pumps over time, visits, trials, constant-flow refills", _V1),
)
LATEST = MIGRATIONS[-1][0]


def version_of(store: Store) -> int:
    rows = store.query("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,))
    return int(rows[0][0]) if rows else 0


def migrate_patients(store: Store) -> None:
    """Apply pending patients migrations, each in one transaction with its version."""
    current = version_of(store)
    if current > LATEST:
        from programmer.store.errors import StoreNewerSchema

        raise StoreNewerSchema(
            f"the patients tables of {store.where} were written by a newer itp (version "
            f"{current}, this program knows up to {LATEST}); update itp"
        )
    if current == LATEST:
        return
    for version, _name, statements in MIGRATIONS:
        with store.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
            if row is not None and int(row[0]) >= version:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (VERSION_KEY, str(version)),
            )


def has_patient_tables(store: Store) -> bool:
    """False for a read-only copy of a database written before patients existed."""
    return version_of(store) >= 1
