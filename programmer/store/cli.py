"""`itp audit ...` and `itp users ...` (../shared/cli-and-prescription.md).

Exit codes: 0 done; 1 the trail does not verify (tampering, truncation or rollback);
2 usage error, unreadable input, or a database that cannot be used (locked, read-only,
full, damaged, newer); 7 not allowed for this user, or authentication failed.
Never a traceback: every expected error becomes one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from programmer.cli_support import (
    CliUsage,
    Parser,
    add_store_options,
    checkpoint_folder,
    fail,
    opened_store,
    secret,
    signed_in,
)
from programmer.exitcodes import ExitCode
from programmer.files import create_private
from programmer.store.accounts import AccountError, Accounts, AuthError, Principal
from programmer.store.audit import AuditAction
from programmer.store.audit_chain import Checkpoint, CheckpointError, Problem, VerifyResult
from programmer.store.audit_export import verify_export
from programmer.store.audit_key import default_key_path, load_key
from programmer.store.audit_review import checkpoint_trail, export_trail, verify_trail
from programmer.store.checkpoints import checkpoint_path, previous_checkpoint
from programmer.store.errors import StoreError
from programmer.store.review import backup
from programmer.store.roles import Action, NotAllowed, Role

VERIFY_FAILED = 1  # not in the shared contract, which has no code for a bad trail


def _audit_parser() -> Parser:
    parser = Parser(prog="itp audit", description="verify, export or checkpoint the audit trail")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    verify = sub.add_parser("verify", help="check every record; exit 1 if any is bad")
    add_store_options(verify)
    verify.add_argument("--checkpoint", type=Path, help="a checkpoint written earlier")
    verify.add_argument(
        "--export", type=Path, help="verify an exported file instead (needs only the key)"
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    export = sub.add_parser("export", help="write every record with its MAC")
    add_store_options(export)
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    checkpoint = sub.add_parser("checkpoint", help="write the head of the trail to a file")
    add_store_options(checkpoint)
    checkpoint.add_argument("--out", type=Path, required=True)
    return parser


def _users_parser() -> Parser:
    parser = Parser(prog="itp users", description="add, list, enable or disable accounts")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add = sub.add_parser("add", help="add an account (password from ITP_NEW_PASSWORD)")
    add_store_options(add)
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    listing = sub.add_parser("list", help="list accounts")
    add_store_options(listing)
    listing.add_argument("--json", action="store_true")
    for name in ("disable", "enable"):
        change = sub.add_parser(name, help=f"{name} an account")
        add_store_options(change)
        change.add_argument("name")
        change.add_argument("--reason")
    return parser


def _backup_parser() -> Parser:
    parser = Parser(
        prog="itp backup",
        description="a consistent copy of the database (safe while the app runs), mode 0600",
    )
    add_store_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="the copy to create (new file)")
    return parser


def main_backup(argv: list[str]) -> int:
    return _run(_backup_parser(), argv, _backup)


def _backup(args: argparse.Namespace) -> int:
    with opened_store(args) as (store, trail):
        accounts = Accounts(store, trail)
        with signed_in(accounts, args.user) as me:
            accounts.authorize(me, Action.EXPORT)
            if args.out.exists():
                raise CliUsage(f"{args.out} already exists; choose another name")
            # Recorded first, so the copy holds the record of its own making.
            trail.append(
                AuditAction.EXPORT,
                account=me.name,
                role=str(me.role),
                after={"what": "database backup", "out": str(args.out)},
            )
            size = backup(store, args.out)
    sys.stdout.write(
        f"backup: {args.out} ({size:,} bytes), a consistent copy; "
        f"review it with: itp gui --offline --db {args.out}\n"
    )
    return ExitCode.OK


def main_audit(argv: list[str]) -> int:
    return _run(_audit_parser(), argv, _audit)


def main_users(argv: list[str]) -> int:
    return _run(_users_parser(), argv, _users)


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
    except (CliUsage, AccountError, CheckpointError, StoreError, ValueError) as exc:
        return fail(ExitCode.USAGE, str(exc))
    except OSError as exc:  # e.g. --out in a folder that does not exist
        return fail(ExitCode.USAGE, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        return fail(ExitCode.USAGE, "interrupted")


# -- itp audit ------------------------------------------------------------------------------


def _audit(args: argparse.Namespace) -> int:
    checkpoint = Checkpoint.load(args.checkpoint) if getattr(args, "checkpoint", None) else None
    if args.command == "verify" and args.export is not None:
        key = load_key(args.audit_key or default_key_path())
        return _report(verify_export(args.export, key, checkpoint), args.json)
    with opened_store(args) as (store, trail):
        accounts = Accounts(store, trail)
        with signed_in(accounts, args.user) as me:
            if args.command == "verify":
                integrity = store.integrity_check()
                if integrity != ["ok"]:
                    return fail(VERIFY_FAILED, "the database file is damaged: " + integrity[0])
                if checkpoint is None:  # the routine one, from the folder the user named
                    folder = checkpoint_folder(store, trail, args.checkpoint_dir)
                    checkpoint = None if folder is None else previous_checkpoint(trail, folder)
                    if checkpoint is not None and folder is not None:
                        where = checkpoint_path(trail, folder)
                        sys.stderr.write(f"itp: checked against the checkpoint {where}\n")
                return _report(verify_trail(trail, me, checkpoint), args.json)
            if args.command == "checkpoint":
                point = checkpoint_trail(trail, me, args.out)
                sys.stdout.write(f"checkpoint: record {point.seq}, MAC {point.mac} -> {args.out}\n")
                return ExitCode.OK
            with _output(args.out) as out:
                count = export_trail(trail, me, args.format, out)
            sys.stderr.write(f"exported {count} records\n")
            return ExitCode.OK


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    try:
        # Owner-only: the trail names accounts, pumps and doses.
        with os.fdopen(create_private(path), "w", encoding="utf-8", newline="") as handle:
            yield handle
    except OSError as exc:
        raise CliUsage(f"cannot write {path}: {exc}") from exc


def _report(result: VerifyResult, as_json: bool) -> int:
    if as_json:
        body = {
            "ok": result.ok,
            "records": result.records,
            "head": {"seq": result.head.seq, "mac": result.head.mac},
            "first_bad_seq": result.first_bad_seq,
            "problem": None if result.problem is None else str(result.problem),
            "message": result.message,
            "row_problems": [
                {"table": p.table, "key": list(p.key), "message": p.message}
                for p in result.row_problems
            ],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    elif result.ok:
        sys.stdout.write(f"ok: {result.records} records verify; head MAC {result.head.mac}\n")
    elif result.problem is Problem.ROW_ALTERED:
        sys.stdout.write(
            f"FAILED ({result.problem}): the {result.records} audit records verify, but "
            f"{len(result.row_problems)} stored row(s) were changed outside itp:\n"
        )
        for problem in result.row_problems:
            sys.stdout.write(f"  {problem.message}\n")
    else:
        sys.stdout.write(
            f"FAILED at record {result.first_bad_seq} ({result.problem}): {result.message}; "
            f"records 1 to {result.records} verify\n"
        )
    return ExitCode.OK if result.ok else VERIFY_FAILED


# -- itp users ------------------------------------------------------------------------------


def _users(args: argparse.Namespace) -> int:
    with opened_store(args, create=args.command == "add") as (store, trail):
        accounts = Accounts(store, trail)
        if args.command == "add" and accounts.is_empty():
            password = secret("ITP_NEW_PASSWORD", f"new password for {args.name}: ")
            accounts.add(args.name, args.role, password, actor=None)
            sys.stdout.write(f"added {args.role} {args.name} (the first account)\n")
            return ExitCode.OK
        with signed_in(accounts, args.user) as me:
            if args.command == "add":
                accounts.authorize(me, Action.MANAGE_ACCOUNTS)
                password = secret("ITP_NEW_PASSWORD", f"new password for {args.name}: ")
                accounts.add(args.name, args.role, password, actor=me)
                sys.stdout.write(f"added {args.role} {args.name}\n")
            elif args.command == "list":
                _print_accounts(accounts, me, args.json)
            elif args.command == "disable":
                accounts.disable(args.name, actor=me, reason=args.reason)
                sys.stdout.write(f"disabled {args.name}\n")
            else:
                accounts.enable(args.name, actor=me, reason=args.reason)
                sys.stdout.write(f"enabled {args.name}\n")
        return ExitCode.OK


def _print_accounts(accounts: Accounts, me: Principal, as_json: bool) -> None:
    rows = accounts.list(actor=me)
    if as_json:
        body = [
            {
                "name": a.name,
                "role": str(a.role),
                "enabled": a.enabled,
                "locked_until": a.locked_until,
                "created_at": a.created_at,
            }
            for a in rows
        ]
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    width = max([len(a.name) for a in rows] + [4])
    sys.stdout.write(f"{'name':<{width}}  role       status\n")
    for a in rows:
        status = "enabled" if a.enabled else "disabled"
        if a.locked_until:
            status += f", locked until {a.locked_until}"
        sys.stdout.write(f"{a.name:<{width}}  {a.role!s:<9}  {status}\n")
