"""The prescription for a refill visit, written from the therapy the pump holds now.

When the drug stays and only its concentration changes, the clinical intent is to
keep the daily DOSE: steps are written as doses (exact decimals of the dose the
pump delivers now), so the planner recomputes the rates for the new strength.
A saline pump has no dose to keep: its steps stay as rates.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from programmer.formatting import decimal_text
from programmer.therapy import Therapy, dose_ng


def _hhmm(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def prescription_from_therapy(therapy: Therapy, *, pump_serial: str | None = None,
                              pump_model: str | None = None, keep: str = "dose") -> dict[str, Any]:  # fmt: skip
    """A prescription dict that reproduces `therapy` exactly (keep="rate") or its doses (keep="dose")."""
    first = therapy.drugs[0] if therapy.drugs else None
    by_dose = keep == "dose" and first is not None

    def amount(rate_nl_day: int) -> dict[str, str]:
        if by_dose and first is not None:
            return {"dose": f"{decimal_text(dose_ng(rate_nl_day, first.conc_ng_ml))} ng/day"}
        return {"rate": f"{rate_nl_day} nL/day"}

    rx: dict[str, Any] = {
        "drugs": [
            {"name": d.name, "concentration": f"{d.conc_ng_ml} ng/mL"} for d in therapy.drugs
        ],
        "mode": therapy.mode,
        "low_reservoir_alarm": f"{therapy.low_alarm_nl} nL",
    }
    if pump_serial:
        rx["pump_serial"] = pump_serial
    if pump_model:
        rx["pump_model"] = pump_model
    if therapy.catheter_volume_nl:
        rx["catheter"] = {"volume": f"{therapy.catheter_volume_nl} nL"}
    if therapy.mode == "continuous":
        rx.update(amount(therapy.steps[0].rate_nl_day))
    elif therapy.mode == "flex":
        rx["cycle_days"] = therapy.cycle_days
        rx["steps"] = [
            {
                "day": s.start_min // 1440 + 1,
                "start": _hhmm(s.start_min % 1440),
                **amount(s.rate_nl_day),
            }
            for s in therapy.steps
        ]
    p = therapy.ptm
    if p.enabled:
        volume: dict[str, str] = (
            {"dose": f"{decimal_text(dose_ng(p.volume_nl, first.conc_ng_ml))} ng"}
            if by_dose and first
            else {"volume": f"{p.volume_nl} nL"}
        )
        rx["patient_bolus"] = {**volume, "duration": f"{p.duration_min} min", "lockout": f"{p.lockout_min} min",
                               "max_per_day": p.max_per_day}  # fmt: skip
    return rx


def with_refill(rx: dict[str, Any], *, removed: str, added: str, drugs: list[dict[str, str]] | None,
                bridge: bool) -> dict[str, Any]:  # fmt: skip
    """The same prescription plus a refill (and new drugs, and a bridge bolus when asked)."""
    out = dict(rx)
    out["refill"] = {"removed": removed, "added": added}
    if drugs is not None:
        out["drugs"] = drugs
    if bridge:
        out["bolus"] = {"kind": "bridge"}
    else:
        out.pop("bolus", None)
    return out


__all__ = ["Fraction", "prescription_from_therapy", "with_refill"]
