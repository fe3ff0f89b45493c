"""History series from hand-made events and hours: exact totals, gaps stay gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from programmer.history_series import (
    HOUR,
    ProgramRecord,
    RefillDrugs,
    build_history,
    drug_periods,
    event_gaps,
    program_markers,
)
from programmer.store.records import InfusionHour, PumpEvent, Refill
from programmer.therapy import DrugFill

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
BACLOFEN = (DrugFill("baclofen", 2_000_000),)  # 2000 mcg/mL
BACLOFEN_HALF = (DrugFill("baclofen", 1_000_000),)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def ev(seq: int, t: int, kind: str, **data: Any) -> PumpEvent:
    return PumpEvent(seq, at(t), kind, data)


def hours(start: int, count: int, basal: int = 20_000, bolus: int = 0, skip: set[int] = frozenset()) -> list[InfusionHour]:  # type: ignore[assignment]  # fmt: skip
    return [
        InfusionHour(at(start + i * HOUR), basal + bolus, {"basal_nl": basal, "bolus_nl": bolus})
        for i in range(count)
        if i not in skip
    ]


def program(seq: int, t: int, crc: int) -> PumpEvent:
    return ev(seq, t, "changeset_applied", crc=crc, programmer_id="itp-x", parts=["therapy"])


PROGRAMS = {7: ProgramRecord(1, 7, BACLOFEN), 8: ProgramRecord(2, 8, BACLOFEN_HALF)}


def test_exact_daily_volume_and_dose() -> None:
    events = [program(1, T0 - 60, 7)]
    h = build_history("S1", events, hours(T0, 48), programs=PROGRAMS)
    assert [d.label for d in h.days] == ["2026-01-01", "2026-01-02"]
    day = h.days[0]
    assert day.volume_nl == 480_000
    assert day.hours_reported == 24
    # 480,000 nl × 2,000,000 ng/mL ÷ 1,000,000 nl/mL = 960,000 ng (960 mcg), exactly
    assert day.dose_ng["baclofen"] == Fraction(960_000)
    assert isinstance(day.dose_ng["baclofen"], Fraction)
    assert day.note is None
    xs, ys = h.day_series("baclofen")
    assert xs == [T0, T0 + 86_400] and ys == [960_000, 960_000]


def test_uneven_volumes_stay_exact() -> None:
    events = [ev(1, T0 - 60, "changeset_applied", crc=9, parts=["therapy"])]
    odd = (DrugFill("morphine", 333),)
    hs = hours(T0, 24, basal=7)
    h = build_history("S1", events, hs, programs={9: ProgramRecord(1, 9, odd)})
    assert h.days[0].dose_ng["morphine"] == Fraction(24 * 7 * 333, 1_000_000)


def test_missing_hours_are_gaps_not_the_schedule() -> None:
    events = [program(1, T0 - 60, 7)]
    h = build_history("S1", events, hours(T0, 48, skip={30, 31, 32}), programs=PROGRAMS)
    assert len(h.hour_starts) == 48
    assert h.hour_volume_nl[30:33] == [None, None, None]
    assert h.hour_dose_ng("baclofen")[30:33] == [None, None, None]
    assert h.hour_gaps == [(T0 + 30 * HOUR, T0 + 32 * HOUR)]
    first, second = h.days
    assert first.volume_nl == 480_000
    assert second.volume_nl is None and second.dose_ng["baclofen"] is None
    assert second.hours_reported == 21
    assert second.note == "3 of 24 hours not reported"


def test_partial_first_day_has_no_total() -> None:
    h = build_history("S1", [], hours(T0 + 5 * HOUR, 19 + 24))
    assert h.days[0].volume_nl is None and h.days[0].hours_reported == 19
    assert h.days[1].volume_nl == 480_000


def test_unknown_drug_gives_volume_but_no_dose() -> None:
    # A therapy change this database did not send: the drug becomes unknown.
    events = [program(1, T0 - 60, 7), program(2, T0 + 86_400, 99)]
    h = build_history("S1", events, hours(T0, 48), programs=PROGRAMS)
    assert h.days[0].dose_ng["baclofen"] == 960_000
    assert h.days[1].volume_nl == 480_000
    assert h.days[1].dose_ng["baclofen"] is None
    assert h.days[1].note == "drug unknown"
    assert h.program_markers[1].known is False


def test_no_source_means_unknown() -> None:
    h = build_history("S1", [], hours(T0, 24))
    assert h.days[0].volume_nl == 480_000
    assert h.drug_names == [] and h.days[0].dose_ng == {}


def test_refills_table_drugs_are_a_source() -> None:
    refill = RefillDrugs(1, T0 - 10, BACLOFEN)
    h = build_history("S1", [], hours(T0, 24), refill_drugs=[refill])
    assert h.days[0].dose_ng["baclofen"] == 960_000
    assert h.drug_periods[0].source == "refill record 1"


def test_concentration_change_within_an_hour_is_not_split() -> None:
    events = [program(1, T0 - 60, 7), program(2, T0 + 86_400 + 1800, 8)]
    h = build_history("S1", events, hours(T0, 72), programs=PROGRAMS)
    assert h.days[0].dose_ng["baclofen"] == 960_000
    assert h.days[1].dose_ng["baclofen"] is None
    assert h.days[1].note == "drug changed within an hour"
    assert h.days[2].dose_ng["baclofen"] == 480_000  # half the concentration
    assert h.hour_dose_ng("baclofen")[24] is None  # the hour of the change
    assert h.hour_dose_ng("baclofen")[25] == 20_000


def test_event_gap_makes_the_drug_unknown_until_the_next_known_change() -> None:
    events = [
        program(1, T0 - 60, 7),
        ev(2, T0 + 3600, "session_opened", programmer_id="x"),
        # 3..5 missing: a therapy change could hide there
        ev(6, T0 + 86_400 + 600, "session_opened", programmer_id="x"),
        program(7, T0 + 2 * 86_400, 8),
    ]
    missing = [(3, 5)]
    gaps = event_gaps(events, missing)
    assert gaps[0].after_s == T0 + 3600 and gaps[0].before_s == T0 + 86_400 + 600
    h = build_history("S1", events, hours(T0, 72), programs=PROGRAMS, missing_events=missing)
    assert h.hour_dose_ng("baclofen")[0] == 40_000
    assert h.hour_dose_ng("baclofen")[1] is None  # from the last event before the gap
    assert h.days[1].dose_ng["baclofen"] is None
    assert h.days[2].dose_ng["baclofen"] == 480_000


def test_markers_for_refills_and_programs() -> None:
    events = [
        program(1, T0 - 60, 7),
        ev(2, T0 + 7200, "refill", removed_nl=3_000_000, added_nl=20_000_000, reservoir_nl=20_000_000),
        ev(3, T0 + 7300, "changeset_applied", crc=55, parts=["refill"]),
    ]  # fmt: skip
    h = build_history("S1", events, hours(T0, 24), programs=PROGRAMS)
    assert [(m.t_s, m.reservoir_nl) for m in h.refill_markers] == [(T0 + 7200, 20_000_000)]
    assert [(m.seq, m.known, m.parts) for m in h.program_markers] == [
        (1, True, ("therapy",)),
        (3, False, ("refill",)),
    ]
    # A refill-only changeset sent elsewhere leaves the drug as it was.
    assert h.days[0].dose_ng["baclofen"] == 960_000


def test_reservoir_estimate_between_refills_and_stops_at_a_gap() -> None:
    events = [
        ev(1, T0, "refill", removed_nl=0, added_nl=1_000_000, reservoir_nl=1_000_000),
        ev(2, T0 + 10 * HOUR, "refill", removed_nl=0, added_nl=500_000, reservoir_nl=900_000),
    ]
    h = build_history("S1", events, hours(T0, 20, basal=100_000, skip={15}))
    pts = list(zip(h.reservoir_t, h.reservoir_nl, strict=True))
    assert pts[0] == (T0, 1_000_000)
    assert pts[1] == (T0 + HOUR, 900_000)
    assert (T0 + 10 * HOUR, 0) in pts  # never below 0
    i = pts.index((T0 + 10 * HOUR, 900_000))
    assert pts[i - 1] == (T0 + 10 * HOUR, None)  # no line into a refill
    assert pts[i + 1] == (T0 + 11 * HOUR, 800_000)
    assert pts[-1] == (T0 + 15 * HOUR, None)  # hour 15 never reported: estimate stops
    assert max(t for t, _ in pts) == T0 + 15 * HOUR


def test_ptm_requests_by_hour_of_day_in_pump_local_time() -> None:
    events = [
        ev(1, T0 + 8 * HOUR + 5, "ptm_request", granted=True, reason="ok"),
        ev(2, T0 + 8 * HOUR + 900, "ptm_request", granted=False, reason="lockout"),
        ev(3, T0 + 86_400 + 8 * HOUR, "ptm_request", granted=True, reason="ok"),
        ev(4, T0 + 23 * HOUR, "ptm_request", granted=False, reason="max_per_day"),
    ]
    h = build_history("S1", events, [])
    assert (h.ptm_by_hour[8].granted, h.ptm_by_hour[8].denied) == (2, 1)
    assert h.ptm_by_hour[8].denied_reasons == {"lockout": 1}
    assert h.ptm_by_hour[23].denied == 1
    shifted = build_history("S1", events, [], utc_offset_min=120)
    assert shifted.ptm_by_hour[10].granted == 2
    assert shifted.ptm_by_hour[1].denied == 1  # 23:00 UTC is 01:00 at UTC+2


def test_alarm_intervals() -> None:
    events = [
        ev(1, T0, "alarm_raised", code="low_reservoir"),
        ev(2, T0 + 100, "alarm_raised", code="motor_stall"),
        ev(3, T0 + 200, "alarm_cleared", code="motor_stall"),
        ev(4, T0 + 300, "alarm_cleared", code="low_reservoir"),
        ev(5, T0 + 400, "alarm_raised", code="eri"),
    ]
    h = build_history("S1", events, [], now_s=T0 + 1000)
    spans = {(a.code, a.start_s, a.end_s) for a in h.alarms}
    assert spans == {
        ("low_reservoir", T0, T0 + 300),
        ("motor_stall", T0 + 100, T0 + 200),
        ("eri", T0 + 400, None),  # still active: no end invented
    }
    eri = next(a for a in h.alarms if a.code == "eri")
    assert eri.end_bound_s == T0 + 1000


def test_alarm_cleared_without_a_raise_has_no_start() -> None:
    events = [ev(10, T0 + 500, "alarm_cleared", code="motor_stall")]
    h = build_history("S1", events, [])
    (a,) = h.alarms
    assert a.start_s is None and a.end_s == T0 + 500


def test_accuracy_per_refill_exact() -> None:
    refills = [
        Refill(1, "S1", "2026-02-01T00:00:00Z", "n", 2_000_000, 20_000_000, 3_000_000, 20_000_000, -5.9, None),
        Refill(2, "S1", "2026-03-01T00:00:00Z", "n", 1_000_000, 20_000_000, None, None, None, None),
    ]  # fmt: skip
    h = build_history("S1", [], [], refills=refills)
    a, b = h.accuracy
    # programmed 17 mL, actual 18 mL: +1/17 (over-infusion)
    assert a.deviation == Fraction(1, 17)
    assert a.recorded_pct == -5.9
    assert b.deviation is None


def test_program_markers_without_crc() -> None:
    events = [ev(1, T0, "changeset_applied", parts=["therapy"])]
    (m,) = program_markers(events, PROGRAMS)
    assert m.crc is None and not m.known
    periods = drug_periods([m], [], [])
    assert periods[0].drugs is None


def test_five_years_of_hours_builds_quickly() -> None:
    import time

    n = 5 * 365 * 24
    hs = hours(T0 - n * HOUR, n)
    started = time.perf_counter()
    h = build_history("S1", [program(1, T0 - n * HOUR - 60, 7)], hs, programs=PROGRAMS)
    took = time.perf_counter() - started
    assert len(h.days) == 5 * 365
    assert all(d.dose_ng["baclofen"] == 960_000 for d in h.days)
    assert took < 10, took


def test_day_boundaries_follow_the_pump_offset() -> None:
    h = build_history("S1", [], hours(T0 - 2 * HOUR, 48), utc_offset_min=120)
    # UTC+2: local midnight of 2026-01-01 is 22:00 UTC the day before
    assert h.days[0].start_s == T0 - 2 * HOUR
    assert h.days[0].label == "2026-01-01"
    assert h.days[0].volume_nl == 480_000
    assert timedelta(seconds=h.days[1].start_s - h.days[0].start_s) == timedelta(days=1)
