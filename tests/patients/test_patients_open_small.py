"""The patient-list benchmark's build and open, at a small size (its speed is in benchmarks/)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import patients_open as bench


def test_the_benchmark_opens_every_patient_and_the_visits_it_built(tmp_path: Path):
    path, key = tmp_path / "itp.sqlite3", tmp_path / "audit.key"
    bench.build(path, key, 30, 4)
    _, _, count, visits = bench.open_list(path, key, 7)
    assert (count, visits) == (30, 4)


def test_pages_follow_one_another_in_name_order(patients, doctor):
    for i in range(7):
        patients.add(doctor, clinic_id=f"M-{i}", name=f"Name {6 - i}", dob="1970-01-01")
    pages = [patients.search(doctor, "", limit=3, offset=o) for o in (0, 3, 6)]
    names = [r.name for page in pages for r in page]
    assert names == [f"Name {i}" for i in range(7)]
    assert patients.count(doctor) == 7
