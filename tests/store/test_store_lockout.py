"""The lockout in one write transaction, every sign-in path; the password rule (issue 13 s2).

Before: the lockout was read outside the write transaction, so 23 parallel wrong
passwords were all tried and a parallel right one cleared the lock; the offline review's
sign-in on a live database neither counted nor audited failures and admitted a locked
account; "password", "12345678" and eight spaces were accepted.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from programmer.store import (
    MAX_FAILED_SIGN_INS,
    AccountError,
    AccountLocked,
    Accounts,
    AuditAction,
    AuditTrail,
    AuthError,
    Role,
    open_store,
)

from .conftest import FakeClock

ADMIN_PW = "admin-secret-1"
NURSE_PW = "nurse-secret-1"


class SlowCountingHasher(PasswordHasher):
    """Cheap Argon2 made slow and counted: parallel attempts overlap in the old code."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checks = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.checks += 1
        time.sleep(0.05)
        return super().verify(hash, password)


def _setup(db_path: Path, key_path: Path, clock: FakeClock) -> None:
    with open_store(db_path, clock=clock) as store:
        accounts = Accounts(store, AuditTrail.open(store, key_path), hasher=SlowCountingHasher())
        accounts.add("root", Role.ADMIN, ADMIN_PW, actor=None)
        admin = accounts.sign_in("root", ADMIN_PW)
        accounts.add("nina", Role.NURSE, NURSE_PW, actor=admin)


def test_parallel_wrong_passwords_are_not_all_tried_and_a_right_one_does_not_unlock(
    db_path: Path, key_path: Path, clock: FakeClock
) -> None:
    _setup(db_path, key_path, clock)
    hasher = SlowCountingHasher()
    attempts = [f"wrong-guess-{i}" for i in range(23)]
    attempts.insert(17, NURSE_PW)
    start = threading.Barrier(len(attempts))
    results: list[str] = []

    def attempt(password: str) -> None:
        with open_store(db_path, clock=clock, busy_timeout_s=30) as store:
            accounts = Accounts(store, AuditTrail.open(store, key_path), hasher=hasher)
            start.wait()
            try:
                accounts.sign_in("nina", password)
                results.append("in")
            except AuthError as exc:
                results.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == len(attempts)
    # Once locked, nothing is tried; the right password may come first (then 5 more
    # wrong ones lock it) but never in between to clear a lock.
    assert hasher.checks <= 2 * MAX_FAILED_SIGN_INS, hasher.checks
    assert results.count("AccountLocked") >= len(attempts) - 2 * MAX_FAILED_SIGN_INS
    with open_store(db_path, clock=clock) as store:
        trail = AuditTrail.open(store, key_path)
        accounts = Accounts(store, trail, hasher=SlowCountingHasher())
        failed = trail.query(action=AuditAction.SIGN_IN_FAILED, account="nina")
        assert len(failed) == 24 - results.count("in")  # every refusal audited
        with pytest.raises(AccountLocked):
            accounts.sign_in("nina", NURSE_PW)
        assert trail.verify().ok


def test_offline_sign_in_on_a_live_database_counts_audits_and_refuses_a_locked_account(
    db_path: Path, key_path: Path, clock: FakeClock
) -> None:
    _setup(db_path, key_path, clock)
    with open_store(db_path, clock=clock, create=False, read_only=True) as store:
        trail = AuditTrail.open(store, key_path)
        accounts = Accounts(store, trail, hasher=PasswordHasher(1, 1024, 1))
        for _ in range(MAX_FAILED_SIGN_INS):
            with pytest.raises(AuthError):
                accounts.sign_in_read_only("nina", "not-her-password")
        with pytest.raises(AccountLocked):
            accounts.sign_in_read_only("nina", NURSE_PW)
        failed = trail.query(action=AuditAction.SIGN_IN_FAILED, account="nina")
        assert len(failed) == MAX_FAILED_SIGN_INS + 1
        assert trail.query(action=AuditAction.LOCK, account="nina")
        clock.advance(minutes=16)
        assert accounts.sign_in_read_only("nina", NURSE_PW).role is Role.NURSE


REFUSED = [
    ("common", "password"),
    ("common digits", "12345678"),
    ("common, capital and suffix", "Password1!"),
    ("common phrase", "iloveyou"),
    ("common with year", "sunshine2024"),
    ("spaces only", " " * 8),
    ("tabs and spaces", " \t \t \t \t"),
    ("one character", "zzzzzzzzzz"),
    ("alphabet run", "abcdefghij"),
    ("digits down", "87654321"),
    ("keyboard row", "asdfghjkl"),
    ("the account name", "nina.smith"),
    ("the account name and digits", "nina.smith2024"),
    ("too short", "x7#q"),
]


@pytest.mark.parametrize(("why", "password"), REFUSED, ids=[r[0] for r in REFUSED])
def test_common_and_trivial_passwords_are_refused(
    why: str, password: str, accounts: Accounts
) -> None:
    accounts.add("root", Role.ADMIN, ADMIN_PW, actor=None)
    admin = accounts.sign_in("root", ADMIN_PW)
    with pytest.raises(AccountError) as refused:
        accounts.add("nina.smith", Role.NURSE, password, actor=admin)
    assert repr(password) not in str(refused.value)  # never echoed
    assert accounts.list(actor=admin)[-1].name == "root"


@pytest.mark.parametrize(
    "password", ["correct horse battery", "nurse-secret-1", "Tr0ub4dor&3x", "nina.smith is on call"]
)
def test_reasonable_passwords_are_accepted(password: str, accounts: Accounts) -> None:
    accounts.add("root", Role.ADMIN, ADMIN_PW, actor=None)
    admin = accounts.sign_in("root", ADMIN_PW)
    accounts.add("nina.smith", Role.NURSE, password, actor=admin)
