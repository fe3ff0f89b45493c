"""From a prescription (and, when connected, the pump's state) to a checked plan.

`plan()` is pure: no pump, no database, no clock unless given. It returns the
program the pump would store, the doses it gives (computed back from the
stored rates), the one-time bolus, the refill figures and dates, and every
finding. Nothing here sends anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from math import floor
from typing import Any

from programmer.dose import (
    bolus_limits,
    boluses,
    concentration,
    daily,
    priming,
    profile,
    refill,
    rolling,
    starting,
    titration,
)
from programmer.dose import (
    confirmations as confirming,
)
from programmer.dose.context import BolusPlan, dose_field, unit_for
from programmer.dose.context import PumpContext as PumpContext  # re-exported for session and app
from programmer.dose.refill import RefillCheck
from programmer.drugs import Drug, DrugLibrary, default_library
from programmer.findings import Finding, Severity, finding
from programmer.formatting import (
    dose_per_day_text,
    volume_rate_text,
    volume_text,
)
from programmer.prescription import DoseRecord, Prescription, read_prescription
from programmer.pump_limits import (
    CAPACITY_NL,
    ERI_TO_END_OF_SERVICE_DAYS,
)
from programmer.reservoir import OneTimeBolus, low_alarm_instant
from programmer.therapy import (
    DrugFill,
    Therapy,
    dose_ng,
    round_half_even,
)
from programmer.timeutil import (
    OffsetAt,
    iso_utc,
    local_midnight_t,
    offset_changes,
    offset_of,
    system_offset_at,
)
from programmer.trial import apply_trial

ALARM_HORIZON_DAYS = 730


@dataclass(frozen=True)
class DrugDose:
    drug: str
    unit: str
    amount_ng: Fraction

    def to_json(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "amount_ng": round_half_even(self.amount_ng),
            "text": dose_per_day_text(self.amount_ng, self.unit),
        }


@dataclass
class Plan:
    prescription: Prescription
    library_version: str
    library_hash: str
    findings: list[Finding] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)
    confirmations: dict[str, str] = field(default_factory=dict)
    therapy: Therapy | None = None
    bolus: BolusPlan | None = None
    daily_volume_nl: Fraction | None = None
    day_volumes_nl: list[Fraction] = field(default_factory=list)
    daily_doses: list[DrugDose] = field(default_factory=list)
    max_daily_doses: list[DrugDose] = field(default_factory=list)
    at_t: int = 0
    schedule_offset_min: int = 0
    low_alarm_at: int | None = None
    refill_due_at: int | None = None
    refill_due_reason: str | None = None
    refill_check: RefillCheck | None = None
    stability_until: int | None = None
    worst_24h: rolling.Window | None = None
    # Fields the trial and constant-flow additions put into the JSON (start_dose, ...).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hard(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.HARD]

    @property
    def unresolved_soft(self) -> list[Finding]:
        return [
            f for f in self.findings if f.severity is Severity.SOFT and f.code not in self.overrides
        ]

    @property
    def ok(self) -> bool:
        return not self.hard and not self.unresolved_soft and self.therapy is not None

    def to_json(self) -> dict[str, Any]:
        t = self.therapy
        return {
            "ok": self.ok,
            "program": None
            if t is None
            else {
                "mode": t.mode,
                "cycle_days": t.cycle_days,
                "steps": [
                    {
                        "start_min": s.start_min,
                        "rate_nl_day": s.rate_nl_day,
                        "rate_text": volume_rate_text(s.rate_nl_day),
                    }
                    for s in t.steps
                ],
                "therapy": t.to_wire(),
            },
            "daily_volume_nl": None
            if self.daily_volume_nl is None
            else round_half_even(self.daily_volume_nl),
            "daily_volume_text": None
            if self.daily_volume_nl is None
            else volume_text(self.daily_volume_nl) + "/day",
            "daily_doses": [d.to_json() for d in self.daily_doses],
            "max_daily_doses": [d.to_json() for d in self.max_daily_doses],
            "worst_24h": None if self.worst_24h is None else self.worst_24h.to_json(),
            "bolus": None if self.bolus is None else self.bolus.to_wire(),
            "bolus_inputs": None if self.bolus is None else self.bolus.inputs,
            "low_reservoir_alarm_at": _iso(self.low_alarm_at),
            "refill_due_at": _iso(self.refill_due_at),
            "refill_due_reason": self.refill_due_reason,
            "refill_check": None if self.refill_check is None else self.refill_check.to_json(),
            "schedule_utc_offset_min": self.schedule_offset_min,
            "library": {"version": self.library_version, "content_hash": self.library_hash},
            "findings": [f.to_json() for f in self.findings],
            "overrides": [{"code": c, "reason": r} for c, r in self.overrides.items()],
            "confirmed_values": [{"field": k, "value": v} for k, v in self.confirmations.items()],
            **self.extra,
        }


def _iso(t: int | None) -> str | None:
    return None if t is None else iso_utc(t)


def plan(
    data: Mapping[str, Any],
    *,
    now: datetime,
    pump: PumpContext | None = None,
    overrides: Mapping[str, str] | None = None,
    library: DrugLibrary | None = None,
    local_offset_at: OffsetAt = system_offset_at,
    dose_history: Sequence[DoseRecord] = (),
    confirmations: Mapping[str, str] | None = None,
    extra_findings: Sequence[Finding] = (),
) -> Plan:
    """Check a prescription and compute what it would program. `now` must be aware.

    `overrides` maps a soft finding's code to its own reason (>= 3 words); `confirmations`
    maps a retype finding's field to the value typed again. Both count for this plan only.
    `extra_findings` (e.g. the session's clock check) are judged with the plan's own.
    """
    lib = library or default_library()
    if "pump" in data:  # a described pump: constant-flow (cli-and-prescription.md, 2026-12)
        from programmer.constant_flow import plan_constant_flow

        out = plan_constant_flow(data, now=now, library=lib, dose_history=dose_history)
        if pump is not None:  # a programmable pump is connected: never send it a fill plan
            out.findings.append(finding("invalid_for_pump", "pump",
                                        f"this prescription describes a constant-flow pump; the "
                                        f"connected pump {pump.serial} is a programmable {pump.model}"))  # fmt: skip
    else:
        rx, structural = read_prescription(dict(data), lib)
        out = Plan(rx, lib.version, lib.content_hash, findings=list(structural))
        _check(out, rx, lib, now, pump, local_offset_at, dose_history)
        if "trial" in data and out.therapy is not None:
            doses = [(d.drug, d.amount_ng) for d in out.daily_doses]
            extra, trial_findings = apply_trial(
                data["trial"], lib, doses, dose_field(rx, out.therapy)[0]
            )
            out.extra.update(extra)
            out.findings.extend(trial_findings)
    out.findings.extend(extra_findings)
    typed = dict(confirmations or {})
    out.findings = confirming.apply_confirmations(out.findings, typed)
    out.confirmations = {
        k: v for k, v in typed.items() if any(f.confirmed and f.field == k for f in out.findings)
    }
    out.overrides, problems = confirming.valid_overrides(out.findings, dict(overrides or {}))
    out.findings.extend(problems)
    return out


def _check(
    out: Plan,
    rx: Prescription,
    lib: DrugLibrary,
    now: datetime,
    pump: PumpContext | None,
    local_offset_at: OffsetAt,
    dose_history: Sequence[DoseRecord],
) -> None:
    add = out.findings.append

    at = rx.refill.at if rx.refill and rx.refill.at else now
    out.at_t = int(at.timestamp())
    if pump is not None:
        out.schedule_offset_min = pump.utc_offset_min
    elif rx.refill and rx.refill.at:
        out.schedule_offset_min = offset_of(rx.refill.at)
    else:
        out.schedule_offset_min = local_offset_at(out.at_t)  # this computer's offset now

    # --- the pump and the prescription must be about the same pump ---
    if pump is not None:
        if rx.pump_serial is not None and rx.pump_serial != pump.serial:
            add(finding("pump_serial_mismatch", "pump_serial",
                        f"the prescription is for pump {rx.pump_serial}; this pump is {pump.serial}"))  # fmt: skip
        if rx.pump_model is not None and rx.pump_model != pump.model:
            add(finding("pump_model_mismatch", "pump_model",
                        f"the prescription is for an {rx.pump_model}; this pump is an {pump.model}"))  # fmt: skip

    add_all = out.findings.extend
    add_all(concentration.check_drugs(rx, lib))
    add_all(concentration.check_concentration_change(rx, _drugs_now(rx, pump), lib))
    therapy, step_findings = profile.build_therapy(rx, lib)
    add_all(step_findings)
    if therapy is None:
        return
    if pump is not None and therapy.catheter_volume_nl == 0 and pump.therapy is not None:
        therapy = _with_catheter(therapy, pump.therapy.catheter_volume_nl)
    out.therapy = therapy
    out.day_volumes_nl = therapy.day_volumes_nl()
    out.daily_volume_nl = max(out.day_volumes_nl, default=Fraction(0))

    # --- one-time bolus ---
    previous = boluses.previous_fill(rx, pump)
    reservoir_after = rx.refill.added_nl if rx.refill else (pump.reservoir_nl if pump else None)
    bolus, bolus_findings = boluses.plan_bolus(rx, therapy, previous, reservoir_after)
    out.bolus = bolus
    add_all(bolus_findings)
    in_path = boluses.previous_drugs(rx, pump)
    add_all(boluses.check_drug_change(rx, therapy, in_path, bolus))
    add_all(priming.check_catheter(rx))
    add_all(priming.check_priming(rx, in_path, pump))
    add_all(priming.bolus_doses(bolus, therapy, in_path, lib))
    if bolus is not None:
        out.bolus = replace(bolus, doses=priming.doses_of(bolus, therapy, in_path, lib))

    # --- doses ---
    single_dose = bolus.volume_nl if bolus is not None and bolus.kind == "single" else 0
    # Every maximum and every titration step is checked on the worst sliding 24 h of the
    # cycle (wrapping), with every allowed bolus in it, not on calendar days.
    out.worst_24h = rolling.therapy_worst_window(therapy, single_dose)
    add_all(rolling.window_findings(out.worst_24h, out.daily_volume_nl, therapy.cycle_days))
    where = dose_field(rx, therapy)
    history = [*dose_history, *rx.dose_history]
    titrate_at, date_findings = titration.check_dates(rx, history, now)
    add_all(date_findings)
    drug_rows: list[tuple[DrugFill, Drug, str]] = []
    for fill in therapy.drugs:
        drug = lib.find(fill.name)
        unit = unit_for(drug, fill.conc_ng_ml)
        base = dose_ng(out.daily_volume_nl, fill.conc_ng_ml)
        worst = out.worst_24h.basal_dose_ng(fill.conc_ng_ml)
        most = out.worst_24h.dose_ng(fill.conc_ng_ml)
        out.daily_doses.append(DrugDose(fill.name, unit, base))
        out.max_daily_doses.append(DrugDose(fill.name, unit, most))
        if drug is not None:
            add_all(daily.check_daily_dose(drug, unit, worst, most, rx, lib, where))
            add_all(rolling.check_hidden_over_max(
                drug, unit, out.worst_24h, out.daily_volume_nl, fill.conc_ng_ml, rx, where))  # fmt: skip
            current = titration.current_dose(pump, fill.name, history, titrate_at)
            first = starting.is_first_fill(fill.name, rx, pump, current)
            if first is not None:
                add_all(starting.check_starting_dose(drug, unit, worst, most, first, where))
            elif current is not None:
                add_all(daily.check_change_slip(drug, unit, worst, current, where, lib))
            add_all(titration.check_titration(
                drug, unit, worst, current, history, titrate_at, rx, lib))  # fmt: skip
            possible = titration.possible_dose(pump, fill.name) if pump else current
            add_all(titration.check_patient_bolus_titration(
                drug, unit, most - out.worst_24h.clinician_dose_ng(fill.conc_ng_ml), worst,
                possible, history, titrate_at, rx, lib))  # fmt: skip
            drug_rows.append((fill, drug, unit))
    add_all(bolus_limits.check_bolus_limits(rx, therapy, bolus, drug_rows, pump, lib))
    drugs_now = _drugs_now(rx, pump)
    if drugs_now and not therapy.drugs:
        names = tuple(d.name for d in drugs_now)
        add(finding("therapy_stopped", "drugs",
                    f"saline replaces {', '.join(names)}: the patient gets no drug once the "
                    "catheter has run out" + profile.withdrawal_text(rx, lib, names)))  # fmt: skip
    fill_nl = rx.refill.added_nl if rx.refill else None
    model = pump.model if pump else rx.pump_model
    worst_volume = out.worst_24h.basal_nl + out.worst_24h.patient_bolus_nl
    add_all(daily.check_daily_volume(worst_volume, model, fill_nl,
                                     therapy.low_alarm_nl, lib))  # fmt: skip

    # --- refill: capacity, discrepancy, dates ---
    capacity = CAPACITY_NL.get(pump.model if pump else (rx.pump_model or ""))
    add_all(refill.check_refill(rx, therapy, capacity, pump))
    out.refill_check = refill.refill_discrepancy(rx, pump)
    if out.refill_check is not None:
        add_all(refill.check_discrepancy(out.refill_check))
    else:
        add_all(refill.check_discrepancy_inputs(rx, pump))
    if rx.refill is not None or pump is not None:
        add_all(refill.stability_notes(therapy, lib))
    _dates(out, rx, therapy, pump, bolus, reservoir_after, lib, local_offset_at)


def _drugs_now(rx: Prescription, pump: PumpContext | None) -> tuple[DrugFill, ...]:
    """The drugs in the pump now (from the pump, else `previous.drugs`; the rate not needed)."""
    if pump is not None:
        return pump.therapy.drugs if pump.therapy is not None else ()
    if rx.previous is None:
        return ()
    return tuple(DrugFill(d.name, d.conc_ng_ml) for d in rx.previous.drugs if d.conc_ng_ml)


def _with_catheter(therapy: Therapy, catheter_nl: int) -> Therapy:
    return Therapy(
        therapy.drugs, therapy.mode, therapy.cycle_days, therapy.steps, therapy.ptm,
        therapy.low_alarm_nl, catheter_nl,
    )  # fmt: skip


def _dates(
    out: Plan,
    rx: Prescription,
    therapy: Therapy,
    pump: PumpContext | None,
    bolus: BolusPlan | None,
    reservoir_nl: int | None,
    lib: DrugLibrary,
    local_offset_at: OffsetAt,
) -> None:
    start = out.at_t
    offset = out.schedule_offset_min
    if pump is not None and pump.cycle_anchor_t is not None and pump.therapy == therapy:
        anchor = pump.cycle_anchor_t
    else:
        anchor = local_midnight_t(start, offset)  # a new program re-anchors at local midnight
    candidates: list[tuple[int, str]] = []
    if reservoir_nl is not None:
        one_time = OneTimeBolus(bolus.volume_nl, bolus.rate_nl_day) if bolus else None
        hit = low_alarm_instant(
            therapy, start, anchor, reservoir_nl, one_time, ALARM_HORIZON_DAYS * 86_400
        )
        if hit is not None:
            out.low_alarm_at = floor(hit)  # never later than the exact instant
            candidates.append((out.low_alarm_at, "low_reservoir_alarm"))
    if rx.refill is not None:
        days, assumed = refill.stability_days(therapy, rx, pump, lib)
        if assumed:
            out.findings.append(finding("stability_assumed", "refill.first_fill",
                                        "it is not known whether this is the first fill of a naive "
                                        f"pump; the {days}-day limit of a first fill is used"))  # fmt: skip
        if days is not None:
            out.stability_until = start + days * 86_400
            candidates.append((out.stability_until, "drug_stability"))
    elif pump is not None:
        # a visit without a refill: the drug in the pump keeps ageing from its own refill
        until, found = refill.check_stability_now(therapy, rx, pump, lib, start)
        out.findings.extend(found)
        if until is not None:
            out.stability_until = until
            candidates.append((until, "drug_stability"))
    if pump is not None and pump.eri_t is not None:
        candidates.append((pump.eri_t, "elective_replacement"))
    if candidates:
        out.refill_due_at, out.refill_due_reason = min(candidates)
    if pump is not None and pump.eri_t is not None and out.refill_due_at is not None:
        eos = pump.eri_t + ERI_TO_END_OF_SERVICE_DAYS * 86_400
        if out.refill_due_at > eos:
            out.refill_due_at, out.refill_due_reason = eos, "elective_replacement"
    if therapy.mode == "flex" and len({s.rate_nl_day for s in therapy.steps}) > 1:
        until = out.refill_due_at or (start + 90 * 86_400)
        for when, old, new in offset_changes(start, until, local_offset_at):
            shift = new - old
            direction = "later" if shift > 0 else "earlier"
            out.findings.append(finding("dst_changeover", "steps",
                f"on {iso_utc(when)[:10]} this computer's clock changes from UTC{_fmt_off(old)} "
                f"to UTC{_fmt_off(new)}; the pump keeps UTC{_fmt_off(offset)}, so from then each "
                f"step runs {abs(shift)} min {direction} by the wall clock until the pump's clock is set"))  # fmt: skip


def _fmt_off(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}:{m:02d}"
