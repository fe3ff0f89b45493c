"""Patients on the clinic: details (versioned), pumps over time, visits and trials travel
between programmers; two offline edits keep both versions with one rule for the current;
a serial linked to two patients is a hard conflict; a cut sync resumes exactly."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from programmer.clinic import local_state
from programmer.clinic.connection import parse_url
from programmer.clinic.errors import ClinicError
from programmer.clinic.patients_sync import patient_conflicts
from programmer.clinic.run import run_sync
from programmer.clinic.sync import SyncReport
from programmer.patients.registry import Patients, PumpSpec
from programmer.store import Accounts, AuditTrail, Principal, open_store
from tests.clinic.conftest import SYNC_PW, SYNC_ROLE, Clinic
from tests.clinic.pgserver import PgServer
from tests.clinic.tcpfaults import ByteFaultProxy, Faults
from tests.clinic.visitdb import FAST_HASHER, make_visit_db

PATIENT_TABLES = {
    "patients": "SELECT clinic_id, version, name, dob, indication, pump_serial, pump_kind,"
    " last_visit_at FROM patients",
    "patient_versions": "SELECT p.clinic_id, v.version, v.name, v.dob, v.notes, v.at, v.by,"
    " v.reason FROM patient_versions v JOIN patients p ON p.id = v.patient_id",
    "patient_pumps": "SELECT serial, kind, model, implanted_on, explanted_on, catheter_tip"
    " FROM patient_pumps",
    "patient_visits": "SELECT kind, at, account, summary FROM patient_visits",
    "trials": "SELECT drug, kind, started_at FROM trials",
    "trial_entries": "SELECT seq, kind, at, amount_ng, note, by FROM trial_entries",
    "trial_results": "SELECT response, decision, decided_by FROM trial_results",
    # a constant-flow pump's refills, with the visit each belongs to
    "cf_refills": "SELECT pp.serial, r.at, r.removed_nl, r.added_nl, r.measured_flow_nl_day,"
    " r.drugs, r.account, v.kind, v.at, v.summary FROM cf_refills r"
    " JOIN patient_pumps pp ON pp.id = r.pump_id LEFT JOIN patient_visits v ON v.id = r.visit_id",
}


def _pump(serial: str, on: str = "2024-02-03") -> PumpSpec:
    return PumpSpec("programmable", serial, on, model="ITP-40", catheter_tip="T10",
                    catheter_length="60 cm", catheter_volume_per_cm="0.0026 mL")  # fmt: skip


@contextmanager
def _patients(
    db: Path, key: Path, at: datetime | None = None
) -> Iterator[tuple[Patients, Principal]]:
    store = open_store(db, create=False)
    try:
        if at is not None:
            store.clock = lambda: at
        trail = AuditTrail.open(store, key)
        doctor = Accounts(store, trail, FAST_HASHER).sign_in("dr.lee", "doctor-password")
        yield Patients(store, trail), doctor
    finally:
        store.close()


def _programmer(tmp_path: Path, name: str, serial: str) -> tuple[Path, Path]:
    folder = tmp_path / name
    folder.mkdir()
    db, key, _ = make_visit_db(folder, serial=serial)
    return db, key


def _dump(db: Path) -> dict[str, list[Any]]:
    with open_store(db, create=False) as store:
        return {t: sorted(store.query(q), key=repr) for t, q in PATIENT_TABLES.items()}


def _unnumbered(db: Path) -> dict[str, list[Any]]:
    dump = _dump(db)
    for table in ("patients", "patient_versions"):
        dump[table] = sorted(((r[0], *r[2:]) for r in dump[table]), key=repr)
    return dump


def _sync(db: Path, key: Path, clinic: Clinic) -> SyncReport:
    return run_sync(db, key, parse_url(clinic.sync_url))


def _record_a_course(db: Path, key: Path) -> None:
    with _patients(db, key, datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) as (patients, doctor):
        p = patients.add(doctor, clinic_id="MRN-0001", name="Ada Byron", dob="1961-05-04",
                         indication="spasticity-spinal", notes="ITB since 2019")  # fmt: skip
        pump = patients.add_pump(doctor, p.id, _pump("ITP40-000001"))
        patients.record_visit(doctor, p.id, "refill", {"added": "20 mL"}, pump_id=pump.id)
        trial = patients.add_trial(doctor, p.id, drug="baclofen", kind="single-bolus",
                                   started_at=datetime(2026, 1, 4, 8, tzinfo=UTC))  # fmt: skip
        patients.add_trial_dose(doctor, trial.id, datetime(2026, 1, 4, 9, tzinfo=UTC), "50 mcg")
        patients.record_result(doctor, trial.id, response="positive", decision="implant",
                               effective_dose="50 mcg")  # fmt: skip
        patients.update(doctor, p.id, name="Ada King", reason="married name")
        _record_cf_refills(patients, doctor)


def _record_cf_refills(patients: Patients, doctor: Principal) -> None:
    """A second patient with a constant-flow pump refilled twice (each refill a visit)."""
    p = patients.add(doctor, clinic_id="MRN-0002", name="Grace Hopper", dob="1956-12-09",
                     indication="pain-cancer")  # fmt: skip
    cf = patients.add_pump(doctor, p.id, PumpSpec("constant-flow", "CF-000042", "2025-06-01",
                           model="Flow-35", flow="1 mL/day", capacity="35 mL"))  # fmt: skip
    for day, removed, flow in ((2, 4_100_000, 998_000), (30, 5_300_000, None)):
        patients.record_cf_refill(
            doctor, cf.id, at=datetime(2025, 12, day, 10, tzinfo=UTC), removed_nl=removed,
            added_nl=35_000_000, drugs=[{"drug": "morphine", "conc_ng_ml": 10_000_000}],
            measured_flow_nl_day=flow, plan={"refill": f"day {day}"},
        )  # fmt: skip


def test_patients_pumps_visits_and_trials_reach_the_other_programmer_once(
    clinic: Clinic, tmp_path: Path
) -> None:
    a, ka = _programmer(tmp_path, "a", "ITP40-000001")
    b, kb = _programmer(tmp_path, "b", "ITP40-000002")
    _record_a_course(a, ka)
    pushed = _sync(a, ka, clinic)
    assert pushed.pushed["patients (patient)"] == 3  # Ada's two versions and Grace's, once
    assert pushed.pushed["patients (cf_refill)"] == 2
    _sync(b, kb, clinic)
    assert _dump(b) == _dump(a)
    with _patients(b, kb) as (patients, doctor):
        p = patients.by_clinic_id(doctor, "MRN-0001")
        assert (p.name, p.version) == ("Ada King", 2)
        assert [v.name for v in patients.versions(doctor, p.id)] == ["Ada Byron", "Ada King"]
        assert patients.owner_of(doctor, "ITP40-000001") is not None
        (trial,) = patients.trials(doctor, p.id)
        assert trial.result is not None and trial.result.decision == "implant"
        assert len(trial.doses) == 1
        grace = patients.by_clinic_id(doctor, "MRN-0002")
        (cf,) = patients.pumps(doctor, grace.id)
        refills = patients.cf_refills(doctor, cf.id)
        assert [(r.removed_nl, r.measured_flow_nl_day) for r in refills] == [
            (4_100_000, 998_000),
            (5_300_000, None),
        ]
        visits = patients.visits(doctor, grace.id)
        assert [v.kind for v in visits] == ["refill", "refill"]  # each refill is a visit
    # again, both ways: nothing twice, and nothing pulled comes back as B's own
    again = [_sync(x, k, clinic) for x, k in ((a, ka), (b, kb), (a, ka))]
    for report in again:
        assert not [k for k in (*report.pushed, *report.pulled) if k.startswith("patients")]
    assert _dump(b) == _dump(a)
    with psycopg.connect(clinic.admin_url) as conn:
        assert conn.execute("SELECT count(DISTINCT origin) FROM itp.patient_rows").fetchone() == (
            1,
        )


def test_two_offline_edits_keep_both_versions_and_the_newer_is_current(
    clinic: Clinic, tmp_path: Path
) -> None:
    a, ka = _programmer(tmp_path, "a", "ITP40-000001")
    b, kb = _programmer(tmp_path, "b", "ITP40-000002")
    _record_a_course(a, ka)
    _sync(a, ka, clinic)
    _sync(b, kb, clinic)
    # offline, each edits the same patient: A at 10:00, B at 11:00 (clinic time, UTC)
    with _patients(a, ka, datetime(2026, 2, 1, 10, tzinfo=UTC)) as (patients, doctor):
        pid = patients.by_clinic_id(doctor, "MRN-0001").id
        patients.update(doctor, pid, notes="moved to Leeds", reason="address")
    with _patients(b, kb, datetime(2026, 2, 1, 11, tzinfo=UTC)) as (patients, doctor):
        pid_b = patients.by_clinic_id(doctor, "MRN-0001").id
        patients.update(doctor, pid_b, indication="pain-cancer", reason="new diagnosis")
    for x, k in ((a, ka), (b, kb), (a, ka)):
        _sync(x, k, clinic)
    for db, key in ((a, ka), (b, kb)):
        with _patients(db, key) as (patients, doctor):
            p = patients.by_clinic_id(doctor, "MRN-0001")
            assert (p.indication, p.notes) == ("pain-cancer", "ITB since 2019")  # B's: newer
            notes = sorted(v.notes for v in patients.versions(doctor, p.id))
            assert notes == ["ITB since 2019"] * 3 + ["moved to Leeds"]  # both kept
            (other,) = patient_conflicts(patients.store, p.id)
            assert other[4] == "moved to Leeds"  # A's edit, shown as the conflict
            before = patients.store.query("SELECT count(*) FROM patient_versions")[0][0]
    # an edit made seeing both ends the conflict, here and after a sync there
    with _patients(a, ka, datetime(2026, 2, 2, 9, tzinfo=UTC)) as (patients, doctor):
        p = patients.by_clinic_id(doctor, "MRN-0001")
        patients.update(doctor, p.id, notes="moved to Leeds", reason="merged both edits")
        assert patient_conflicts(patients.store, p.id) == []
    _sync(a, ka, clinic)
    _sync(b, kb, clinic)
    with _patients(b, kb) as (patients, doctor):
        p = patients.by_clinic_id(doctor, "MRN-0001")
        assert (p.indication, p.notes) == ("pain-cancer", "moved to Leeds")
        assert patient_conflicts(patients.store, p.id) == []
        assert patients.store.query("SELECT count(*) FROM patient_versions")[0][0] == before + 1
    # the same versions everywhere; local numbers may differ (docs/clinic.md)
    assert _unnumbered(a) == _unnumbered(b)


def test_one_serial_linked_to_two_patients_is_a_hard_conflict(
    clinic: Clinic, tmp_path: Path
) -> None:
    a, ka = _programmer(tmp_path, "a", "ITP40-000001")
    b, kb = _programmer(tmp_path, "b", "ITP40-000002")
    for db, key, cid in ((a, ka, "MRN-0001"), (b, kb, "MRN-0002")):
        with _patients(db, key) as (patients, doctor):
            p = patients.add(doctor, clinic_id=cid, name=f"Patient {cid}", dob="1970-01-01")
            patients.add_pump(doctor, p.id, _pump("ITP40-777777"))
    reports = [_sync(x, k, clinic) for x, k in ((a, ka), (b, kb), (a, ka))]
    for report in reports[1:]:
        assert any("CONFLICT: pump ITP40-777777" in n for n in report.notes), report.notes
    for db, key, mine in ((a, ka, "MRN-0001"), (b, kb, "MRN-0002")):
        with _patients(db, key) as (patients, doctor):
            owner = patients.owner_of(doctor, "ITP40-777777")
            assert owner is not None and owner.patient.clinic_id == mine  # never merged
            # the other patient came across, without the disputed pump
            other = "MRN-0002" if mine == "MRN-0001" else "MRN-0001"
            assert patients.pumps(doctor, patients.by_clinic_id(doctor, other).id) == []


def test_a_cut_patient_sync_resumed_ends_like_one_whole_sync(
    clinic: Clinic, pg: PgServer, tmp_path: Path
) -> None:
    a, ka = _programmer(tmp_path, "a", "ITP40-000001")
    b, kb = _programmer(tmp_path, "b", "ITP40-000002")
    _record_a_course(a, ka)
    with open_store(b, create=False) as store:
        local_state.ensure(store)  # B's identity, before its twin is copied
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copyfile(b, twin / "itp.sqlite3")
    shutil.copyfile(kb, twin / "audit.key")
    (twin / "audit.key").chmod(0o600)
    _sync(a, ka, clinic)
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:  # the same clinic, twice
        conn.execute(f"CREATE DATABASE {clinic.db}_t TEMPLATE {clinic.db}")
    _sync(b, kb, clinic)  # whole
    cuts = 0
    for budget in (2000, 6000, 12000, 20000, 40000):
        proxy = ByteFaultProxy(
            (pg.host, pg.port), Faults(p_cut=1.0, cut_within=budget, p_delay=0.0), seed=budget
        )
        try:
            url = f"postgresql://{SYNC_ROLE}:{SYNC_PW}@127.0.0.1:{proxy.port}/{clinic.db}_t"
            run_sync(twin / "itp.sqlite3", twin / "audit.key", parse_url(url))
        except ClinicError:
            cuts += 1
        finally:
            proxy.close()
    whole_url = clinic.server.url(SYNC_ROLE, f"{clinic.db}_t", SYNC_PW)
    run_sync(twin / "itp.sqlite3", twin / "audit.key", parse_url(whole_url))
    assert cuts >= 2
    assert _dump(twin / "itp.sqlite3") == _dump(b) == _dump(a)
    with open_store(twin / "itp.sqlite3", create=False) as one, open_store(b, create=False) as two:
        q = "SELECT kind, origin, origin_key, base FROM clinic_patient_map"
        assert sorted(one.query(q)) == sorted(two.query(q))


def test_the_review_copy_holds_every_programmers_patients(clinic: Clinic, tmp_path: Path) -> None:
    from programmer.clinic.review import mirror

    a, ka = _programmer(tmp_path, "a", "ITP40-000001")
    _record_a_course(a, ka)
    _sync(a, ka, clinic)
    out = tmp_path / "review"
    out.mkdir()
    copy = mirror(parse_url(clinic.review_url), out, lazy=True)
    try:
        assert _dump(copy.db) == _dump(a)
    finally:
        assert copy.pending is not None
        copy.pending.close()


def test_a_clinic_without_the_patients_table_still_syncs_and_reviews(
    clinic: Clinic, tmp_path: Path
) -> None:
    """A clinic database set up before patients were synced: the rest syncs, the report
    says why patients did not, and the review opens (with no patients)."""
    from programmer.clinic.review import mirror

    with clinic.admin() as conn:
        conn.execute("DROP TABLE itp.patient_rows")
    a, ka = _programmer(tmp_path, "a", "ITP40-000001")
    _record_a_course(a, ka)
    report = _sync(a, ka, clinic)
    assert report.pushed.get("audit", 0) > 0
    assert any("does not hold patients yet" in n for n in report.notes), report.notes
    out = tmp_path / "review"
    out.mkdir()
    copy = mirror(parse_url(clinic.review_url), out, lazy=True)
    assert copy.pending is not None
    copy.pending.close()
    assert _dump(copy.db)["patients"] == []


def test_visits_of_one_second_on_two_programmers_give_the_same_last_visit(
    clinic: Clinic, tmp_path: Path
) -> None:
    """Found by the fault run: two visits of a patient in the same second, one on each
    programmer, arrive in the other order on each; both must show the same last visit."""
    a, ka = _programmer(tmp_path, "a", "ITP40-000001")
    b, kb = _programmer(tmp_path, "b", "ITP40-000002")
    with _patients(a, ka, datetime(2026, 3, 1, 9, tzinfo=UTC)) as (patients, doctor):
        patients.add(doctor, clinic_id="MRN-0009", name="Alan Turing", dob="1954-06-07")
    _sync(a, ka, clinic)
    _sync(b, kb, clinic)
    for db, key, micro in ((a, ka, 700_000), (b, kb, 300_000)):
        at = datetime(2026, 3, 1, 10, 0, 0, micro, tzinfo=UTC)
        with _patients(db, key, at) as (patients, doctor):
            pid = patients.by_clinic_id(doctor, "MRN-0009").id
            patients.record_visit(doctor, pid, "follow-up", {"on": str(db.parent.name)})
    for x, k in ((a, ka), (b, kb), (a, ka)):
        _sync(x, k, clinic)
    last = [
        _dump(db)["patients"][0][7] for db in (a, b)
    ]  # (clinic_id, version, name, dob, indication, serial, kind, last_visit_at)
    assert last == ["2026-03-01T10:00:00.700000Z"] * 2
