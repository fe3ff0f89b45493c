"""Accounts: Argon2id passwords, sign-in with lockout, re-authentication, and changes.

Passwords never leave this module except as Argon2id hashes; they are never logged or
audited. Every sign-in, failure, lock, unlock and account change is an audit record,
written in the same transaction as the change it describes.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from programmer.store.audit import AuditAction, AuditTrail
from programmer.store.clock import utc_seconds, utc_text
from programmer.store.db import Store
from programmer.store.password_rule import MAX_PASSWORD_LENGTH as MAX_PASSWORD_LENGTH
from programmer.store.password_rule import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from programmer.store.password_rule import WeakPassword, check_new_password
from programmer.store.roles import Action, Role, authorize
from programmer.store.seals import Sealer, select

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
IDLE_LOCK = timedelta(minutes=5)  # the GUI locks after this long without input
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class AuthError(Exception):
    """Authentication failed (exit code 7). The message never says more than needed."""


class AuthenticationFailed(AuthError):
    pass


class AccountLocked(AuthError):
    pass


class AccountDisabled(AuthError):
    pass


class AccountTampered(AuthError):
    """The account's row was changed outside itp (its seal does not match): refused."""


class AccountError(ValueError):
    """A request about accounts that cannot be done (bad name, duplicate, weak password)."""


@dataclass(frozen=True)
class Principal:
    """A signed-in account. Core operations take one and authorize its role."""

    name: str
    role: Role


@dataclass(frozen=True)
class AccountInfo:
    name: str
    role: Role
    enabled: bool
    locked_until: str | None  # ISO UTC, while locked out
    created_at: str
    created_by: str | None
    altered: bool = False  # its row was changed outside itp: sign-in refused until restored


class Accounts:
    def __init__(
        self, store: Store, trail: AuditTrail, hasher: PasswordHasher | None = None
    ) -> None:
        self.store = store
        self.trail = trail
        # argon2-cffi defaults are Argon2id (RFC 9106 low-memory profile).
        self.hasher = hasher if hasher is not None else PasswordHasher()
        self._dummy_hash: str | None = None

    def is_empty(self) -> bool:
        """No account was ever made: only then may one be added without signing in.

        Read from the audit chain too: deleting every row of `accounts` must not open
        the way to a new admin without a password.
        """
        with self.store.lock:
            return _never_had_accounts(self.store.conn)

    def add(self, name: str, role: Role | str, password: str, *, actor: Principal | None) -> None:
        """Create an account. On an empty database no actor is needed but it must be an admin."""
        role = Role(role)
        _check_name(name)
        _check_password(password, name)
        password_hash = self.hasher.hash(password)
        now = self.store.clock()
        with self.store.write() as conn:
            if _never_had_accounts(conn):
                if role is not Role.ADMIN:
                    raise AccountError("the first account must be an admin")
            elif actor is None:
                raise AuthenticationFailed("sign in as an admin to add accounts")
            else:
                self.authorize(actor, Action.MANAGE_ACCOUNTS)
            if conn.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"an account named {name!r} already exists")
            conn.execute(
                "INSERT INTO accounts (name, role, password_hash, created_at, created_s,"
                " created_by) VALUES (?, ?, ?, ?, ?, ?)",
                (name, str(role), password_hash, utc_text(now), utc_seconds(now), _by(actor)),
            )
            self._reseal(conn, name)
            self.trail.append(
                AuditAction.ACCOUNT_CHANGED,
                account=_by(actor) or name,
                role=str(actor.role if actor else role),
                after={"name": name, "role": str(role), "enabled": True},
                outcome="added",
            )

    def list(self, *, actor: Principal) -> list[AccountInfo]:
        self.authorize(actor, Action.MANAGE_ACCOUNTS)
        now_s = utc_seconds(self.store.clock())
        rows = self.store.query(f"SELECT {select('accounts')} FROM accounts ORDER BY name")
        seals = self.trail.seals  # None: read as stored (a copy reviewed without its key)
        infos = []
        for row in rows:
            name, role, _, enabled, _, locked, created_at, _, created_by = row[:-1]
            infos.append(
                AccountInfo(
                    name,
                    Role(role) if role in Role.__members__.values() else Role.NURSE,
                    bool(enabled),
                    _iso(locked) if locked is not None and locked > now_s else None,
                    created_at,
                    created_by,
                    altered=seals is not None and not seals.good("accounts", row[:-1], row[-1]),
                )
            )
        return infos

    def disable(self, name: str, *, actor: Principal, reason: str | None = None) -> None:
        self._set_enabled(name, False, actor, reason)

    def enable(self, name: str, *, actor: Principal, reason: str | None = None) -> None:
        """Re-enable an account; also clears a lockout."""
        self._set_enabled(name, True, actor, reason)

    def _set_enabled(self, name: str, enabled: bool, actor: Principal, reason: str | None) -> None:
        with self.store.write() as conn:
            self.authorize(actor, Action.MANAGE_ACCOUNTS)
            full = self._row(conn, name)
            if full is None:
                raise AccountError(f"there is no account named {name!r}")
            stored_name, role, _, was_enabled = full[:4]
            if not enabled and role == Role.ADMIN:
                admins = conn.execute(
                    "SELECT count(*) FROM accounts WHERE role = 'admin' AND enabled = 1"
                ).fetchone()[0]
                if was_enabled and admins <= 1:
                    raise AccountError("the last enabled admin cannot be disabled")
            conn.execute(
                "UPDATE accounts SET enabled = ?, failed_count = 0, locked_until_s = NULL"
                " WHERE name = ?",
                (int(enabled), name),
            )
            self._reseal(conn, name)
            self.trail.append(
                AuditAction.ACCOUNT_CHANGED,
                account=actor.name,
                role=str(actor.role),
                before={"name": stored_name, "enabled": bool(was_enabled)},
                after={"name": stored_name, "enabled": enabled},
                reason=reason,
                outcome="enabled" if enabled else "disabled",
            )

    def sign_in(self, name: str, password: str) -> Principal:
        """Check the password; 5 failures in a row lock the account for 15 minutes."""
        return self._check(name, password, AuditAction.SIGN_IN, "sign-in")

    def sign_in_read_only(self, name: str, password: str) -> Principal:
        """Sign in to review a database without a pump (the offline review).

        On the live database (writable by this user, even if the app opened it read-only)
        this is the one password check of `sign_in`, on a writable connection: failures
        count and are audited, a locked account is refused; a success writes nothing. Only on a copy that cannot be written (immutable, a
        read-only medium) is the password checked without counting; a locked or
        disabled account is refused there too. A copy grants no pump rights.
        """
        if not self.store.read_only:
            return self._check(name, password, None, "offline sign-in")
        live = self._live_path() if self.trail.verifiable else None
        if live is not None:
            from programmer.store.db import open_store  # a second connection, same file

            with open_store(live, create=False, clock=self.store.clock) as writable:
                trail = type(self.trail)(writable, self.trail.key)
                # Failures count and are audited; a success is not (reviewing writes nothing).
                return Accounts(writable, trail, self.hasher)._check(
                    name, password, None, "offline sign-in"
                )
        return self.sign_in_to_copy(name, password, self.trail.seals)

    def sign_in_to_copy(self, name: str, password: str, sealer: Sealer | None) -> Principal:
        """Check a password in a copy that cannot be written: nothing counted or audited.

        A locked or disabled account is refused. Without the audit key (sealer None) the
        account row's seal cannot be checked; a copy grants reading only.
        """
        with self.store.lock:
            full = self._row(self.store.conn, name)
        if full is None:
            self._burn_time(password)
            raise AuthenticationFailed("authentication failed")
        stored_name, role, password_hash, enabled, _, locked_until = full[:6]
        if sealer is not None and not sealer.good("accounts", full[:-1], full[-1]):
            raise AccountTampered(
                f"the account record of {stored_name!r} was changed outside itp: refused"
            )
        if locked_until is not None and locked_until > utc_seconds(self.store.clock()):
            raise AccountLocked(
                f"too many failed sign-ins: the account {stored_name!r} is locked until "
                f"{_iso(locked_until)}"
            )
        if not enabled:
            raise AccountDisabled(f"the account {stored_name!r} is disabled")
        if not self._password_ok(password_hash, password):
            raise AuthenticationFailed("authentication failed")
        return Principal(stored_name, Role(role))

    def _live_path(self) -> Path | None:
        """The database file when it is a live one this user may write, else None."""
        path = self.store.path
        if path is None or self.store.immutable:
            return None
        if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
            return path
        return None

    def reauthenticate(self, principal: Principal, password: str) -> None:
        """Ask again before sending a program. Failures count towards the lockout."""
        self._check(principal.name, password, None, "re-authentication")

    def sign_out(self, principal: Principal) -> None:
        self.trail.append(AuditAction.SIGN_OUT, account=principal.name, role=str(principal.role))

    def lock(self, principal: Principal, reason: str = "idle") -> None:
        """The screen locked (idle or on request); unlocking needs the password."""
        self.trail.append(
            AuditAction.LOCK, account=principal.name, role=str(principal.role), reason=reason
        )

    def unlock(self, principal: Principal, password: str) -> None:
        self._check(principal.name, password, AuditAction.UNLOCK, "unlock")

    def _check(
        self, name: str, password: str, success: AuditAction | None, purpose: str
    ) -> Principal:
        """The one code path of every password check: sign-in, re-authentication, unlock.

        All of it runs in one write transaction (BEGIN IMMEDIATE): the lockout is read, the
        password checked and the count or the lock written before another attempt, in
        this process or another, can look. Parallel attempts queue behind it, and once the
        account is locked none of them is even tried, the right password included.
        """
        with self.store.write() as conn:
            result = self._attempt(conn, name, password, success, purpose)
        # Raised only after the commit: the failure's count and audit record must stay.
        if isinstance(result, AuthError):
            raise result
        return result

    def _attempt(
        self,
        conn: sqlite3.Connection,
        name: str,
        password: str,
        success: AuditAction | None,
        purpose: str,
    ) -> Principal | AuthError:
        now_s = utc_seconds(self.store.clock())
        full = self._row(conn, name)
        if full is None:
            self._burn_time(password)  # same cost as a real check: no name probing by timing
            # The typed name is not recorded: people type passwords into the name field.
            self._failed(None, None, f"{purpose}: unknown account")
            return AuthenticationFailed("authentication failed")
        stored_name, role, password_hash, enabled, failures, locked_until = full[:6]
        if not self.trail.sealer.good("accounts", full[:-1], full[-1]):
            self._failed(stored_name, role, f"{purpose}: account record changed outside itp")
            return AccountTampered(
                f"the account record of {stored_name!r} was changed outside itp, so it is "
                "not trusted: sign-in refused; an admin should run `itp audit verify`"
            )
        if not enabled:
            self._failed(stored_name, role, f"{purpose}: account disabled")
            return AccountDisabled(f"the account {stored_name!r} is disabled")
        if locked_until is not None and locked_until > now_s:
            self._failed(stored_name, role, f"{purpose}: account locked")
            return AccountLocked(
                f"too many failed sign-ins: the account {stored_name!r} is locked until "
                f"{_iso(locked_until)}"
            )
        if not self._password_ok(password_hash, password):
            failures += 1
            if failures >= MAX_FAILED_SIGN_INS:
                until = now_s + int(LOCKOUT.total_seconds())
                conn.execute(
                    "UPDATE accounts SET failed_count = 0, locked_until_s = ? WHERE name = ?",
                    (until, stored_name),
                )
                self._reseal(conn, stored_name)
                self._failed(stored_name, role, f"{purpose}: wrong password", "locked")
                self.trail.append(
                    AuditAction.LOCK,
                    account=stored_name,
                    role=role,
                    reason=f"{MAX_FAILED_SIGN_INS} failed sign-ins",
                    after={"locked_until": _iso(until)},
                )
            else:
                conn.execute(
                    "UPDATE accounts SET failed_count = ?, locked_until_s = NULL WHERE name = ?",
                    (failures, stored_name),
                )
                self._reseal(conn, stored_name)
                self._failed(stored_name, role, f"{purpose}: wrong password")
            return AuthenticationFailed("authentication failed")
        new_hash = (
            self.hasher.hash(password) if self.hasher.check_needs_rehash(password_hash) else None
        )
        if failures or locked_until is not None or new_hash is not None:
            conn.execute(
                "UPDATE accounts SET failed_count = 0, locked_until_s = NULL,"
                " password_hash = coalesce(?, password_hash) WHERE name = ?",
                (new_hash, stored_name),
            )
            self._reseal(conn, stored_name)
        if success is not None:
            self.trail.append(success, account=stored_name, role=role)
        return Principal(stored_name, Role(role))

    def _failed(
        self, name: str | None, role: str | None, reason: str, outcome: str = "refused"
    ) -> None:
        self.trail.append(
            AuditAction.SIGN_IN_FAILED, account=name, role=role, reason=reason, outcome=outcome
        )

    def _password_ok(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _burn_time(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("itp-dummy-password")
        self._password_ok(self._dummy_hash, password)

    def authorize(self, actor: Principal, action: Action) -> None:
        """The role must allow the action and the account must still be enabled."""
        authorize(actor.role, action)
        with self.store.lock:
            full = self._row(self.store.conn, actor.name)
        if full is None or not full[3]:
            raise AccountDisabled(f"the account {actor.name!r} is disabled")
        seals = self.trail.seals  # None: a copy reviewed without its key, read as stored
        sealed = seals is None or seals.good("accounts", full[:-1], full[-1])
        if not sealed or full[1] != actor.role:
            raise AccountTampered(
                f"the account record of {actor.name!r} was changed outside itp, so it is "
                "not trusted: refused; an admin should run `itp audit verify`"
            )

    def _row(self, conn: sqlite3.Connection, name: str) -> tuple[Any, ...] | None:
        """The account's sealed columns (seals.SEALED order) and its seal, or None."""
        row = conn.execute(f"SELECT {select('accounts')} FROM accounts WHERE name = ?", (name,))
        found = row.fetchone()
        return None if found is None else tuple(found)

    def _reseal(self, conn: sqlite3.Connection, name: str) -> None:
        self.trail.sealer.reseal(conn, "accounts", "name = ?", (name,))


def _never_had_accounts(conn: sqlite3.Connection) -> bool:
    rows = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    audited = conn.execute(
        "SELECT 1 FROM audit WHERE action = 'account_changed' LIMIT 1"
    ).fetchone()
    return rows == 0 and audited is None


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise AccountError(
            "an account name is 1 to 64 letters, digits or . _ @ -, starting with a letter or digit"
        )


def _check_password(password: str, name: str) -> None:
    try:
        check_new_password(password, name)
    except WeakPassword as exc:
        raise AccountError(str(exc)) from None


def _by(actor: Principal | None) -> str | None:
    return actor.name if actor is not None else None


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
