"""Three programmers, one clinic, a fault proxy between, kill -9 mid-sync: a short run
(reliability/clinic_sync.py runs 1,000 rounds and more)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import psycopg

from programmer.patients.registry import Patients
from programmer.store import AuditTrail, open_store
from tests.clinic.chaos import run_chaos
from tests.clinic.chaos_patients import ME, check_patients
from tests.clinic.conftest import SYNC_PW, SYNC_ROLE, Clinic
from tests.clinic.tcpfaults import Faults


def test_concurrent_syncs_with_drops_delays_and_kills_end_whole(
    clinic: Clinic, tmp_path: Path
) -> None:
    counts = run_chaos(
        clinic.server.host,
        clinic.server.port,
        lambda host, port: f"postgresql://{SYNC_ROLE}:{SYNC_PW}@{host}:{port}/{clinic.db}",
        tmp_path,
        rounds=5,
        seed=20261202,
        faults=Faults(p_cut=0.4, cut_within=60_000),
    )
    assert counts.problems == []
    assert counts.syncs == 15
    # the faults happened: some syncs cut or killed, and some finished anyway
    assert counts.killed + counts.failed > 0 and counts.finished > 0
    assert counts.proxy["cuts"] > 0
    assert counts.audit_records > 3 * 20
    # patients were part of it: added, edited on several programmers, refills recorded;
    # the checks above compared them on every side
    assert counts.patients["patient_rows"] > 0
    assert counts.patients["versions"] > counts.patients["patients"] > 0
    assert counts.patients["cf_refills"] > 0
    # and the check finds an edit that never reached the clinic or the others
    programmers = [
        SimpleNamespace(db=tmp_path / f"p{i}" / "itp.sqlite3", serial=f"ITP40-{100 + i:06d}")
        for i in range(3)
    ]
    with open_store(programmers[1].db, create=False) as store:
        patients = Patients(store, AuditTrail.open(store, tmp_path / "p1" / "audit.key"))
        cid = str(store.query("SELECT clinic_id FROM patients ORDER BY id")[0][0])
        patients.update(ME, patients.by_clinic_id(ME, cid).id, notes="unsynced", reason="test")
    problems: list[str] = []
    url = clinic.server.url(SYNC_ROLE, clinic.db, SYNC_PW)
    with psycopg.connect(url) as conn:
        check_patients(programmers, conn, problems)
    assert any("versions differ" in p for p in problems), problems
    assert any("ITP40-000101: its patient rows on the clinic differ" in p for p in problems)
