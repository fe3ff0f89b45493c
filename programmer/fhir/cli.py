"""`itp export fhir --visit ID [--out FILE]`: the visit as a FHIR R4 Bundle (JSON).

Needs a signed-in account allowed to export (physician, nurse, admin); the export is
written to the audit trail (action `export`) before the file is written. Exit 0 done,
2 usage / no such visit / a database that cannot be used, 7 not allowed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from programmer.cli_support import (
    CliUsage,
    Parser,
    add_store_options,
    fail,
    opened_store,
    signed_in,
)
from programmer.exitcodes import ExitCode
from programmer.fhir.bundle import bundle_json
from programmer.fhir.visit_data import VisitNotFound, load_visit
from programmer.store import Accounts, AuditAction, AuthError, StoreError
from programmer.store.roles import Action, NotAllowed

MAX_VISIT_ID = 2**63 - 1


def _parser() -> Parser:
    parser = Parser(prog="itp export", description="export records for other systems")
    sub = parser.add_subparsers(dest="format", required=True, parser_class=Parser)
    fhir = sub.add_parser("fhir", help="a visit as a FHIR R4 Bundle (JSON)")
    fhir.add_argument("--visit", required=True, help="the visit's ID (on its visit report)")
    fhir.add_argument("--out", type=Path, help="file to write (default: standard output)")
    add_store_options(fhir)
    return parser


def visit_id(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= MAX_VISIT_ID:
        raise CliUsage(f"--visit: {text!r} is not a visit ID (a whole number from 1)")
    return int(text)


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
        wanted = visit_id(args.visit)
        with opened_store(args) as (store, trail):
            accounts = Accounts(store, trail)
            with signed_in(accounts, args.user) as me:
                accounts.authorize(me, Action.EXPORT)
                text = bundle_json(load_visit(store, wanted))
                trail.append(
                    AuditAction.EXPORT,
                    account=me.name,
                    role=str(me.role),
                    after={
                        "format": "fhir-r4-bundle",
                        "visit": wanted,
                        "to": str(args.out) if args.out else "stdout",
                    },
                    outcome="exported",
                )
        if args.out is None:
            sys.stdout.write(text)
        else:
            write_atomically(args.out, text)
            sys.stderr.write(f"visit {wanted} -> {args.out}\n")
        return ExitCode.OK
    except CliUsage as exc:
        sys.stderr.write(f"{parser.format_usage()}{exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (AuthError, NotAllowed) as exc:
        return fail(ExitCode.NOT_ALLOWED, str(exc))
    except (VisitNotFound, StoreError) as exc:
        return fail(ExitCode.USAGE, str(exc))
    except OSError as exc:
        return fail(ExitCode.USAGE, f"cannot write {args.out}: {exc.strerror or exc}")


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
