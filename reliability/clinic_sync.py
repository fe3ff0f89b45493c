"""Three programmers syncing with one clinic PostgreSQL server at once, through a fault
proxy (connections cut, bytes delayed) and with kill -9 mid-sync, for many rounds; then
every chain must be whole on the server, nothing twice, nothing lost (tests/clinic/chaos.py);
patients too (added, edited offline on two programmers, constant-flow refills): the same
rows, versions and conflicts on every programmer and on the clinic
(tests/clinic/chaos_patients.py).

    .venv/bin/python reliability/clinic_sync.py --rounds 1000 --seed 20261202

Starts its own server (initdb in a temporary folder; scripts/postgres.sh installs it).
Exit 0 only when no problem was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's code, and tests/ for the harness

import psycopg  # noqa: E402

from programmer.clinic import server_schema  # noqa: E402
from tests.clinic.chaos import run_chaos  # noqa: E402
from tests.clinic.pgserver import ADMIN, ADMIN_PASSWORD, running_server  # noqa: E402
from tests.clinic.tcpfaults import Faults  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--minutes", type=float, help="stop starting rounds after this long")
    args = ap.parse_args()
    with running_server() as server:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE clinic")
        with psycopg.connect(server.url(ADMIN, "clinic", ADMIN_PASSWORD), autocommit=True) as conn:
            server_schema.install(conn)
            server_schema.create_roles(conn, sync_role="itp_sync", sync_password="sync-pw",
                                       review_role="itp_review", review_password="review-pw")  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="itp-clinic-chaos-") as work:
            counts = run_chaos(
                server.host,
                server.port,
                lambda host, port: f"postgresql://itp_sync:sync-pw@{host}:{port}/clinic",
                Path(work),
                rounds=args.rounds,
                seed=args.seed,
                faults=Faults(p_cut=0.3, cut_within=80_000),
                deadline_s=None if args.minutes is None else args.minutes * 60,
                progress=lambda c: print(
                    f"  round {c.rounds}: {c.finished} finished, {c.failed} cut/failed,"
                    f" {c.killed} killed",
                    flush=True,
                ),
            )
    print(
        f"clinic sync chaos: {counts.rounds} rounds, {counts.syncs} syncs by 3 programmers at once"
        f" ({counts.finished} finished, {counts.failed} cut by the proxy or failed,"
        f" {counts.killed} killed with SIGKILL mid-sync); proxy: {counts.proxy['connections']}"
        f" connections, {counts.proxy['cuts']} cut, {counts.proxy['delays']} chunks delayed;"
        f" at the end {counts.audit_records} audit records, {counts.history_rows} history rows,"
        f" {counts.row_versions} record versions on the clinic; patients on every programmer:"
        f" {counts.patients.get('patients', 0)} patients, {counts.patients.get('versions', 0)}"
        f" versions, {counts.patients.get('conflicts', 0)} open conflicts,"
        f" {counts.patients.get('pumps', 0)} pumps, {counts.patients.get('visits', 0)} visits,"
        f" {counts.patients.get('cf_refills', 0)} constant-flow refills"
        f" ({counts.patients.get('patient_rows', 0)} patient rows on the clinic);"
        f" seed {args.seed};"
        f" {counts.seconds:.0f} s"
    )
    for problem in counts.problems:
        print(f"PROBLEM: {problem}")
    print("clinic sync chaos: " + ("passed" if not counts.problems else "FAILED"))
    return 0 if not counts.problems else 1


if __name__ == "__main__":
    sys.exit(main())
