"""Priming and bridge boluses as doses, and the catheter figures they are sized from.

A priming bolus pushes the whole fluid path (pump tubing and catheter) out of the
catheter tip at up to the pump's fastest rate. That is safe only when the path holds
no drug, which the prescription must state (`bolus.fluid_path`); a path known to hold
drug is a hard finding. The priming volume comes from the catheter's length and
volume per cm: a value outside what catheters are (typed 10x) pushes the new drug
past the tip at the priming rate, so it is `unit_suspect`, typed again to confirm.
Every one-time bolus is also shown as the dose of each drug it gives, and how fast.
"""

from __future__ import annotations

from fractions import Fraction

from programmer.dose.context import BolusDose, BolusPlan, PumpContext, unit_for
from programmer.drugs import DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import concentration_text, decimal_text, mass_text, volume_text
from programmer.prescription import FLUID_PATH_WORDS, FLUID_PATHS, Prescription
from programmer.quantities import Dimension, QuantityError, parse_quantity
from programmer.therapy import DrugFill, Therapy, dose_ng

# Plausible catheters (ITP_POLICY around the CATHETERS source: Prometra 0.0026 mL/cm on a
# 110 cm catheter before trimming). A x10 slip of any real catheter falls outside.
CATHETER_LENGTH_MM = (50, 1500)  # 5 to 150 cm
CATHETER_NL_PER_CM = (1_000, 5_000)  # 0.001 to 0.005 mL/cm
CATHETER_VOLUME_NL = (5_000, 750_000)  # the products of the two ranges
CATHETER_SOURCE = (
    "ITP_POLICY: intrathecal catheters are 5-150 cm of 0.001-0.005 mL/cm "
    "(Prometra 0.0026 mL/cm, 110 cm before trimming)"
)


def _read(rx: Prescription, field: str, dim: Dimension) -> Fraction | None:
    text = rx.values.get(field)
    if text is None:
        return None
    try:
        return parse_quantity(text, dim).value
    except QuantityError:
        return None  # the reader has already said so


def check_catheter(rx: Prescription) -> list[Finding]:
    """Catheter length, volume per cm and volume against what catheters are."""
    out: list[Finding] = []
    checks = (
        ("catheter.length", Dimension.LENGTH, CATHETER_LENGTH_MM, Fraction(1, 10), "cm"),
        ("catheter.volume_per_cm", Dimension.VOLUME, CATHETER_NL_PER_CM, Fraction(1, 10**6), "mL"),
        ("catheter.volume", Dimension.VOLUME, CATHETER_VOLUME_NL, Fraction(1, 10**6), "mL"),
    )
    for field, dim, (low, high), scale, unit in checks:
        value = _read(rx, field, dim)
        if value is None or low <= value <= high:
            continue
        shown = f"{decimal_text(value * scale)} {unit}"
        bounds = f"{decimal_text(low * scale)} to {decimal_text(high * scale)} {unit}"
        out.append(finding("unit_suspect", field,
                           f"{field.split('.')[1]} {shown} is outside {bounds} ({CATHETER_SOURCE}): "
                           "a priming or bridge bolus sized from it would push drug past the "
                           "catheter tip or leave the old drug in it", rx.values.get(field)))  # fmt: skip
    return out


def check_priming(
    rx: Prescription, previous: tuple[DrugFill, ...] | None, pump: PumpContext | None
) -> list[Finding]:
    """Priming only with the fluid path stated empty of drug, and never against what is known."""
    if rx.bolus is None or rx.bolus.kind != "priming":
        return []
    path = rx.bolus.fluid_path
    if path is None:
        said = ", ".join(FLUID_PATH_WORDS[p] for p in FLUID_PATHS)
        return [finding("priming_path_not_stated", "bolus.fluid_path",
                        "a priming bolus pushes what the pump tubing and catheter hold at the "
                        "pump's fastest rate: say why they hold no drug (the path is one of: "
                        f"{said})")]  # fmt: skip
    held = [d for d in previous or () if d.conc_ng_ml > 0]
    if held and path in ("new-pump", "new-catheter"):
        names = ", ".join(d.name for d in held)
        where = ("the pump" if pump is not None and pump.therapy is not None
                 else "the previous fill")  # fmt: skip
        what = ("the pump is not new" if path == "new-pump"
                else "its tubing still holds it with a new catheter")  # fmt: skip
        return [finding("priming_path_holds_drug", "bolus.fluid_path",
                        f"priming for {FLUID_PATH_WORDS[path]}, but {where} says the path holds "
                        f"{names}: {what}. Empty the reservoir and aspirate the catheter access "
                        f"port (then the path is {FLUID_PATH_WORDS['emptied-and-aspirated']}), "
                        "or use a bridge bolus")]  # fmt: skip
    return []


def bolus_doses(
    bolus: BolusPlan | None,
    therapy: Therapy,
    previous: tuple[DrugFill, ...] | None,
    lib: DrugLibrary,
) -> list[Finding]:
    """Show the one-time bolus as the dose of each drug it gives, and at what pace."""
    if bolus is None or bolus.rate_nl_day <= 0:
        return []
    minutes = Fraction(bolus.volume_nl * 1440, bolus.rate_nl_day)
    pace = f"{volume_text(bolus.volume_nl)} over {_duration_text(minutes)}"
    if bolus.kind == "bridge":
        fills, what = tuple(previous or ()), "the old fill still in the tubing and catheter"
    elif bolus.kind == "priming":
        fills, what = (
            therapy.drugs,
            "no drug if the path is empty as stated; were it full of the new fill",
        )
    else:
        fills, what = therapy.drugs, "the new fill"
    parts = []
    for fill in fills:
        unit = unit_for(lib.find(fill.name), fill.conc_ng_ml)
        amount = dose_ng(bolus.volume_nl, fill.conc_ng_ml)
        per_day = dose_ng(bolus.rate_nl_day, fill.conc_ng_ml)
        parts.append(f"{mass_text(amount, unit)} {fill.name} ({concentration_text(fill.conc_ng_ml, unit)}, "
                     f"{mass_text(per_day, unit)}/day while it runs)")  # fmt: skip
    doses = "; ".join(parts) if parts else "saline only"
    return [finding("bolus_dose", "bolus",
                    f"the {bolus.kind} bolus gives {pace}: {what}: {doses}")]  # fmt: skip


def doses_of(
    bolus: BolusPlan, therapy: Therapy, previous: tuple[DrugFill, ...] | None, lib: DrugLibrary
) -> tuple[BolusDose, ...]:
    """The one-time bolus as the dose of each drug it moves: a bridge bolus the old fill
    still in the path, any other the new fill (for priming: what fills the path)."""
    fills = tuple(previous or ()) if bolus.kind == "bridge" else therapy.drugs
    return tuple(BolusDose(f.name, dose_ng(bolus.volume_nl, f.conc_ng_ml),
                           unit_for(lib.find(f.name), f.conc_ng_ml))
                 for f in fills if f.conc_ng_ml > 0)  # fmt: skip


def _duration_text(minutes: Fraction) -> str:
    if minutes < 120:
        return f"{decimal_text(minutes, Fraction(1))} min"
    if minutes < 2 * 1440:
        return f"{decimal_text(minutes / 60, Fraction(1, 10))} h"
    return f"{decimal_text(minutes / 1440, Fraction(1, 10))} days"
