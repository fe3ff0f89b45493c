"""Three programmers, one clinic, a fault proxy between, kill -9 mid-sync: a short run
(reliability/clinic_sync.py runs 1,000 rounds and more)."""

from __future__ import annotations

from pathlib import Path

from tests.clinic.chaos import run_chaos
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
