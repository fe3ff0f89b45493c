"""Patients in the store: versioned details, pumps over time, roles, audit, the pump link."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from programmer.patients.fields import PatientError, PumpLinkedElsewhere
from programmer.patients.registry import Patients, PumpSpec
from programmer.store import AuditTrail, NotAllowed, Principal, Store, StoreError


def _add(patients: Patients, doctor: Principal, cid: str = "MRN-0001", name: str = "Ada Byron"):
    return patients.add(doctor, clinic_id=cid, name=name, dob="1961-05-04",
                        indication="spasticity-spinal", notes="ITB since 2019")  # fmt: skip


def _pump(serial: str = "ITP40-000123", on: str = "2020-02-03", **kw: str) -> PumpSpec:
    return PumpSpec("programmable", serial, on, model="ITP-40", catheter_tip="T10",
                    catheter_length="60 cm", catheter_volume_per_cm="0.0026 mL", **kw)  # fmt: skip


def test_a_patient_is_recorded_and_every_change_is_a_new_version(patients, doctor, trail):
    p = _add(patients, doctor)
    assert (p.clinic_id, p.name, p.version, str(p.dob)) == (
        "MRN-0001",
        "Ada Byron",
        1,
        "1961-05-04",
    )
    q = patients.update(doctor, p.id, name="Ada King", reason="married name")
    assert (
        q.version == 2 and q.name == "Ada King" and q.dob == p.dob and q.notes == "ITB since 2019"
    )
    old, new = patients.versions(doctor, p.id)
    assert old.name == "Ada Byron" and new.name == "Ada King" and new.reason == "married name"
    actions = [json.loads(r.after) for r in trail.query() if r.action == "patient_changed"]
    assert [a["change"] for a in actions] == ["patient_added", "patient_details_versioned"]
    assert trail.verify().ok  # the new action is part of the HMAC chain like any other


def test_versions_cannot_be_overwritten_even_with_sql(patients, doctor, store: Store):
    p = _add(patients, doctor)
    with pytest.raises((sqlite3.DatabaseError, StoreError)), store.write() as conn:
        conn.execute("UPDATE patient_versions SET name = 'X' WHERE patient_id = ?", (p.id,))
    assert patients.get(doctor, p.id).name == "Ada Byron"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("clinic_id", {"clinic_id": ""}),
        ("clinic_id", {"clinic_id": "MRN 1; DROP"}),
        ("name", {"name": "   "}),
        ("name", {"name": "x" * 201}),
        ("dob", {"dob": "04/05/1961"}),
        ("dob", {"dob": "2030-01-01"}),
        ("dob", {"dob": "1961-02-30"}),
        ("indication", {"indication": "migraine"}),
        ("notes", {"notes": "x" * 4001}),
    ],
)
def test_bad_details_are_refused_naming_the_field(patients, doctor, field, kwargs):
    values = {"clinic_id": "MRN-1", "name": "A B", "dob": "1961-05-04", **kwargs}
    with pytest.raises(PatientError) as err:
        patients.add(doctor, **values)
    assert err.value.field == field
    assert patients.search(doctor) == []


def test_roles_nurses_and_physicians_read_physicians_write(patients, doctor, nurse, admin):
    p = _add(patients, doctor)
    assert patients.get(nurse, p.id).name == "Ada Byron"
    with pytest.raises(NotAllowed):
        patients.add(nurse, clinic_id="MRN-2", name="B", dob="1970-01-01")
    with pytest.raises(NotAllowed):
        patients.update(nurse, p.id, name="C", reason="x")
    with pytest.raises(NotAllowed):
        patients.get(admin, p.id)
    with pytest.raises(NotAllowed):
        patients.search(admin)


def test_the_same_clinic_identifier_twice_is_refused(patients, doctor):
    _add(patients, doctor)
    with pytest.raises(PatientError, match="already recorded"):
        _add(patients, doctor, "mrn-0001", "Someone Else")


def test_search_by_name_or_identifier_any_case(patients, doctor):
    _add(patients, doctor, "MRN-0001", "Ada Byron")
    _add(patients, doctor, "MRN-0002", "Charles Babbage")
    _add(patients, doctor, "X_9", "Grace 100% Hopper")
    assert [r.name for r in patients.search(doctor, "bab")] == ["Charles Babbage"]
    assert [r.clinic_id for r in patients.search(doctor, "mrn-0001")] == ["MRN-0001"]
    assert [r.name for r in patients.search(doctor, "")] == [
        "Ada Byron", "Charles Babbage", "Grace 100% Hopper"]  # fmt: skip
    # LIKE wildcards typed by a person are literal
    assert [r.name for r in patients.search(doctor, "%")] == ["Grace 100% Hopper"]
    assert [r.clinic_id for r in patients.search(doctor, "_")] == ["X_9"]


def test_a_connected_pump_finds_its_patient_by_serial_or_nobody(patients, doctor, nurse):
    p = _add(patients, doctor)
    assert patients.owner_of(nurse, "ITP40-000123") is None  # unknown: the app must ask
    patients.add_pump(doctor, p.id, _pump())
    owner = patients.owner_of(nurse, "ITP40-000123")
    assert owner is not None and owner.patient.clinic_id == "MRN-0001"
    assert owner.pump.catheter_volume_nl == 156_000 and owner.pump.catheter_tip == "T10"


def test_a_pump_linked_to_another_patient_is_a_hard_stop(patients, doctor):
    a = _add(patients, doctor)
    b = _add(patients, doctor, "MRN-0002", "Charles Babbage")
    patients.add_pump(doctor, a.id, _pump())
    with pytest.raises(PumpLinkedElsewhere, match="MRN-0001"):
        patients.link_connected(doctor, b.id, "ITP40-000123", "ITP-40", "2021-01-01")
    with pytest.raises(PumpLinkedElsewhere):
        patients.add_pump(doctor, b.id, _pump())
    assert patients.pumps(doctor, b.id) == []
    # linking the same pump to its own patient again changes nothing
    assert (
        patients.link_connected(doctor, a.id, "ITP40-000123", "ITP-40", "2021-01-01").patient_id
        == a.id
    )


def test_one_implanted_pump_at_a_time(patients, doctor):
    p = _add(patients, doctor)
    patients.add_pump(doctor, p.id, _pump())
    with pytest.raises(PatientError, match="replacement"):
        patients.add_pump(doctor, p.id, _pump("ITP40-000999", "2021-01-01"))


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (PumpSpec("programmable", "bad serial!", "2020-01-01"), "serial"),
        (PumpSpec("magnetic", "S1", "2020-01-01"), "kind"),
        (PumpSpec("programmable", "S1", "1950-01-01"), "implanted_on"),  # before birth
        (PumpSpec("programmable", "S1", "2020-01-01", catheter_tip="T13"), "catheter_tip"),
        (PumpSpec("programmable", "S1", "2020-01-01", catheter_length="60",
                  catheter_volume_per_cm="0.0026 mL"), "catheter_length"),
        (PumpSpec("programmable", "S1", "2020-01-01", catheter_length="60 cm"), "catheter_length"),
        (PumpSpec("constant-flow", "S1", "2020-01-01", capacity="35 mL"), "flow"),
        (PumpSpec("constant-flow", "S1", "2020-01-01", flow="1 mL/h", capacity="35 mL"), "flow"),
        (PumpSpec("programmable", "S1", "2020-01-01", flow="1 mL/day"), "flow"),
    ],
)  # fmt: skip
def test_bad_pumps_are_refused_naming_the_field(patients, doctor, spec, field):
    p = _add(patients, doctor)
    with pytest.raises(PatientError) as err:
        patients.add_pump(doctor, p.id, spec)
    assert err.value.field == field


def test_pumps_over_time_both_stay_on_the_record_after_a_replacement(patients, doctor, trail):
    p = _add(patients, doctor)
    old = patients.add_pump(doctor, p.id, _pump())
    new, visit = patients.replace_pump(doctor, p.id, _pump("ITP40-000777", "2026-10-01"),
                                       reason="battery at ERI", proposed={"x": 1})  # fmt: skip
    pumps = patients.pumps(doctor, p.id)
    assert [x.serial for x in pumps] == ["ITP40-000123", "ITP40-000777"]
    assert (
        str(pumps[0].explanted_on) == "2026-10-01" and pumps[0].explant_reason == "battery at ERI"
    )
    assert pumps[1].current and new.id != old.id
    assert visit.kind == "replacement" and visit.summary["old_serial"] == "ITP40-000123"
    # the old pump still finds its patient: its history stays with the patient
    assert patients.owner_of(doctor, "ITP40-000123").patient.id == p.id


def test_trial_doses_observations_side_effects_and_result_with_who_decided(patients, doctor, nurse):
    p = _add(patients, doctor)
    t0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    trial = patients.add_trial(doctor, p.id, drug="Lioresal", kind="repeated-bolus", started_at=t0)
    assert trial.drug == "baclofen"
    patients.add_trial_dose(doctor, trial.id, t0, "50 mcg")
    patients.add_observation(doctor, trial.id, t0.replace(hour=12), "ashworth", 2)
    patients.add_side_effect(doctor, trial.id, t0.replace(hour=13), "headache")
    with pytest.raises(PatientError) as err:
        patients.add_observation(doctor, trial.id, t0, "pain", 11)
    assert err.value.field == "score"
    with pytest.raises(PatientError):
        patients.add_side_effect(doctor, trial.id, t0, "dizziness")
    with pytest.raises(PatientError):
        patients.add_trial_dose(doctor, trial.id, t0, "50 mcg/day")  # a bolus is a mass
    with pytest.raises(NotAllowed):
        patients.record_result(nurse, trial.id, response="positive", decision="implant",
                               effective_dose="50 mcg")  # fmt: skip
    done = patients.record_result(doctor, trial.id, response="positive", decision="implant",
                                  effective_dose="50 mcg", effect_duration="6 h")  # fmt: skip
    assert done.result is not None and done.result.decided_by == "dr.lee"
    assert done.result.effective_dose_ng == 50_000 and done.result.effect_duration_min == 360
    assert [e.kind for e in done.entries] == ["dose", "observation", "side_effect"]
    with pytest.raises(PatientError, match="closed"):
        patients.add_trial_dose(doctor, trial.id, t0, "75 mcg")
    with pytest.raises(PatientError, match="already"):
        patients.record_result(doctor, trial.id, response="negative", decision="no-implant")


def test_a_continuous_trial_needs_its_rate_and_doses_per_day(patients, doctor):
    p = _add(patients, doctor)
    t0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(PatientError) as err:
        patients.add_trial(doctor, p.id, drug="morphine", kind="continuous", started_at=t0)
    assert err.value.field == "rate"
    t = patients.add_trial(doctor, p.id, drug="morphine", kind="continuous", started_at=t0,
                           concentration="0.5 mg/mL", rate="0.2 mL/day")  # fmt: skip
    assert t.rate_nl_day == 200_000 and t.conc_ng_ml == 500_000
    t = patients.add_trial_dose(doctor, t.id, t0, "0.1 mg/day")
    assert t.doses[0].per_day and t.doses[0].amount_ng == 100_000


def test_a_trial_time_in_the_future_is_refused(patients, doctor, clock):
    p = _add(patients, doctor)
    with pytest.raises(PatientError, match="future"):
        patients.add_trial(doctor, p.id, drug="baclofen", kind="single-bolus",
                           started_at=datetime(2027, 1, 1, tzinfo=UTC))  # fmt: skip


def test_nurses_record_refills_but_not_other_visits(patients, doctor, nurse):
    p = _add(patients, doctor)
    v = patients.record_visit(nurse, p.id, "refill", {"added_nl": 18_000_000})
    assert v.account == "n.kim"
    with pytest.raises(NotAllowed):
        patients.record_visit(nurse, p.id, "programming", {})


def test_reading_an_old_database_read_only_shows_no_patients(tmp_path, clock):
    from programmer.patients.schema import has_patient_tables
    from programmer.store import open_store

    path = tmp_path / "old.sqlite3"
    with open_store(path, clock=clock) as s, s.write() as conn:
        # as a database written before patients existed
        for t in ("cf_refills", "trial_results", "trial_entries", "trials", "patient_visits",
                  "patient_pumps", "patient_versions", "patients"):  # fmt: skip
            conn.execute(f"DROP TABLE {t}")
        conn.execute("DELETE FROM meta WHERE key = 'patients_schema_version'")
    with open_store(path, read_only=True, clock=clock) as ro:
        assert not has_patient_tables(ro)
        pts = Patients(ro, AuditTrail(ro, b"k" * 32))
        assert pts.search(Principal("n", "nurse")) == []
    with open_store(path, clock=clock) as rw:  # opening it writable migrates it
        assert has_patient_tables(rw)
