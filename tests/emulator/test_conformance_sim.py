"""Conformance, section 5b: the emulator-only messages and the pump's behaviour (section 5)."""

from __future__ import annotations

import pytest

from programmer.link import ProtocolError, PumpClient

from .conftest import EmulatorProcess
from .helpers import DAY, HOUR, T0, ptm, therapy


def commit(pump: PumpClient, changeset: dict[str, object]) -> None:
    pump.commit(pump.stage(changeset)["staged_crc"])


def alarms(pump: PumpClient) -> dict[str, tuple[int, bool]]:
    return {a["code"]: (a["since_t"], a["critical"]) for a in pump.get_status()["alarms"]}


def test_sim_advance_runs_the_clock(pump: PumpClient) -> None:
    assert pump.sim_advance(0) == {"clock_t": T0}
    assert pump.sim_advance(DAY) == {"clock_t": T0 + DAY}
    status = pump.get_status()
    assert status["reservoir_nl"] == 40_000_000 - 48_000  # a new pump runs at the minimum
    assert status["clock_t"] == T0 + DAY


def test_ptm_reasons_over_the_wire(pump: PumpClient) -> None:
    assert pump.sim_ptm() == {"granted": False, "reason": "disabled"}
    commit(pump, {"therapy": therapy(ptm=ptm(duration_min=5, lockout_min=30, max_per_day=1))})
    assert pump.sim_ptm() == {"granted": True, "reason": "ok"}
    pump.sim_advance(29 * 60)
    assert pump.sim_ptm() == {"granted": False, "reason": "lockout"}
    pump.sim_advance(60)
    assert pump.sim_ptm() == {"granted": False, "reason": "max_per_day"}
    pump.sim_advance(DAY)
    commit(pump, {"bolus": {"kind": "single", "volume_nl": 10_000, "rate_nl_day": 48_000}})
    assert pump.sim_ptm() == {"granted": False, "reason": "bolus_active"}
    commit(pump, {"cancel_bolus": True})
    pump.sim_fault("motor_stall")
    assert pump.sim_ptm() == {"granted": False, "reason": "not_delivering"}
    pump.sim_fault("clear")
    assert pump.sim_ptm() == {"granted": True, "reason": "ok"}
    events = pump.read_events(1, 1024)["events"]
    reasons = [e["data"]["reason"] for e in events if e["code"] == "ptm_request"]
    assert reasons == [
        "disabled",
        "ok",
        "lockout",
        "max_per_day",
        "bolus_active",
        "not_delivering",
        "ok",
    ]


def test_motor_stall_is_critical_and_refuses_boluses(pump: PumpClient) -> None:
    assert pump.sim_fault("motor_stall") == {}
    assert alarms(pump) == {"motor_stall": (T0, True)}
    assert pump.get_status()["delivering"] == "stopped"
    with pytest.raises(ProtocolError) as caught:
        pump.stage({"bolus": {"kind": "single", "volume_nl": 10, "rate_nl_day": 48_000}})
    assert caught.value.code == "pump_fault" and "motor_stall" in caught.value.message
    pump.sim_fault("clear")
    assert alarms(pump) == {}


def test_reservoir_alarms_and_minimum_rate(pump: PumpClient) -> None:
    commit(pump, {"therapy": therapy(steps=[[0, 2_000_000]], low_alarm_nl=1_000_000)})
    commit(pump, {"refill": {"removed_nl": 0, "added_nl": 0, "reservoir_nl": 3_000_000}})
    pump.sim_advance(DAY)
    assert alarms(pump) == {"low_reservoir": (T0 + DAY, False)}
    pump.sim_advance(DAY)
    assert alarms(pump)["empty_reservoir"] == (T0 + 1 * DAY + DAY // 2, True)
    status = pump.get_status()
    assert status["delivering"] == "minimum_rate" and status["reservoir_nl"] == 0
    page = pump.read_infusion((T0 + 3 * DAY // 2) // HOUR, 12)
    assert sum(page["basal_nl"]) == 24_000  # 48_000 nl/day for 12 h


def test_stopped_pump_alarm(pump: PumpClient) -> None:
    commit(pump, {"therapy": therapy("stopped")})
    assert pump.get_status()["delivering"] == "stopped"
    pump.sim_advance(48 * HOUR + 1)
    assert alarms(pump) == {"pump_stopped": (T0 + 48 * HOUR + 1, True)}


def test_eri_and_end_of_service(pump: PumpClient) -> None:
    eri_t = pump.get_status()["eri_t"]
    pump.sim_advance(eri_t - T0)
    assert alarms(pump)["eri"] == (eri_t, False)
    pump.sim_advance(90 * DAY)
    assert alarms(pump)["end_of_service"] == (eri_t + 90 * DAY, True)
    assert pump.get_status()["delivering"] == "stopped"


def test_truth_and_flow_error(pump: PumpClient) -> None:
    assert pump.sim_truth() == {"true_reservoir_nl": 40_000_000, "true_delivered_nl": 0}
    assert pump.sim_set(-100_000) == {}
    commit(pump, {"therapy": therapy(steps=[[0, 1_000_000]])})
    pump.sim_advance(DAY)
    assert pump.get_status()["reservoir_nl"] == 39_000_000
    assert pump.sim_truth() == {"true_reservoir_nl": 39_100_000, "true_delivered_nl": 900_000}
    with pytest.raises(ProtocolError) as caught:
        pump.sim_set(-1_000_001)
    assert caught.value.code == "invalid"


def test_every_event_code_with_its_data(pump: PumpClient) -> None:
    """Section 4's event table: each code appears with at least its documented data."""
    commit(pump, {"therapy": therapy(ptm=ptm())})
    commit(pump, {"refill": {"removed_nl": 1_000, "added_nl": 2_000, "reservoir_nl": 30_000_000}})
    commit(pump, {"bolus": {"kind": "single", "volume_nl": 1_000, "rate_nl_day": 24_000_000}})
    pump.sim_advance(60)  # the bolus completes
    commit(pump, {"bolus": {"kind": "bridge", "volume_nl": 100_000, "rate_nl_day": 48_000}})
    commit(pump, {"cancel_bolus": True})
    pump.sim_ptm()
    pump.sim_fault("motor_stall")
    pump.sim_fault("clear")
    pump.set_clock(T0 + 3_600, 60)
    events = pump.read_events(1, 1024)["events"]
    data_keys = {
        "changeset_applied": {"crc", "programmer_id", "parts"},
        "refill": {"removed_nl", "added_nl", "reservoir_nl"},
        "bolus_started": {"kind", "volume_nl"},
        "bolus_completed": {"kind", "volume_nl"},
        "bolus_cancelled": {"kind", "volume_nl"},
        "ptm_request": {"granted", "reason"},
        "alarm_raised": {"code"},
        "alarm_cleared": {"code"},
        "clock_set": {"old_t", "new_t", "old_offset_min", "new_offset_min"},
        "session_opened": {"programmer_id"},
    }
    seen = {e["code"] for e in events}
    assert set(data_keys) <= seen
    for event in events:
        assert data_keys[event["code"]] <= set(event["data"]), event
    completed = next(e for e in events if e["code"] == "bolus_completed")
    assert completed["data"] == {"kind": "single", "volume_nl": 1_000}
    assert completed["t"] == T0 + 4  # 1_000 nl at 24 mL/day takes 3.6 s: whole seconds


def test_a_second_programmer_is_told_busy(emulator: EmulatorProcess, pump: PumpClient) -> None:
    other = emulator.client("second", connect=False)
    with pytest.raises(ProtocolError) as caught:
        other.hello()
    assert caught.value.code == "busy"
    other.close()
    assert pump.get_status()["model"] == "ITP-40"
