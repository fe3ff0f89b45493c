"""What every `itp` subcommand shares: argument errors as exit 2, the store, sign-in, secrets."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from programmer.files import FileRefused, read_bounded
from programmer.link.messages import DEMO_KEY
from programmer.store.accounts import Accounts, AuthError, Principal
from programmer.store.audit import AuditTrail
from programmer.store.audit_key import default_key_path
from programmer.store.db import Store, default_db_path, open_store

KEY_BYTES = 32


class CliUsage(Exception):
    """A usage error: exit code 2, the message on one line."""


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so each main returns its exit code."""

    def error(self, message: str) -> NoReturn:
        raise CliUsage(f"{self.prog}: {message}")


def add_store_options(parser: argparse.ArgumentParser, user: bool = True) -> None:
    parser.add_argument("--db", type=Path, help=f"database (default {default_db_path()})")
    if user:
        parser.add_argument("--user", help="the acting account (password from ITP_PASSWORD)")
    parser.add_argument(
        "--audit-key", type=Path, help=f"the audit key file (default {default_key_path()})"
    )


def fail(code: int, message: str) -> int:
    sys.stderr.write(f"itp: {message}\n")
    return code


@contextlib.contextmanager
def opened_store(
    args: argparse.Namespace, create: bool = False
) -> Iterator[tuple[Store, AuditTrail]]:
    with open_store(args.db, create=create) as store:
        for notice in store.notices:
            sys.stderr.write(f"itp: note: {notice}\n")
        trail = AuditTrail.open(store, args.audit_key)
        if trail.key_notice:
            sys.stderr.write(f"itp: note: {trail.key_notice}\n")
        yield store, trail


@contextlib.contextmanager
def signed_in(accounts: Accounts, name: str | None) -> Iterator[Principal]:
    if not name:
        raise CliUsage("give the acting account with --user NAME")
    principal = accounts.sign_in(name, secret("ITP_PASSWORD", f"password for {name}: "))
    try:
        yield principal
    finally:
        accounts.sign_out(principal)


def secret(variable: str, prompt: str) -> str:
    value = os.environ.get(variable)
    if value is not None:
        return value
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise AuthError(f"no password given (set {variable} or type it)") from None


def read_key_file(path: Path | None) -> bytes:
    """The clinic key: exactly 32 raw bytes; None gives the demo key."""
    if path is None:
        return DEMO_KEY
    try:
        # One byte over is enough to say "too long"; /dev/zero or a FIFO is never read.
        data = read_bounded(path, KEY_BYTES + 1, "the key file")
    except FileRefused as exc:
        raise CliUsage(str(exc)) from None
    if len(data) != KEY_BYTES:
        raise CliUsage(
            f"the key file {path} holds {'more than ' if len(data) > KEY_BYTES else ''}"
            f"{min(len(data), KEY_BYTES)} bytes; a clinic key is exactly {KEY_BYTES} raw bytes"
        )
    return data
