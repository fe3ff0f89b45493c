"""The drugs and their concentrations: library, approval, mixing, unit slips."""

from __future__ import annotations

from programmer.dose.context import conc_text
from programmer.drugs import Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.prescription import Prescription
from programmer.pump_limits import MAX_DRUGS


def check_drugs(rx: Prescription, lib: DrugLibrary) -> list[Finding]:
    out: list[Finding] = []
    real = [d for d in rx.drugs if not (d.drug and d.drug.is_saline)]
    if len(rx.drugs) > MAX_DRUGS:
        out.append(finding("invalid_prescription", "drugs",
                           f"{len(rx.drugs)} drugs listed; the pump holds at most {MAX_DRUGS}"))  # fmt: skip
    seen: set[str] = set()
    for d in rx.drugs:
        if d.name in seen:
            out.append(finding("invalid_prescription", d.field, f"{d.name} is listed twice"))
        seen.add(d.name)
        if d.drug is None:
            out.append(finding("unknown_drug", d.field + ".name",
                               f"{d.written!r} is not in the drug library (version {lib.version}); "
                               "no dose limits can be checked for it"))  # fmt: skip
            continue
        if not d.drug.approved:
            out.append(finding("off_label", d.field + ".name",
                               f"{d.drug.name} is not approved for implanted intrathecal pumps"))  # fmt: skip
        if d.conc_ng_ml is None:
            continue
        out.extend(_check_concentration(d.drug, d.conc_ng_ml, d.field + ".concentration", lib))
    if len(real) > 1:
        names = ", ".join(d.name for d in real)
        out.append(finding("admixture", "drugs",
                           f"{len(real)} drugs in one fill ({names}): admixtures are off-label and "
                           "raise the rate of pump motor failure"))  # fmt: skip
    if len(rx.drugs) > 1:
        for d in rx.drugs:
            if d.drug is not None and not d.drug.mix_with_others.value:
                out.append(finding("mixing_not_allowed", d.field,
                                   f"{d.drug.name} must not be mixed with other drugs "
                                   f"({d.drug.mix_with_others.source})"))  # fmt: skip
    return out


def _check_concentration(drug: Drug, conc: int, field: str, lib: DrugLibrary) -> list[Finding]:
    out: list[Finding] = []
    text = conc_text(conc, drug)
    if drug.max_conc is not None and conc > drug.max_conc.value:
        out.append(finding("over_max_concentration", field,
                           f"{drug.name} at {text} is above the library's maximum of "
                           f"{conc_text(drug.max_conc.value, drug)} ({drug.max_conc.source})"))  # fmt: skip
    usual = drug.usual_conc
    f = lib.unit_suspect_factor
    if usual is not None and (conc > usual.max_ng * f or conc * f < usual.min_ng):
        out.append(finding("unit_suspect", field,
                           f"{drug.name} at {text} is more than {f}x outside the usual "
                           f"{conc_text(int(usual.min_ng), drug)} to "
                           f"{conc_text(int(usual.max_ng), drug)}: check mg against mcg"))  # fmt: skip
    return out
