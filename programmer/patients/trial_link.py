"""From a recorded trial to the prescription's `trial` object of the first fill."""

from __future__ import annotations

from typing import Any

from programmer.patients.fields import PatientError
from programmer.patients.records import Trial

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
