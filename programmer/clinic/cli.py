"""`itp sync --clinic URL` and `itp audit verify --clinic URL`.

Exit codes: 0 both sides hold everything / every chain is whole; 1 the sync did not
finish (the link failed: run it again) or a chain on the clinic is broken; 2 usage, an
unreadable URL, or a local database that cannot be used. Never a traceback.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from programmer.cli_support import CliUsage, Parser, fail
from programmer.clinic import server_schema
from programmer.clinic.connection import connect, parse_url
from programmer.clinic.errors import ClinicError, ClinicUrlError
from programmer.clinic.run import run_sync
from programmer.clinic.verify import verify_clinic
from programmer.exitcodes import ExitCode
from programmer.store.audit_key import AuditKeyError, key_id, load_key
from programmer.store.errors import StoreError

FAILED = 1


def _sync_parser() -> Parser:
    parser = Parser(prog="itp sync", description="exchange records with the clinic database")
    parser.add_argument("--clinic", required=True, help="postgresql://USER@HOST:PORT/DB")
    parser.add_argument("--db", type=Path, help="the local database")
    parser.add_argument("--audit-key", type=Path, help="the audit key file")
    parser.add_argument("--label", default=socket.gethostname(), help="this programmer's name")
    parser.add_argument(
        "--setup", action="store_true", help="create the clinic schema first (the clinic's admin)"
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    return parser


def main_sync(argv: Sequence[str]) -> int:
    parser = _sync_parser()
    try:
        args = parser.parse_args(list(argv))
        url = parse_url(args.clinic)
        if args.setup:
            with connect(url, autocommit=True) as conn:
                server_schema.install(conn)
        report = run_sync(args.db, args.audit_key, url, label=str(args.label)[:64])
    except CliUsage as exc:
        sys.stderr.write(f"{parser.format_usage()}{exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (StoreError, AuditKeyError, ClinicUrlError) as exc:
        return fail(ExitCode.USAGE, str(exc))
    except ClinicError as exc:
        return fail(FAILED, str(exc))
    except KeyboardInterrupt:
        return fail(FAILED, "interrupted; run the sync again to finish it")
    if args.json:
        sys.stdout.write(json.dumps(report.as_json(), indent=2, sort_keys=True) + "\n")
    else:
        pushed = ", ".join(f"{v} {k}" for k, v in sorted(report.pushed.items()) if v) or "nothing"
        pulled = ", ".join(f"{v} {k}" for k, v in sorted(report.pulled.items()) if v) or "nothing"
        sys.stdout.write(f"synced with {url.shown()}: sent {pushed}; received {pulled}\n")
        for note in report.notes:
            sys.stdout.write(f"note: {note}\n")
    return ExitCode.OK


def main_audit(argv: Sequence[str]) -> int:
    """`itp audit verify --clinic URL`; every other `itp audit` goes to the store's CLI."""
    args = list(argv)
    if not (args and args[0] == "verify" and any(a.startswith("--clinic") for a in args)):
        from programmer.store.cli import main_audit as store_audit

        return store_audit(args)
    parser = Parser(prog="itp audit verify", description="verify every chain on the clinic")
    parser.add_argument("--clinic", required=True)
    parser.add_argument(
        "--audit-key",
        type=Path,
        action="append",
        default=[],
        help="also check the MACs of the programmer this key belongs to (repeatable)",
    )
    parser.add_argument("--json", action="store_true")
    try:
        opts = parser.parse_args(args[1:])
        keys = {}
        for path in opts.audit_key:
            key = load_key(path)
            keys[key_id(key)] = key
        with connect(parse_url(opts.clinic), autocommit=True) as conn:
            results = verify_clinic(conn, keys)
    except CliUsage as exc:
        sys.stderr.write(f"{parser.format_usage()}{exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:
        return int(exc.code or 0)
    except (AuditKeyError, StoreError, ClinicUrlError) as exc:
        return fail(ExitCode.USAGE, str(exc))
    except ClinicError as exc:
        return fail(FAILED, str(exc))
    whole = all(r.ok for r in results)
    if opts.json:
        body = {"ok": whole, "programmers": [r.as_json() for r in results]}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        for r in results:
            if r.ok:
                sys.stdout.write(
                    f"ok: {r.label} ({r.programmer[:8]}): {r.records} records,"
                    f" {r.checkpoints} checkpoints\n"
                )
            else:
                sys.stdout.write(
                    f"FAILED: {r.label} ({r.programmer[:8]}) at record {r.first_bad_seq}:"
                    f" {r.problem}; records 1 to {r.records} verify\n"
                )
        if not results:
            sys.stdout.write("no programmer has synced with this clinic yet\n")
    return ExitCode.OK if whole else FAILED
