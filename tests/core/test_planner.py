from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from programmer.planner import PumpContext
from programmer.pump_limits import PUMP_TUBING_NL
from programmer.therapy import DrugFill, Step, Therapy

from .rxfactory import NOW, baclofen_flex, codes, morphine_continuous, run, with_

REFILL = {"removed": "4.6 mL", "added": "18 mL", "at": "2025-03-01T09:00:00-06:00"}


def test_doses_are_computed_back_from_the_stored_rate():
    # 0.05 mg/h at 7 mg/mL needs 171428.57 nl/day: the pump stores 171429
    rx = with_(
        morphine_continuous("0.05 mg/h"), drugs=[{"name": "morphine", "concentration": "7 mg/mL"}]
    )
    p = run(rx)
    assert p.therapy is not None and p.therapy.steps[0].rate_nl_day == 171_429
    assert p.daily_doses[0].amount_ng == 1_200_003
    assert p.to_json()["daily_doses"][0]["text"] == "1.200003 mg/day"
    assert "dose_rounded" in codes(p)


def test_half_even_rounding_happens_once_at_the_end():
    # 0.0000005 mL/day more than a whole nl: x.5 nl/day rounds to even
    assert (
        run(with_(morphine_continuous(), dose=None, rate="100000.5 nL/day"))
        .therapy.steps[0]
        .rate_nl_day
        == 100_000
    )
    assert (
        run(with_(morphine_continuous(), dose=None, rate="100001.5 nL/day"))
        .therapy.steps[0]
        .rate_nl_day
        == 100_002
    )


def test_admixture_doses_per_drug_from_the_same_volume():
    rx = with_(morphine_continuous("1 mg/day"), drugs=[
        {"name": "morphine", "concentration": "10 mg/mL"},
        {"name": "clonidine", "concentration": "100 mcg/mL"},
    ])  # fmt: skip
    p = run(rx)
    assert [d.to_json()["text"] for d in p.daily_doses] == ["1 mg/day", "10 mcg/day"]
    assert "admixture" in codes(p) and "off_label" in codes(p)


def test_bridge_bolus_runs_the_fluid_path_at_the_old_rate():
    rx = with_(morphine_continuous("1 mg/day"), refill=REFILL,
               catheter={"length": "60 cm", "volume_per_cm": "0.0026 mL"},
               previous={"drugs": [{"name": "morphine", "concentration": "5 mg/mL"}], "rate": "0.2 mL/day"},
               bolus={"kind": "bridge"})  # fmt: skip
    p = run(rx)
    assert p.bolus is not None
    assert p.bolus.volume_nl == PUMP_TUBING_NL + 156_000 == 296_000
    assert p.bolus.rate_nl_day == 200_000
    assert p.bolus.inputs["pump_tubing_nl"] == 140_000
    assert "bridge_bolus_needed" not in codes(p)


def test_a_concentration_change_without_a_bridge_is_flagged():
    rx = with_(morphine_continuous("1 mg/day"), refill=REFILL,
               previous={"drugs": [{"name": "morphine", "concentration": "5 mg/mL"}], "rate": "0.2 mL/day"})  # fmt: skip
    p = run(rx)
    assert "bridge_bolus_needed" in codes(p) and not p.ok


def test_drugs_cannot_change_without_a_refill():
    rx = with_(morphine_continuous("1 mg/day"),
               previous={"drugs": [{"name": "morphine", "concentration": "5 mg/mL"}], "rate": "0.2 mL/day"})  # fmt: skip
    p = run(rx)
    assert any(f.code == "invalid_prescription" and f.field == "drugs" for f in p.findings)


def test_priming_bolus_fills_tubing_and_catheter():
    rx = with_(
        morphine_continuous(),
        refill=REFILL,
        catheter={"volume": "0.286 mL"},
        bolus={"kind": "priming", "fluid_path": "new-pump"},
    )
    p = run(rx)
    assert (
        p.bolus is not None and p.bolus.volume_nl == 426_000 and p.bolus.rate_nl_day == 24_000_000
    )
    rx["bolus"]["rate"] = "1 mL/h"
    assert run(rx).bolus.rate_nl_day == 24_000_000
    rx["bolus"]["rate"] = "0.5 mL/h"
    assert run(rx).bolus.rate_nl_day == 12_000_000


def test_a_bolus_needs_the_catheter_volume():
    rx = with_(
        morphine_continuous(), refill=REFILL, bolus={"kind": "priming", "fluid_path": "new-pump"}
    )
    assert "invalid_bolus" in codes(run(rx))


def test_single_bolus_dose_over_duration_and_counts_in_the_day():
    rx = with_(
        morphine_continuous("14 mg/day"),
        bolus={"kind": "single", "dose": "1 mg", "duration": "30 min"},
    )
    p = run(rx)
    assert p.bolus is not None and p.bolus.volume_nl == 100_000
    assert p.bolus.rate_nl_day == 4_800_000  # 0.1 mL in 30 min
    assert "over_max_daily_dose" not in codes(p)  # 14 + 1 = 15: at the limit
    rx["bolus"]["dose"] = "1.1 mg"
    assert "over_max_daily_dose" in codes(run(rx))


def _minute_sim(
    therapy: Therapy, start: int, anchor: int, reservoir: int, bolus: tuple[int, int] | None
) -> int:
    """Reference: minute by minute, written independently of programmer.reservoir."""
    left = Fraction(reservoir)
    t = start
    if bolus:
        vol, rate = bolus
        left -= vol
        t += int(Fraction(vol * 86400, rate))
    ptm_starts: list[int] = []
    while True:
        minute = ((t - anchor) // 60) % therapy.cycle_min
        rate = therapy.rate_at(minute)
        per_min = Fraction(rate, 1440)
        ptm = therapy.ptm
        if ptm.enabled:
            window = [s for s in ptm_starts if s > t - 86400]
            can = (not ptm_starts or t - ptm_starts[-1] >= ptm.lockout_min * 60) and len(
                window
            ) < ptm.max_per_day
            if can:
                ptm_starts.append(t)
            if ptm_starts and t < ptm_starts[-1] + ptm.duration_min * 60:
                per_min += Fraction(ptm.volume_nl, ptm.duration_min)
        if left - per_min <= therapy.low_alarm_nl:
            return t
        left -= per_min
        t += 60


@pytest.mark.parametrize("with_ptm", [False, True])
def test_alarm_instant_follows_the_steps_not_an_average(with_ptm):
    rx = with_(
        baclofen_flex(),
        refill={"removed": "2 mL", "added": "6 mL", "at": "2025-03-01T09:00:00+00:00"},
    )
    rx["steps"] = [
        {"start": "00:00", "rate": "0.1 mL/day"},
        {"start": "06:00", "rate": "2 mL/day"},
        {"start": "07:30", "rate": "0.2 mL/day"},
    ]
    if with_ptm:
        rx["drugs"] = [{"name": "morphine", "concentration": "1 mg/mL"}]
        rx["patient_bolus"] = {
            "volume": "20 uL",
            "duration": "15 min",
            "lockout": "3 h",
            "max_per_day": 5,
        }
    p = run(rx)
    assert p.low_alarm_at is not None and p.therapy is not None
    start = int(datetime(2025, 3, 1, 9, tzinfo=UTC).timestamp())
    anchor = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp())
    ref = _minute_sim(p.therapy, start, anchor, 6_000_000, None)
    assert ref <= p.low_alarm_at <= ref + 60  # the exact instant lies in the reference's minute
    assert p.refill_due_reason == "low_reservoir_alarm"


def test_refill_due_is_the_earliest_reason():
    big = with_(
        morphine_continuous("0.5 mg/day"),
        refill={"removed": "1 mL", "added": "40 mL", "at": "2025-03-01T09:00:00+00:00"},
    )
    p = run(big)
    assert p.refill_due_reason == "drug_stability"
    assert p.refill_due_at == int(datetime(2025, 3, 1, 9, tzinfo=UTC).timestamp()) + 90 * 86400
    pump = PumpContext(
        "ITP-40", "S1", None, 0, 0, eri_t=int(datetime(2025, 4, 1, tzinfo=UTC).timestamp())
    )
    p = run(big, pump=pump)
    assert p.refill_due_reason == "elective_replacement"


def test_ziconotide_stability_depends_on_the_fill():
    base = {"drugs": [{"name": "ziconotide", "concentration": "25 mcg/mL"}], "mode": "continuous", "dose": "2.4 mcg/day",
            "refill": {"removed": "1 mL", "added": "20 mL", "at": "2025-03-01T09:00:00+00:00"}}  # fmt: skip
    start = int(datetime(2025, 3, 1, 9, tzinfo=UTC).timestamp())
    p = run(base)
    assert p.stability_until == start + 14 * 86400 and "stability_assumed" in codes(p)
    base["refill"]["first_fill"] = False
    assert run(base).stability_until == start + 84 * 86400
    base["drugs"][0]["concentration"] = "10 mcg/mL"
    assert run(base).stability_until == start + 40 * 86400


def test_no_dates_are_invented_without_a_reservoir():
    p = run(morphine_continuous())
    assert p.low_alarm_at is None and p.refill_due_at is None
    j = p.to_json()
    assert j["low_reservoir_alarm_at"] is None and j["refill_due_reason"] is None


def test_daylight_saving_changeover_is_explained():
    paris = ZoneInfo("Europe/Paris")

    def offset_at(t: int) -> int:
        return int(datetime.fromtimestamp(t, paris).utcoffset().total_seconds()) // 60

    rx = with_(baclofen_flex(), refill={"removed": "1 mL", "added": "18 mL", "at": "2025-03-10T09:00:00+01:00"},
               drugs=[{"name": "baclofen", "concentration": "2000 mcg/mL"}])  # fmt: skip
    p = run(rx, local_offset_at=offset_at)
    assert (
        p.refill_due_at is not None
        and p.refill_due_at > datetime(2025, 3, 30, tzinfo=UTC).timestamp()
    )
    dst = [f for f in p.findings if f.code == "dst_changeover"]
    assert len(dst) == 1
    assert "2025-03-30" in dst[0].message and "60 min later" in dst[0].message


def test_pump_context_mismatches_are_hard():
    pump = PumpContext("ITP-20", "ITP20-9", None, 10_000_000, -360)
    rx = with_(morphine_continuous(), pump_serial="ITP40-1", pump_model="ITP-40")
    found = codes(run(rx, pump=pump))
    assert {"pump_serial_mismatch", "pump_model_mismatch"} <= found


def test_pump_therapy_is_the_current_dose_for_titration():
    old = Therapy(
        (DrugFill("morphine", 10_000_000),), "continuous", 1, (Step(0, 100_000),)
    )  # 1 mg/day
    pump = PumpContext("ITP-40", "S", old, 10_000_000, 0)
    assert "dose_change_too_large" in codes(run(morphine_continuous("1.31 mg/day"), pump=pump))
    assert "dose_change_too_large" not in codes(run(morphine_continuous("1.3 mg/day"), pump=pump))


def test_overrides_make_soft_findings_acceptable_but_never_hard_ones():
    rx = morphine_continuous("16 mg/day")
    assert not run(rx).ok
    assert run(rx, overrides={"over_max_daily_dose": "palliative, agreed with team"}).ok
    hard = with_(rx, pump_model="ITP-99")
    assert not run(hard, overrides={"invalid_prescription": "x"}).ok


def test_plan_json_has_the_contract_fields():
    p = run(with_(morphine_continuous(), refill=REFILL)).to_json()
    for key in ("ok", "program", "daily_volume_nl", "daily_doses", "max_daily_doses", "bolus",
                "low_reservoir_alarm_at", "refill_due_at", "refill_due_reason", "findings"):  # fmt: skip
        assert key in p
    assert set(p["program"]) >= {"mode", "cycle_days", "steps"}
    assert set(p["program"]["steps"][0]) >= {"start_min", "rate_nl_day"}
    assert p["refill_due_at"].endswith("Z")
    assert all(set(f) >= {"code", "severity", "field", "message"} for f in p["findings"])


def test_now_is_used_when_the_refill_has_no_time():
    rx = with_(morphine_continuous(), refill={"removed": "1 mL", "added": "10 mL"})
    p = run(rx, now=NOW + timedelta(days=1))
    assert p.at_t == int((NOW + timedelta(days=1)).timestamp())


def test_schedule_offset_is_the_refill_time_or_this_computer():
    rx = with_(
        morphine_continuous(),
        refill={"removed": "1 mL", "added": "10 mL", "at": "2025-03-01T09:00:00-06:00"},
    )
    assert run(rx, local_offset_at=lambda t: 120).schedule_offset_min == -360
    assert run(morphine_continuous(), local_offset_at=lambda t: 120).schedule_offset_min == 120
    pump = PumpContext("ITP-40", "S", None, 10_000_000, 330)
    assert run(rx, pump=pump, local_offset_at=lambda t: 120).schedule_offset_min == 330


def test_from_saline_prime_do_not_bridge():
    saline = {"drugs": [], "rate": "0.048 mL/day"}
    first_fill = with_(
        morphine_continuous("0.5 mg/day"),  # a first fill: inside the opioid-naive starting range
        refill=REFILL,
        catheter={"volume": "0.15 mL"},
        previous=saline,
    )
    assert "bridge_bolus_needed" not in codes(run(first_fill))
    bridged = run(with_(first_fill, bolus={"kind": "bridge"}))
    found = [f for f in bridged.findings if f.code == "bridge_from_saline"]
    assert len(found) == 1 and "for ≈6.04 days" in found[0].message  # 0.29 mL at 0.048 mL/day
    assert run(with_(first_fill, bolus={"kind": "priming", "fluid_path": "new-pump"})).ok
