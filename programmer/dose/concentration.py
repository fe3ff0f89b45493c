"""The drugs and their concentrations: library, approval, mixing, names, unit slips.

After ISMP's smart-pump guidelines: most x1000 slips are a known strength typed
in the wrong unit, so a concentration is compared with the drug's standard
strengths, not with a wide usual range.
"""

from __future__ import annotations

from programmer.dose.context import conc_text
from programmer.dose.names import nearest_name
from programmer.drugs import Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.prescription import DrugEntry, Prescription
from programmer.pump_limits import MAX_DRUGS
from programmer.therapy import DrugFill


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
            out.append(_unknown(d, lib))
            continue
        if not d.drug.approved:
            out.append(finding("off_label", d.field + ".name",
                               f"{d.drug.name} is not approved for implanted intrathecal pumps"))  # fmt: skip
        if d.conc_ng_ml is None:
            continue
        field = d.field + ".concentration"
        out.extend(check_concentration(d.drug, d.conc_ng_ml, field, rx.values.get(field), lib))
    if len(real) > 1:
        names = ", ".join(d.name for d in real)
        out.append(finding("admixture", "drugs",
                           f"{len(real)} drugs in one fill ({names}): admixtures are off-label and "
                           "raise the rate of pump motor failure"))  # fmt: skip
    opioids = [
        d.drug.name for d in rx.drugs if d.drug is not None and d.drug.drug_class == "opioid"
    ]
    if len(opioids) > 1:
        out.append(finding("two_opioids", "drugs",
                           f"{' and '.join(opioids)} are both opioids: in one pump their respiratory "
                           "depression adds up, and no library limit covers the sum"))  # fmt: skip
    out.extend(_near_misses_elsewhere(rx, lib))
    if len(rx.drugs) > 1:
        for d in rx.drugs:
            if d.drug is not None and not d.drug.mix_with_others.value:
                out.append(finding("mixing_not_allowed", d.field,
                                   f"{d.drug.name} must not be mixed with other drugs "
                                   f"({d.drug.mix_with_others.source})"))  # fmt: skip
    return out


def _near_misses_elsewhere(rx: Prescription, lib: DrugLibrary) -> list[Finding]:
    """A misspelt drug in `previous` or `dose_history` would hide the bridge or titration rules."""
    out: list[Finding] = []
    if rx.previous is not None:
        for d in rx.previous.drugs:
            if d.drug is None and nearest_name(d.written, lib) is not None:
                out.append(_unknown(d, lib))
    names = dict.fromkeys(r.drug for r in rx.dose_history if lib.find(r.drug) is None)
    for name in names:
        near = nearest_name(name, lib)
        if near is not None:
            out.append(finding("drug_name_near_miss", "dose_history",
                               f"the dose history names {name!r}, close to {near[0]!r}: correct it, or "
                               f"{near[1]}'s titration would not see these doses"))  # fmt: skip
    return out


def _unknown(d: DrugEntry, lib: DrugLibrary) -> Finding:
    near = nearest_name(d.written, lib)
    if near is not None:
        written, name = near
        also = f" (the library's name for {name})" if written != name else ""
        return finding("drug_name_near_miss", d.field + ".name",
                       f"{d.written!r} is not in the drug library, but is close to {written!r}{also}: "
                       f"correct the name, or {name}'s rules (mixing, boluses, limits) would not apply")  # fmt: skip
    return finding("unknown_drug", d.field + ".name",
                   f"{d.written!r} is not in the drug library (version {lib.version}); "
                   "no dose limits can be checked for it")  # fmt: skip


def _slip_of(conc: int, drug: Drug, factors: tuple[int, ...]) -> tuple[int, str] | None:
    """(the standard strength, "x10"/"1/1000"...) that `conc` is an exact slip of, or None."""
    for std in sorted(drug.standard_ng_ml):
        for f in factors:
            if conc == std * f:
                return std, f"{f}x"
            if conc * f == std:
                return std, f"1/{f}"
    return None


def check_concentration(
    drug: Drug, conc: int, field: str, value: str | None, lib: DrugLibrary
) -> list[Finding]:
    """Standard strengths pass; any other is soft; a slip of one, or an absurd one, is retyped."""
    out: list[Finding] = []
    text = conc_text(conc, drug)
    high = drug.max_conc
    if high is not None and conc > high.value:
        out.append(finding("over_max_concentration", field,
                           f"{drug.name} at {text} is above the library's maximum of "
                           f"{conc_text(high.value, drug)} ({high.source})"))  # fmt: skip
    if conc in drug.standard_ng_ml or not drug.standard_concs:
        return out
    standard = ", ".join(conc_text(s, drug) for s in sorted(drug.standard_ng_ml))
    slip = _slip_of(conc, drug, lib.slip_factors)
    low = drug.min_conc
    why: str | None = None
    if slip is not None:
        why = (f"{text} is exactly {slip[1]} the standard {conc_text(slip[0], drug)}: "
               "a decimal point or mg/mcg slip?")  # fmt: skip
    elif low is not None and conc < low.value:
        why = (f"{text} is below the weakest strength used in pumps, "
               f"{conc_text(low.value, drug)} ({low.source}): mg typed as mcg?")  # fmt: skip
    elif high is not None and conc > high.value * lib.over_max_suspect_factor:
        why = (f"{text} is more than {lib.over_max_suspect_factor}x the maximum of "
               f"{conc_text(high.value, drug)}: mcg typed as mg?")  # fmt: skip
    if why is not None:
        out.append(finding("unit_suspect", field, f"{drug.name}: {why}", value))
    else:
        out.append(finding("non_standard_concentration", field,
                           f"{drug.name} at {text} is not a standard strength ({standard}); "
                           "check it against the vial or the pharmacy label"))  # fmt: skip
    return out


def check_concentration_change(
    rx: Prescription, previous: tuple[DrugFill, ...], lib: DrugLibrary
) -> list[Finding]:
    """A drug's new strength 8x (or 1/8) the one in the pump: 1 mg/mL typed for 10 is standard
    too, so only the change shows the slip."""
    k = lib.change_slip_factor
    before = {f.name: f.conc_ng_ml for f in previous}
    out: list[Finding] = []
    for d in rx.drugs:
        old = before.get(d.name)
        new = d.conc_ng_ml
        if new is None or not old or (new < old * k and new * k > old):
            continue
        field = d.field + ".concentration"
        drug = d.drug
        out.append(finding("unit_suspect", field,
                           f"{d.name} {conc_text(new, drug)} replaces {conc_text(old, drug)}, a change of "
                           f"{k}x or more that no refill makes: a decimal point or mg/mcg slip?",
                           rx.values.get(field)))  # fmt: skip
    return out
