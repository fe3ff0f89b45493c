"""A replacement's proposed first program in words, as a clinician reads it.

The proposal is the core's prescription (programmer.patients.replacement): texts with
units. Here they are only put into sentences; a raw "N ng/day" or "N nL" is written in
the drug's dose unit or in mL, and the day of a dose in local words. No dose is computed.
"""

from __future__ import annotations

import re
from typing import Any

from programmer.formatting import dose_per_day_text, volume_rate_text, volume_text
from ui.history.charts import dose_unit
from ui.timefmt import stored_day

FLUID_PATHS = {"new-pump": "the new pump's tubing and the catheter"}


def amount_text(text: object, drug: str | None = None) -> str:
    """A quantity as written by the core; raw nanograms and nanolitres in clinical units."""
    s = str(text).strip()
    if m := re.fullmatch(r"(\d+) ng/day", s):
        return dose_per_day_text(int(m.group(1)), dose_unit(drug or ""))
    if m := re.fullmatch(r"(\d+) nL/day", s):
        return volume_rate_text(int(m.group(1)))
    if m := re.fullmatch(r"(\d+) nL", s):
        return volume_text(int(m.group(1)))
    return s


def _drug(d: dict[str, Any]) -> str:
    name = str(d.get("name", "?"))
    if "concentration" in d:
        return f"{name} {amount_text(d['concentration'], name)}"
    if "dose" in d:
        return f"{name} at {amount_text(d['dose'], name)}"
    return name


def proposal_lines(rx: dict[str, Any]) -> list[str]:
    drugs = [d for d in rx.get("drugs") or [] if isinstance(d, dict)]
    first = str(drugs[0].get("name")) if drugs else None
    lines = ["Drugs: " + ("; ".join(_drug(d) for d in drugs) or "none")]
    mode = rx.get("mode")
    if mode == "continuous" and "dose" in rx:
        lines.append(f"Continuous: {amount_text(rx['dose'], first)}")
    elif mode:
        steps = [
            f"from {s.get('start', '?')} {amount_text(s.get('dose', s.get('rate', '?')), first)}"
            for s in rx.get("steps") or []
            if isinstance(s, dict)
        ]
        lines.append(f"{str(mode).capitalize()}: " + ("; ".join(steps) or "no steps"))
    for h in rx.get("dose_history") or []:
        if isinstance(h, dict):
            lines.append(
                f"Dose before the replacement: {h.get('drug', '?')} "
                f"{amount_text(h.get('daily_dose', '?'), str(h.get('drug', '')))} "
                f"(counted from {stored_day(str(h.get('at', '')))})"
            )
    bolus = rx.get("bolus")
    if isinstance(bolus, dict) and bolus.get("kind") == "priming":
        path = FLUID_PATHS.get(str(bolus.get("fluid_path", "")), "the pump's tubing")
        lines.append(f"Priming bolus: fills {path}")
    refill = rx.get("refill")
    if isinstance(refill, dict):
        first_fill = " (first fill)" if refill.get("first_fill") else ""
        lines.append(f"Fill: {amount_text(refill.get('added', '?'))}{first_fill}")
    pump = rx.get("pump")
    if isinstance(pump, dict) and pump.get("kind") == "constant-flow":
        lines.append(
            f"Constant-flow pump {pump.get('serial', '')}: flow "
            f"{amount_text(pump.get('flow', '?'))}, capacity {amount_text(pump.get('capacity', '?'))}"
        )
    catheter = rx.get("catheter")
    if isinstance(catheter, dict) and catheter:
        parts = [f"{k.replace('_', ' ')} {amount_text(v)}" for k, v in catheter.items()]
        lines.append("Catheter: " + ", ".join(parts))
    return lines
