"""`itp plan PRESCRIPTION [--json]`: check and compute, with no pump and no database."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from programmer.drugs import default_library
from programmer.exitcodes import ExitCode
from programmer.finding_args import (
    FindingArgsError,
    add_finding_args,
    confirmations_from,
    overrides_from,
)
from programmer.findings import Severity
from programmer.formatting import (
    clock_text,
    concentration_text,
    dose_per_day_text,
    volume_rate_text,
    volume_text,
)
from programmer.planner import Plan, plan
from programmer.prescription import PrescriptionFileError, load_prescription_file
from programmer.timeutil import iso_local


class _Parser(argparse.ArgumentParser):
    """argparse that exits with the contract's usage code, 2, and no traceback."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"itp plan: {message}\n")
        raise SystemExit(ExitCode.USAGE)


def exit_code(p: Plan) -> ExitCode:
    if p.ok:
        return ExitCode.OK
    if p.hard or p.therapy is None:
        return ExitCode.HARD_FINDING
    return ExitCode.SOFT_FINDING


def _conc(name: str, conc_ng_ml: int) -> str:
    drug = default_library().find(name)
    unit = (
        drug.dose_unit if drug and drug.dose_unit else ("mg" if conc_ng_ml >= 1_000_000 else "mcg")
    )
    return concentration_text(conc_ng_ml, unit)


def render_text(p: Plan) -> str:
    lines: list[str] = []
    verdict = "OK: could be sent as it is" if p.ok else "NOT READY: see the findings below"
    lines.append(f"Plan: {verdict}")
    lines.append(f"Drug library {p.library_version} ({p.library_hash[:12]})")
    t = p.therapy
    if t is not None:
        drugs = ", ".join(f"{d.name} {_conc(d.name, d.conc_ng_ml)}" for d in t.drugs) or "saline"
        lines.append(f"Fill: {drugs}")
        lines.append(
            f"Mode: {t.mode}, cycle {t.cycle_days} day(s), times in UTC{p.schedule_offset_min:+d} min"
        )
        for s in t.steps:
            lines.append(
                f"  {clock_text(s.start_min, t.cycle_days):>12}  {volume_rate_text(s.rate_nl_day)}"
            )
        if p.daily_volume_nl is not None:
            lines.append(f"Daily volume: {volume_text(p.daily_volume_nl)}/day")
        for base, most in zip(p.daily_doses, p.max_daily_doses, strict=True):
            lines.append(
                f"Daily dose {base.drug}: {dose_per_day_text(base.amount_ng, base.unit)}"
                f" (at most {dose_per_day_text(most.amount_ng, most.unit)} with every patient bolus)"
            )
        if t.ptm.enabled:
            lines.append(
                f"Patient bolus: {volume_text(t.ptm.volume_nl)} over {t.ptm.duration_min} min, "
                f"lockout {t.ptm.lockout_min} min, at most {t.ptm.max_per_day} a day"
            )
    if p.bolus is not None:
        lines.append(
            f"One-time {p.bolus.kind} bolus: {volume_text(p.bolus.volume_nl)} at "
            f"{volume_rate_text(p.bolus.rate_nl_day)}"
        )
    off = p.schedule_offset_min
    if p.low_alarm_at is not None:
        lines.append(f"Low-reservoir alarm (estimate): {iso_local(p.low_alarm_at, off)}")
    if p.refill_due_at is not None:
        lines.append(f"Refill due: {iso_local(p.refill_due_at, off)} ({p.refill_due_reason})")
    if p.findings:
        lines.append("Findings:")
        for f in p.findings:
            mark = " (overridden)" if f.code in p.overrides and f.severity is Severity.SOFT else ""
            if f.retype and not f.confirmed:
                # the command is not printed with the value: retyping is the double check
                mark += f" (hard until typed again: --confirm-value '{f.field}=VALUE')"
            elif f.confirmed:
                mark += " (value typed again)"
            lines.append(f"  [{f.severity}] {f.code} at {f.field}{mark}: {f.message}")
            if f.severity is not Severity.INFO:
                lines.append(f"      what to do: {f.remedy}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="itp plan", description="Check a prescription and compute what it would program."
    )
    parser.add_argument("prescription", type=Path, help="the prescription file (JSON)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_finding_args(parser)
    args = parser.parse_args(list(argv))
    try:
        overrides, confirmations = overrides_from(args), confirmations_from(args)
        data = load_prescription_file(args.prescription)
    except (PrescriptionFileError, FindingArgsError) as exc:
        sys.stderr.write(f"itp plan: {exc}\n")
        return ExitCode.USAGE
    result = plan(data, now=datetime.now(UTC), overrides=overrides, confirmations=confirmations)
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(result))
    return exit_code(result)
