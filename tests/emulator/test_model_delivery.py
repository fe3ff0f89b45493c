"""Delivery, alarms, patient boluses, re-anchoring and the clock, on the model alone."""

from __future__ import annotations

import pytest

from programmer.emulator.errors import PumpRefusal
from programmer.emulator.limits import ERI_AFTER_IMPLANT_S
from programmer.emulator.model import PumpModel

from .helpers import DAY, HOUR, T0, alarm_codes, apply, codes, new_pump, ptm, therapy


def infused(pump: PumpModel, first_hour: int, last_hour: int) -> tuple[int, int]:
    page = pump.hours
    start = first_hour - page.first_hour
    stop = last_hour - page.first_hour + 1
    return sum(page.basal[start:stop]), sum(page.bolus[start:stop])


def test_continuous_rate_delivers_exactly_its_daily_volume() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy(steps=[[0, 1_000_000]])})
    before = pump.reservoir_nl
    pump.advance(DAY)
    assert before - pump.reservoir_nl == 1_000_000
    assert infused(pump, T0 // HOUR, T0 // HOUR + 23) == (1_000_000, 0)


def test_sub_nanolitre_remainders_are_carried_not_lost() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy(steps=[[0, 48_001]])})  # 0.5555.. nl per second
    for _ in range(86_400 // 7):
        pump.advance(7)
    pump.advance(86_400 % 7)
    assert pump.status()["reservoir_nl"] == 40_000_000 - 48_001


def test_flex_steps_run_in_local_time() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy("flex", [[0, 240_000], [360, 2_400_000]])})
    pump.advance(DAY)
    hour0 = T0 // HOUR
    assert pump.hours.basal[hour0 - pump.hours.first_hour] == 10_000  # 240_000 / 24
    assert pump.hours.basal[hour0 + 6 - pump.hours.first_hour] == 100_000


def test_bolus_replaces_basal_until_its_volume_is_given() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy(steps=[[0, 2_400_000]])})  # 100_000 nl/h
    apply(pump, {"bolus": {"kind": "single", "volume_nl": 250_000, "rate_nl_day": 2_400_000}})
    assert pump.delivering() == "clinician_bolus"
    pump.advance(HOUR)
    assert pump.status()["bolus_remaining_nl"] == 150_000
    assert infused(pump, T0 // HOUR, T0 // HOUR) == (0, 100_000)
    pump.advance(2 * HOUR)  # bolus ends at 2.5 h, basal resumes for the last half hour
    assert pump.delivering() == "basal"
    assert infused(pump, T0 // HOUR + 2, T0 // HOUR + 2) == (50_000, 50_000)
    assert "bolus_completed" in codes(pump)
    assert pump.reservoir_nl == 40_000_000 - 300_000


def test_cancel_bolus_stops_it_and_basal_resumes() -> None:
    pump = new_pump()
    apply(pump, {"bolus": {"kind": "bridge", "volume_nl": 500_000, "rate_nl_day": 1_000_000}})
    pump.advance(HOUR)
    apply(pump, {"cancel_bolus": True})
    assert pump.delivering() == "basal" and pump.bolus is None
    assert "bolus_cancelled" in codes(pump)
    assert pump.events.events[-1][3]["parts"] == ["cancel_bolus"]


def test_patient_bolus_is_on_top_of_basal() -> None:
    pump = new_pump()
    apply(
        pump,
        {"therapy": therapy(steps=[[0, 2_400_000]], ptm=ptm(volume_nl=60_000, duration_min=30))},
    )
    assert pump.press_ptm() == {"granted": True, "reason": "ok"}
    pump.advance(HOUR)
    assert infused(pump, T0 // HOUR, T0 // HOUR) == (100_000, 60_000)


def test_ptm_refusal_reasons() -> None:
    pump = new_pump()
    assert pump.press_ptm()["reason"] == "disabled"
    apply(pump, {"therapy": therapy(ptm=ptm(duration_min=10, lockout_min=60, max_per_day=2))})
    assert pump.press_ptm()["reason"] == "ok"
    pump.advance(59 * 60 + 59)
    assert pump.press_ptm()["reason"] == "lockout"
    pump.advance(1)  # the lockout runs from the start of the last granted bolus
    assert pump.press_ptm()["reason"] == "ok"
    pump.advance(HOUR)
    assert pump.press_ptm()["reason"] == "max_per_day"
    pump.advance(DAY - 2 * HOUR - 1)
    assert pump.press_ptm()["reason"] == "max_per_day"  # 24 h after the first: one left in
    pump.advance(1)
    assert pump.press_ptm()["reason"] == "ok"
    pump.advance(HOUR)
    apply(pump, {"bolus": {"kind": "single", "volume_nl": 100_000, "rate_nl_day": 48_000}})
    assert pump.press_ptm()["reason"] == "bolus_active"
    apply(pump, {"therapy": therapy("stopped", ptm=ptm())})
    assert pump.press_ptm()["reason"] == "not_delivering"
    requests = [e[3] for e in pump.events.events if e[2] == "ptm_request"]
    assert [r["granted"] for r in requests] == [
        False,
        True,
        False,
        True,
        False,
        False,
        True,
        False,
        False,
    ]


def test_ptm_not_delivering_during_motor_stall() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy(ptm=ptm())})
    pump.fault("motor_stall")
    assert pump.press_ptm()["reason"] == "not_delivering"


def test_low_and_empty_reservoir_alarms_at_their_instants() -> None:
    pump = new_pump("ITP-20")
    apply(pump, {"therapy": therapy(steps=[[0, 1_000_000]], low_alarm_nl=2_000_000)})
    apply(pump, {"refill": {"removed_nl": 0, "added_nl": 0, "reservoir_nl": 3_000_000}})
    pump.advance(DAY - 1)
    assert "low_reservoir" not in pump.alarms
    pump.advance(1)
    assert pump.alarms["low_reservoir"] == T0 + DAY
    assert pump.reservoir_nl == 2_000_000
    pump.advance(2 * DAY)
    assert pump.alarms["empty_reservoir"] == T0 + 3 * DAY
    assert pump.delivering() == "minimum_rate"
    pump.advance(DAY)
    assert pump.reservoir_nl == 0  # the estimate is held at 0
    assert infused(pump, (T0 + 3 * DAY) // HOUR, (T0 + 4 * DAY) // HOUR - 1) == (48_000, 0)
    status = pump.status()
    assert {"code": "empty_reservoir", "since_t": T0 + 3 * DAY, "critical": True} in status[
        "alarms"
    ]
    apply(pump, {"refill": {"removed_nl": 0, "added_nl": 1_000_000, "reservoir_nl": 1_000_000}})
    assert alarm_codes(pump) == {"low_reservoir"}  # above empty, not above low
    apply(pump, {"refill": {"removed_nl": 0, "added_nl": 18_000_000, "reservoir_nl": 19_000_000}})
    assert alarm_codes(pump) == set()
    assert pump.delivering() == "basal"


def test_refill_at_or_below_a_threshold_keeps_its_alarm() -> None:
    pump = new_pump("ITP-20")
    apply(pump, {"refill": {"removed_nl": 0, "added_nl": 0, "reservoir_nl": 2_000_000}})
    assert alarm_codes(pump) == {"low_reservoir"}  # reaching the threshold raises it


def test_eri_then_end_of_service_90_days_later() -> None:
    pump = new_pump()
    pump.advance(ERI_AFTER_IMPLANT_S - 1)
    assert "eri" not in pump.alarms
    pump.advance(1)
    assert pump.alarms["eri"] == T0 + ERI_AFTER_IMPLANT_S
    assert pump.status()["eri_t"] == T0 + ERI_AFTER_IMPLANT_S
    pump.advance(90 * DAY - 1)
    assert "end_of_service" not in pump.alarms
    pump.advance(1)
    assert pump.delivering() == "stopped"
    level = pump.reservoir_nl
    pump.advance(DAY)
    assert pump.reservoir_nl == level
    with pytest.raises(PumpRefusal) as caught:
        pump.stage({"bolus": {"kind": "single", "volume_nl": 10, "rate_nl_day": 48_000}})
    assert caught.value.code == "pump_fault" and "end_of_service" in caught.value.message
    with pytest.raises(PumpRefusal):
        pump.stage({"therapy": therapy()})
    apply(pump, {"refill": {"removed_nl": 10, "added_nl": 0, "reservoir_nl": 0}})  # still allowed


def test_motor_stall_stops_delivery_and_boluses_until_cleared() -> None:
    pump = new_pump()
    apply(pump, {"bolus": {"kind": "single", "volume_nl": 500_000, "rate_nl_day": 1_000_000}})
    pump.fault("motor_stall")
    assert pump.bolus is None and pump.delivering() == "stopped"
    level = pump.reservoir_nl
    pump.advance(DAY)
    assert pump.reservoir_nl == level
    with pytest.raises(PumpRefusal) as caught:
        pump.stage({"bolus": {"kind": "single", "volume_nl": 10, "rate_nl_day": 48_000}})
    assert caught.value.code == "pump_fault" and "motor_stall" in caught.value.message
    apply(pump, {"therapy": therapy()})  # programming is still allowed
    pump.fault("clear")
    assert "motor_stall" not in pump.alarms and pump.delivering() == "basal"
    assert codes(pump).count("alarm_cleared") == 1


def test_staged_bolus_is_refused_at_commit_if_the_motor_stalled_since() -> None:
    pump = new_pump()
    staged = pump.stage({"bolus": {"kind": "single", "volume_nl": 10, "rate_nl_day": 48_000}})
    pump.fault("motor_stall")
    with pytest.raises(PumpRefusal) as caught:
        pump.commit(staged["staged_crc"], "x")
    assert caught.value.code == "pump_fault"
    assert pump.last_changeset_crc is None


def test_stopped_for_more_than_48_hours_raises_pump_stopped() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy("stopped")})
    pump.advance(48 * HOUR)
    assert "pump_stopped" not in pump.alarms
    pump.advance(1)
    assert pump.alarms["pump_stopped"] == T0 + 48 * HOUR + 1
    apply(pump, {"therapy": therapy()})
    assert "pump_stopped" not in pump.alarms


def test_re_anchor_at_local_midnight_when_steps_change_only() -> None:
    pump = new_pump()
    steps = [[0, 48_000], [720, 96_000]]
    pump.advance(DAY + 5 * HOUR)
    apply(pump, {"therapy": therapy("flex", steps, cycle_days=3)})
    assert pump.therapy_wire()["cycle_anchor_t"] == T0 + DAY
    pump.advance(3 * DAY)
    assert pump.therapy_wire()["cycle_anchor_t"] == T0 + DAY  # fixed: time passing is no COMMIT
    apply(pump, {"therapy": therapy("flex", steps, cycle_days=3, low_alarm_nl=3_000_000)})
    pump.advance(DAY)
    assert pump.therapy_wire()["cycle_anchor_t"] == T0 + DAY  # same steps: no re-anchor
    apply(pump, {"therapy": therapy("flex", [[0, 48_000], [600, 96_000]], cycle_days=3)})
    assert pump.therapy_wire()["cycle_anchor_t"] == T0 + 5 * DAY  # new steps: today


def test_set_clock_offset_shifts_the_schedule() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy("flex", [[0, 0], [360, 2_400_000], [420, 0]])})
    crc = pump.therapy_crc()
    pump.set_clock(T0, 120)  # local time is now UTC+2: the 06:00 step runs at 04:00 UTC
    assert pump.therapy_wire()["cycle_anchor_t"] == T0  # as committed: SET_CLOCK is no COMMIT
    assert pump.therapy_crc() == crc
    pump.advance(DAY)
    hour0 = T0 // HOUR - pump.hours.first_hour
    assert pump.hours.basal[hour0 + 4] == 100_000
    assert sum(pump.hours.basal) == 100_000
    clock_events = [e[3] for e in pump.events.events if e[2] == "clock_set"]
    assert clock_events == [{"old_t": T0, "new_t": T0, "old_offset_min": 0, "new_offset_min": 120}]


def test_set_clock_limits() -> None:
    pump = new_pump()
    pump.set_clock(T0, -840)
    pump.set_clock(T0, 840)
    for offset in (-841, 841):
        with pytest.raises(PumpRefusal) as caught:
            pump.set_clock(T0, offset)
        assert caught.value.code == "invalid"
        assert caught.value.problems[0].field == "utc_offset_min"


def test_flow_error_shows_only_in_the_truth() -> None:
    pump = new_pump("ITP-20")
    pump.set_flow_error(145_000)  # 14.5 % over-infusion
    apply(pump, {"therapy": therapy(steps=[[0, 1_000_000]])})
    pump.advance(10 * DAY)
    assert pump.reservoir_nl == 20_000_000 - 10_000_000
    assert pump.truth() == {
        "true_reservoir_nl": 20_000_000 - 11_450_000,
        "true_delivered_nl": 11_450_000,
    }
    apply(
        pump,
        {"refill": {"removed_nl": 8_550_000, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}},
    )
    assert pump.truth()["true_reservoir_nl"] == 20_000_000
    with pytest.raises(PumpRefusal):
        pump.set_flow_error(-1_000_001)


def test_commit_errors_and_repeat() -> None:
    pump = new_pump()
    with pytest.raises(PumpRefusal) as caught:
        pump.commit(123, "x")
    assert caught.value.code == "no_staged"
    staged = pump.stage({"therapy": therapy()})
    with pytest.raises(PumpRefusal) as caught:
        pump.commit(staged["staged_crc"] ^ 1, "x")
    assert caught.value.code == "crc_mismatch"
    first = pump.commit(staged["staged_crc"], "x")
    assert pump.commit(staged["staged_crc"], "x") == first  # answered as the first time
    assert codes(pump).count("changeset_applied") == 1
    pump.open_session("y")
    with pytest.raises(PumpRefusal) as caught:
        pump.commit(staged["staged_crc"], "y")
    assert caught.value.code == "no_staged"


def test_new_session_discards_staged_changeset() -> None:
    pump = new_pump()
    pump.stage({"therapy": therapy()})
    pump.open_session("other")
    assert pump.staged is None
    pump.stage({"therapy": therapy()})
    pump.discard()
    assert pump.staged is None
