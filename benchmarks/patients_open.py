"""Opening the patient list (issue 15): 10,000 patients with 50 visits each in < 100 ms.

    .venv/bin/python benchmarks/patients_open.py [--patients 10000] [--visits 50] [--json]

"Open" is what the app's patient screen does: open the database file, count the patients,
read the first page of the list sorted by name (current details, implanted pump, last
visit; the list fetches further pages as it scrolls), then open one patient (details,
pumps, 50 visits). Also printed: reading all 10,000 rows at once. The floor, measured in
the same run on the same file, is a bare sqlite3 connection reading the count and the same
first page's ids and identifiers (no store, no audit key, no objects, no patient detail).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from programmer.patients.registry import Patients
from programmer.store import AuditTrail, Principal, Role, open_store
from programmer.store.clock import utc_seconds, utc_text

TARGET_MS = 100.0
PAGE = 200  # rows the list reads at a time (ui/patients/list_model.py)
START = datetime(2018, 1, 1, tzinfo=UTC)
NAMES = ("Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo")


def build(path: Path, key: Path, patients: int, visits: int) -> None:
    """Patients, one pump each and `visits` visits each, written in bulk."""
    store = open_store(path)
    AuditTrail.open(store, key)
    at = utc_text(START)
    with store.write() as conn:
        last = START + timedelta(days=(visits - 1) * 42)
        conn.executemany(
            "INSERT INTO patients (id, clinic_id, version, name, name_key, dob, indication, "
            "pump_serial, pump_kind, last_visit_at, last_visit_s, created_at, created_by) "
            "VALUES (?, ?, 1, ?, ?, '1960-01-01', 'pain-cancer', ?, 'programmable', ?, ?, ?, 'dr')",
            (
                (i, f"MRN-{i:06d}", name, name.casefold(), f"ITP40-{i:06d}", utc_text(last),
                 utc_seconds(last), at)
                for i in range(1, patients + 1)
                for name in [f"{NAMES[i % 10]} Patient{i:06d}"]
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO patient_versions VALUES (?, 1, ?, ?, '1960-01-01', 'pain-cancer', '', ?, 'dr', NULL)",
            (
                (i, name, name.casefold(), at)
                for i in range(1, patients + 1)
                for name in [f"{NAMES[i % 10]} Patient{i:06d}"]
            ),
        )
        conn.executemany(
            "INSERT INTO patient_pumps (id, patient_id, kind, model, serial, implanted_on, created_at, "
            "created_by) VALUES (?, ?, 'programmable', 'ITP-40', ?, '2019-01-01', ?, 'dr')",
            ((i, i, f"ITP40-{i:06d}", at) for i in range(1, patients + 1)),
        )
        for i in range(1, patients + 1):
            rows = []
            for v in range(visits):
                when = START + timedelta(days=v * 42, hours=i % 24)
                rows.append((i, i, "refill", utc_text(when), utc_seconds(when), "n.kim", "{}"))
            conn.executemany(
                "INSERT INTO patient_visits (patient_id, pump_id, kind, at, at_s, account, summary) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    store.close()


def open_list(path: Path, key: Path, patient_id: int) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    store = open_store(path, create=False)
    pts = Patients(store, AuditTrail.open(store, key))
    nurse = Principal("n.kim", Role.NURSE)
    total = pts.count(nurse)
    page = pts.search(nurse, "", limit=PAGE)
    detail = pts.get(nurse, patient_id)
    visits = pts.visits(nurse, detail.id)
    pts.pumps(nurse, detail.id)
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    every = pts.search(nurse, "")
    all_rows = time.perf_counter() - t1
    store.close()
    assert len(page) == min(PAGE, total) and len(every) == total
    return elapsed, all_rows, total, len(visits)


def floor(path: Path) -> float:
    t0 = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("SELECT count(*) FROM patients").fetchall()
    conn.execute(f"SELECT id, clinic_id FROM patients ORDER BY name_key LIMIT {PAGE}").fetchall()
    conn.close()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path, key = Path(folder) / "itp.sqlite3", Path(folder) / "audit.key"
        t0 = time.perf_counter()
        build(path, key, args.patients, args.visits)
        built_s = time.perf_counter() - t0
        opens, alls, floors = [], [], []
        for r in range(args.rounds):
            elapsed, every, count, visits = open_list(path, key, 1 + (r * 997) % args.patients)
            assert count == args.patients and visits == args.visits, (count, visits)
            opens.append(elapsed)
            alls.append(every)
            floors.append(floor(path))
    median = statistics.median(opens) * 1000
    base = statistics.median(floors) * 1000
    result = {
        "patients": args.patients,
        "visits_each": args.visits,
        "build_s": round(built_s, 1),
        "open_median_ms": round(median, 2),
        "open_max_ms": round(max(opens) * 1000, 2),
        "all_rows_median_ms": round(statistics.median(alls) * 1000, 2),
        "floor_median_ms": round(base, 2),
        "ratio_to_floor": round(median / base, 1),
        "target_ms": TARGET_MS,
        "met": median < TARGET_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"patient list, {args.patients:,} patients x {args.visits} visits: open {median:.1f} ms "
            f"(max {max(opens) * 1000:.1f} ms), {median / base:.1f}x a bare sqlite3 read of the first page "
            f"({base:.1f} ms); target < {TARGET_MS:.0f} ms: {'met' if result['met'] else 'NOT MET'}; "
            f"all {args.patients:,} rows at once: {statistics.median(alls) * 1000:.1f} ms"
        )
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
