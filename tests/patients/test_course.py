"""A patient's course across pump replacements: histories joined on one axis, whose pump."""

from __future__ import annotations

from datetime import date

from programmer.history_series import HOUR, build_history
from programmer.patients.course import join, owner_course, pumps_of_patient
from programmer.patients.registry import Patients, PumpSpec
from programmer.store import Principal, Role

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a UTC midnight


def _hours(first_h: int, count: int, nl: int) -> list[tuple[int, int, int | None]]:
    return [(T0 + (first_h + i) * HOUR, nl, 0) for i in range(count)]


def test_two_pumps_join_on_one_axis_and_the_hours_between_them_are_a_gap() -> None:
    old = build_history("OLD", [], _hours(0, 48, 10_000))  # 1 and 2 Jan
    new = build_history("NEW", [], _hours(72, 24, 20_000))  # 4 Jan
    h = join([old, new], "NEW")
    assert h.serial == "NEW" and len(h.hour_starts) == 96
    assert h.hour_volume_nl[0] == 10_000 and h.hour_volume_nl[72] == 20_000
    assert h.hour_volume_nl[48:72] == [None] * 24 and h.hour_gaps == [
        (T0 + 48 * HOUR, T0 + 71 * HOUR)
    ]
    # Each complete day keeps its own pump's total; the day no pump reported has none.
    assert [d.volume_nl for d in h.days] == [240_000, 240_000, None, 480_000]
    assert h.days[2].note == "24 of 24 hours not reported"


def test_an_hour_both_pumps_reported_keeps_the_later_pump() -> None:
    old = build_history("OLD", [], _hours(0, 13, 10_000))
    new = build_history("NEW", [], _hours(12, 12, 20_000))
    h = join([old, new], "NEW")
    assert len(h.hour_starts) == 24 and h.hour_volume_nl[12] == 20_000
    assert sum(v for v in h.hour_volume_nl if v is not None) == 12 * 10_000 + 12 * 20_000


def test_only_a_patient_with_more_than_one_pump_has_a_course(patients: Patients,
                                                              doctor: Principal, nurse: Principal) -> None:  # fmt: skip
    pid = patients.add(doctor, clinic_id="MRN-1", name="Ada Byron", dob="1961-05-04").id
    patients.add_pump(doctor, pid, PumpSpec("programmable", "ITP40-000001", date(2020, 1, 2)))
    assert owner_course(patients, nurse, "ITP40-000001") is None  # one pump: its own history
    assert owner_course(patients, nurse, "ITP40-999999") is None  # nobody's pump
    patients.replace_pump(doctor, pid, PumpSpec("programmable", "ITP40-000002", date(2026, 1, 4)),
                          reason="battery at end of service", proposed=None)  # fmt: skip
    found = owner_course(patients, nurse, "ITP40-000001")
    assert found is not None and [p.serial for p in found[1]] == ["ITP40-000001", "ITP40-000002"]
    mine = pumps_of_patient(patients, nurse, "ITP40-000002")
    assert mine is not None and mine.patient.clinic_id == "MRN-1"
    assert [p.serial for p in mine.earlier] == ["ITP40-000001"]
    assert (
        len(mine.replacements) == 1 and "ITP40-000001 -> ITP40-000002" in mine.replacements[0].text
    )
    assert pumps_of_patient(patients, Principal("admin", Role.ADMIN), "ITP40-000002") is None
