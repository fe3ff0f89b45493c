"""Issue 12: findings a reason alone cannot clear; one reason per finding, per proposal."""

from __future__ import annotations

from typing import Any

from programmer.findings import Severity

from .rxfactory import codes, run

FIELD = "drugs[0].concentration"


def _slip() -> dict[str, Any]:
    # morphine 10 mcg/mL (meant mg/mL): a unit slip, and nothing else to find
    return {
        "pump_model": "ITP-40",
        "drugs": [{"name": "morphine", "concentration": "10 mcg/mL"}],
        "mode": "continuous",
        "rate": "0.5 mL/day",
    }


def test_a_reason_alone_does_not_clear_a_unit_slip() -> None:
    p = run(_slip(), overrides={"unit_suspect": "the pharmacy really made it this weak"})
    assert not p.ok and [f.code for f in p.hard] == ["unit_suspect"]
    assert p.overrides == {}  # a hard finding is never overridden


def test_retyped_and_reasoned_it_can_be_sent() -> None:
    typed = {FIELD: "10 mcg/mL"}
    p = run(_slip(), confirmations=typed)
    f = next(f for f in p.findings if f.code == "unit_suspect")
    assert f.confirmed and f.severity is Severity.SOFT
    assert not p.ok  # still needs its own reason
    p = run(
        _slip(),
        confirmations=typed,
        overrides={"unit_suspect": "low dose trial compounded by pharmacy"},
    )
    assert p.ok
    j = p.to_json()
    assert j["confirmed_values"] == [{"field": FIELD, "value": "10 mcg/mL"}]
    assert j["findings"][0]["retype"] == {"value": "10 mcg/mL", "confirmed": True}


def test_the_same_quantity_in_other_units_confirms_it() -> None:
    p = run(_slip(), confirmations={FIELD: "0.01 mg/mL"})
    assert next(f for f in p.findings if f.code == "unit_suspect").confirmed


def test_a_different_value_typed_again_is_a_hard_mismatch() -> None:
    p = run(_slip(), confirmations={FIELD: "10 mg/mL"})
    assert {"unit_suspect", "confirm_value_mismatch"} <= {f.code for f in p.hard}
    p = run(_slip(), confirmations={FIELD: "ten"})
    assert "confirm_value_mismatch" in codes(p)


def test_a_value_typed_for_a_field_nobody_asked_about_is_reported() -> None:
    p = run(_slip(), confirmations={"dose": "1 mg/day"})
    assert "confirm_value_unused" in codes(p)
    assert p.confirmations == {}


def test_every_reason_has_a_few_words_of_its_own() -> None:
    rx = {**_slip(), "drugs": [{"name": "morphine", "concentration": "7 mg/mL"}]}
    for reason in ("ok", "x", "fine me", "  yes   yes  "):
        p = run(rx, overrides={"non_standard_concentration": reason})
        assert not p.ok and "override_reason_too_short" in codes(p), reason
    assert run(rx, overrides={"non_standard_concentration": "pharmacy compounds seven mg"}).ok


def test_one_reason_does_not_cover_two_findings() -> None:
    rx = {
        "pump_model": "ITP-40",
        "drugs": [
            {"name": "morphine", "concentration": "7 mg/mL"},
            {"name": "hydromorphone", "concentration": "2 mg/mL"},
        ],
        "mode": "continuous",
        "rate": "0.05 mL/day",
    }
    reason = "agreed with the patient today"
    p = run(rx, overrides={"non_standard_concentration": reason, "two_opioids": reason})
    assert "override_reason_reused" in codes(p) and not p.ok
    p = run(
        rx,
        overrides={
            "non_standard_concentration": "pharmacy compounds seven mg",
            "two_opioids": "rotation over two weeks planned",
        },
    )
    assert p.ok, p.findings


def test_overrides_for_findings_not_in_this_plan_are_not_recorded() -> None:
    rx = {**_slip(), "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}]}
    p = run(rx, overrides={"therapy_stopped": "carried over from the last proposal"})
    assert p.ok and p.overrides == {} and p.to_json()["overrides"] == []
