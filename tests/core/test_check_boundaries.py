"""Each rule at its limit: allowed AT the limit, refused one unit beyond."""

from datetime import timedelta

import pytest

from programmer.findings import Severity
from programmer.pump_clock import check_pump_clock

from .rxfactory import NOW, baclofen_flex, codes, morphine_continuous, run, with_, ziconotide


def rate_rx(rate: str) -> dict:
    return with_(morphine_continuous(), dose=None, rate=rate)


@pytest.mark.parametrize(
    ("rate", "code"),
    [
        ("48000 nL/day", None),
        ("47999 nL/day", "below_min_rate"),
        ("0.047 mL/day", "below_min_rate"),
        ("24000000 nL/day", None),
        ("24000001 nL/day", "above_max_rate"),
        ("1.001 mL/h", "above_max_rate"),
    ],
)
def test_pump_rate_limits(rate, code):
    p = run(rate_rx(rate))
    found = codes(p) & {"below_min_rate", "above_max_rate"}
    assert found == ({code} if code else set())
    if code:
        assert not p.ok and p.therapy is None


def test_a_dose_that_rounds_to_zero_is_below_the_minimum_not_silently_zero():
    p = run(with_(morphine_continuous(), dose="0.000001 mg/day"))
    assert "below_min_rate" in codes(p)


def test_zero_rate_step_is_allowed_in_flex():
    rx = baclofen_flex()
    rx["steps"][2]["dose"] = "0 mcg/day"
    p = run(rx)
    assert "below_min_rate" not in codes(p)
    assert p.therapy is not None and p.therapy.steps[2].rate_nl_day == 0


def _flex(n_per_day: int, days: int = 1) -> dict:
    steps = []
    for day in range(1, days + 1):
        for i in range(n_per_day):
            steps.append({"day": day, "start": f"{i:02d}:00", "rate": "0.1 mL/day"})
    return with_(baclofen_flex(), cycle_days=days, steps=steps)


@pytest.mark.parametrize(
    ("n", "days", "ok"), [(13, 1, True), (14, 1, False), (13, 7, True), (14, 2, False)]
)
def test_at_most_13_steps_a_day(n, days, ok):
    p = run(_flex(n, days))
    assert ("invalid_profile" in codes(p)) is (not ok)


@pytest.mark.parametrize(
    "steps",
    [
        [{"start": "01:00", "rate": "0.1 mL/day"}],  # not starting at 0
        [{"start": "00:00", "rate": "0.1 mL/day"}, {"start": "00:00", "rate": "0.2 mL/day"}],
        [
            {"start": "00:00", "rate": "0.1 mL/day"},
            {"start": "08:00", "rate": "0.2 mL/day"},
            {"start": "07:00", "rate": "0.2 mL/day"},
        ],
        [
            {"start": "00:00", "rate": "0.1 mL/day"},
            {"day": 2, "start": "00:00", "rate": "0.2 mL/day"},
        ],  # day outside a 1-day cycle
        [{"start": "24:00", "rate": "0.1 mL/day"}],
        [{"start": "7:00", "rate": "0.1 mL/day"}],
        [{"start": "00:00"}],
        [{"start": "00:00", "rate": "0.1 mL/day", "dose": "1 mcg/day"}],
    ],
)
def test_invalid_profiles(steps):
    p = run(with_(baclofen_flex(), steps=steps))
    assert "invalid_profile" in codes(p)
    assert p.therapy is None and not p.ok


def test_multi_day_cycle_steps_are_placed_in_their_day():
    rx = with_(baclofen_flex(), cycle_days=2, steps=[
        {"start": "00:00", "dose": "400 mcg/day"},
        {"day": 2, "start": "06:00", "dose": "600 mcg/day"},
    ])  # fmt: skip
    p = run(rx)
    assert p.therapy is not None
    assert [s.start_min for s in p.therapy.steps] == [0, 1440 + 360]
    assert p.day_volumes_nl == [800_000, 800_000 * 6 // 24 + 1_200_000 * 18 // 24]
    assert p.daily_volume_nl == 1_100_000  # the heaviest day


@pytest.mark.parametrize(
    ("conc", "flag"), [("20 mg/mL", False), ("25 mg/mL", False), ("25.001 mg/mL", True)]
)
def test_max_concentration(conc, flag):
    # 25 mg/mL is Infumorph's labelled strength: it must never be flagged (issue 12)
    rx = with_(morphine_continuous(), drugs=[{"name": "morphine", "concentration": conc}])
    assert ("over_max_concentration" in codes(run(rx))) is flag


# the last rounds to the same stored rate as 15 mg/day, so the pump delivers exactly 15 mg
@pytest.mark.parametrize(
    ("dose", "flag"), [("15 mg/day", False), ("15.00001 mg/day", True), ("15.000001 mg/day", False)]
)
def test_morphine_soft_daily_maximum_at_the_limit(dose, flag):
    p = run(morphine_continuous(dose))
    assert ("over_max_daily_dose" in codes(p)) is flag
    if flag:
        assert [f.severity for f in p.findings if f.code == "over_max_daily_dose"] == [
            Severity.SOFT
        ]
        assert "15 mg/day" in next(f.message for f in p.findings if f.code == "over_max_daily_dose")


def test_patient_boluses_count_toward_the_daily_maximum():
    rx = with_(morphine_continuous("14 mg/day"), patient_bolus={
        "dose": "0.25 mg", "duration": "10 min", "lockout": "1 h", "max_per_day": 5})  # fmt: skip
    p = run(rx)  # 14 + 5 × 0.25 = 15.25 mg/day
    assert "over_max_daily_dose" in codes(p)
    assert p.max_daily_doses[0].amount_ng == 15_250_000
    rx["patient_bolus"]["max_per_day"] = 4  # 14 + 4 × 0.25 = 15: at the limit
    assert "over_max_daily_dose" not in codes(run(rx))
    rx["patient_bolus"].update(max_per_day=24, lockout="6 h")  # the lockout allows only 4 a day
    p = run(rx)
    assert "over_max_daily_dose" not in codes(p)
    assert p.max_daily_doses[0].amount_ng == 15_000_000


@pytest.mark.parametrize(
    ("dose", "jur", "code"),
    [
        ("19.2 mcg/day", "US", None),
        ("19.201 mcg/day", "US", "over_hard_max_daily_dose"),
        ("21.6 mcg/day", "EU", None),
        ("21.601 mcg/day", "EU", "over_hard_max_daily_dose"),
    ],
)
def test_ziconotide_hard_maximum(dose, jur, code):
    p = run(ziconotide(dose, jur))
    assert (codes(p) & {"over_hard_max_daily_dose", "over_max_daily_dose"}) == (
        {code} if code else set()
    )
    if code:
        assert not p.ok and p.hard


@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        ({"dose": "1 uL", "duration": "1 min", "lockout": "1 min", "max_per_day": 1}, True),
        ({"dose": "0.999 uL", "duration": "1 min", "lockout": "1 min", "max_per_day": 1}, False),
        ({"dose": "1 mL", "duration": "60 min", "lockout": "24 h", "max_per_day": 24}, True),
        (
            {"dose": "1.000001 mL", "duration": "60 min", "lockout": "24 h", "max_per_day": 24},
            False,
        ),
        ({"dose": "10 uL", "duration": "61 min", "lockout": "24 h", "max_per_day": 1}, False),
        ({"dose": "10 uL", "duration": "0 min", "lockout": "24 h", "max_per_day": 1}, False),
        ({"dose": "10 uL", "duration": "10 min", "lockout": "9 min", "max_per_day": 1}, False),
        ({"dose": "10 uL", "duration": "10 min", "lockout": "1441 min", "max_per_day": 1}, False),
        ({"dose": "10 uL", "duration": "10 min", "lockout": "1 h", "max_per_day": 25}, False),
        ({"dose": "10 uL", "duration": "10 min", "lockout": "1 h", "max_per_day": 0}, False),
    ],
)
def test_patient_bolus_limits(changes, ok):
    pb = dict(changes)
    pb["volume"] = pb.pop("dose")
    p = run(with_(morphine_continuous(), patient_bolus=pb))
    bad = codes(p) & {"invalid_patient_bolus", "invalid_prescription"}
    assert (not bad) is ok


def test_baclofen_never_takes_patient_boluses():
    rx = with_(
        baclofen_flex(),
        patient_bolus={"dose": "50 mcg", "duration": "10 min", "lockout": "4 h", "max_per_day": 2},
    )
    p = run(rx)
    assert "patient_bolus_not_allowed" in codes(p)
    assert p.hard


def test_baclofen_is_never_mixed():
    rx = with_(baclofen_flex(), drugs=[
        {"name": "baclofen", "concentration": "500 mcg/mL"},
        {"name": "clonidine", "concentration": "100 mcg/mL"},
    ])  # fmt: skip
    p = run(rx)
    assert {"mixing_not_allowed", "admixture"} <= codes(p)
    assert p.hard


@pytest.mark.parametrize(
    ("alarm", "ok"),
    [("0.5 mL", True), ("0.499999 mL", False), ("10 mL", True), ("10.000001 mL", False)],
)
def test_low_reservoir_alarm_limits(alarm, ok):
    p = run(with_(morphine_continuous(), low_reservoir_alarm=alarm))
    assert ("invalid_low_reservoir_alarm" not in codes(p)) is ok


def _titrate(rx, old: str, at_delta: timedelta, **kw):
    drug = rx["drugs"][0]["name"]
    rx = with_(
        rx, dose_history=[{"at": (NOW - at_delta).isoformat(), "drug": drug, "daily_dose": old}]
    )
    return run(rx, **kw)


@pytest.mark.parametrize(
    ("indication", "new", "flag"),
    [
        ("pain-noncancer", "1.3 mg/day", False),
        ("pain-noncancer", "1.30001 mg/day", True),
        ("pain-cancer", "1.5 mg/day", False),
        ("pain-cancer", "1.50001 mg/day", True),
        (None, "1.30001 mg/day", True),  # unknown indication: the stricter rule
    ],
)
def test_morphine_titration_percent(indication, new, flag):
    rx = with_(morphine_continuous(new), indication=indication)
    p = _titrate(rx, "1 mg/day", timedelta(days=30))
    assert ("dose_change_too_large" in codes(p)) is flag


@pytest.mark.parametrize(
    ("indication", "new", "flag"),
    [
        ("spasticity-spinal", "520 mcg/day", False),
        ("spasticity-spinal", "520.001 mcg/day", True),
        ("spasticity-cerebral", "460 mcg/day", False),
        ("spasticity-cerebral", "460.001 mcg/day", True),
        (None, "460.001 mcg/day", True),
    ],
)
def test_baclofen_titration_by_origin(indication, new, flag):
    rx = with_(
        baclofen_flex(),
        indication=indication,
        mode="continuous",
        dose=new,
        steps=None,
        cycle_days=None,
    )
    p = _titrate(rx, "400 mcg/day", timedelta(days=3))
    assert ("dose_change_too_large" in codes(p)) is flag


@pytest.mark.parametrize(("hours", "flag"), [(24, False), (23.99, True)])
def test_baclofen_once_per_24_hours(hours, flag):
    rx = with_(baclofen_flex(), mode="continuous", dose="420 mcg/day", steps=None, cycle_days=None)
    history = [
        {
            "at": (NOW - timedelta(days=10)).isoformat(),
            "drug": "baclofen",
            "daily_dose": "380 mcg/day",
        },
        {
            "at": (NOW - timedelta(hours=hours)).isoformat(),
            "drug": "baclofen",
            "daily_dose": "400 mcg/day",
        },
    ]
    p = run(with_(rx, dose_history=history))
    assert ("titration_too_frequent" in codes(p)) is flag


@pytest.mark.parametrize(("new", "flag"), [("4.8 mcg/day", False), ("4.801 mcg/day", True)])
def test_ziconotide_increase_at_most_2_4_mcg(new, flag):
    p = _titrate(ziconotide(new), "2.4 mcg/day", timedelta(days=5))
    assert ("dose_change_too_large" in codes(p)) is flag


def test_ziconotide_start_is_limited_to_2_4_mcg_from_zero():
    p = _titrate(ziconotide("3 mcg/day"), "0 mcg/day", timedelta(days=5))
    assert "dose_change_too_large" in codes(p)


def _zic_history(days_ago: list[float]) -> list[dict]:
    out = [
        {
            "at": (NOW - timedelta(days=30)).isoformat(),
            "drug": "ziconotide",
            "daily_dose": "1 mcg/day",
        }
    ]
    dose = 1.0
    for d in days_ago:
        dose += 0.5
        out.append(
            {
                "at": (NOW - timedelta(days=d)).isoformat(),
                "drug": "ziconotide",
                "daily_dose": f"{dose} mcg/day",
            }
        )
    return out


@pytest.mark.parametrize(
    ("days_ago", "flag"),
    [
        ([6, 4], False),  # this is the 3rd increase in 7 days
        ([6, 4, 2], True),  # this would be the 4th
        ([8, 6, 4, 2][1:], True),
        ([7, 4, 2], False),  # the one 7 days ago has left the window
    ],
)
def test_ziconotide_us_at_most_three_increases_in_seven_days(days_ago, flag):
    current = 1.0 + 0.5 * len(days_ago)
    rx = with_(ziconotide(f"{current + 0.5} mcg/day"), dose_history=_zic_history(days_ago))
    assert ("titration_too_frequent" in codes(run(rx))) is flag


@pytest.mark.parametrize(("hours", "flag"), [(48, False), (47, True), (24, True)])
def test_ziconotide_eu_at_least_48_hours_apart(hours, flag):
    # PRIALT_EU 4.2: the minimal interval is 24 h, the one recommended for safety 48 h (issue 12)
    history = [
        {
            "at": (NOW - timedelta(days=9)).isoformat(),
            "drug": "ziconotide",
            "daily_dose": "2 mcg/day",
        },
        {
            "at": (NOW - timedelta(hours=hours)).isoformat(),
            "drug": "ziconotide",
            "daily_dose": "3 mcg/day",
        },
    ]
    rx = with_(ziconotide("4 mcg/day", "EU"), dose_history=history)
    assert ("titration_too_frequent" in codes(run(rx))) is flag


@pytest.mark.parametrize(("new", "flag"), [("0.5 mg/day", False), ("0.49999 mg/day", True)])
def test_large_decreases_are_flagged_for_withdrawal_risk(new, flag):
    p = _titrate(morphine_continuous(new), "1 mg/day", timedelta(days=30))
    assert ("dose_decrease_large" in codes(p)) is flag


@pytest.mark.parametrize(("new", "flag"), [("1.3 mcg/day", False), ("1.301 mcg/day", True)])
def test_opioids_without_a_label_rule_get_the_opioid_step(new, flag):
    # issue 12 class 9: no more fall-back to +100 %; the (unconfirmed) opioid rule, +30 %
    rx = {
        "drugs": [{"name": "sufentanil", "concentration": "5 mcg/mL"}],
        "mode": "continuous",
        "dose": new,
    }
    p = _titrate(rx, "1 mcg/day", timedelta(days=30))
    assert ("dose_change_too_large" in codes(p)) is flag


def _refill(removed: str, expected: str = "4 mL", last_fill: str = "20 mL", added: str = "20 mL"):
    return with_(morphine_continuous(), refill={
        "removed": removed, "added": added, "expected": expected, "last_fill": last_fill,
        "at": "2025-03-01T09:00:00-06:00"})  # fmt: skip


@pytest.mark.parametrize(
    ("removed", "code"),
    [
        ("4 mL", None),  # exactly as programmed
        ("1.68 mL", None),  # actual 18.32 = programmed 16 × 1.145: at the limit
        ("1.679999 mL", "refill_over_infusion"),
        ("6.32 mL", None),  # actual 13.68 = 16 × 0.855
        ("6.320001 mL", "refill_under_infusion"),
    ],
)
def test_refill_discrepancy_at_14_5_percent(removed, code):
    p = run(_refill(removed))
    found = codes(p) & {"refill_over_infusion", "refill_under_infusion"}
    assert found == ({code} if code else set())
    assert p.refill_check is not None and p.refill_check.programmed_nl == 16_000_000


@pytest.mark.parametrize(
    ("added", "model", "flag"),
    [
        ("40 mL", "ITP-40", False),
        ("40.000001 mL", "ITP-40", True),
        ("20 mL", "ITP-20", False),
        ("20.000001 mL", "ITP-20", True),
    ],
)
def test_fill_over_capacity(added, model, flag):
    rx = with_(_refill("4 mL", added=added), pump_model=model)
    p = run(rx)
    assert ("over_capacity" in codes(p)) is flag


def test_more_drawn_out_than_was_filled_suggests_the_pocket():
    p = run(_refill("20.1 mL"))
    assert "refill_removed_over_fill" in codes(p)


@pytest.mark.parametrize(
    ("pump", "local", "flag"), [(-360, -360, False), (-360, -300, True), (60, 120, True)]
)
def test_pump_clock_offset(pump, local, flag):
    found = check_pump_clock(pump, local)
    assert bool(found) is flag
    if flag:
        assert found[0].code == "pump_clock_offset" and found[0].severity is Severity.SOFT
        assert "60 min" in found[0].message


def test_stopped_mode_needs_an_override():
    p = run({"drugs": [], "mode": "stopped"})
    assert "therapy_stopped" in codes(p)
    assert not p.ok
    p2 = run(
        {"drugs": [], "mode": "stopped"}, overrides={"therapy_stopped": "explant planned tomorrow"}
    )
    assert p2.ok


def test_unit_suspect_catches_mcg_typed_as_mg():
    # baclofen 500 mg/mL: 1000x the usual strength
    rx = with_(baclofen_flex(), drugs=[{"name": "baclofen", "concentration": "500 mg/mL"}])
    assert {"unit_suspect", "over_max_concentration"} <= codes(run(rx))
    # fentanyl has no known maximum: only the usual range catches 100 mg typed for 100 mcg
    rx = {"drugs": [{"name": "fentanyl", "concentration": "10 mg/mL"}], "mode": "continuous"}
    assert "unit_suspect" not in codes(run(with_(rx, dose="100 mg/day")))
    assert "unit_suspect" in codes(run(with_(rx, dose="100.01 mg/day")))
    # a dose 1000x too low is below the pump's minimum rate, which is hard
    assert "below_min_rate" in codes(run(morphine_continuous("0.0005 mg/day")))
