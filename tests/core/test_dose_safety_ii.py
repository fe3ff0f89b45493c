"""Issue 12 (dose safety II), the classes dose-a owns: each test failed on the code before it."""

from __future__ import annotations

from typing import Any

import pytest

from programmer.findings import Severity
from programmer.planner import Plan, PumpContext
from programmer.therapy import DrugFill, PatientBolus, Step, Therapy

from .rxfactory import codes, run, with_


def _rx(drug: str, conc: str, dose: str | None = None, rate: str | None = None) -> dict[str, Any]:
    rx: dict[str, Any] = {
        "pump_model": "ITP-40",
        "drugs": [{"name": drug, "concentration": conc}],
        "mode": "continuous",
    }
    if dose is not None:
        rx["dose"] = dose
    else:
        rx["rate"] = rate or "0.5 mL/day"
    return rx


def _found(p: Plan, code: str) -> list[Any]:
    return [f for f in p.findings if f.code == code]


# --- class 1: concentration slips inside the old "usual" range ---


@pytest.mark.parametrize(
    ("drug", "conc"),
    [
        ("morphine", "10 mcg/mL"),
        ("morphine", "25 mcg/mL"),
        ("hydromorphone", "5 mcg/mL"),
        ("hydromorphone", "10 mcg/mL"),
        ("sufentanil", "500 ng/mL"),
        ("ziconotide", "100 ng/mL"),
        ("baclofen", "2000 ng/mL"),
        ("clonidine", "1000 ng/mL"),
    ],
)
def test_concentration_slips_of_the_issue_must_be_retyped(drug: str, conc: str) -> None:
    p = run(_rx(drug, conc))
    found = _found(p, "unit_suspect")
    assert found, p.findings
    f = found[0]
    assert f.field == "drugs[0].concentration" and f.severity is Severity.HARD
    assert f.retype and f.value == conc
    assert not p.ok


@pytest.mark.parametrize(
    ("drug", "conc"),
    [("morphine", "100 mg/mL"), ("baclofen", "5 mg/mL"), ("clonidine", "5000 mcg/mL")],
)
def test_ten_or_a_thousand_times_a_standard_strength_is_a_slip(drug: str, conc: str) -> None:
    found = _found(run(_rx(drug, conc)), "unit_suspect")
    assert found and "exactly" in found[0].message


def test_a_non_standard_strength_is_a_soft_finding() -> None:
    p = run(_rx("morphine", "7 mg/mL"))
    assert "non_standard_concentration" in codes(p)
    assert "unit_suspect" not in codes(p)
    f = _found(p, "non_standard_concentration")[0]
    assert f.severity is Severity.SOFT and "10 mg/mL" in f.message


@pytest.mark.parametrize(
    ("drug", "conc"),
    [
        ("morphine", "25 mg/mL"),  # Infumorph's labelled strength: flagged always, before
        ("morphine", "10 mg/mL"),
        ("bupivacaine", "7.5 mg/mL"),
        ("baclofen", "2000 mcg/mL"),
        ("ziconotide", "25 mcg/mL"),
        ("clonidine", "500 mcg/mL"),
    ],
)
def test_standard_strengths_pass_without_a_concentration_finding(drug: str, conc: str) -> None:
    p = run(_rx(drug, conc, rate="0.1 mL/day"))
    conc_codes = {f.code for f in p.findings if f.field == "drugs[0].concentration"}
    assert conc_codes == set(), p.findings


def test_bupivacaine_below_its_weakest_pump_strength_is_suspect() -> None:
    assert "unit_suspect" in codes(run(_rx("bupivacaine", "0.5 mg/mL")))


# --- class 2: the daily volume window ---


@pytest.mark.parametrize("rate", ["9 mL/day", "15 mL/day", "20 mL/day"])
def test_a_program_that_empties_the_pump_in_days_is_flagged(rate: str) -> None:
    p = run(_rx("morphine", "1 mg/mL", rate=rate))
    f = _found(p, "daily_volume_high")
    assert f and f[0].severity is Severity.SOFT and "days" in f[0].message


def test_the_window_depends_on_the_pump_model() -> None:
    rx = _rx("morphine", "1 mg/mL", rate="2 mL/day")
    assert "daily_volume_high" not in codes(run(rx))  # 40 mL / 14 days = 2.857 mL/day
    assert "daily_volume_high" in codes(run(with_(rx, pump_model="ITP-20")))


def test_a_fill_that_lasts_under_two_weeks_is_flagged() -> None:
    rx = with_(
        _rx("morphine", "10 mg/mL", rate="0.6 mL/day"), refill={"removed": "1 mL", "added": "10 mL"}
    )
    f = _found(run(rx), "refill_interval_short")
    assert f and "13.33 days" in f[0].message  # (10 - 2) mL / 0.6 mL/day
    rx["refill"]["added"] = "11 mL"  # 15 days
    assert "refill_interval_short" not in codes(run(rx))


# --- class 3: starting doses on a first fill ---

FIRST_FILLS = [
    ("morphine", "10 mg/mL", "4.8 mg/day"),
    ("hydromorphone", "10 mg/mL", "8 mg/day"),
    ("sufentanil", "50 mcg/mL", "500 mcg/day"),
    ("fentanyl", "1 mg/mL", "1000 mcg/day"),
    ("clonidine", "500 mcg/mL", "600 mcg/day"),
    ("baclofen", "2000 mcg/mL", "800 mcg/day"),
    ("ziconotide", "25 mcg/mL", "19.2 mcg/day"),
]


@pytest.mark.parametrize(("drug", "conc", "dose"), FIRST_FILLS)
def test_lethal_first_fills_must_be_retyped(drug: str, conc: str, dose: str) -> None:
    rx = with_(
        _rx(drug, conc, dose), refill={"removed": "0 mL", "added": "20 mL", "first_fill": True}
    )
    f = _found(run(rx), "over_starting_dose_limit")
    assert f and f[0].retype and f[0].field == "dose" and f[0].value == dose
    assert f[0].severity is Severity.HARD


def _pump(drugs: tuple[DrugFill, ...] | None, rate: int = 100_000) -> PumpContext:
    therapy = (
        None
        if drugs is None
        else Therapy(drugs, "continuous", 1, (Step(0, rate),), PatientBolus(), 2_000_000, 0)
    )
    return PumpContext("ITP-40", "S1", therapy, 10_000_000, 0)


@pytest.mark.parametrize(("drug", "conc", "dose"), FIRST_FILLS)
def test_first_fill_on_the_pump_path_saline_or_a_new_drug(drug: str, conc: str, dose: str) -> None:
    rx = _rx(drug, conc, dose)
    saline = _pump(())
    assert "over_starting_dose_limit" in codes(run(rx, pump=saline))
    other = "baclofen" if drug != "baclofen" else "morphine"
    new_drug = _pump((DrugFill(other, 500_000),))  # current dose of `drug` is 0
    assert "over_starting_dose_limit" in codes(run(rx, pump=new_drug))
    assert "over_starting_dose_limit" in codes(run(rx, pump=_pump(None)))


def test_a_first_fill_above_the_starting_range_is_soft_below_the_limit() -> None:
    rx = with_(
        _rx("morphine", "1 mg/mL", "0.8 mg/day"), previous={"drugs": [], "rate": "0.048 mL/day"}
    )
    f = _found(run(rx), "over_starting_dose")
    assert f and f[0].severity is Severity.SOFT and "PACC2017" in f[0].message
    ok = with_(rx, dose="0.3 mg/day")
    assert not {"over_starting_dose", "over_starting_dose_limit", "below_starting_dose"} & codes(
        run(ok)
    )


def test_fentanyl_and_sufentanil_have_sourced_starting_maxima() -> None:
    for drug, conc, dose in (
        ("fentanyl", "50 mcg/mL", "100 mcg/day"),
        ("sufentanil", "50 mcg/mL", "30 mcg/day"),
    ):
        rx = with_(
            _rx(drug, conc, dose), refill={"removed": "0 mL", "added": "20 mL", "first_fill": True}
        )
        f = _found(run(rx), "over_starting_dose")
        assert f and "PACC2017" in f[0].message, drug


def test_a_dose_in_the_pump_times_ten_must_be_retyped() -> None:
    pump = _pump((DrugFill("morphine", 10_000_000),), rate=100_000)  # 1 mg/day now
    p = run(_rx("morphine", "10 mg/mL", "10 mg/day"), pump=pump)
    f = _found(p, "unit_suspect")
    assert f and f[0].field == "dose" and "in the pump now" in f[0].message
    assert "unit_suspect" not in codes(run(_rx("morphine", "10 mg/mL", "1.2 mg/day"), pump=pump))


# --- class 7: zero dose, minimum rate only ---


@pytest.mark.parametrize(
    ("dose", "rate"), [("0 mcg/day", None), (None, "0 mL/day"), (None, "0.048 mL/day")]
)
def test_a_program_that_delivers_nothing_is_therapy_stopped(
    dose: str | None, rate: str | None
) -> None:
    p = run(_rx("baclofen", "500 mcg/mL", dose, rate))
    f = _found(p, "therapy_stopped")
    assert f and f[0].severity is Severity.SOFT
    assert "WITHDRAWAL" in f[0].message and "baclofen" in f[0].message
    assert "death" in f[0].message


def test_flex_with_only_zero_and_minimum_steps_is_stopped() -> None:
    rx = {
        "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
        "mode": "flex",
        "steps": [
            {"start": "00:00", "rate": "0 mL/day"},
            {"start": "12:00", "rate": "0.048 mL/day"},
        ],
    }
    assert "therapy_stopped" in codes(run(rx))


def test_saline_replacing_baclofen_is_stopped_with_the_warning() -> None:
    rx = {
        "drugs": [{"name": "saline"}],
        "mode": "continuous",
        "rate": "0.5 mL/day",
        "refill": {"removed": "1 mL", "added": "20 mL"},
        "previous": {
            "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}],
            "rate": "0.5 mL/day",
        },
    }
    f = _found(run(rx), "therapy_stopped")
    assert f and "WITHDRAWAL" in f[0].message


# --- class 11: names ---


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("baclofene", "baclofen"),
        ("Morfine", "morphine"),
        ("gablofn", "gablofen"),
        ("ziconatide", "ziconotide"),
    ],
)
def test_a_near_miss_name_is_hard_and_names_the_drug(written: str, suggested: str) -> None:
    p = run(_rx(written, "500 mcg/mL"))
    f = _found(p, "drug_name_near_miss")
    assert f and f[0].severity is Severity.HARD and repr(suggested) in f[0].message
    assert "unknown_drug" not in codes(p)


def test_a_drug_far_from_every_name_stays_unknown() -> None:
    assert "unknown_drug" in codes(run(_rx("aspirin", "1 mg/mL")))


# --- class 12: two opioids ---


@pytest.mark.parametrize(
    ("a", "b", "flag"),
    [
        (("morphine", "10 mg/mL"), ("hydromorphone", "2 mg/mL"), True),
        (("fentanyl", "1 mg/mL"), ("sufentanil", "50 mcg/mL"), True),
        (("morphine", "10 mg/mL"), ("bupivacaine", "10 mg/mL"), False),
    ],
)
def test_two_opioids_in_one_pump_are_flagged(
    a: tuple[str, str], b: tuple[str, str], flag: bool
) -> None:
    rx = _rx(a[0], a[1], rate="0.1 mL/day")
    rx["drugs"].append({"name": b[0], "concentration": b[1]})
    assert ("two_opioids" in codes(run(rx))) is flag


def test_a_standard_strength_ten_times_off_the_one_in_the_pump_must_be_retyped() -> None:
    pump = _pump((DrugFill("morphine", 10_000_000),), rate=100_000)
    rx = with_(_rx("morphine", "1 mg/mL", "1 mg/day"), refill={"removed": "5 mL", "added": "20 mL"})
    f = [
        f for f in _found(run(rx, pump=pump), "unit_suspect") if f.field == "drugs[0].concentration"
    ]
    assert f and f[0].retype and "10 mg/mL" in f[0].message
    rx["drugs"][0]["concentration"] = "5 mg/mL"  # half: a real change of strength
    assert "unit_suspect" not in codes(run(rx, pump=pump))


def test_a_near_miss_in_previous_or_the_dose_history_is_hard_too() -> None:
    rx = with_(
        _rx("baclofen", "500 mcg/mL", "300 mcg/day"),
        previous={
            "drugs": [{"name": "baclofene", "concentration": "500 mcg/mL"}],
            "rate": "0.6 mL/day",
        },
    )
    f = _found(run(rx), "drug_name_near_miss")
    assert f and f[0].field == "previous.drugs[0].name"
    rx = with_(
        _rx("baclofen", "500 mcg/mL", "300 mcg/day"),
        dose_history=[
            {"at": "2025-02-27T09:00:00Z", "drug": "Baclofne", "daily_dose": "250 mcg/day"}
        ],
    )
    f = _found(run(rx), "drug_name_near_miss")
    assert f and f[0].field == "dose_history" and "'baclofen'" in f[0].message
