"""Issue 12, class 6: priming only into an empty fluid path; catheter figures that are real."""

from __future__ import annotations

from programmer.dose.context import PumpContext
from programmer.findings import Severity
from programmer.therapy import DrugFill, Step, Therapy

from .rxfactory import codes, morphine_continuous, run, with_

REFILL = {"removed": "4.6 mL", "added": "18 mL", "at": "2025-03-01T09:00:00-06:00"}
CATHETER = {"length": "60 cm", "volume_per_cm": "0.0026 mL"}
STRONG = [{"name": "morphine", "concentration": "20 mg/mL"}]


def _pump_with(conc: int) -> PumpContext:
    old = Therapy((DrugFill("morphine", conc),), "continuous", 1, (Step(0, 100_000),))
    return PumpContext("ITP-40", "S", old, 2_000_000, 0)


def test_priming_a_path_that_holds_drug_is_refused():
    # the case: 0.296 mL of 20 mg/mL morphine pushed in 18 minutes
    rx = with_(morphine_continuous("2 mg/day"), drugs=STRONG, refill=REFILL, catheter=CATHETER,
               bolus={"kind": "priming", "fluid_path": "new-catheter"})  # fmt: skip
    p = run(rx, pump=_pump_with(20_000_000))
    found = [f for f in p.findings if f.code == "priming_path_holds_drug"]
    assert found and found[0].severity is Severity.HARD


def test_priming_needs_the_path_stated_empty():
    rx = with_(morphine_continuous("0.5 mg/day"), refill={**REFILL, "first_fill": True},
               catheter=CATHETER, bolus={"kind": "priming"})  # fmt: skip
    assert "priming_path_not_stated" in codes(run(rx))
    rx["bolus"]["fluid_path"] = "new-pump"
    assert "priming_path_not_stated" not in codes(run(rx))


def test_emptied_and_aspirated_path_may_be_primed():
    rx = with_(morphine_continuous("2 mg/day"), drugs=STRONG, refill=REFILL, catheter=CATHETER,
               bolus={"kind": "priming", "fluid_path": "emptied-and-aspirated"})  # fmt: skip
    p = run(rx, pump=_pump_with(20_000_000))
    assert "priming_path_holds_drug" not in codes(p)


def test_an_unknown_fluid_path_statement_is_refused():
    rx = with_(morphine_continuous(), refill=REFILL, catheter=CATHETER,
               bolus={"kind": "priming", "fluid_path": "probably empty"})  # fmt: skip
    assert "invalid_bolus" in codes(run(rx))


def test_volume_per_cm_typed_ten_times_must_be_retyped():
    catheter = {"length": "60 cm", "volume_per_cm": "0.026 mL"}  # 1.7 mL priming bolus
    rx = with_(morphine_continuous(), refill={**REFILL, "first_fill": True}, catheter=catheter,
               bolus={"kind": "priming", "fluid_path": "new-pump"})  # fmt: skip
    p = run(rx)
    slip = [f for f in p.findings if f.field == "catheter.volume_per_cm"]
    assert slip and slip[0].code == "unit_suspect" and slip[0].value == "0.026 mL"


def test_catheter_length_typed_ten_times_must_be_retyped():
    rx = with_(morphine_continuous(), catheter={"length": "600 cm", "volume_per_cm": "0.0026 mL"})
    assert "unit_suspect" in {f.code for f in run(rx).findings if f.field == "catheter.length"}


def test_a_real_catheter_passes():
    p = run(with_(morphine_continuous(), catheter=CATHETER))
    assert not [f for f in p.findings if f.field.startswith("catheter")]


def test_bridge_and_priming_are_shown_as_doses_of_each_drug():
    rx = with_(morphine_continuous("1 mg/day"), refill=REFILL, catheter=CATHETER,
               previous={"drugs": STRONG, "rate": "0.1 mL/day"}, bolus={"kind": "bridge"})  # fmt: skip
    shown = [f for f in run(rx).findings if f.code == "bolus_dose"]
    assert shown and "5.92 mg morphine (20 mg/mL" in shown[0].message  # 0.296 mL of the OLD drug
    rx = with_(morphine_continuous("1 mg/day"), drugs=STRONG, refill={**REFILL, "first_fill": True},
               catheter=CATHETER, bolus={"kind": "priming", "fluid_path": "new-pump"})  # fmt: skip
    shown = [f for f in run(rx).findings if f.code == "bolus_dose"]
    assert shown and "5.92 mg morphine" in shown[0].message and "17.76 min" in shown[0].message
