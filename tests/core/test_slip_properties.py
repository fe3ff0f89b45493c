"""Issue 12 proof: x10, x24, x60 and x1000 slips (and their inverses) of a concentration or a
daily dose are caught for every drug and every standard concentration in the library, on a
first fill and against the dose in the pump. (Bolus, lockout and rate slips: dose-b.)

"Caught" means the plan cannot be sent as it is; slips of x24 and more must be hard (typed
again). A slip that lands exactly on another standard strength (1 mg/mL typed for 10) cannot
be told from the concentration alone: against the pump, the change of strength shows it; on
a first fill nothing in the prescription can (the vial must be read).
"""

from __future__ import annotations

from fractions import Fraction
from math import isqrt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programmer.drugs import Drug, default_library
from programmer.planner import Plan, PumpContext
from programmer.pump_limits import MIN_RATE_NL_DAY
from programmer.therapy import DrugFill, PatientBolus, Step, Therapy, round_half_even

from .rxfactory import codes, run

FACTORS = (10, 24, 60, 1000)
LIB = default_library()
DRUGS = [d for d in LIB.drugs.values() if not d.is_saline]
MAX_RATE_NL_DAY = 1_200_000  # a 20 mL fill lasts the 14 days the window asks


def _rx(drug: str, conc_ng_ml: int, dose_ng_day: int, **extra: Any) -> dict[str, Any]:
    return {
        "pump_model": "ITP-40",
        "drugs": [{"name": drug, "concentration": f"{conc_ng_ml} ng/mL"}],
        "mode": "continuous",
        "dose": f"{dose_ng_day} ng/day",
        **extra,
    }


FIRST = {"refill": {"removed": "0 mL", "added": "20 mL", "first_fill": True}}


def _deliverable(dose: Fraction, conc: int) -> bool:
    rate = dose * 1_000_000 / conc  # nl/day
    return MIN_RATE_NL_DAY < rate <= MAX_RATE_NL_DAY  # the minimum alone reads as stopped


def _dose_in(lo: Fraction, hi: Fraction, conc: int) -> int | None:
    """A dose in [lo, hi] the pump can run at `conc`: the geometric middle first."""
    for dose in (Fraction(isqrt(int(lo * hi))), *(hi * n / 10 for n in range(1, 10))):  # inside
        if lo <= dose <= hi and _deliverable(dose, conc):
            return round_half_even(dose)
    return None


def _starting_dose(drug: Drug, conc: int) -> int | None:
    """A correct first-fill dose at `conc`, or None (e.g. 0.3 mg/day cannot run at 25 mg/mL)."""
    assert drug.starting is not None
    return _dose_in(drug.starting.min_ng, drug.starting.max_ng, conc)


def _running_dose(drug: Drug, conc: int) -> int | None:
    """A dose in the drug's usual range that a pump could be running at `conc`."""
    assert drug.usual_daily is not None
    limit = drug.daily_max_for("US")
    hi = drug.usual_daily.max_ng
    if limit is not None and limit.soft_ng is not None:
        hi = min(hi, limit.soft_ng)
    return _dose_in(drug.usual_daily.min_ng, hi, conc)


def _pump(drug: str, conc: int, dose_ng: int) -> PumpContext:
    rate = round_half_even(Fraction(dose_ng) * 1_000_000 / conc)
    t = Therapy(
        (DrugFill(drug, conc),), "continuous", 1, (Step(0, rate),), PatientBolus(), 2_000_000, 0
    )
    return PumpContext("ITP-40", "S1", t, 10_000_000, 0)


def _slips(value: int) -> list[tuple[str, int]]:
    out = []
    for k in FACTORS:
        out.append((f"x{k}", value * k))
        if value // k > 0:
            out.append((f"1/{k}", round_half_even(Fraction(value, k))))
    return out


CASES = [(d.name, s) for d in DRUGS for s in sorted(d.standard_ng_ml)]


def _assert_caught(p: Plan, slip: str) -> None:
    assert not p.ok, (slip, p.findings)
    if slip.endswith(("24", "60", "1000")):
        assert p.hard, (slip, p.findings)


@pytest.mark.parametrize(("name", "conc"), CASES)
def test_concentration_slips_of_every_standard_strength(name: str, conc: int) -> None:
    drug = LIB.drugs[name]
    start, running = _starting_dose(drug, conc), _running_dose(drug, conc)
    assert start is not None or running is not None, f"{name} {conc} ng/mL: no dose runs"
    if start is not None:
        assert run(_rx(name, conc, start, **FIRST)).ok, "the correct first fill must pass"
    if running is not None:
        assert run(_rx(name, conc, running), pump=_pump(name, conc, running)).ok
    for slip, typed in _slips(conc):
        if typed in drug.standard_ng_ml:
            # another standard strength: only the change from the strength in the pump shows it
            if running is not None:
                p = run(_rx(name, typed, running), pump=_pump(name, conc, running))
                assert "unit_suspect" in {f.code for f in p.hard}, (slip, typed, p.findings)
            continue
        plans = []
        if start is not None:
            plans.append(run(_rx(name, typed, start, **FIRST)))
        if running is not None:
            plans.append(run(_rx(name, typed, running), pump=_pump(name, conc, running)))
        for p in plans:
            assert not p.ok, (slip, typed, p.findings)
            if slip not in ("1/24", "1/60"):  # those are rarely whole ng/mL: typed, they differ
                assert {"unit_suspect", "invalid_quantity"} & codes(p), (slip, p.findings)


@pytest.mark.parametrize(("name", "conc"), CASES)
def test_dose_slips_on_a_first_fill_and_against_the_pump(name: str, conc: int) -> None:
    drug = LIB.drugs[name]
    start, running = _starting_dose(drug, conc), _running_dose(drug, conc)
    if start is not None:
        for slip, typed in _slips(start):
            _assert_caught(run(_rx(name, conc, typed, **FIRST)), slip)
    if running is not None:
        pump = _pump(name, conc, running)
        assert run(_rx(name, conc, running), pump=pump).ok, "the dose in the pump must pass"
        for slip, typed in _slips(running):
            p = run(_rx(name, conc, typed), pump=pump)
            assert p.hard, (slip, p.findings)
            if p.therapy is not None:  # else the pump cannot run it at all (below_min_rate)
                assert "unit_suspect" in {f.code for f in p.hard}, (slip, p.findings)  # 8x+


def test_enough_combinations_are_exercised() -> None:
    first = [c for c in CASES if _starting_dose(LIB.drugs[c[0]], c[1]) is not None]
    assert len(first) >= 20 and {n for n, _ in first} == {d.name for d in DRUGS}
    running = [c for c in CASES if _running_dose(LIB.drugs[c[0]], c[1]) is not None]
    assert len(running) >= 35


@settings(max_examples=120, deadline=None)
@given(
    case=st.sampled_from(CASES),
    where=st.fractions(0, 1),
    factor=st.sampled_from(FACTORS),
    up=st.booleans(),
)
def test_any_starting_dose_times_a_slip_factor_is_caught(
    case: tuple[str, int], where: Fraction, factor: int, up: bool
) -> None:
    name, conc = case
    start = LIB.drugs[name].starting
    assert start is not None
    dose = round_half_even(start.min_ng + (start.max_ng - start.min_ng) * where)
    if not _deliverable(Fraction(dose), conc) or dose // factor == 0:
        return
    typed = dose * factor if up else round_half_even(Fraction(dose, factor))
    p = run(_rx(name, conc, typed, **FIRST))
    # a first dose inside the starting range, slipped by 10 or more, leaves it on one side
    assert not p.ok, (name, conc, dose, typed, p.findings)
