"""A sync cut at any point and run again leaves the clinic exactly as one whole sync would:
the same programmer synced once straight into one clinic, and through a proxy that cuts
the link after 1, 2, 4... KB into another, compared table by table."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg

from programmer.clinic import local_state
from programmer.clinic.connection import parse_url
from programmer.clinic.errors import ClinicError
from programmer.clinic.run import run_sync
from programmer.store import open_store
from tests.clinic.conftest import SYNC_PW, SYNC_ROLE, Clinic
from tests.clinic.tcpfaults import ByteFaultProxy, Faults
from tests.clinic.visitdb import make_visit_db

TABLES = {
    "audit": "origin, seq, ts, ts_s, action, account, role, pump_serial, before, after, reason,"
    " outcome, prev_mac, mac",
    "audit_checkpoints": "origin, seq, mac, chain",
    "pump_events": "pump_serial, seq, at, at_s, kind, data, origin",
    "infusion_hours": "pump_serial, hour_s, volume_nl, data, origin",
    "row_versions": "origin, oseq, kind, local_id, content, sha",
    "shared_versions": "kind, key, version, origin, state",
    "history_heads": "tbl, pump_serial, n, max_key, check_sum",
    "programmers": "id, key_id, label",
    "pumps": "serial, model, first_seen_s, last_seen_s",
}


def _dump(url: str) -> dict[str, list[Any]]:
    with psycopg.connect(url) as conn:
        return {
            t: sorted(conn.execute(f"SELECT {c} FROM itp.{t}").fetchall())
            for t, c in TABLES.items()
        }


def test_cut_syncs_resumed_end_exactly_like_one_whole_sync(
    clinic: Clinic, pg, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db, key, _ = make_visit_db(tmp_path)
    with open_store(db, create=False) as store:
        local_state.ensure(store)  # the identity, before the copy: both are one programmer
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copyfile(db, twin / "itp.sqlite3")
    shutil.copyfile(key, twin / "audit.key")
    (twin / "audit.key").chmod(0o600)
    run_sync(db, key, parse_url(clinic.sync_url), label="room", audit_batch=3)
    # a second clinic database on the same server, reached through the cutting proxy
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {clinic.db}_cut TEMPLATE {clinic.db}")
    with psycopg.connect(
        clinic.server.url("clinic_admin", f"{clinic.db}_cut", "admin-pw-for-tests"), autocommit=True
    ) as conn:
        for table in TABLES:
            conn.execute(f"ALTER TABLE itp.{table} DISABLE TRIGGER USER")
            conn.execute(f"DELETE FROM itp.{table}")
            conn.execute(f"ALTER TABLE itp.{table} ENABLE TRIGGER USER")
        conn.execute("DELETE FROM itp.history_conflicts")
    cuts = 0
    for budget in [1 << k for k in range(10, 18)]:
        proxy = ByteFaultProxy(
            (pg.host, pg.port), Faults(p_cut=1.0, cut_within=1, p_delay=0.0), seed=budget
        )
        proxy.faults.cut_within = budget + 1  # the cut comes within `budget` bytes
        try:
            url = f"postgresql://{SYNC_ROLE}:{SYNC_PW}@127.0.0.1:{proxy.port}/{clinic.db}_cut"
            run_sync(
                twin / "itp.sqlite3",
                twin / "audit.key",
                parse_url(url),
                label="room",
                audit_batch=3,
            )
        except ClinicError:
            cuts += 1
        finally:
            proxy.close()
    run_sync(twin / "itp.sqlite3", twin / "audit.key",
             parse_url(clinic.server.url(SYNC_ROLE, f"{clinic.db}_cut", SYNC_PW)), label="room", audit_batch=3)  # fmt: skip
    assert cuts >= 4  # most of those runs were cut somewhere
    whole, resumed = (
        _dump(clinic.admin_url),
        _dump(clinic.server.url("clinic_admin", f"{clinic.db}_cut", "admin-pw-for-tests")),
    )
    for table in TABLES:
        assert resumed[table] == whole[table], table


def test_and_the_programmer_side_too(clinic: Clinic, pg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Both local databases of the test above end equal as well (the whole-sync one and the
    cut-and-resumed one), apart from the sync log and the times the audit records were written."""
    db, key, _ = make_visit_db(tmp_path)
    with open_store(db, create=False) as store:
        local_state.ensure(store)
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copyfile(db, twin / "itp.sqlite3")
    shutil.copyfile(key, twin / "audit.key")
    (twin / "audit.key").chmod(0o600)
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {clinic.db}_b TEMPLATE {clinic.db}")
    run_sync(db, key, parse_url(clinic.sync_url), audit_batch=3)
    for budget in (700, 3000, 9000, 30000):
        proxy = ByteFaultProxy(
            (pg.host, pg.port), Faults(p_cut=1.0, cut_within=budget, p_delay=0.0), seed=budget
        )
        try:
            url = f"postgresql://{SYNC_ROLE}:{SYNC_PW}@127.0.0.1:{proxy.port}/{clinic.db}_b"
            run_sync(twin / "itp.sqlite3", twin / "audit.key", parse_url(url), audit_batch=3)
        except ClinicError:
            pass
        finally:
            proxy.close()
    run_sync(twin / "itp.sqlite3", twin / "audit.key",
             parse_url(clinic.server.url(SYNC_ROLE, f"{clinic.db}_b", SYNC_PW)), audit_batch=3)  # fmt: skip
    queries = {
        "audit": "SELECT seq, action, account, before, after, reason, outcome FROM audit",
        "accounts": "SELECT * FROM accounts",
        "pump_events": "SELECT * FROM pump_events",
        "clinic_shared_base": "SELECT * FROM clinic_shared_base",
        "clinic_heads": "SELECT * FROM clinic_heads",
        "clinic_meta": "SELECT * FROM clinic_meta WHERE key <> 'audit_chain'",
    }
    with (
        open_store(db, create=False) as one,
        open_store(twin / "itp.sqlite3", create=False) as other,
    ):
        for name, query in queries.items():
            assert sorted(one.query(query)) == sorted(other.query(query)), name
