"""A pump replacement: the old pump's last therapy proposed as the new pump's first program.

Same drugs and doses, the new pump's priming bolus, a fresh stability clock (a first fill)
and the catheter as it is. It is a proposal: it goes through `plan()` and every check like
any prescription, and is shown and confirmed before anything is sent.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from programmer.patients.records import Pump
from programmer.patients.registry import Patients
from programmer.pump_limits import CAPACITY_NL
from programmer.store.accounts import Principal
from programmer.therapy import dose_ng

# What a first program for a new pump must not inherit from the old one's last session.
_DROP = (
    "refill",
    "previous",
    "dose_history",
    "bolus",
    "trial",
    "pump",
    "pump_serial",
    "pump_model",
)


@dataclass
class CarriedOver:
    prescription: dict[str, Any] | None
    source: str  # where the old therapy came from, for the person who confirms it
    notes: list[str] = field(default_factory=list)


def last_therapy(
    patients: Patients, actor: Principal, old: Pump
) -> tuple[dict[str, Any], dict[str, int]] | None:
    """(prescription, daily doses in ng by drug) of the old pump's last applied program."""
    if old.kind == "programmable":
        rows = patients.store.query(
            "SELECT prescription, program FROM prescriptions_sent WHERE pump_serial = ? "
            "AND outcome = 'applied' ORDER BY at_s DESC, id DESC LIMIT 1",
            (old.serial,),
        )
        if not rows:
            return None
        program = json.loads(rows[0][1])
        doses = {str(k): int(v) for k, v in dict(program.get("daily_doses_ng", {})).items()}
        return dict(json.loads(rows[0][0])), doses
    refills = patients.cf_refills(actor, old.id)
    if not refills:
        return None
    last = refills[-1]
    flow = last.measured_flow_nl_day or old.flow_nl_day or 0
    doses = {str(d["drug"]): int(dose_ng(flow, int(d["conc_ng_ml"]))) for d in last.drugs}
    rx = {
        "drugs": [
            {"name": d["drug"], "concentration": f"{d['conc_ng_ml']} ng/mL"} for d in last.drugs
        ]
    }
    return rx, doses


def propose(patients: Patients, actor: Principal, old: Pump, new: Pump) -> CarriedOver:
    found = last_therapy(patients, actor, old)
    if found is None:
        return CarriedOver(None, f"no applied program or refill of {old.serial} is recorded",
                           ["write the first program by hand"])  # fmt: skip
    rx_old, doses = found
    notes = ["a first fill: the drug stability clock starts again",
             "priming bolus: fills the new pump's tubing and the catheter"]  # fmt: skip
    if old.kind == "programmable" and new.kind == "programmable":
        rx = {k: copy.deepcopy(v) for k, v in rx_old.items() if k not in _DROP}
        source = f"the last program applied to {old.serial}"
    elif new.kind == "programmable":
        rx = {"drugs": rx_old["drugs"], "mode": "continuous"}
        first = rx_old["drugs"][0]["name"] if rx_old["drugs"] else None
        if first is None or first not in doses:
            return CarriedOver(
                None, "the old fill held no drug", ["write the first program by hand"]
            )
        rx["dose"] = f"{doses[first]} ng/day"
        source = f"the last refill of constant-flow pump {old.serial} (same concentrations, same daily dose)"
    else:
        rx = {
            "drugs": [{"name": name, "dose": f"{amount} ng/day"} for name, amount in doses.items()]
        }
        source = (
            f"the daily doses of {old.serial}'s last therapy; the new flow sets the concentrations"
        )
    # The doses the patient is on: titration is judged against them, not against nothing.
    rx["dose_history"] = [{"at": f"{new.implanted_on.isoformat()}T00:00:00Z", "drug": name,
                           "daily_dose": f"{amount} ng/day"} for name, amount in doses.items()]  # fmt: skip
    for key in ("patient", "jurisdiction", "indication", "low_reservoir_alarm"):
        if key in rx_old and new.kind == "programmable":
            rx.setdefault(key, rx_old[key])
    catheter = new.catheter_json() or old.catheter_json()
    if catheter is not None:
        rx["catheter"] = catheter
        notes.append(
            "the catheter as it is: "
            + ("re-measured" if new.catheter_json() else "the old pump's record")
        )
    if new.kind == "programmable":
        rx["pump_serial"] = new.serial
        if new.model in CAPACITY_NL:
            rx["pump_model"] = new.model
        # A new pump's path holds no drug yet: the one case priming is meant for.
        rx["bolus"] = {"kind": "priming", "fluid_path": "new-pump"}
        capacity = CAPACITY_NL.get(new.model or "")
        if capacity is not None:
            rx["refill"] = {"removed": "0 mL", "added": f"{capacity} nL", "first_fill": True}
    else:
        rx["pump"] = {"kind": "constant-flow", "flow": f"{new.flow_nl_day} nL/day",
                      "capacity": f"{new.capacity_nl} nL", "serial": new.serial}  # fmt: skip
        rx["refill"] = {"removed": "0 mL", "added": f"{new.capacity_nl} nL", "first_fill": True}
        notes.append("a constant-flow pump has no priming bolus: the catheter fills at the flow")
    return CarriedOver(rx, source, notes)
