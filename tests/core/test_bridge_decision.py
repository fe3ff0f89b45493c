"""Issue 12, class 8: a change of drugs or concentrations always needs a bridge decision."""

from __future__ import annotations

from .rxfactory import codes, morphine_continuous, run, with_

REFILL = {"removed": "4.6 mL", "added": "18 mL", "at": "2025-03-01T09:00:00-06:00"}
CATHETER = {"length": "60 cm", "volume_per_cm": "0.0026 mL"}


def test_concentration_change_without_previous_rate_needs_a_bridge():
    rx = with_(
        morphine_continuous("1 mg/day"),
        refill=REFILL,
        catheter=CATHETER,
        previous={"drugs": [{"name": "morphine", "concentration": "20 mg/mL"}]},
    )
    p = run(rx)
    assert "bridge_bolus_needed" in codes(p)
    assert not p.ok


def test_bridge_without_previous_rate_cannot_be_sized():
    rx = with_(
        morphine_continuous("1 mg/day"),
        refill=REFILL,
        catheter=CATHETER,
        previous={"drugs": [{"name": "morphine", "concentration": "20 mg/mL"}]},
        bolus={"kind": "bridge"},
    )
    p = run(rx)
    assert "invalid_bolus" in codes(p) and not p.ok


def test_refill_with_nothing_known_about_the_path_is_not_sent_without_a_decision():
    p = run(with_(morphine_continuous("1 mg/day"), refill=REFILL))
    assert "previous_unknown" in codes(p)
    assert not p.ok
    found = next(f for f in p.findings if f.code == "previous_unknown")
    assert found.severity == "soft"


def test_same_fill_needs_no_bridge():
    rx = with_(
        morphine_continuous("1 mg/day"),
        refill=REFILL,
        previous={"drugs": [{"name": "morphine", "concentration": "10 mg/mL"}]},
    )
    found = codes(run(rx))
    assert "bridge_bolus_needed" not in found and "previous_unknown" not in found


def test_first_fill_of_a_naive_pump_needs_no_bridge():
    rx = with_(morphine_continuous("0.3 mg/day"), refill={**REFILL, "first_fill": True})
    assert "previous_unknown" not in codes(run(rx))
