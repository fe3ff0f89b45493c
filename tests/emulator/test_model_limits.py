"""Every limit of sections 4 and 5: allowed AT the limit, refused one unit beyond it."""

from __future__ import annotations

from typing import Any

import pytest

from programmer.emulator.errors import PumpRefusal

from .helpers import apply, new_pump, ptm, therapy


def stage_error(changeset: Any, model: str = "ITP-40") -> PumpRefusal:
    pump = new_pump(model)
    with pytest.raises(PumpRefusal) as caught:
        pump.stage(changeset)
    assert pump.staged is None, "nothing is staged after a refusal"
    return caught.value


def assert_invalid(changeset: Any, field: str, model: str = "ITP-40") -> PumpRefusal:
    refusal = stage_error(changeset, model)
    assert refusal.code == "invalid", refusal
    assert field in [p.field for p in refusal.problems], refusal.problems
    return refusal


def assert_stages(changeset: Any, model: str = "ITP-40") -> None:
    new_pump(model).stage(changeset)


RATE_FIELD = "therapy.steps[0].rate_nl_day"


@pytest.mark.parametrize("rate", [0, 48_000, 24_000_000])
def test_basal_rate_allowed_at_limits(rate: int) -> None:
    assert_stages({"therapy": therapy(steps=[[0, rate]])})


@pytest.mark.parametrize("rate", [1, 47_999, 24_000_001])
def test_basal_rate_beyond_limits(rate: int) -> None:
    refusal = assert_invalid({"therapy": therapy(steps=[[0, rate]])}, RATE_FIELD)
    message = refusal.problems[0].message
    assert "nl/day" in message and "48000" in message and "24000000" in message


@pytest.mark.parametrize(
    ("low", "ok"), [(500_000, True), (499_999, False), (10_000_000, True), (10_000_001, False)]
)
def test_low_alarm_threshold(low: int, ok: bool) -> None:
    changeset = {"therapy": therapy(low_alarm_nl=low)}
    if ok:
        assert_stages(changeset)
    else:
        refusal = assert_invalid(changeset, "therapy.low_alarm_nl")
        assert " nl" in refusal.problems[0].message


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("volume_nl", 1_000, True),
        ("volume_nl", 999, False),
        ("volume_nl", 1_000_000, True),
        ("volume_nl", 1_000_001, False),
        ("duration_min", 1, True),
        ("duration_min", 0, False),
        ("duration_min", 60, True),
        ("duration_min", 61, False),
        ("max_per_day", 1, True),
        ("max_per_day", 0, False),
        ("max_per_day", 24, True),
        ("max_per_day", 25, False),
        ("lockout_min", 1_440, True),
        ("lockout_min", 1_441, False),
    ],
)
def test_ptm_limits(field: str, value: int, ok: bool) -> None:
    settings = ptm(duration_min=10, lockout_min=120)
    settings[field] = value
    if field == "duration_min":
        settings["lockout_min"] = max(value, 1)
    changeset = {"therapy": therapy(ptm=settings)}
    if ok:
        assert_stages(changeset)
    else:
        assert_invalid(changeset, f"therapy.ptm.{field}")


def test_ptm_lockout_not_shorter_than_duration() -> None:
    assert_stages({"therapy": therapy(ptm=ptm(duration_min=30, lockout_min=30))})
    refusal = assert_invalid(
        {"therapy": therapy(ptm=ptm(duration_min=30, lockout_min=29))}, "therapy.ptm.lockout_min"
    )
    assert "30 min" in refusal.problems[0].message


def test_disabled_ptm_settings_need_only_be_non_negative() -> None:
    zeros = {
        "enabled": False,
        "volume_nl": 0,
        "duration_min": 0,
        "lockout_min": 0,
        "max_per_day": 0,
    }
    assert_stages({"therapy": therapy(ptm=zeros)})
    assert_invalid({"therapy": therapy(ptm={**zeros, "volume_nl": -1})}, "therapy.ptm.volume_nl")


@pytest.mark.parametrize("count", [0, 4])
def test_up_to_four_drugs(count: int) -> None:
    drugs = [{"name": f"drug{i}", "conc_ng_ml": 1_000} for i in range(count)]
    assert_stages({"therapy": therapy(drugs=drugs)})


def test_five_drugs_refused() -> None:
    drugs = [{"name": f"drug{i}", "conc_ng_ml": 1_000} for i in range(5)]
    assert_invalid({"therapy": therapy(drugs=drugs)}, "therapy.drugs")


@pytest.mark.parametrize(
    ("name", "ok"), [("x", True), ("x" * 32, True), ("", False), ("x" * 33, False)]
)
def test_drug_name_length(name: str, ok: bool) -> None:
    changeset = {"therapy": therapy(drugs=[{"name": name, "conc_ng_ml": 10}])}
    if ok:
        assert_stages(changeset)
    else:
        assert_invalid(changeset, "therapy.drugs[0].name")


@pytest.mark.parametrize("cycle_days", [1, 7])
def test_flex_allows_13_steps_per_cycle_day(cycle_days: int) -> None:
    count = 13 * cycle_days
    span = cycle_days * 1440
    steps = [[index * (span // count), 48_000] for index in range(count)]
    assert_stages({"therapy": therapy("flex", steps, cycle_days)})
    too_many = [[index * (span // (count + 1)), 48_000] for index in range(count + 1)]
    assert_invalid({"therapy": therapy("flex", too_many, cycle_days)}, "therapy.steps")


@pytest.mark.parametrize("cycle_days", [0, 8])
def test_cycle_days_beyond_1_to_7(cycle_days: int) -> None:
    assert_invalid({"therapy": therapy("flex", [[0, 48_000]], cycle_days)}, "therapy.cycle_days")


def test_cycle_days_must_be_one_unless_flex() -> None:
    assert_invalid({"therapy": therapy("continuous", [[0, 48_000]], 2)}, "therapy.cycle_days")
    assert_invalid({"therapy": therapy("stopped", [], 3)}, "therapy.cycle_days")


def test_flex_step_rules() -> None:
    assert_invalid({"therapy": therapy("flex", [[10, 48_000]])}, "therapy.steps[0].start_min")
    assert_invalid(
        {"therapy": therapy("flex", [[0, 48_000], [60, 0], [60, 48_000]])},
        "therapy.steps[2].start_min",
    )
    assert_stages({"therapy": therapy("flex", [[0, 48_000], [1439, 0]])})
    assert_invalid(
        {"therapy": therapy("flex", [[0, 48_000], [1440, 0]])}, "therapy.steps[1].start_min"
    )
    assert_stages({"therapy": therapy("flex", [[0, 48_000], [2 * 1440 - 1, 0]], 2)})
    assert_invalid({"therapy": therapy("flex", [])}, "therapy.steps")


def test_continuous_takes_exactly_one_step_at_zero() -> None:
    assert_invalid({"therapy": therapy("continuous", [[0, 48_000], [60, 48_000]])}, "therapy.steps")
    assert_invalid({"therapy": therapy("continuous", [[5, 48_000]])}, "therapy.steps")
    assert_invalid({"therapy": therapy("continuous", [])}, "therapy.steps")


def test_stopped_takes_no_steps() -> None:
    assert_stages({"therapy": therapy("stopped", [])})
    assert_invalid({"therapy": therapy("stopped", [[0, 0]])}, "therapy.steps")


@pytest.mark.parametrize(("model", "capacity"), [("ITP-20", 20_000_000), ("ITP-40", 40_000_000)])
def test_refill_limits_follow_capacity(model: str, capacity: int) -> None:
    full = {"removed_nl": 0, "added_nl": capacity, "reservoir_nl": capacity}
    assert_stages({"refill": full}, model)
    assert_invalid({"refill": {**full, "reservoir_nl": capacity + 1}}, "refill.reservoir_nl", model)
    assert_invalid({"refill": {**full, "added_nl": capacity + 1}}, "refill.added_nl", model)
    assert_invalid({"refill": {**full, "removed_nl": -1}}, "refill.removed_nl", model)


@pytest.mark.parametrize(
    ("rate", "ok"),
    [(48_000, True), (47_999, False), (24_000_000, True), (24_000_001, False), (0, False)],
)
def test_bolus_rate(rate: int, ok: bool) -> None:
    changeset = {"bolus": {"kind": "single", "volume_nl": 1_000, "rate_nl_day": rate}}
    if ok:
        assert_stages(changeset)
    else:
        assert_invalid(changeset, "bolus.rate_nl_day")


def test_bolus_volume_from_1_nl_to_the_reservoir_contents() -> None:
    pump = new_pump("ITP-20")  # a new pump holds its capacity
    bolus = {"kind": "bridge", "volume_nl": 1, "rate_nl_day": 48_000}
    pump.stage({"bolus": bolus})
    pump.stage({"bolus": {**bolus, "volume_nl": 20_000_000}})
    for volume in (0, 20_000_001):
        with pytest.raises(PumpRefusal) as caught:
            pump.stage({"bolus": {**bolus, "volume_nl": volume}})
        assert caught.value.code == "invalid"
        assert caught.value.problems[0].field == "bolus.volume_nl"


def test_bolus_volume_counts_a_refill_in_the_same_changeset() -> None:
    pump = new_pump("ITP-20")
    apply(pump, {"refill": {"removed_nl": 20_000_000, "added_nl": 0, "reservoir_nl": 1_000}})
    bolus = {"kind": "priming", "volume_nl": 5_000, "rate_nl_day": 1_000_000}
    with pytest.raises(PumpRefusal):
        pump.stage({"bolus": bolus})
    refill = {"removed_nl": 1_000, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}
    pump.stage({"refill": refill, "bolus": bolus})


def test_unknown_bolus_kind_is_invalid() -> None:
    assert_invalid(
        {"bolus": {"kind": "mega", "volume_nl": 10, "rate_nl_day": 48_000}}, "bolus.kind"
    )


@pytest.mark.parametrize(
    "changeset",
    [
        {},
        {"therapy": {**therapy(), "cycle_anchor_t": 0}},
        {"therapy": {k: v for k, v in therapy().items() if k != "ptm"}},
        {"therapy": therapy(low_alarm_nl="2 mL")},
        {"therapy": therapy(low_alarm_nl=True)},
        {"therapy": therapy(steps=[[0, 1.5]])},
        {"therapy": therapy(steps=[[0]])},
        {"refill": {"removed_nl": 0, "added_nl": 0}},
        {"cancel_bolus": False},
        {"surprise": 1},
        "not a map",
    ],
)
def test_wrong_shapes_are_bad_requests(changeset: Any) -> None:
    refusal = stage_error(changeset)
    assert refusal.code == "bad_request"
    assert refusal.problems


def test_problems_name_every_bad_field() -> None:
    bad = therapy(low_alarm_nl=1, catheter_volume_nl=-5, steps=[[0, 30]])
    refusal = assert_invalid({"therapy": bad}, "therapy.low_alarm_nl")
    fields = {p.field for p in refusal.problems}
    assert fields == {"therapy.low_alarm_nl", "therapy.catheter_volume_nl", RATE_FIELD}
    assert all(p.code and p.message for p in refusal.problems)
