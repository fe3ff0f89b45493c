"""Issue 14, words: what the priming findings say is in a clinician's words (the codes stay
in `code` and `field`); a priming bolus is a dose of each drug, with its volume; the
library's source keys are shown as their readable titles."""

from __future__ import annotations

from fractions import Fraction

from programmer.dose.context import PumpContext
from programmer.drugs import default_library
from programmer.findings import readable_message
from programmer.therapy import DrugFill, Step, Therapy

from .rxfactory import morphine_continuous, run, with_

REFILL = {"removed": "4.6 mL", "added": "18 mL", "at": "2025-03-01T09:00:00-06:00"}
CATHETER = {"length": "60 cm", "volume_per_cm": "0.0026 mL"}
STRONG = [{"name": "morphine", "concentration": "20 mg/mL"}]
CODE_WORDS = ("fluid_path", "new-pump", "new-catheter", "emptied-and-aspirated", "previous.drugs")


def _pump_with(conc: int) -> PumpContext:
    old = Therapy((DrugFill("morphine", conc),), "continuous", 1, (Step(0, 100_000),))
    return PumpContext("ITP-40", "S", old, 2_000_000, 0)


def _no_codes(text: str) -> None:
    for word in CODE_WORDS:
        assert word not in text, f"{word!r} in {text!r}"


def test_an_unstated_fluid_path_is_asked_for_in_words() -> None:
    rx = with_(morphine_continuous("0.5 mg/day"), refill={**REFILL, "first_fill": True},
               catheter=CATHETER, bolus={"kind": "priming"})  # fmt: skip
    found = [f for f in run(rx).findings if f.code == "priming_path_not_stated"]
    assert found and found[0].field == "bolus.fluid_path"  # the contract's field stays
    _no_codes(found[0].message)
    _no_codes(found[0].remedy)
    for said in ("a new pump", "a new catheter", "emptied and aspirated"):
        assert said in found[0].message


def test_a_path_that_holds_drug_is_refused_in_words() -> None:
    for path, said in (("new-catheter", "a new catheter"), ("new-pump", "a new pump")):
        rx = with_(morphine_continuous("2 mg/day"), drugs=STRONG, refill=REFILL,
                   catheter=CATHETER, bolus={"kind": "priming", "fluid_path": path})  # fmt: skip
        found = [f for f in run(rx, pump=_pump_with(20_000_000)).findings
                 if f.code == "priming_path_holds_drug"]  # fmt: skip
        assert found, path
        _no_codes(found[0].message)
        assert said in found[0].message and "emptied and aspirated" in found[0].message


def test_a_priming_bolus_is_a_dose_of_each_drug_with_its_volume() -> None:
    rx = with_(morphine_continuous("2 mg/day"), drugs=STRONG, refill=REFILL, catheter=CATHETER,
               bolus={"kind": "priming", "fluid_path": "emptied-and-aspirated"})  # fmt: skip
    p = run(rx, pump=_pump_with(20_000_000))
    assert p.bolus is not None and p.bolus.kind == "priming"
    doses = p.bolus.doses
    assert [(d.drug, d.unit) for d in doses] == [("morphine", "mg")]
    # the bolus volume of the new fill, 20 mg/mL: exact, in ng (no floats)
    assert doses[0].ng == Fraction(p.bolus.volume_nl) * 20_000_000 / 1_000_000
    assert isinstance(doses[0].ng, Fraction)


def test_a_bridge_bolus_is_a_dose_of_the_old_fill() -> None:
    rx = with_(morphine_continuous("2 mg/day"), drugs=STRONG, refill=REFILL, catheter=CATHETER,
               bolus={"kind": "bridge"})  # fmt: skip
    p = run(rx, pump=_pump_with(10_000_000))
    assert p.bolus is not None and p.bolus.kind == "bridge"
    assert [(d.drug, d.ng) for d in p.bolus.doses] == [
        ("morphine", Fraction(p.bolus.volume_nl) * 10)
    ]


def test_source_keys_read_as_their_titles() -> None:
    lib = default_library()
    assert lib.source_title("PACC2017") == "PACC 2017"
    assert lib.source_title("INFUMORPH") == "Infumorph prescribing information"
    assert lib.source_title("CLASSEN2004") == "Classen et al. 2004"
    assert lib.source_title("NOT_A_SOURCE") == "NOT_A_SOURCE"
    rx = with_(morphine_continuous("1 mg/day"), refill=REFILL)
    p = run(rx, pump=_pump_with(10_000_000).__class__(
        "ITP-40", "S", Therapy((DrugFill("morphine", 10_000_000),), "continuous", 1,
                               (Step(0, 50_000),)), 2_000_000, 0))  # fmt: skip
    titration = [f for f in p.findings if f.code == "dose_change_too_large"]
    assert titration and "TITRATION_SECONDARY" in titration[0].message  # the core's message
    shown = readable_message(titration[0])
    for key in lib.sources:
        assert key not in shown, key
    assert "Infumorph prescribing information" in shown
