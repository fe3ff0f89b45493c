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
from programmer.store.checkpoints import SETTING as CHECKPOINT_SETTING
from programmer.store.checkpoints import configured_folder, write_after_session
from programmer.store.db import Store, default_db_path, open_store
from programmer.store.errors import StoreError
from programmer.store.records import Records

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
        "--audit-key",
        type=Path,
        help=f"the audit key file (default: the OS keyring, else {default_key_path()})",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        help="after the command, write the audit trail's head here (another disk or share); "
        "also ITP_CHECKPOINT_DIR or the setting audit_checkpoint_folder",
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
        try:
            yield store, trail
        finally:
            routine_checkpoint(store, trail, getattr(args, "checkpoint_dir", None))


def checkpoint_folder(store: Store, trail: AuditTrail, option: Path | None) -> Path | None:
    """Where the user wants the routine checkpoint (option, environment, setting)."""
    try:
        setting = Records(store, trail).get_setting(CHECKPOINT_SETTING)
    except StoreError as exc:  # a setting changed outside itp is not followed
        sys.stderr.write(f"itp: warning: {exc}\n")
        setting = None
    return configured_folder(option, setting)


def routine_checkpoint(store: Store, trail: AuditTrail, option: Path | None) -> None:
    """After each session: the trail's head to the folder the user named, if any."""
    if store.read_only:
        return
    try:
        folder = checkpoint_folder(store, trail, option)
        if folder is None:
            return
        result = write_after_session(trail, folder)
    except (StoreError, OSError) as exc:  # the command's own outcome stands
        sys.stderr.write(f"itp: WARNING: no audit checkpoint written: {exc}\n")
        return
    sys.stderr.write(f"itp: {'' if result.written else 'WARNING: '}{result.message}\n")


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
