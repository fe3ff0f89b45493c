"""From a recorded trial to the prescription's `trial` object of the first fill."""

from __future__ import annotations

from typing import Any

from programmer.patients.fields import PatientError
from programmer.patients.records import Trial
from programmer.patients.registry import Patients
from programmer.store.accounts import Principal

_KIND = {"single-bolus": "bolus", "repeated-bolus": "repeated-bolus", "continuous": "continuous"}


def trial_for_prescription(t: Trial) -> dict[str, Any]:
    """The contract's `trial` object (exact ng, minutes), from the recorded result."""
    r = t.result
    if r is None:
        raise PatientError("trial", f"trial {t.id} has no result yet")
    out: dict[str, Any] = {"drug": t.drug, "kind": _KIND[t.kind], "response": r.response}
    if r.effective_dose_ng is not None:
        out["dose"] = f"{r.effective_dose_ng} ng" + ("/day" if t.kind == "continuous" else "")
    elif t.doses:
        last = t.doses[-1]
        out["dose"] = f"{last.amount_ng} ng" + ("/day" if last.per_day else "")
    else:
        raise PatientError("trial", f"trial {t.id} records no dose")
    if r.effect_duration_min is not None:
        out["effect_duration"] = f"{r.effect_duration_min} min"
    return out


def first_fill_trial(
    patients: Patients, actor: Principal, serial: str, *, pump_holds_drug: bool
) -> tuple[dict[str, Any] | None, str]:
    """The `trial` a first program of this pump carries, or None and why not.

    Only a pump's first fill starts from the trial: the pump holds no drug yet, it is
    linked to a patient, that patient has no earlier pump (a replacement carries the old
    pump's therapy over instead) and a trial of theirs ended with the decision to implant.
    The latest such trial counts.
    """
    if pump_holds_drug:
        return None, "the pump already holds a drug: not a first fill"
    owner = patients.owner_of(actor, serial)
    if owner is None:
        return None, f"pump {serial} is linked to no patient"
    earlier = [p for p in patients.pumps(actor, owner.patient.id) if p.id != owner.pump.id]
    if earlier:
        return None, (
            f"{owner.patient.clinic_id} had an earlier pump ({earlier[-1].serial}): its "
            "therapy is carried over, not the trial's starting dose"
        )
    decided = [
        t
        for t in patients.trials(actor, owner.patient.id)
        if t.result is not None and t.result.decision == "implant"
    ]
    if not decided:
        return None, f"{owner.patient.clinic_id} has no trial that decided to implant"
    return trial_for_prescription(decided[-1]), ""
