from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from programmer.store import (
    Accounts,
    AuditAction,
    AuditTrail,
    InfusionHour,
    Principal,
    PumpEvent,
    Records,
    Role,
    StoreError,
)

from .conftest import FakeClock

SERIAL = "ITP40-000123"
PUMP_TZ = timezone(timedelta(hours=-6))


@pytest.fixture
def people(accounts: Accounts) -> dict[str, Principal]:
    accounts.add("root", Role.ADMIN, "pw-for-tests-0", actor=None)
    root = accounts.sign_in("root", "pw-for-tests-0")
    accounts.add("phil", Role.PHYSICIAN, "pw-for-tests-1", actor=root)
    accounts.add("nina", Role.NURSE, "pw-for-tests-2", actor=root)
    return {
        "root": root,
        "phil": accounts.sign_in("phil", "pw-for-tests-1"),
        "nina": accounts.sign_in("nina", "pw-for-tests-2"),
    }


def event(seq: int, kind: str = "bolus") -> PumpEvent:
    at = datetime(2026, 2, 1, 8, 0, tzinfo=PUMP_TZ) + timedelta(minutes=seq)
    return PumpEvent(seq, at, kind, {"volume_nl": seq * 10})


def test_pumps_are_remembered_with_first_and_last_seen(records: Records, clock: FakeClock) -> None:
    records.upsert_pump(SERIAL, "ITP-40", {"fw": "1.2"})
    clock.advance(days=30)
    records.upsert_pump(SERIAL, None)
    ((model, info, first, last),) = records.store.query(
        "SELECT model, info, first_seen_s, last_seen_s FROM pumps"
    )
    assert (model, info) == ("ITP-40", '{"fw":"1.2"}')
    assert last - first == 30 * 86400


def test_history_without_a_known_pump_is_refused(records: Records) -> None:
    with pytest.raises(StoreError):
        records.save_events("UNKNOWN", [event(1)])


def test_events_re_read_is_a_no_op_and_gaps_stay_visible(records: Records) -> None:
    records.upsert_pump(SERIAL, "ITP-40")
    first = records.save_events(SERIAL, [event(s) for s in (1, 2, 3, 7, 8)])
    assert (first.added, first.already_known, first.conflicts) == (5, 0, ())
    again = records.save_events(SERIAL, [event(s) for s in (3, 7, 8, 9)])
    assert (again.added, again.already_known, again.conflicts) == (1, 3, ())
    assert [e.seq for e in records.events(SERIAL)] == [1, 2, 3, 7, 8, 9]
    assert records.missing_event_ranges(SERIAL) == [(4, 6)]
    assert records.missing_event_ranges(SERIAL, first=0, last=12) == [(0, 0), (4, 6), (10, 12)]
    assert records.last_event_seq(SERIAL) == 9
    stored = records.events(SERIAL)[0]
    assert stored == event(1)  # the pump's own offset is kept
    assert stored.at.utcoffset() == timedelta(hours=-6)


def test_a_conflicting_re_read_keeps_the_first_and_reports_it(records: Records) -> None:
    records.upsert_pump(SERIAL, "ITP-40")
    records.save_events(SERIAL, [event(1), event(2)])
    result = records.save_events(SERIAL, [event(1), event(2, kind="alarm")])
    assert (result.added, result.already_known, result.conflicts) == (0, 1, (2,))
    assert records.events(SERIAL)[1].kind == "bolus"


def test_events_range_query(records: Records) -> None:
    records.upsert_pump(SERIAL, "ITP-40")
    records.save_events(SERIAL, [event(s) for s in range(1, 61)])
    since = datetime(2026, 2, 1, 14, 10, tzinfo=UTC)  # 08:10 at the pump
    until = since + timedelta(minutes=5)
    assert [e.seq for e in records.events(SERIAL, since, until)] == [10, 11, 12, 13, 14]


def test_infusion_hours_re_read_and_gaps(records: Records) -> None:
    records.upsert_pump(SERIAL, "ITP-40")
    day = datetime(2026, 2, 1, tzinfo=UTC)
    hours = [InfusionHour(day + timedelta(hours=h), 5000 + h) for h in (0, 1, 2, 5, 6)]
    assert records.save_infusion_hours(SERIAL, hours).added == 5
    assert records.save_infusion_hours(SERIAL, hours[:2]).already_known == 2
    gaps = records.missing_infusion_hours(SERIAL, day, day + timedelta(hours=9))
    assert gaps == [
        (day + timedelta(hours=3), day + timedelta(hours=4)),
        (day + timedelta(hours=7), day + timedelta(hours=8)),
    ]
    got = records.infusion_hours(SERIAL, day, day + timedelta(hours=3))
    assert [(h.hour, h.volume_nl) for h in got] == [
        (day + timedelta(hours=h), 5000 + h) for h in range(3)
    ]
    with pytest.raises(ValueError, match="on the hour"):
        records.save_infusion_hours(SERIAL, [InfusionHour(day + timedelta(minutes=30), 1)])


def test_refill_is_stored_and_audited_together(
    records: Records, trail: AuditTrail, people: dict[str, Principal]
) -> None:
    records.upsert_pump(SERIAL, "ITP-40")
    refill_id = records.record_refill(
        people["nina"],
        SERIAL,
        removed_nl=4_600_000,
        added_nl=18_000_000,
        expected_nl=5_000_000,
        last_fill_nl=18_000_000,
        discrepancy_pct=3.0,
        drugs=[{"name": "baclofen", "concentration": "2 mg/mL"}],
    )
    (refill,) = records.refills(SERIAL)
    assert (refill.id, refill.removed_nl, refill.added_nl, refill.account) == (
        refill_id,
        4_600_000,
        18_000_000,
        "nina",
    )
    (audit,) = trail.query(action=AuditAction.REFILL_RECORDED)
    assert (audit.account, audit.role, audit.pump_serial) == ("nina", "nurse", SERIAL)
    assert audit.after_value()["removed_nl"] == 4_600_000


def test_refill_for_an_unknown_pump_leaves_no_audit_record(
    records: Records, trail: AuditTrail, people: dict[str, Principal]
) -> None:
    before = trail.verify().records
    with pytest.raises(StoreError):
        records.record_refill(people["nina"], "NOPE", removed_nl=1, added_nl=2)
    assert trail.verify().records == before


def test_settings_changes_are_audited_with_before_and_after(
    records: Records, trail: AuditTrail, people: dict[str, Principal]
) -> None:
    assert records.get_setting("low_reservoir_ml", 2) == 2
    records.set_setting(people["root"], "low_reservoir_ml", 2)
    records.set_setting(people["root"], "low_reservoir_ml", 4, reason="patient request")
    assert records.get_setting("low_reservoir_ml") == 4
    first, second = trail.query(action=AuditAction.SETTINGS_CHANGED)
    assert (first.before_value(), first.after_value()) == (None, {"low_reservoir_ml": 2})
    assert (second.before_value(), second.after_value()) == (
        {"low_reservoir_ml": 2},
        {"low_reservoir_ml": 4},
    )
    assert second.reason == "patient request"


def test_prescription_outcomes_and_uncertain_list(
    records: Records, people: dict[str, Principal]
) -> None:
    records.upsert_pump(SERIAL, "ITP-40")
    visit = records.start_visit(SERIAL, people["phil"])
    a = records.record_prescription_sent(people["phil"], SERIAL, {"mode": "flex"}, {}, visit)
    b = records.record_prescription_sent(people["phil"], SERIAL, {"mode": "flex"}, {}, visit)
    records.set_prescription_outcome(a, "applied", "0xBEEF")
    records.set_prescription_outcome(b, "uncertain")
    assert records.uncertain_prescriptions(SERIAL) == [b]
    with pytest.raises(ValueError):
        records.set_prescription_outcome(b, "probably")
    records.end_visit(visit)
    ((ended,),) = records.store.query("SELECT ended_at FROM visits WHERE id = ?", (visit,))
    assert ended is not None
