"""Issue 12, class 10: stability for every drug, at every visit; the discrepancy never skipped."""

from __future__ import annotations

from programmer.dose.context import PumpContext
from programmer.drugs import default_library
from programmer.therapy import DrugFill, Step, Therapy

from .rxfactory import NOW, codes, morphine_continuous, run, with_

REFILL = {"removed": "4 mL", "added": "18 mL", "at": NOW.isoformat()}
DAY = 86_400


def test_every_drug_has_a_stability_limit_sourced_or_a_stated_clinic_default():
    for drug in default_library().drugs.values():
        if drug.is_saline:
            continue
        st = drug.stability
        assert st.days is not None or st.first_fill_days is not None, drug.name
        assert st.source, drug.name
        if st.clinic_default:
            assert "clinic default" in st.source, drug.name


def test_hydromorphone_refill_is_due_by_its_clinic_default_and_says_so():
    rx = {"pump_model": "ITP-40", "drugs": [{"name": "hydromorphone", "concentration": "10 mg/mL"}],
          "mode": "continuous", "dose": "0.5 mg/day", "refill": REFILL,
          "previous": {"drugs": [{"name": "hydromorphone", "concentration": "10 mg/mL"}]}}  # fmt: skip
    p = run(rx)
    assert p.refill_due_reason == "drug_stability"
    assert p.refill_due_at is not None and p.refill_due_at - p.at_t == 60 * DAY
    assert "stability_default" in codes(p)


def test_reprogramming_checks_the_stability_of_the_fill_in_the_pump():
    old = Therapy((DrugFill("morphine", 10_000_000),), "continuous", 1, (Step(0, 100_000),))
    now_t = int(NOW.timestamp())
    stale = PumpContext("ITP-40", "S", old, 10_000_000, 0, last_refill_t=now_t - 100 * DAY)
    p = run(morphine_continuous("1 mg/day"), pump=stale)
    assert "stability_expired" in codes(p) and not p.ok
    assert p.refill_due_at == now_t - 10 * DAY
    fresh = PumpContext("ITP-40", "S", old, 10_000_000, 0, last_refill_t=now_t - 30 * DAY)
    p = run(morphine_continuous("1 mg/day"), pump=fresh)
    assert "stability_expired" not in codes(p)
    assert p.refill_due_reason in ("drug_stability", "low_reservoir_alarm")
    assert p.stability_until == now_t + 60 * DAY


def test_ziconotide_in_an_admixture_gets_the_diluted_limit():
    drugs = [{"name": "ziconotide", "concentration": "25 mcg/mL"},
             {"name": "morphine", "concentration": "10 mg/mL"}]  # fmt: skip
    rx = {"pump_model": "ITP-40", "drugs": drugs, "mode": "continuous", "dose": "1.2 mcg/day",
          "refill": {**REFILL, "first_fill": False}, "previous": {"drugs": drugs}}  # fmt: skip
    p = run(rx)
    assert p.stability_until == p.at_t + 40 * DAY  # not the 84 days of undiluted Prialt


def test_expected_at_or_above_the_last_fill_is_a_finding_not_an_info():
    refill = {**REFILL, "expected": "20 mL", "last_fill": "20 mL"}
    rx = with_(morphine_continuous(), refill=refill,
               previous={"drugs": [{"name": "morphine", "concentration": "10 mg/mL"}]})  # fmt: skip
    p = run(rx)
    found = [f for f in p.findings if f.code == "refill_check_impossible"]
    assert found and found[0].severity == "soft"
    assert "refill_check_skipped" not in codes(p)
