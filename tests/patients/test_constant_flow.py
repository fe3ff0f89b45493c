"""Constant-flow pumps: dose = flow × concentration, changed only by the concentration filled."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from programmer.constant_flow import measure_flow, washout_minutes
from programmer.planner import plan
from tests.core.rxfactory import NOW


def cf(**changes: Any) -> dict[str, Any]:
    rx: dict[str, Any] = {
        "patient": "MRN-0001",
        "pump": {"kind": "constant-flow", "flow": "1 mL/day", "capacity": "35 mL",
                 "serial": "CF-0042"},
        "jurisdiction": "US",
        "indication": "pain-cancer",
        "drugs": [{"name": "morphine", "concentration": "2 mg/mL"}],
    }  # fmt: skip
    rx.update(copy.deepcopy(changes))
    return {k: v for k, v in rx.items() if v is not None}


REFILL = {"removed": "5 mL", "added": "35 mL", "at": "2025-03-31T09:00:00Z",
          "last_fill": "35 mL", "last_fill_at": "2025-03-01T09:00:00Z"}  # fmt: skip


def test_daily_dose_is_flow_times_concentration():
    out = plan(cf(), now=NOW).to_json()
    assert out["daily_doses"] == [{"drug": "morphine", "amount_ng": 2_000_000, "text": "2 mg/day"}]
    assert out["flow_nl_day"] == 1_000_000 and out["flow_source"] == "nominal"
    assert out["concentrations"] == [
        {"drug": "morphine", "conc_ng_ml": 2_000_000, "text": "2 mg/mL"}
    ]
    assert out["program"] is None
    assert out["ok"] is True


def test_a_target_dose_gives_the_concentration_the_pharmacy_must_prepare_for_each_drug():
    rx = cf(drugs=[{"name": "morphine", "dose": "3 mg/day"},
                   {"name": "bupivacaine", "dose": "4 mg/day"}],
            pump={"kind": "constant-flow", "flow": "0.5 mL/day", "capacity": "20 mL"})  # fmt: skip
    out = plan(rx, now=NOW).to_json()
    assert [c["conc_ng_ml"] for c in out["concentrations"]] == [6_000_000, 8_000_000]
    assert [c["text"] for c in out["concentrations"]] == ["6 mg/mL", "8 mg/mL"]
    assert [d["amount_ng"] for d in out["daily_doses"]] == [3_000_000, 4_000_000]
    assert "admixture" in [f["code"] for f in out["findings"]]


@pytest.mark.parametrize("key", ["mode", "steps", "rate", "patient_bolus", "bolus"])
def test_programming_fields_are_a_hard_invalid_for_pump(key: str):
    values = {"mode": "continuous", "steps": [], "rate": "1 mL/day",
              "patient_bolus": {"dose": "0.1 mg"}, "bolus": {"kind": "bridge"}}  # fmt: skip
    p = plan(cf(**{key: values[key]}), now=NOW)
    found = [f for f in p.findings if f.code == "invalid_for_pump"]
    assert found and found[0].field == key and found[0].severity == "hard"
    assert not p.ok


def test_the_measured_flow_is_used_when_the_refill_gives_what_came_out():
    # 35 mL in, 5 mL left after 30 days: 1 mL/day measured, as nominal
    out = plan(cf(refill=REFILL), now=NOW).to_json()
    assert out["flow_source"] == "measured" and out["flow_nl_day"] == 1_000_000
    # only 23 mL delivered in 30 days: 0.7667 mL/day, 23.3 % slow -> occlusion?
    slow = plan(cf(refill={**REFILL, "removed": "12 mL"}), now=NOW)
    dev = [f for f in slow.findings if f.code == "flow_deviation"]
    assert dev and dev[0].severity == "soft" and "-23.3" in dev[0].message
    j = slow.to_json()
    assert j["flow_source"] == "measured" and j["flow_nl_day"] == 766_667
    # the dose the patient really gets at 2 mg/mL and the measured flow
    assert j["daily_doses"][0]["amount_ng"] == 1_533_333
    assert not slow.ok


def test_flow_within_15_percent_is_no_finding_and_the_limit_is_exclusive():
    # 15 % exactly: 34.5 mL delivered over 30 days at a nominal 1 mL/day
    at_limit = plan(cf(refill={**REFILL, "removed": "0.5 mL"}), now=NOW)
    assert "flow_deviation" not in [f.code for f in at_limit.findings]
    over = plan(cf(refill={**REFILL, "removed": "0.49 mL"}), now=NOW)
    assert "flow_deviation" in [f.code for f in over.findings]


def test_without_last_fill_the_nominal_flow_is_used():
    r = {k: v for k, v in REFILL.items() if k not in ("last_fill", "last_fill_at")}
    out = plan(cf(refill=r), now=NOW).to_json()
    assert out["flow_source"] == "nominal"


def test_refill_due_from_usable_volume_flow_and_stability():
    # 35 mL at 1 mL/day: 35 days, before morphine's 90-day stability
    out = plan(cf(refill=REFILL), now=NOW).to_json()
    assert out["refill_due_at"] == "2025-05-05T09:00:00Z"
    assert out["refill_due_reason"] == "usable_volume"
    # ziconotide's 14-day first-fill stability comes first
    z = cf(indication=None, drugs=[{"name": "ziconotide", "dose": "2.4 mcg/day"}],
           refill={**REFILL, "first_fill": True})  # fmt: skip
    zo = plan(z, now=NOW).to_json()
    assert zo["refill_due_reason"] == "drug_stability"
    assert zo["refill_due_at"] == "2025-04-14T09:00:00Z"


def test_the_pumps_minimum_volume_shortens_the_usable_volume():
    rx = cf(pump={"kind": "constant-flow", "flow": "1 mL/day", "capacity": "35 mL",
                  "min_volume": "5 mL"}, refill=REFILL)  # fmt: skip
    assert plan(rx, now=NOW).to_json()["refill_due_at"] == "2025-04-30T09:00:00Z"


def test_overfill_is_hard():
    p = plan(cf(refill={**REFILL, "added": "36 mL"}), now=NOW)
    assert "over_capacity" in [f.code for f in p.findings if f.severity == "hard"]


def test_every_dose_rule_applies_to_the_dose_the_concentration_gives():
    # Ziconotide 25 mcg/mL at 1 mL/day = 25 mcg/day: above the US label's absolute 19.2 mcg/day
    z = plan(cf(indication=None, drugs=[{"name": "ziconotide", "concentration": "25 mcg/mL"}]),
             now=NOW)  # fmt: skip
    hard = [f for f in z.findings if f.code == "over_hard_max_daily_dose"]
    assert hard and hard[0].field == "drugs[0].concentration"
    # a mg/mcg slip in a target dose: 2 mcg/day of morphine is far below its usual range
    slip = plan(cf(drugs=[{"name": "morphine", "dose": "2 mcg/day"}]), now=NOW)
    assert "unit_suspect" in [f.code for f in slip.findings]
    # titration: from 1 mg/mL to 2 mg/mL doubles the dose (+100 %), above the cancer-pain 50 %
    up = plan(cf(previous={"drugs": [{"name": "morphine", "concentration": "1 mg/mL"}]},
                 refill=REFILL), now=NOW)  # fmt: skip
    assert "dose_change_too_large" in [f.code for f in up.findings]


def test_the_old_concentration_in_the_catheter_keeps_flowing_and_says_for_how_long():
    rx = cf(catheter={"length": "60 cm", "volume_per_cm": "0.0026 mL"},
            previous={"drugs": [{"name": "morphine", "concentration": "1.8 mg/mL"}]},
            refill=REFILL)  # fmt: skip
    out = plan(rx, now=NOW).to_json()
    # 0.156 mL at 1 mL/day = 0.156 day = 224.64 min, rounded up
    assert out["catheter_washout"]["minutes"] == 225
    info = [f for f in out["findings"] if f["code"] == "catheter_old_concentration"]
    assert info and "cannot be bridged" in info[0]["message"] and "3.75 h" in info[0]["message"]


def test_flow_measurement_and_washout_arithmetic_is_exact():
    m = measure_flow(20_000_000, 2_000_000, 30 * 86_400, 600_000)
    assert m.flow_nl_day == 600_000 and m.deviation == 0
    assert washout_minutes(140_000, 1_000_000) == 202  # 201.6 min, rounded up


@pytest.mark.parametrize(
    ("pump", "field"),
    [
        ({"kind": "programmable", "flow": "1 mL/day", "capacity": "35 mL"}, "pump.kind"),
        ({"kind": "constant-flow", "capacity": "35 mL"}, "pump.flow"),
        ({"kind": "constant-flow", "flow": "1 mL/h", "capacity": "35 mL"}, "pump.flow"),
        ({"kind": "constant-flow", "flow": "1 mL", "capacity": "35 mL"}, "pump.flow"),
        ({"kind": "constant-flow", "flow": "1 mL/day", "capacity": "35000 mL"}, "pump.capacity"),
        ({"kind": "constant-flow", "flow": "1 mL/day", "capacity": "35 mL", "x": 1}, "pump.x"),
    ],
)
def test_a_malformed_pump_is_hard_naming_its_field(pump: dict[str, Any], field: str):
    p = plan(cf(pump=pump), now=NOW)
    assert any(f.field == field and f.severity == "hard" for f in p.findings), [
        f.to_json() for f in p.findings
    ]
    assert not p.ok


def test_a_drug_needs_exactly_one_of_concentration_and_dose():
    both = plan(cf(drugs=[{"name": "morphine", "concentration": "2 mg/mL",
                           "dose": "2 mg/day"}]), now=NOW)  # fmt: skip
    assert any(f.field == "drugs[0]" and f.severity == "hard" for f in both.findings)
    assert not both.ok


def test_an_occluded_pump_delivering_nothing_is_flagged_and_the_nominal_flow_is_used():
    # 35 mL in, 35 mL out after 30 days: nothing delivered (occlusion or a stopped pump)
    p = plan(cf(refill={**REFILL, "removed": "35 mL"}), now=NOW)
    dev = [f for f in p.findings if f.code == "flow_deviation"]
    assert dev and "-100" in dev[0].message
    assert p.to_json()["flow_source"] == "nominal"  # a zero flow cannot size a concentration
    assert not p.ok


def test_a_fast_pump_names_the_dose_the_patient_gets_if_the_flow_returns_to_nominal():
    # only 0.5 mL left of 35 after 23 days: 1.5 mL/day, 50 % fast; the target dose is met at
    # the fast flow with a weaker fill, so a pump back at 1 mL/day would under-dose
    r = {**REFILL, "removed": "0.5 mL", "last_fill_at": "2025-03-08T09:00:00Z"}
    p = plan(cf(drugs=[{"name": "morphine", "dose": "3 mg/day"}], refill=r), now=NOW)
    notes = [f.message for f in p.findings if f.code == "flow_deviation" and f.field == "pump.flow"]
    assert notes and "morphine 2 mg/day" in notes[0]


def test_a_constant_flow_prescription_is_never_sent_to_a_connected_programmable_pump():
    from programmer.planner import PumpContext

    connected = PumpContext("ITP-40", "ITP40-000123", None, 10_000_000, 0)
    p = plan(cf(), now=NOW, pump=connected)
    hard = [f for f in p.findings if f.code == "invalid_for_pump" and f.severity == "hard"]
    assert hard and "ITP40-000123" in hard[0].message
    assert not p.ok


def test_a_written_concentration_suspected_as_a_unit_slip_is_confirmed_by_typing_it_again() -> None:
    """2.5 mg/mL of morphine is a tenth of the standard 25 mg/mL: the person types the
    concentration again; the hard finding then becomes a soft one that needs a reason."""
    rx = cf(drugs=[{"name": "morphine", "concentration": "2.5 mg/mL"}])
    slip = [f for f in plan(rx, now=NOW).findings if f.code == "unit_suspect"]
    assert slip and slip[0].field == "drugs[0].concentration" and slip[0].value == "2.5 mg/mL"
    typed = plan(rx, now=NOW, confirmations={"drugs[0].concentration": "2.5 mg/mL"})
    again = [f for f in typed.findings if f.code == "unit_suspect"]
    assert again and again[0].confirmed and str(again[0].severity) == "soft"
