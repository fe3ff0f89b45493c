"""Issue 12 proof (dose-b's part): x10, x24, x60 and x1000 slips (and inverses) of the rate, the
clinician and patient bolus dose and the lockout are caught for every drug, on a first fill and
against what the pump runs now.

"Caught" means a finding that stops the plan (soft or hard) on the slipped field. A longer
lockout is the safe direction: on a first fill only the shorter slips must be caught; against
the pump's own lockout both are.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programmer.drugs import Drug
from programmer.findings import Severity
from programmer.planner import Plan, PumpContext
from programmer.therapy import DrugFill, PatientBolus, Step, Therapy, round_half_even

from .rxfactory import run
from .test_slip_properties import (
    CASES,
    FACTORS,
    FIRST,
    LIB,
    _pump,
    _running_dose,
    _rx,
    _starting_dose,
)

PTM_DRUGS = [
    d for d in LIB.drugs.values()
    if d.bolus_limits is not None and d.bolus_limits.patient.max_ng is not None
]  # fmt: skip
BOLUS_DRUGS = [d for d in LIB.drugs.values() if d.bolus_limits is not None]


def _caught(p: Plan, prefix: str) -> bool:
    return any(f.severity is not Severity.INFO and f.field.startswith(prefix) for f in p.findings)


def _clean(p: Plan, prefix: str) -> bool:
    return not _caught(p, prefix)


def _dose_text(ng: int) -> str:
    return f"{ng} ng"


def _conc_for(drug: Drug) -> tuple[int, int] | None:
    """A standard strength and a running dose the pump can give at it."""
    for conc in sorted(drug.standard_ng_ml):
        dose = _running_dose(drug, conc)
        if dose is not None:
            return conc, dose
    return None


def _slipped(value: int) -> list[tuple[str, int]]:
    out = []
    for k in FACTORS:
        out.append((f"x{k}", value * k))
        if value // k > 0:
            out.append((f"1/{k}", round_half_even(Fraction(value, k))))
    return out


def _ptm(dose_ng: int, lockout_min: int = 120) -> dict[str, Any]:
    return {"dose": _dose_text(dose_ng), "duration": "10 min", "lockout": f"{lockout_min} min",
            "max_per_day": 4}  # fmt: skip


def _pump_with_ptm(drug: str, conc: int, dose_ng: int, ptm_ng: int, lockout: int) -> PumpContext:
    rate = round_half_even(Fraction(dose_ng) * 1_000_000 / conc)
    volume = round_half_even(Fraction(ptm_ng) * 1_000_000 / conc)
    t = Therapy((DrugFill(drug, conc),), "continuous", 1, (Step(0, rate),),
                PatientBolus(True, volume, 10, lockout, 4), 2_000_000, 0)  # fmt: skip
    return PumpContext("ITP-40", "S1", t, 10_000_000, 0)


@settings(max_examples=60, deadline=None)
@given(drug=st.sampled_from(PTM_DRUGS), where=st.fractions(0, 1), slip=st.integers(0, 7))
def test_patient_bolus_dose_slips_are_caught_on_a_first_fill_and_against_the_pump(
    drug: Drug, where: Fraction, slip: int
) -> None:
    found = _conc_for(drug)
    assert found is not None
    conc, dose = found
    limits = drug.bolus_limits
    assert limits is not None and limits.patient.min_ng is not None and limits.patient.max_ng
    lo, hi = limits.patient.min_ng, limits.patient.max_ng
    right = round_half_even(lo + (hi - lo) * where)
    base = _rx(drug.name, conc, dose, patient_bolus=_ptm(right))
    pump = _pump_with_ptm(drug.name, conc, dose, right, 120)
    assert _clean(run(base, pump=pump), "patient_bolus"), "the right bolus must pass"
    options = _slipped(right)
    name, typed = options[slip % len(options)]
    wrong = _rx(drug.name, conc, dose, patient_bolus=_ptm(typed))
    assert _caught(run({**wrong, **FIRST}), "patient_bolus"), (drug.name, right, name, typed)
    assert _caught(run(wrong, pump=pump), "patient_bolus"), (drug.name, right, name, typed)


@pytest.mark.parametrize("drug", BOLUS_DRUGS, ids=lambda d: d.name)
def test_clinician_bolus_dose_slips_are_caught(drug: Drug) -> None:
    found = _conc_for(drug)
    assert found is not None
    conc, dose = found
    limits = drug.bolus_limits
    assert limits is not None and limits.clinician.min_ng and limits.clinician.max_ng
    for right in (limits.clinician.min_ng, limits.clinician.max_ng):
        bolus = {"kind": "single", "dose": _dose_text(round_half_even(right)), "duration": "60 min"}
        assert _clean(run(_rx(drug.name, conc, dose, bolus=bolus)), "bolus"), drug.name
        for name, typed in _slipped(round_half_even(right)):
            wrong = {**bolus, "dose": _dose_text(typed)}
            p = run(_rx(drug.name, conc, dose, bolus=wrong))
            assert _caught(p, "bolus"), (drug.name, right, name, typed, p.findings)


@pytest.mark.parametrize("drug", PTM_DRUGS, ids=lambda d: d.name)
def test_lockout_slips_are_caught(drug: Drug) -> None:
    found = _conc_for(drug)
    assert found is not None and drug.bolus_limits is not None
    conc, dose = found
    right_ptm = round_half_even(drug.bolus_limits.patient.min_ng or 0)
    for right in (60, 120, 240):
        pump = _pump_with_ptm(drug.name, conc, dose, right_ptm, right)
        base = _rx(drug.name, conc, dose, patient_bolus=_ptm(right_ptm, right))
        assert _clean(run(base, pump=pump), "patient_bolus"), (drug.name, right)
        for name, typed in _slipped(right):
            wrong = _rx(drug.name, conc, dose, patient_bolus=_ptm(right_ptm, typed))
            assert _caught(run(wrong, pump=pump), "patient_bolus"), (drug.name, right, name)
            if typed < right:  # more boluses: must be caught without the pump too
                assert _caught(run({**wrong, **FIRST}), "patient_bolus"), (drug.name, right, name)


def _rate_rx(drug: str, conc: int, rate_nl_day: int, **extra: Any) -> dict[str, Any]:
    rx = _rx(drug, conc, 0, **extra)
    del rx["dose"]
    return {**rx, "rate": f"{rate_nl_day} nL/day"}


@pytest.mark.parametrize(("name", "conc"), CASES)
def test_rate_slips_on_a_first_fill_and_against_the_pump(name: str, conc: int) -> None:
    drug = LIB.drugs[name]
    for dose, pump in ((_starting_dose(drug, conc), False), (_running_dose(drug, conc), True)):
        if dose is None:
            continue
        rate = round_half_even(Fraction(dose) * 1_000_000 / conc)
        ctx = _pump(name, conc, dose) if pump else None
        extra = {} if pump else FIRST
        assert run(_rate_rx(name, conc, rate, **extra), pump=ctx).ok, (name, conc, rate)
        for slip, typed in _slipped(rate):
            p = run(_rate_rx(name, conc, typed, **extra), pump=ctx)
            assert not p.ok, (name, conc, slip, p.findings)
