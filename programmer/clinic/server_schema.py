"""The clinic database's schema (PostgreSQL, schema `itp`) and its two roles.

- Audit records and checkpoints: append-only per programmer (`origin`), keyed
  (origin, seq); triggers refuse UPDATE and DELETE, so a bug or a careless hand cannot
  rewrite a chain through SQL (verification still finds what a superuser does).
- Pump history (events, infusion hours): the pump's own log, one row per (pump, key)
  whoever read it first; a different copy of a row is kept in `history_conflicts`.
  `history_heads` counts rows per pump so a day's sync compares two numbers.
- Records a programmer owns (visits, prescriptions sent, refills...): `row_versions`,
  every content a row ever had, numbered per programmer (`oseq`); never overwritten.
- Records every programmer may edit (accounts; patients when they arrive): the versions
  of `shared_versions`, numbered per key; the merge rule is per kind (docs/clinic.md).

`install(conn)` is idempotent (CREATE ... IF NOT EXISTS). The review role gets SELECT
on everything and nothing else; the sync role may INSERT, and UPDATE only the counters.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

SCHEMA_VERSION = 1

DDL = (
    "CREATE SCHEMA IF NOT EXISTS itp",
    """CREATE TABLE IF NOT EXISTS itp.meta (key text PRIMARY KEY, value text NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS itp.programmers (
        id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
        key_id text NOT NULL,
        label text NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS itp.audit (
        origin text NOT NULL REFERENCES itp.programmers(id),
        seq bigint NOT NULL CHECK (seq > 0),
        ts text NOT NULL, ts_s bigint NOT NULL, action text NOT NULL,
        account text, role text, pump_serial text, before text, after text,
        reason text, outcome text, prev_mac text NOT NULL, mac text NOT NULL,
        PRIMARY KEY (origin, seq))""",
    # text holding NUL is stored escaped (programmer/clinic/pgtext.py)
    "ALTER TABLE itp.audit ADD COLUMN IF NOT EXISTS nul_escaped boolean NOT NULL DEFAULT false",
    "CREATE INDEX IF NOT EXISTS audit_by_pump ON itp.audit (pump_serial, ts_s)",
    """CREATE TABLE IF NOT EXISTS itp.audit_checkpoints (
        origin text NOT NULL REFERENCES itp.programmers(id),
        seq bigint NOT NULL, mac text NOT NULL, chain text NOT NULL,
        pushed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (origin, seq))""",
    """CREATE TABLE IF NOT EXISTS itp.pumps (
        serial text PRIMARY KEY, model text, info text,
        first_seen_at text NOT NULL, first_seen_s bigint NOT NULL,
        last_seen_at text NOT NULL, last_seen_s bigint NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS itp.pump_events (
        pump_serial text NOT NULL, seq bigint NOT NULL, at text NOT NULL, at_s bigint NOT NULL,
        kind text NOT NULL, data text NOT NULL, read_at text NOT NULL, origin text NOT NULL,
        PRIMARY KEY (pump_serial, seq))""",
    """CREATE TABLE IF NOT EXISTS itp.infusion_hours (
        pump_serial text NOT NULL, hour_s bigint NOT NULL, hour_at text NOT NULL,
        volume_nl bigint NOT NULL, data text NOT NULL, read_at text NOT NULL,
        origin text NOT NULL, PRIMARY KEY (pump_serial, hour_s))""",
    """CREATE TABLE IF NOT EXISTS itp.history_heads (
        tbl text NOT NULL, pump_serial text NOT NULL,
        n bigint NOT NULL DEFAULT 0, max_key bigint, check_sum numeric NOT NULL DEFAULT 0,
        version bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tbl, pump_serial))""",
    """CREATE TABLE IF NOT EXISTS itp.history_conflicts (
        tbl text NOT NULL, pump_serial text NOT NULL, key bigint NOT NULL,
        origin text NOT NULL, content text NOT NULL,
        noted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tbl, pump_serial, key, origin))""",
    """CREATE TABLE IF NOT EXISTS itp.row_versions (
        origin text NOT NULL REFERENCES itp.programmers(id),
        oseq bigint NOT NULL, kind text NOT NULL, local_id bigint NOT NULL,
        content text NOT NULL, sha text NOT NULL,
        pushed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (origin, oseq))""",
    "CREATE INDEX IF NOT EXISTS row_versions_by_row ON itp.row_versions (origin, kind, local_id, oseq)",
    """CREATE TABLE IF NOT EXISTS itp.shared_versions (
        kind text NOT NULL, key text NOT NULL, version integer NOT NULL CHECK (version > 0),
        origin text NOT NULL REFERENCES itp.programmers(id),
        state text NOT NULL, pushed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, key, version))""",
    # Patients' rows (programmer/clinic/patients_sync.py), numbered per programmer.
    """CREATE TABLE IF NOT EXISTS itp.patient_rows (
        origin text NOT NULL REFERENCES itp.programmers(id),
        oseq bigint NOT NULL, kind text NOT NULL, local_key text NOT NULL,
        clinic_key text NOT NULL, content text NOT NULL, sha text NOT NULL,
        pushed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (origin, oseq))""",
    "CREATE INDEX IF NOT EXISTS patient_rows_by_kind ON itp.patient_rows (origin, kind, oseq)",
    """CREATE OR REPLACE FUNCTION itp.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'itp.%% is append-only', TG_TABLE_NAME; END $$""",
)

APPEND_ONLY = (
    "audit",
    "audit_checkpoints",
    "pump_events",
    "infusion_hours",
    "row_versions",
    "shared_versions",
    "history_conflicts",
    "patient_rows",
)


def install(conn: psycopg.Connection[Any]) -> None:
    """Creates whatever is missing, in one transaction (run by the clinic's admin)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7433001)")
        for statement in DDL:
            conn.execute(statement.replace("%%", "%"))
        for table in APPEND_ONLY:
            name = f"{table}_append_only"
            exists = conn.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", (name,)).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL(
                        "CREATE TRIGGER {} BEFORE UPDATE OR DELETE ON itp.{}"
                        " FOR EACH ROW EXECUTE FUNCTION itp.refuse_change()"
                    ).format(sql.Identifier(name), sql.Identifier(table))
                )
        conn.execute(
            "INSERT INTO itp.meta VALUES ('schema_version', %s) ON CONFLICT DO NOTHING",
            (str(SCHEMA_VERSION),),
        )


def create_roles(
    conn: psycopg.Connection[Any],
    *,
    sync_role: str,
    sync_password: str,
    review_role: str,
    review_password: str,
) -> None:
    """The programmers' login (read and append) and the nurses' review login (read only)."""
    with conn.transaction():
        for role, password in ((sync_role, sync_password), (review_role, review_password)):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
                )
            )
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        for role in (sync_role, review_role):
            ident = sql.Identifier(role)
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(database[0]), ident
                )
            )
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA itp TO {}").format(ident))
            conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA itp TO {}").format(ident))
        review = sql.Identifier(review_role)
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(review))
        sync_ident = sql.Identifier(sync_role)
        conn.execute(sql.SQL("GRANT INSERT ON ALL TABLES IN SCHEMA itp TO {}").format(sync_ident))
        conn.execute(
            sql.SQL("GRANT UPDATE ON itp.history_heads, itp.pumps TO {}").format(sync_ident)
        )
        # nobody but the admin creates objects in the schema or the public schema
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
