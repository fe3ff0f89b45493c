"""`itp patients ...` and `itp trial ...`: patients, their pumps, trials and constant-flow refills.

Exit codes (cli-and-prescription.md): 0 done; 2 usage error or unreadable input (a field
named with its limit); 3 refused by a hard finding (a pump linked to another patient, or
a constant-flow refill with a hard finding); 4 a soft finding not overridden; 7 not
allowed for this user, or authentication failed. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from programmer import care_findings as _care_findings  # the codes --override may name
from programmer.cli_support import (
    CliUsage,
    Parser,
    add_store_options,
    fail,
    opened_store,
    signed_in,
)
from programmer.exitcodes import ExitCode
from programmer.finding_args import add_finding_args, confirmations_from, overrides_from
from programmer.formatting import decimal_text, volume_rate_text
from programmer.patients import replacement, report, timeline
from programmer.patients.fields import PatientError, PumpLinkedElsewhere
from programmer.patients.registry import (
    DECISIONS,
    RESPONSES,
    SCALES,
    SIDE_EFFECTS,
    TRIAL_KINDS,
    VISIT_KINDS,
    Patients,
    PumpSpec,
)
from programmer.patients.trial_link import trial_for_prescription
from programmer.patients.words import (
    DECISION,
    INDICATION,
    RESPONSE,
    TRIAL_KIND,
    day_text,
    stored_day,
    stored_text,
    word,
)
from programmer.store.accounts import Accounts, AuthError, Principal
from programmer.store.errors import StoreError
from programmer.store.roles import NotAllowed

del VISIT_KINDS, _care_findings


def _pump_options(p: argparse.ArgumentParser, *, kind: bool = True) -> None:
    if kind:
        p.add_argument("--kind", choices=("programmable", "constant-flow"), default="programmable")
    p.add_argument("--serial", required=True)
    p.add_argument("--model")
    p.add_argument("--implanted-on", required=True, help="YYYY-MM-DD")
    p.add_argument("--catheter-tip", help="spinal level, e.g. T10")
    p.add_argument("--catheter-length", help="e.g. '60 cm'")
    p.add_argument("--catheter-volume-per-cm", help="e.g. '0.0026 mL'")
    p.add_argument("--flow", help="constant-flow: nominal flow, e.g. '1 mL/day'")
    p.add_argument("--capacity", help="constant-flow: reservoir, e.g. '35 mL'")


def _patients_parser() -> Parser:
    parser = Parser(prog="itp patients", description="patients, their pumps and visits")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add = sub.add_parser("add", help="record a patient (physician)")
    add.add_argument("clinic_id")
    add.add_argument("--name", required=True)
    add.add_argument("--dob", required=True, help="YYYY-MM-DD")
    add.add_argument("--indication")
    add.add_argument("--notes", default="")
    upd = sub.add_parser("update", help="a new version of a patient's details (physician)")
    upd.add_argument("clinic_id")
    for opt in ("--name", "--dob", "--indication", "--notes"):
        upd.add_argument(opt)
    upd.add_argument("--reason", required=True)
    listing = sub.add_parser("list", help="list or search patients")
    listing.add_argument("--search", default="")
    show = sub.add_parser("show", help="a patient: details, versions, pumps, trials, timeline")
    show.add_argument("clinic_id")
    find = sub.add_parser("find-pump", help="whose pump is this serial (exit 1: nobody's yet)")
    find.add_argument("serial")
    addp = sub.add_parser("add-pump", help="record an implanted pump (physician)")
    addp.add_argument("clinic_id")
    _pump_options(addp)
    link = sub.add_parser("link-pump", help="link a connected programmable pump to its patient")
    link.add_argument("clinic_id")
    link.add_argument("--serial", required=True)
    link.add_argument("--model")
    link.add_argument("--implanted-on", required=True, help="YYYY-MM-DD")
    rep = sub.add_parser("replace-pump", help="explant the pump and implant its replacement")
    rep.add_argument("clinic_id")
    _pump_options(rep)
    rep.add_argument("--reason", required=True)
    rep.add_argument("--out", type=Path, help="write the proposed first program here")
    refill = sub.add_parser("refill", help="a constant-flow refill: check it and record it")
    refill.add_argument("clinic_id")
    refill.add_argument("prescription", type=Path)
    add_finding_args(refill)
    rpt = sub.add_parser("report", help="the patient's report (HTML)")
    rpt.add_argument("clinic_id")
    rpt.add_argument("--out", type=Path)
    for p in (add, upd, listing, show, find, addp, link, rep, refill, rpt):
        add_store_options(p)
        p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _trial_parser() -> Parser:
    parser = Parser(prog="itp trial", description="screening trials")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add = sub.add_parser("add", help="start recording a trial (physician)")
    add.add_argument("clinic_id")
    add.add_argument("--drug", required=True)
    add.add_argument("--kind", choices=TRIAL_KINDS, required=True)
    add.add_argument("--started-at", required=True, help="e.g. 2026-10-01T08:00:00+01:00")
    add.add_argument("--concentration")
    add.add_argument("--rate", help="continuous catheter trial: e.g. '0.2 mL/day'")
    dose = sub.add_parser("dose", help="a dose given (a bolus, or a continuous trial's daily dose)")
    dose.add_argument("trial_id", type=int)
    dose.add_argument("--at", required=True)
    dose.add_argument("--dose", required=True)
    dose.add_argument("--note", default="")
    obs = sub.add_parser("observe", help="a score at a time")
    obs.add_argument("trial_id", type=int)
    obs.add_argument("--at", required=True)
    obs.add_argument("--scale", choices=tuple(SCALES), required=True)
    obs.add_argument("--score", type=int, required=True)
    obs.add_argument("--note", default="")
    side = sub.add_parser("side-effect", help="a side effect at a time")
    side.add_argument("trial_id", type=int)
    side.add_argument("--at", required=True)
    side.add_argument("--effect", choices=SIDE_EFFECTS, required=True)
    side.add_argument("--note", default="")
    res = sub.add_parser("result", help="the result and the decision (physician; once)")
    res.add_argument("trial_id", type=int)
    res.add_argument("--response", choices=RESPONSES, required=True)
    res.add_argument("--decision", choices=DECISIONS, required=True)
    res.add_argument("--effective-dose")
    res.add_argument("--effect-duration", help="e.g. '6 h'")
    res.add_argument("--rationale", default="")
    show = sub.add_parser("show", help="a trial with its entries and result")
    show.add_argument("trial_id", type=int)
    rx = sub.add_parser("prescription", help="the trial object for the first fill's prescription")
    rx.add_argument("trial_id", type=int)
    for p in (add, dose, obs, side, res, show, rx):
        add_store_options(p)
        p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main_patients(argv: list[str]) -> int:
    return _run(_patients_parser(), argv, _patients)


def main_trial(argv: list[str]) -> int:
    return _run(_trial_parser(), argv, _trial)


def _run(
    parser: Parser, argv: list[str], body: Callable[[argparse.Namespace, Patients, Principal], int]
) -> int:
    try:
        args = parser.parse_args(argv)
    except CliUsage as exc:
        sys.stderr.write(f"{parser.format_usage()}{exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        with opened_store(args) as (store, trail):
            accounts = Accounts(store, trail)
            with signed_in(accounts, args.user) as me:
                return body(args, Patients(store, trail), me)
    except (AuthError, NotAllowed) as exc:
        return fail(ExitCode.NOT_ALLOWED, str(exc))
    except PumpLinkedElsewhere as exc:
        return fail(ExitCode.HARD_FINDING, f"refused: {exc}")
    except (CliUsage, PatientError, StoreError, ValueError) as exc:
        return fail(ExitCode.USAGE, str(exc))
    except OSError as exc:
        return fail(ExitCode.USAGE, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        return fail(ExitCode.USAGE, "interrupted")


def _out(args: argparse.Namespace, data: Any, text: str) -> int:
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")
    return ExitCode.OK


def _moment(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PatientError(
            field, f"{text!r} is not a date and time like 2026-10-01T08:00:00+01:00"
        ) from None
    if at.tzinfo is None:
        raise PatientError(field, f"{text!r} has no UTC offset: add one, like +01:00 or Z")
    return at


def _spec(args: argparse.Namespace) -> PumpSpec:
    return PumpSpec(args.kind, args.serial, args.implanted_on, model=args.model,
                    catheter_tip=args.catheter_tip, catheter_length=args.catheter_length,
                    catheter_volume_per_cm=args.catheter_volume_per_cm, flow=args.flow,
                    capacity=args.capacity)  # fmt: skip


def _patients(args: argparse.Namespace, pts: Patients, me: Principal) -> int:
    cmd = args.command
    if cmd == "add":
        added = pts.add(me, clinic_id=args.clinic_id, name=args.name, dob=args.dob,
                        indication=args.indication, notes=args.notes)  # fmt: skip
        return _out(args, added.__dict__, f"added patient {added.clinic_id} ({added.name})")
    if cmd == "list":
        rows = pts.search(me, args.search)
        lines = [f"{r.clinic_id:<14} {r.name:<30} {r.dob}  {r.pump_serial or '-':<16} "
                 f"{(r.last_visit_at or '-')[:10]}" for r in rows]  # fmt: skip
        return _out(args, [r.__dict__ for r in rows], "\n".join(lines) or "no patients")
    p = None if cmd == "find-pump" else pts.by_clinic_id(me, args.clinic_id)
    if cmd == "update":
        assert p is not None
        q = pts.update(me, p.id, reason=args.reason, name=args.name, dob=args.dob,
                       indication=args.indication, notes=args.notes)  # fmt: skip
        return _out(args, q.__dict__, f"{q.clinic_id}: details version {q.version}")
    if cmd == "find-pump":
        owner = pts.owner_of(me, args.serial)
        if owner is None:
            _out(
                args,
                None,
                f"pump {args.serial} is linked to no patient: say whose it is (link-pump)",
            )
            return 1
        return _out(args, {"patient": owner.patient.clinic_id, "pump": owner.pump.__dict__},
                    f"pump {args.serial} belongs to {owner.patient.clinic_id} ({owner.patient.name})")  # fmt: skip
    assert p is not None
    if cmd == "show":
        tl = timeline.build(pts, me, p.id)
        data = {"patient": p.__dict__, "versions": [v.__dict__ for v in pts.versions(me, p.id)],
                "pumps": [x.__dict__ for x in pts.pumps(me, p.id)],
                "trials": [t.id for t in pts.trials(me, p.id)], **timeline.summary_json(tl)}  # fmt: skip
        lines = [
            f"{p.clinic_id}  {p.name}  born {day_text(p.dob)}  {word(INDICATION, p.indication)}  "
            f"(details v{p.version})"
        ]
        lines += [f"  pump {s.label}" for s in tl.stretches]
        lines += [f"  {stored_text(e.at):<22}  {e.serial or '':<14} {e.text}" for e in tl.entries]
        return _out(args, data, "\n".join(lines))
    if cmd == "add-pump":
        pump = pts.add_pump(me, p.id, _spec(args))
        return _out(args, pump.__dict__, f"pump {pump.serial} recorded for {p.clinic_id}")
    if cmd == "link-pump":
        pump = pts.link_connected(me, p.id, args.serial, args.model, args.implanted_on)
        return _out(args, pump.__dict__, f"pump {pump.serial} is {p.clinic_id}'s")
    if cmd == "replace-pump":
        current = [x for x in pts.pumps(me, p.id) if x.current]
        new, visit = pts.replace_pump(me, p.id, _spec(args), reason=args.reason, proposed=None)
        carried = replacement.propose(pts, me, current[0], new) if current else None
        rx = carried.prescription if carried else None
        if rx is not None and args.out is not None:
            args.out.write_text(
                json.dumps(rx, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        data = {"new_pump": new.__dict__, "visit": visit.id, "proposed": rx,
                "source": carried.source if carried else None, "notes": carried.notes if carried else []}  # fmt: skip
        text = f"{p.clinic_id}: {current[0].serial if current else '?'} replaced by {new.serial}"
        if carried is not None:
            text += f"\nproposed first program from {carried.source}:\n" + json.dumps(rx, indent=2)
            text += "".join(f"\n  - {n}" for n in carried.notes)
        return _out(args, data, text)
    if cmd == "refill":
        return _cf_refill(args, pts, me, p.id)
    if cmd == "report":
        body = report.html(pts, me, p.id)
        if args.out is not None:
            args.out.write_text(body, encoding="utf-8")
            return _out(args, {"out": str(args.out)}, f"report written to {args.out}")
        sys.stdout.write(body + "\n")
        return ExitCode.OK
    raise CliUsage(f"unknown command {cmd}")


def _cf_refill(args: argparse.Namespace, pts: Patients, me: Principal, patient_id: int) -> int:
    from programmer.plan_cli import exit_code, render_text
    from programmer.planner import plan
    from programmer.prescription import PrescriptionFileError, load_prescription_file

    pump = next((x for x in pts.pumps(me, patient_id) if x.current), None)
    if pump is None or pump.kind != "constant-flow":
        raise PatientError("pump", "the patient has no implanted constant-flow pump")
    try:
        data = load_prescription_file(args.prescription)
    except PrescriptionFileError as exc:
        raise CliUsage(str(exc)) from None
    if "pump" not in data or not isinstance(data["pump"], dict):
        raise PatientError("pump", "the prescription must describe the constant-flow pump")
    if data["pump"].get("serial") not in (None, pump.serial):
        return fail(ExitCode.HARD_FINDING, f"refused: the prescription is for pump "
                    f"{data['pump'].get('serial')}; this patient's pump is {pump.serial}")  # fmt: skip
    refill = data.get("refill")
    if not isinstance(refill, dict):
        raise PatientError("refill", "a refill needs refill.removed and refill.added")
    last = pts.cf_refills(me, pump.id)
    if last and "last_fill" not in refill:  # the interval since the recorded last fill
        refill["last_fill"] = f"{last[-1].added_nl} nL"
        refill["last_fill_at"] = last[-1].at
    result = plan(data, now=datetime.now(UTC), overrides=overrides_from(args),
                  confirmations=confirmations_from(args))  # fmt: skip
    out = result.to_json()
    code = exit_code(result)
    if code != ExitCode.OK:
        _out(args, {**out, "outcome": "refused"}, render_text(result) + "refused: nothing recorded")
        return code
    r = result.prescription.refill
    assert r is not None
    measured = out.get("flow_measurement")
    rec = pts.record_cf_refill(
        me, pump.id, at=r.at or datetime.now(UTC), removed_nl=r.removed_nl, added_nl=r.added_nl,
        drugs=[{"drug": c["drug"], "conc_ng_ml": c["conc_ng_ml"]} for c in out["concentrations"]],
        measured_flow_nl_day=measured["flow_nl_day"] if measured else None, plan=out,
    )  # fmt: skip
    trend = report.flow_trend(pts, me, pump)
    lines = [
        render_text(result).rstrip(),
        f"recorded refill {rec.id} of {pump.serial}",
        "flow trend:",
    ]
    lines += [
        f"  {stored_day(at)}  {volume_rate_text(f)}  ({decimal_text(dev * 100, Fraction(1, 10))} %)"
        for at, f, dev in trend
    ]
    return _out(args, {**out, "outcome": "recorded", "refill_id": rec.id}, "\n".join(lines))


def _trial(args: argparse.Namespace, pts: Patients, me: Principal) -> int:
    cmd = args.command
    if cmd == "add":
        p = pts.by_clinic_id(me, args.clinic_id)
        t = pts.add_trial(me, p.id, drug=args.drug, kind=args.kind,
                          started_at=_moment(args.started_at, "started_at"),
                          concentration=args.concentration, rate=args.rate)  # fmt: skip
        return _out(
            args,
            {"trial": t.id},
            f"trial {t.id} ({t.drug}, {word(TRIAL_KIND, t.kind)}) for {p.clinic_id}",
        )
    if cmd == "dose":
        t = pts.add_trial_dose(me, args.trial_id, _moment(args.at, "at"), args.dose, args.note)
    elif cmd == "observe":
        t = pts.add_observation(
            me, args.trial_id, _moment(args.at, "at"), args.scale, args.score, args.note
        )
    elif cmd == "side-effect":
        t = pts.add_side_effect(me, args.trial_id, _moment(args.at, "at"), args.effect, args.note)
    elif cmd == "result":
        t = pts.record_result(me, args.trial_id, response=args.response, decision=args.decision,
                              rationale=args.rationale, effective_dose=args.effective_dose,
                              effect_duration=args.effect_duration)  # fmt: skip
    elif cmd == "prescription":
        t = pts.trial(me, args.trial_id)
        obj = trial_for_prescription(t)
        return _out(args, obj, json.dumps(obj, indent=2))
    else:
        t = pts.trial(me, args.trial_id)
    from programmer.drugs import default_library

    drug = default_library().find(t.drug)
    lines = [
        f"trial {t.id}: {t.drug}, {word(TRIAL_KIND, t.kind)}, from {stored_text(t.started_at)}"
    ]
    lines += ["  " + x for x in report.trial_lines(t, (drug.dose_unit if drug else None) or "mg")]
    if t.result is not None:
        lines.append(
            f"  result {word(RESPONSE, t.result.response)}; decision "
            f"{word(DECISION, t.result.decision)} by {t.result.decided_by}"
        )
    data = {**t.__dict__, "entries": [e.__dict__ for e in t.entries],
            "result": t.result.__dict__ if t.result else None}  # fmt: skip
    return _out(args, data, "\n".join(lines))
