"""`itp interrogate`, `itp program`, `itp history`: the pump session on the command line.

Exit codes (../shared/cli-and-prescription.md): 0 done; 2 usage error, unreadable
input or an unreachable pump; 3 a hard finding; 4 a soft finding not overridden;
5 not applied (the pump confirmed it); 6 outcome uncertain; 7 not allowed or
authentication failed. Every output says when the demo key is in use.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from programmer.cli_support import (
    CliUsage,
    Parser,
    add_store_options,
    fail,
    opened_store,
    read_key_file,
    secret,
    signed_in,
)
from programmer.exitcodes import ExitCode
from programmer.finding_args import (
    FindingArgsError,
    add_finding_args,
    confirmations_from,
    overrides_from,
)
from programmer.formatting import percent_text, volume_text
from programmer.link import AddressError, LinkError, ProtocolError
from programmer.plan_cli import exit_code as plan_exit_code
from programmer.plan_cli import render_text
from programmer.prescription import PrescriptionFileError, load_prescription_file
from programmer.session.changes import change_text, daily_doses
from programmer.session.pump_session import (
    Interrogation,
    ProgramResult,
    PumpSession,
    SessionError,
    UncertainOutstanding,
)
from programmer.store import Accounts, AuthError, NotAllowed, Records, StoreError
from programmer.timeutil import iso_utc

DEMO_NOTE = "NOTE: using the DEMO clinic key (32 bytes of 0x42): not for clinical use"
OUTCOME_EXIT = {
    "applied": ExitCode.OK,
    "not_applied": ExitCode.NOT_APPLIED,
    "uncertain": ExitCode.UNCERTAIN,
}


def _parser(prog: str, what: str) -> Parser:
    parser = Parser(prog=prog, description=what)
    parser.add_argument(
        "--pump",
        required=True,
        metavar="ADDRESS",
        help="emulator:, tcp://HOST:PORT or serial:///dev/ttyUSB0?baud=115200",
    )
    parser.add_argument(
        "--key-file", type=Path, help="the 32-byte clinic key (default: the demo key)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_store_options(parser)
    return parser


@dataclass
class _Ctx:
    session: PumpSession
    out: TextIO


@contextmanager
def _session(args: argparse.Namespace) -> Iterator[PumpSession]:
    key = read_key_file(args.key_file)
    with opened_store(args) as (store, trail):
        accounts = Accounts(store, trail)
        with signed_in(accounts, args.user) as me:
            session = PumpSession(
                address=args.pump,
                accounts=accounts,
                records=Records(store, trail),
                trail=trail,
                principal=me,
                key=key,
            )
            try:
                yield session
            finally:
                session.close()


def _run(parser: Parser, argv: list[str], body: Callable[[argparse.Namespace], int]) -> int:
    try:
        args = parser.parse_args(argv)
    except CliUsage as exc:
        sys.stderr.write(f"{parser.format_usage()}{exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        return body(args)
    except (AuthError, NotAllowed) as exc:
        return fail(ExitCode.NOT_ALLOWED, str(exc))
    except ProtocolError as exc:
        if exc.code == "unauthorized":
            return fail(
                ExitCode.NOT_ALLOWED,
                f"the pump refused the clinic key ({exc.message}); check --key-file",
            )
        return fail(ExitCode.USAGE, f"the pump answered {exc.code}: {exc.message}")
    except UncertainOutstanding as exc:
        return fail(ExitCode.UNCERTAIN, str(exc))
    except AddressError as exc:
        return fail(ExitCode.USAGE, str(exc))
    except (LinkError, OSError) as exc:
        return fail(ExitCode.USAGE, f"could not talk to the pump at {args.pump}: {exc}")
    except (CliUsage, StoreError, SessionError, ValueError) as exc:
        return fail(ExitCode.USAGE, str(exc))
    except KeyboardInterrupt:
        return fail(ExitCode.USAGE, "interrupted")


def _resolutions_text(session: PumpSession, resolutions: list[Any]) -> list[str]:
    return [
        f"An earlier program left uncertain was {'APPLIED' if r.applied else 'NOT applied'} (pump's own record, crc {r.crc:08x})"
        for r in resolutions
    ]


def interrogation_json(i: Interrogation) -> dict[str, Any]:
    s = i.status
    return {
        "demo_key": i.demo_key,
        "model": i.model,
        "serial": i.serial,
        "firmware": i.firmware,
        "status": s,
        "therapy": i.therapy.to_wire() | {"cycle_anchor_t": i.cycle_anchor_t},
        "daily_doses": daily_doses(i.therapy),
        "reservoir_estimate_nl": s["reservoir_nl"],
        "last_fill_nl": i.last_fill_nl,
        "alarms": [
            {
                "code": a.code,
                "since": iso_utc(a.since_t),
                "critical": a.critical,
                "title": a.advice.title,
                "remedy": a.advice.remedy,
            }
            for a in i.alarms
        ],
        "clock": {
            "pump_utc_offset_min": s["utc_offset_min"],
            "local_utc_offset_min": i.local_offset_min,
            "drift_s": i.clock_drift_s,
            "findings": [f.to_json() for f in i.clock_findings],
        },
    }


def interrogation_text(i: Interrogation) -> str:
    s = i.status
    lines = [
        f"Pump {i.model} {i.serial} (firmware {i.firmware})",
        f"Delivering: {s['delivering'].upper()}",
    ]
    drugs = ", ".join(f"{n} {t}" for n, t in daily_doses(i.therapy).items()) or "saline (no drug)"
    lines.append(f"Therapy: {i.therapy.mode}, daily dose {drugs}")
    lines.append(
        f"Reservoir (estimate, never measured): {volume_text(s['reservoir_nl'])} of {volume_text(s['reservoir_capacity_nl'])}"
    )
    if i.last_fill_nl is not None:
        lines.append(f"Last fill: {volume_text(i.last_fill_nl)}")
    lines.append(f"Replacement indicator due: {iso_utc(s['eri_t'])}")
    lines.append(
        f"Clock: pump UTC{s['utc_offset_min']:+d} min, this computer UTC{i.local_offset_min:+d} min, drift {i.clock_drift_s:+d} s"
    )
    for f in i.clock_findings:
        lines.append(f"  [{f.severity}] {f.code}: {f.message}")
    for a in i.alarms:
        lines.append(
            f"ALARM{' (CRITICAL)' if a.critical else ''} {a.advice.title} since {iso_utc(a.since_t)}: {a.advice.remedy}"
        )
    return "\n".join(lines) + "\n"


# --- itp interrogate --------------------------------------------------------------------


def main_interrogate(argv: list[str]) -> int:
    return _run(_parser("itp interrogate", "read a pump's status and therapy"), argv, _interrogate)


def _interrogate(args: argparse.Namespace) -> int:
    with _session(args) as session:
        resolutions = session.connect()
        result = session.interrogate()
        if session.demo_key:
            sys.stderr.write(DEMO_NOTE + "\n")
        if args.json:
            out = interrogation_json(result) | {"resolved": [r.__dict__ for r in resolutions]}
            sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        else:
            for line in _resolutions_text(session, resolutions):
                sys.stdout.write(line + "\n")
            sys.stdout.write(interrogation_text(result))
    return ExitCode.OK


# --- itp program ------------------------------------------------------------------------


def main_program(argv: list[str]) -> int:
    parser = _parser("itp program", "check, stage, verify, commit and read back a prescription")
    parser.add_argument("prescription", type=Path)
    parser.add_argument("--yes", action="store_true", help="confirm without asking (for scripts)")
    add_finding_args(parser)  # --override, --reason [CODE=]TEXT, --confirm-value FIELD=VALUE
    return _run(parser, argv, _program)


def _confirm(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise CliUsage(
            "nothing was sent: there is no terminal to confirm on; give --yes to confirm"
        )
    sys.stderr.write(question + " Type yes to send: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() == "yes"


def _program(args: argparse.Namespace) -> int:
    try:
        data = load_prescription_file(args.prescription)
    except PrescriptionFileError as exc:
        raise CliUsage(str(exc)) from None
    try:
        overrides, confirmations = overrides_from(args), confirmations_from(args)
    except FindingArgsError as exc:
        raise CliUsage(str(exc)) from None
    with _session(args) as session:
        notes = _resolutions_text(session, session.connect())
        proposal = session.propose(data, overrides, confirmations)
        p = proposal.plan
        report: dict[str, Any] = p.to_json() | {
            "demo_key": session.demo_key,
            "changes": [r.__dict__ for r in proposal.changes],
        }
        if proposal.daily_change is not None:
            report["daily_total_change_percent"] = percent_text(proposal.daily_change * 100)
        human = [*notes, render_text(p)]
        if proposal.changes:
            human.append(change_text(proposal.changes, proposal.daily_change))
        if session.demo_key:
            sys.stderr.write(DEMO_NOTE + "\n")
        if not p.ok:
            return _finish(
                args,
                report | {"outcome": "refused", "therapy_crc": None},
                [*human, "Nothing was sent."],
                plan_exit_code(p),
            )
        if not args.json:
            sys.stdout.write("\n".join(human) + "\n")
            sys.stdout.flush()
        confirmed = _confirm(args, f"Send this to pump {session.serial}?")
        if not confirmed:
            return _finish(
                args,
                report | {"outcome": "refused", "therapy_crc": None},
                ["Not confirmed: nothing was sent."],
                ExitCode.USAGE,
                printed=True,
            )
        password = secret(
            "ITP_PASSWORD", f"password for {session.principal.name}, again, to send: "
        )
        result = session.send(proposal, confirmed=True, password=password)
        return _finish(
            args,
            report | _result_json(result),
            [_result_text(result)],
            _result_exit(result, p),
            printed=True,
        )


def _result_json(r: ProgramResult) -> dict[str, Any]:
    return {
        "outcome": r.outcome,
        "message": r.message,
        "therapy_crc": r.therapy_crc,
        "applied_at": iso_utc(r.applied_t) if r.applied_t else None,
        "problems": r.problems,
        "resolved_after_link_loss": r.resolved_after_link_loss,
        "steps": r.steps,
    }


def _result_text(r: ProgramResult) -> str:
    head = {
        "applied": "APPLIED and verified",
        "not_applied": "NOT APPLIED",
        "uncertain": "OUTCOME UNCERTAIN",
        "refused": "REFUSED",
    }[r.outcome]
    lines = [f"{head}: {r.message}"]
    lines += [f"  {pr.get('field')}: {pr.get('message')}" for pr in r.problems]
    if r.outcome == "uncertain":
        lines.append(
            "Nothing else will be sent to this pump until it is read again: run itp interrogate."
        )
    return "\n".join(lines)


def _result_exit(r: ProgramResult, p: Any) -> int:
    if r.outcome == "refused":
        return plan_exit_code(p) if not p.ok else ExitCode.USAGE
    return OUTCOME_EXIT[r.outcome]


def _finish(
    args: argparse.Namespace,
    report: dict[str, Any],
    human: list[str],
    code: int,
    printed: bool = False,
) -> int:
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n".join(human) + "\n")
    return code


# --- itp history ------------------------------------------------------------------------


def main_history(argv: list[str]) -> int:
    parser = _parser("itp history", "read (and cache) the pump's events and hourly infusion")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    return _run(parser, argv, _history)


def _history(args: argparse.Namespace) -> int:
    with _session(args) as session:
        session.connect()

        def progress(message: str) -> None:
            sys.stderr.write(message + "\n")

        result = session.read_history(progress=progress)
        if session.demo_key:
            sys.stderr.write(DEMO_NOTE + "\n")
        serial = session.serial
        events = session.records.events(serial)
        hours = session.records.infusion_hours(
            serial, datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
        )
        if args.format == "json":
            out = {
                "demo_key": session.demo_key,
                "serial": serial,
                "read": result.__dict__,
                "events": [
                    {"seq": e.seq, "t": e.at.isoformat(), "code": e.kind, "data": dict(e.data)}
                    for e in events
                ],
                "infusion": [
                    {"hour": h.hour.isoformat(), "volume_nl": h.volume_nl, **dict(h.data)}
                    for h in hours
                ],
            }
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        else:
            w = csv.writer(sys.stdout)
            w.writerow(["record", "key", "time", "code", "basal_nl", "bolus_nl", "data"])
            for e in events:
                w.writerow(
                    [
                        "event",
                        e.seq,
                        e.at.isoformat(),
                        e.kind,
                        "",
                        "",
                        json.dumps(dict(e.data), sort_keys=True),
                    ]
                )
            for h in hours:
                w.writerow(
                    [
                        "infusion",
                        int(h.hour.timestamp()) // 3600,
                        h.hour.isoformat(),
                        "",
                        h.data.get("basal_nl", ""),
                        h.data.get("bolus_nl", ""),
                        "",
                    ]
                )
    return ExitCode.OK if result.complete else ExitCode.UNCERTAIN
