"""Constant-flow pumps: the dose is flow × concentration, and changes only at a refill.

A prescription names one with `"pump": {"kind": "constant-flow", "flow": "1 mL/day",
"capacity": "35 mL", "serial": "CF-0042"}` (cli-and-prescription.md, Additions 2026-12).
Each drug gives its `concentration` (the plan computes the daily dose at the flow) or its
daily `dose` (the plan computes the concentration the pharmacy must prepare). The flow
used is the one measured over the last interval when the refill gives what was drawn out,
the last fill and when it was; else the nominal flow. Every dose rule of the programmable
pump (`checks`) runs on the dose the concentration gives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from programmer import care_findings as _care_findings  # registers the codes used here
from programmer.dose import concentration, daily, starting, titration
from programmer.dose import refill as dose_refill
from programmer.drugs import Drug, DrugLibrary
from programmer.findings import Finding, finding
from programmer.formatting import (
    concentration_text,
    decimal_text,
    dose_per_day_text,
    volume_rate_text,
    volume_text,
)
from programmer.planner import DrugDose, Plan
from programmer.prescription import DoseRecord, DrugEntry, RefillEntry, read_prescription
from programmer.quantities import NL_PER_ML, Dimension, QuantityError, parse_quantity
from programmer.therapy import DrugFill, PatientBolus, Step, Therapy, dose_ng, round_half_even
from programmer.timeutil import iso_utc, offset_of
from programmer.trial import apply_trial

del _care_findings
KIND = "constant-flow"
FLOW_DEVIATION_LIMIT = Fraction(15, 100)  # the issue: > 15 % means occlusion or pump failure
MIN_FLOW_NL_DAY = 100_000  # 0.1 mL/day .. 10 mL/day: outside, a unit slip, not a pump
MAX_FLOW_NL_DAY = 10_000_000
MAX_CAPACITY_NL = 100_000_000
SECONDS_PER_DAY = 86_400
# Fields only a programmable pump has (the contract's list, and the rest of the schedule).
PROGRAMMABLE_ONLY = (
    "mode", "steps", "rate", "patient_bolus", "bolus", "dose", "cycle_days",
    "low_reservoir_alarm", "pump_model",
)  # fmt: skip
_SHARED_KEYS = ("patient", "pump_serial", "jurisdiction", "indication", "catheter", "previous",
                "dose_history")  # fmt: skip


@dataclass(frozen=True)
class ConstantFlowPump:
    flow_nl_day: int  # nominal, from the pump's label
    capacity_nl: int
    serial: str | None
    min_volume_nl: int = 0  # what must stay in the reservoir at refill time


@dataclass(frozen=True)
class FlowMeasurement:
    """The flow over one refill interval, from what went in and what came out."""

    delivered_nl: int
    seconds: int
    flow_nl_day: Fraction
    nominal_nl_day: int

    @property
    def deviation(self) -> Fraction:
        return (self.flow_nl_day - self.nominal_nl_day) / self.nominal_nl_day

    @property
    def exceeds_limit(self) -> bool:
        return abs(self.deviation) > FLOW_DEVIATION_LIMIT

    def to_json(self) -> dict[str, Any]:
        return {
            "delivered_nl": self.delivered_nl,
            "days": decimal_text(Fraction(self.seconds, SECONDS_PER_DAY), Fraction(1, 100)),
            "flow_nl_day": round_half_even(self.flow_nl_day),
            "nominal_flow_nl_day": self.nominal_nl_day,
            "deviation_pct": decimal_text(self.deviation * 100, Fraction(1, 10)),
        }


def is_constant_flow(data: Mapping[str, Any]) -> bool:
    """A prescription that describes its pump (only constant-flow pumps are described)."""
    return "pump" in data


def measure_flow(
    last_fill_nl: int, removed_nl: int, seconds: int, nominal_nl_day: int
) -> FlowMeasurement:
    delivered = last_fill_nl - removed_nl
    return FlowMeasurement(
        delivered, seconds, Fraction(delivered * SECONDS_PER_DAY, seconds), nominal_nl_day
    )


def concentration_for(daily_ng: Fraction, flow_nl_day: Fraction | int) -> Fraction:
    """The ng/mL that gives `daily_ng` a day at `flow_nl_day`."""
    return Fraction(daily_ng) * NL_PER_ML / Fraction(flow_nl_day)


def washout_minutes(catheter_nl: int, flow_nl_day: Fraction | int) -> int:
    """How long the catheter's old fluid keeps flowing after a refill (rounded up)."""
    return math.ceil(Fraction(catheter_nl) * 1440 / Fraction(flow_nl_day))


def hours_text(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} min"
    return f"{decimal_text(Fraction(minutes, 60), Fraction(1, 10))} h"


def _unit(drug: Drug | None, conc_ng_ml: int) -> str:
    if drug is not None and drug.dose_unit:
        return drug.dose_unit
    return "mg" if conc_ng_ml >= 1_000_000 else "mcg"


class _Bad:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def __call__(self, field: str, message: str, code: str = "invalid_prescription") -> None:
        self.findings.append(finding(code, field, message))

    def quantity(
        self, obj: Mapping[str, Any], key: str, path: str, dim: Dimension
    ) -> Fraction | None:
        if key not in obj:
            return None
        try:
            return parse_quantity(obj[key], dim).value
        except QuantityError as exc:
            self(path + key, f"{key}: {exc.reason}", "invalid_quantity")
            return None


def read_pump(raw: Any, bad: _Bad) -> ConstantFlowPump | None:
    if not isinstance(raw, dict):
        bad("pump", "pump must be an object {...}")
        return None
    allowed = {"kind", "flow", "capacity", "serial", "min_volume"}
    for key in raw:
        if key not in allowed:
            bad(f"pump.{key}", f"unknown field {key!r} (known here: {', '.join(sorted(allowed))})")
    if raw.get("kind") != KIND:
        bad("pump.kind", f"pump.kind must be {KIND!r} (a programmable pump is named by "
            f"pump_model and pump_serial), got {raw.get('kind')!r}")  # fmt: skip
        return None
    for key in ("flow", "capacity"):
        if key not in raw:
            bad(f"pump.{key}", f"pump.{key} is required for a constant-flow pump")
    flow = bad.quantity(raw, "flow", "pump.", Dimension.VOLUME_RATE)
    capacity = bad.quantity(raw, "capacity", "pump.", Dimension.VOLUME)
    min_volume = bad.quantity(raw, "min_volume", "pump.", Dimension.VOLUME)
    serial = raw.get("serial")
    if serial is not None and (not isinstance(serial, str) or not 0 < len(serial.strip()) <= 64):
        bad("pump.serial", "pump.serial must be a non-empty text of at most 64 characters")
        serial = None
    if flow is not None and not MIN_FLOW_NL_DAY <= flow <= MAX_FLOW_NL_DAY:
        bad("pump.flow", f"pump.flow {volume_rate_text(flow)} must be from "
            f"{volume_rate_text(MIN_FLOW_NL_DAY)} to {volume_rate_text(MAX_FLOW_NL_DAY)}",
            "invalid_quantity")  # fmt: skip
        flow = None
    if capacity is not None and not 0 < capacity <= MAX_CAPACITY_NL:
        bad("pump.capacity", f"pump.capacity {volume_text(capacity)} must be above 0 mL and at "
            f"most {volume_text(MAX_CAPACITY_NL)}", "invalid_quantity")  # fmt: skip
        capacity = None
    if min_volume is not None and capacity is not None and not 0 <= min_volume < capacity:
        bad("pump.min_volume", "pump.min_volume must be at least 0 mL and below the capacity",
            "invalid_quantity")  # fmt: skip
        min_volume = None
    if flow is None or capacity is None:
        return None
    return ConstantFlowPump(
        round_half_even(flow), round_half_even(capacity),
        serial.strip() if isinstance(serial, str) else None,
        round_half_even(min_volume) if min_volume is not None else 0,
    )  # fmt: skip


@dataclass(frozen=True)
class _DrugWish:
    written: str
    drug: Drug | None
    conc: Fraction | None
    dose: Fraction | None
    field: str
    text: str | None = None  # the concentration or dose as written (what a retype repeats)

    @property
    def where(self) -> tuple[str, str | None]:
        return f"{self.field}.{'dose' if self.dose is not None else 'concentration'}", self.text


def read_drugs(raw: Any, lib: DrugLibrary, bad: _Bad) -> list[_DrugWish] | None:
    if not isinstance(raw, list):
        bad("drugs", 'drugs is required: a list of {"name", "concentration" or "dose"}')
        return None
    out: list[_DrugWish] = []
    for i, item in enumerate(raw):
        fp = f"drugs[{i}]"
        if not isinstance(item, dict):
            bad(fp, f"{fp} must be an object {{...}}")
            continue
        for key in item:
            if key not in ("name", "concentration", "dose"):
                bad(f"{fp}.{key}", f"unknown field {key!r} (known here: concentration, dose, name)")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            bad(fp + ".name", "name is required")
            continue
        drug = lib.find(name)
        has_conc, has_dose = "concentration" in item, "dose" in item
        if drug is not None and drug.is_saline:
            if has_conc or has_dose:
                bad(fp, "saline has no concentration or dose")
            out.append(_DrugWish(name, drug, None, None, fp))
            continue
        if has_conc == has_dose:
            bad(fp, "give exactly one of concentration (like '2 mg/mL') and dose (a daily dose "
                "like '1 mg/day'); the other follows from the flow")  # fmt: skip
            continue
        conc = bad.quantity(item, "concentration", fp + ".", Dimension.CONCENTRATION)
        dose = bad.quantity(item, "dose", fp + ".", Dimension.DOSE_RATE)
        value = conc if has_conc else dose
        if value is None:
            continue
        if value <= 0:
            bad(fp + (".concentration" if has_conc else ".dose"), "must be above 0",
                "invalid_quantity")  # fmt: skip
            continue
        raw_text = item.get("concentration" if has_conc else "dose")
        out.append(
            _DrugWish(name, drug, conc, dose, fp, raw_text if isinstance(raw_text, str) else None)
        )
    return out


def read_refill(raw: Any, bad: _Bad) -> tuple[RefillEntry, datetime | None] | None:
    if not isinstance(raw, dict):
        bad("refill", "refill must be an object {...}")
        return None
    allowed = {"removed", "added", "at", "last_fill", "last_fill_at", "first_fill"}
    for key in raw:
        if key not in allowed:
            bad(
                f"refill.{key}", f"unknown field {key!r} (known here: {', '.join(sorted(allowed))})"
            )
    vols: dict[str, int | None] = {}
    for key in ("removed", "added", "last_fill"):
        if key in ("removed", "added") and key not in raw:
            bad(f"refill.{key}", f"refill.{key} is required")
        q = bad.quantity(raw, key, "refill.", Dimension.VOLUME)
        if q is not None and (q.denominator != 1 or q < 0):
            bad(f"refill.{key}", f"refill.{key} must be a whole number of nL, at least 0",
                "invalid_quantity")  # fmt: skip
            q = None
        vols[key] = None if q is None else int(q)
    times: dict[str, datetime | None] = {}
    for key in ("at", "last_fill_at"):
        times[key] = None
        if key not in raw:
            continue
        text = raw[key]
        try:
            at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            bad(
                f"refill.{key}",
                f"{key} {text!r} is not a date and time like 2025-03-01T09:00:00-06:00",
            )
            continue
        if not isinstance(text, str) or at.tzinfo is None:
            bad(f"refill.{key}", f"{key} {text!r} needs a UTC offset, like -06:00 or Z")
            continue
        times[key] = at
    first_fill = raw.get("first_fill")
    if first_fill is not None and not isinstance(first_fill, bool):
        bad("refill.first_fill", "first_fill must be true or false")
        first_fill = None
    removed, added = vols["removed"], vols["added"]
    if removed is None or added is None:
        return None
    entry = RefillEntry(removed, added, times["at"], None, vols["last_fill"], first_fill)
    return entry, times["last_fill_at"]


def plan_constant_flow(
    data: Mapping[str, Any],
    *,
    now: datetime,
    overrides: Mapping[str, str] | None = None,
    library: DrugLibrary,
    dose_history: Sequence[DoseRecord] = (),
) -> Plan:
    """The plan for a constant-flow pump: concentrations, doses, flow and dates; no program."""
    lib = library
    shared = {k: data[k] for k in _SHARED_KEYS if k in data}
    rx, structural = read_prescription({**shared, "drugs": [], "mode": "stopped"}, lib)
    out = Plan(rx, lib.version, lib.content_hash, findings=list(structural))
    out.overrides = dict(overrides or {})
    out.extra["program"] = None
    add = out.findings.append
    bad = _Bad()
    for key in PROGRAMMABLE_ONLY:
        if key in data:
            add(finding("invalid_for_pump", key,
                        f"{key} is for a programmable pump; a constant-flow pump delivers its fixed "
                        "flow and its dose changes only through the concentration filled"))  # fmt: skip
    pump = read_pump(data.get("pump"), bad)
    wishes = read_drugs(data.get("drugs"), lib, bad)
    refill = read_refill(data["refill"], bad) if "refill" in data else None
    out.findings.extend(bad.findings)
    if pump is not None and rx.pump_serial and pump.serial and rx.pump_serial != pump.serial:
        add(finding("pump_serial_mismatch", "pump_serial",
                    f"pump_serial {rx.pump_serial} and pump.serial {pump.serial} differ"))  # fmt: skip
    if pump is None or wishes is None or bad.findings:
        return out
    at = refill[0].at if refill and refill[0].at else now
    out.at_t = int(at.timestamp())
    out.schedule_offset_min = offset_of(at)
    out.extra["pump"] = {
        "kind": KIND, "serial": pump.serial, "nominal_flow_nl_day": pump.flow_nl_day,
        "capacity_nl": pump.capacity_nl, "min_volume_nl": pump.min_volume_nl,
    }  # fmt: skip

    # --- the flow: measured over the last interval when it can be, else nominal ---
    flow: Fraction = Fraction(pump.flow_nl_day)
    source = "nominal"
    if refill is not None:
        entry, last_fill_at = refill
        rx.refill = entry
        measured = _measured(entry, last_fill_at, at, pump, add)
        if measured is not None:
            out.extra["flow_measurement"] = measured.to_json()
            if measured.exceeds_limit:
                add(finding("flow_deviation", "refill.removed",
                            f"the measured flow {volume_rate_text(round_half_even(measured.flow_nl_day))} is "
                            f"{decimal_text(measured.deviation * 100, Fraction(1, 10))} % from the nominal "
                            f"{volume_rate_text(pump.flow_nl_day)} (limit ±15 %): occlusion or pump failure?"))  # fmt: skip
            if measured.flow_nl_day > 0:
                flow, source = measured.flow_nl_day, "measured"
                out.extra["nominal_check"] = True
        if entry.added_nl > pump.capacity_nl:
            add(finding("over_capacity", "refill.added",
                        f"{volume_text(entry.added_nl)} is more than the reservoir's {volume_text(pump.capacity_nl)}"))  # fmt: skip
        if entry.added_nl <= pump.min_volume_nl:
            add(finding("invalid_prescription", "refill.added",
                        f"a fill of {volume_text(entry.added_nl)} is not above the pump's minimum "
                        f"volume of {volume_text(pump.min_volume_nl)}"))  # fmt: skip
    flow_int = round_half_even(flow)
    out.extra["flow_nl_day"] = flow_int
    out.extra["flow_source"] = source

    # --- concentrations and doses: one from the other, at the flow used ---
    entries: list[DrugEntry] = []
    for w in wishes:
        if w.drug is not None and w.drug.is_saline:
            entries.append(DrugEntry(w.written, w.drug, None, w.field))
            continue
        exact = w.conc if w.conc is not None else concentration_for(w.dose or Fraction(0), flow)
        conc = round_half_even(exact)
        if conc <= 0:
            add(finding("invalid_quantity", w.field + ".dose",
                        f"the dose gives a concentration below 1 ng/mL at {volume_rate_text(flow_int)}"))  # fmt: skip
            continue
        if w.conc is not None and w.conc.denominator != 1:
            add(finding("invalid_quantity", w.field + ".concentration",
                        "a concentration must be a whole number of ng/mL"))  # fmt: skip
            continue
        entries.append(DrugEntry(w.written, w.drug, conc, w.field))
    rx.drugs = entries
    wish_of = {w.field: w for w in wishes}
    out.findings.extend(_as_written(f, wish_of) for f in concentration.check_drugs(rx, lib))
    fills = tuple(DrugFill(d.name, d.conc_ng_ml) for d in entries if d.conc_ng_ml is not None)
    therapy = Therapy(fills, "continuous", 1, (Step(0, flow_int),), PatientBolus(),
                      0, rx.catheter_volume_nl or 0)  # fmt: skip
    if len(entries) != len(wishes):
        out.extra["concentrations"] = []
        return out
    out.therapy = therapy
    out.daily_volume_nl = flow
    out.day_volumes_nl = [flow]
    concentrations: list[dict[str, Any]] = []
    history = [*dose_history, *rx.dose_history]
    for d in entries:
        if d.conc_ng_ml is None:
            continue
        unit = _unit(d.drug, d.conc_ng_ml)
        concentrations.append({"drug": d.name, "conc_ng_ml": d.conc_ng_ml,
                               "text": concentration_text(d.conc_ng_ml, unit)})  # fmt: skip
        base = dose_ng(flow, d.conc_ng_ml)
        out.daily_doses.append(DrugDose(d.name, unit, base))
        out.max_daily_doses.append(DrugDose(d.name, unit, base))  # no patient bolus exists
        if d.drug is None:
            continue
        # The programmable pump's dose rules, on the dose this concentration gives.
        where = wish_of[d.field].where
        current = _current(rx, d.name, flow, history, at)
        found = daily.check_daily_dose(d.drug, unit, base, base, rx, lib, where)
        first = starting.is_first_fill(d.name, rx, None, current)
        if first is not None:
            found += starting.check_starting_dose(d.drug, unit, base, base, first, where)
        elif current is not None:
            found += daily.check_change_slip(d.drug, unit, base, current, where, lib)
        found += titration.check_titration(d.drug, unit, base, current, history, at, rx, lib)
        out.findings.extend(_to_drugs(f, where[0]) for f in found)
    out.extra["concentrations"] = concentrations
    if out.extra.pop("nominal_check", False) and any(
        f.code == "flow_deviation" for f in out.findings
    ):
        at_nominal = ", ".join(
            f"{d.drug} {dose_per_day_text(dose_ng(pump.flow_nl_day, c['conc_ng_ml']), d.unit)}"
            for d, c in zip(out.daily_doses, concentrations, strict=True)
        )
        out.findings.append(finding("flow_deviation", "pump.flow",
                                    "the concentrations are computed at the measured flow; if the pump "
                                    f"returns to its nominal flow the patient gets {at_nominal}"))  # fmt: skip
    _catheter(out, rx, therapy, flow)
    if "trial" in data:
        doses = [(x.drug, x.amount_ng) for x in out.daily_doses]
        extra, trial_findings = apply_trial(data["trial"], lib, doses, "drugs")
        out.extra.update(extra)
        out.findings.extend(trial_findings)
    _dates(out, rx, therapy, pump, flow, lib)
    return out


def _measured(
    entry: RefillEntry, last_fill_at: datetime | None, at: datetime, pump: ConstantFlowPump,
    add: Any,
) -> FlowMeasurement | None:  # fmt: skip
    if entry.last_fill_nl is None or last_fill_at is None:
        return None
    seconds = int((at - last_fill_at).total_seconds())
    if seconds <= 0:
        add(finding("invalid_prescription", "refill.last_fill_at",
                    "refill.last_fill_at must be before the refill"))  # fmt: skip
        return None
    if entry.removed_nl > entry.last_fill_nl:
        add(finding("refill_removed_over_fill", "refill.removed",
                    f"{volume_text(entry.removed_nl)} drawn out is more than the last fill "
                    f"({volume_text(entry.last_fill_nl)}): the needle may be in the pocket"))  # fmt: skip
        return None
    return measure_flow(entry.last_fill_nl, entry.removed_nl, seconds, pump.flow_nl_day)


def _to_drugs(f: Finding, field: str) -> Finding:
    """The shared checks name `steps`; a constant-flow dose lives in the drug's entry."""
    return replace(f, field=field) if f.field == "steps" else f


def _as_written(f: Finding, wishes: dict[str, _DrugWish]) -> Finding:
    """A concentration computed from a written dose is checked; the finding names the dose."""
    head, _, tail = f.field.partition(".")
    w = wishes.get(head)
    if w is None or tail != "concentration":
        return f
    if w.dose is None:  # a concentration written as such: a retype repeats what was written
        return replace(f, value=f.value or w.text) if f.retype else f
    return replace(f, field=w.where[0], value=w.text if f.retype else f.value)


def _current(
    rx: Any, drug: str, flow: Fraction, history: Sequence[DoseRecord], at: datetime
) -> Fraction | None:
    """The daily dose running now: the previous concentration at this flow, else the history."""
    if rx.previous is not None:
        for d in rx.previous.drugs:
            if d.name == drug and d.conc_ng_ml is not None:
                return dose_ng(flow, d.conc_ng_ml)
        return Fraction(0)
    earlier = [r for r in history if r.drug == drug and r.at <= at]
    return max(earlier, key=lambda r: r.at).daily_ng if earlier else None


def _catheter(out: Plan, rx: Any, therapy: Therapy, flow: Fraction) -> None:
    """How long the old concentration keeps flowing: a constant-flow pump cannot be bridged."""
    catheter = therapy.catheter_volume_nl
    if catheter <= 0:
        out.extra["catheter_washout"] = None
        return
    minutes = washout_minutes(catheter, flow)
    text = (
        f"the catheter's {volume_text(catheter)} of the old fill keeps flowing for "
        f"{hours_text(minutes)} at {volume_rate_text(round_half_even(flow))}; a constant-flow pump "
        "cannot be bridged"
    )
    out.extra["catheter_washout"] = {"volume_nl": catheter, "minutes": minutes, "text": text}
    if rx.previous is None:
        # A first fill has no old concentration in the path (as for a programmable pump).
        if rx.refill is not None and not rx.refill.first_fill:
            out.findings.append(finding("previous_unknown", "previous",
                                        "the concentration in the catheter now is unknown: give "
                                        "previous.drugs to see how the change takes effect"))  # fmt: skip
        return
    old = sorted((d.name, d.conc_ng_ml) for d in rx.previous.drugs if d.conc_ng_ml is not None)
    new = sorted((d.name, d.conc_ng_ml) for d in therapy.drugs)
    if old != new:
        out.findings.append(finding("catheter_old_concentration", "drugs", text))


def _dates(
    out: Plan, rx: Any, therapy: Therapy, pump: ConstantFlowPump, flow: Fraction, lib: DrugLibrary
) -> None:
    if rx.refill is None:
        return
    start = out.at_t
    candidates: list[tuple[int, str]] = []
    usable = rx.refill.added_nl - pump.min_volume_nl
    if usable > 0 and flow > 0:
        empty = start + math.floor(Fraction(usable * SECONDS_PER_DAY) / flow)
        candidates.append((empty, "usable_volume"))
        out.extra["usable_volume_nl"] = usable
    days, assumed = dose_refill.stability_days(therapy, rx, None, lib)
    if assumed:
        out.findings.append(finding("stability_assumed", "refill.first_fill",
                                    "it is not known whether this is the first fill of a naive "
                                    f"pump; the {days}-day limit of a first fill is used"))  # fmt: skip
    if days is not None:
        out.stability_until = start + days * SECONDS_PER_DAY
        candidates.append((out.stability_until, "drug_stability"))
    if candidates:
        out.refill_due_at, out.refill_due_reason = min(candidates)


def render_text(p: Plan) -> str:
    """`itp plan` for people: a constant-flow pump has no program, only a fill."""
    x = p.extra
    pump = x.get("pump") or {}
    ok = "OK: could be filled as it is" if p.ok else "NOT READY: see the findings below"
    lines = [f"Plan (constant-flow pump {pump.get('serial') or ''}): {ok}".replace("  ", " "),
             f"Drug library {p.library_version} ({p.library_hash[:12]})"]  # fmt: skip
    if "flow_nl_day" in x:
        lines.append(f"Flow used: {volume_rate_text(x['flow_nl_day'])} ({x['flow_source']}; nominal "
                     f"{volume_rate_text(pump.get('nominal_flow_nl_day', 0))})")  # fmt: skip
    for c, d in zip(x.get("concentrations") or [], p.daily_doses, strict=False):
        lines.append(
            f"Prepare {c['drug']} at {c['text']}: {dose_per_day_text(d.amount_ng, d.unit)}"
        )
    wash = x.get("catheter_washout")
    if wash:
        lines.append("Catheter: " + wash["text"])
    start = x.get("start_dose")
    if start:
        lines.append(
            f"Starting dose from the trial: {start['text']} ({start['rule']}; {start['source']})"
        )
    if p.refill_due_at is not None:
        lines.append(f"Refill due: {iso_utc(p.refill_due_at)} ({p.refill_due_reason})")
    if p.findings:
        lines.append("Findings:")
        for f in p.findings:
            mark = " (overridden)" if f.code in p.overrides else ""
            lines.append(f"  [{f.severity}] {f.code} at {f.field}{mark}: {f.message}")
            if f.severity != "info":
                lines.append(f"      what to do: {f.remedy}")
    return "\n".join(lines) + "\n"
