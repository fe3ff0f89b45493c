from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from programmer.store import (
    LOCKOUT,
    MAX_FAILED_SIGN_INS,
    AccountDisabled,
    AccountError,
    AccountLocked,
    Accounts,
    AuditAction,
    AuditTrail,
    AuthenticationFailed,
    NotAllowed,
    Principal,
    Role,
    Store,
)
from programmer.store.review import backup, open_for_review

from .conftest import FakeClock

ADMIN_PW = "admin-secret-1"
NURSE_PW = "nurse-secret-1"


@pytest.fixture
def admin(accounts: Accounts) -> Principal:
    accounts.add("root", Role.ADMIN, ADMIN_PW, actor=None)
    return accounts.sign_in("root", ADMIN_PW)


def actions(trail: AuditTrail) -> list[tuple[str, str | None, str | None]]:
    return [(r.action, r.account, r.reason) for r in trail.query()]


def test_first_account_must_be_an_admin(accounts: Accounts) -> None:
    assert accounts.is_empty()
    with pytest.raises(AccountError, match="first account must be an admin"):
        accounts.add("phil", Role.PHYSICIAN, "long-enough-pw", actor=None)
    accounts.add("root", Role.ADMIN, ADMIN_PW, actor=None)
    assert not accounts.is_empty()


def test_later_accounts_need_a_signed_in_admin(accounts: Accounts, admin: Principal) -> None:
    with pytest.raises(AuthenticationFailed):
        accounts.add("nina", Role.NURSE, NURSE_PW, actor=None)
    accounts.add("nina", Role.NURSE, NURSE_PW, actor=admin)
    nina = accounts.sign_in("nina", NURSE_PW)
    with pytest.raises(NotAllowed):
        accounts.add("eve", Role.ADMIN, "long-enough-pw", actor=nina)
    with pytest.raises(AccountError, match="already exists"):
        accounts.add("NINA", Role.NURSE, NURSE_PW, actor=admin)  # names ignore case
    assert [(a.name, a.role) for a in accounts.list(actor=admin)] == [
        ("nina", Role.NURSE),
        ("root", Role.ADMIN),
    ]


@pytest.mark.parametrize("name", ["", " root", "a b", "x" * 65, "-dash", "semi;colon"])
def test_bad_names_are_refused(accounts: Accounts, name: str) -> None:
    with pytest.raises(AccountError):
        accounts.add(name, Role.ADMIN, ADMIN_PW, actor=None)


@pytest.mark.parametrize("password", ["", "short", "x" * 1025])
def test_bad_passwords_are_refused(accounts: Accounts, password: str) -> None:
    with pytest.raises(AccountError, match="password"):
        accounts.add("root", Role.ADMIN, password, actor=None)


def test_password_is_stored_only_as_argon2id_with_default_strength(
    store: Store, trail: AuditTrail, db_path: Path
) -> None:
    accounts = Accounts(store, trail)  # the production hasher
    accounts.add("root", Role.ADMIN, "correct horse battery", actor=None)
    accounts.sign_in("root", "correct horse battery")
    (stored,) = store.query("SELECT password_hash FROM accounts")[0]
    assert stored.startswith("$argon2id$")
    defaults = PasswordHasher()
    assert f"m={defaults.memory_cost},t={defaults.time_cost},p={defaults.parallelism}" in stored
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [db_path, *db_path.parent.glob("*-wal")]
    assert not any(b"correct horse" in f.read_bytes() for f in files)


def test_sign_in_and_failures_are_audited(
    accounts: Accounts, trail: AuditTrail, admin: Principal
) -> None:
    with pytest.raises(AuthenticationFailed):
        accounts.sign_in("root", "wrong-password")
    with pytest.raises(AuthenticationFailed):
        accounts.sign_in("nobody", "whatever1")
    accounts.sign_out(admin)
    assert actions(trail)[1:] == [
        ("sign_in", "root", None),
        ("sign_in_failed", "root", "sign-in: wrong password"),
        ("sign_in_failed", None, "sign-in: unknown account"),  # typed name not kept
        ("sign_out", "root", None),
    ]
    assert all("wrong-password" not in str(r) for r in trail.query())


def test_five_failures_lock_for_fifteen_minutes(
    accounts: Accounts, trail: AuditTrail, admin: Principal, clock: FakeClock
) -> None:
    accounts.add("nina", Role.NURSE, NURSE_PW, actor=admin)
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        with pytest.raises(AuthenticationFailed):
            accounts.sign_in("nina", "bad-password")
    accounts.sign_in("nina", NURSE_PW)  # success resets the count
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(AuthenticationFailed):
            accounts.sign_in("nina", "bad-password")
    assert trail.query(action=AuditAction.LOCK)[-1].account == "nina"
    with pytest.raises(AccountLocked, match="locked until"):
        accounts.sign_in("nina", NURSE_PW)  # even the right password
    (info,) = [a for a in accounts.list(actor=admin) if a.name == "nina"]
    assert info.locked_until is not None
    clock.advance(seconds=LOCKOUT.total_seconds() - 1)
    with pytest.raises(AccountLocked):
        accounts.sign_in("nina", NURSE_PW)
    clock.advance(seconds=1)
    assert accounts.sign_in("nina", NURSE_PW) == Principal("nina", Role.NURSE)
    assert trail.verify().ok


def test_reauthentication_failures_count_towards_the_lockout(
    accounts: Accounts, admin: Principal
) -> None:
    accounts.reauthenticate(admin, ADMIN_PW)
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(AuthenticationFailed):
            accounts.reauthenticate(admin, "not-it-at-all")
    with pytest.raises(AccountLocked):
        accounts.reauthenticate(admin, ADMIN_PW)


def test_lock_and_unlock_are_audited(
    accounts: Accounts, trail: AuditTrail, admin: Principal
) -> None:
    accounts.lock(admin)
    with pytest.raises(AuthenticationFailed):
        accounts.unlock(admin, "wrong-one")
    accounts.unlock(admin, ADMIN_PW)
    assert [a for a, _, _ in actions(trail)[-3:]] == ["lock", "sign_in_failed", "unlock"]


def test_disabled_accounts_cannot_sign_in_or_act(accounts: Accounts, admin: Principal) -> None:
    accounts.add("boss", Role.ADMIN, ADMIN_PW, actor=admin)
    boss = accounts.sign_in("boss", ADMIN_PW)
    accounts.disable("boss", actor=admin, reason="left the clinic")
    with pytest.raises(AccountDisabled):
        accounts.sign_in("boss", ADMIN_PW)
    with pytest.raises(AccountDisabled):
        accounts.list(actor=boss)  # a session opened before the change
    accounts.enable("boss", actor=admin)
    assert accounts.sign_in("boss", ADMIN_PW).name == "boss"


def test_the_last_admin_cannot_be_disabled(accounts: Accounts, admin: Principal) -> None:
    with pytest.raises(AccountError, match="last enabled admin"):
        accounts.disable("root", actor=admin)


def test_account_changes_record_before_and_after(
    accounts: Accounts, trail: AuditTrail, admin: Principal
) -> None:
    accounts.add("nina", Role.NURSE, NURSE_PW, actor=admin)
    accounts.disable("nina", actor=admin, reason="on leave")
    added, disabled = trail.query(action=AuditAction.ACCOUNT_CHANGED)[1:]
    assert added.after_value() == {"name": "nina", "role": "nurse", "enabled": True}
    assert (added.account, added.role) == ("root", "admin")
    assert disabled.before_value() == {"name": "nina", "enabled": True}
    assert disabled.after_value() == {"name": "nina", "enabled": False}
    assert disabled.reason == "on leave"


def test_read_only_sign_in_on_a_copy_checks_the_password_and_writes_nothing(
    accounts: Accounts, trail: AuditTrail, admin: Principal, store: Store, tmp_path: Path
) -> None:
    accounts.add("boss", Role.ADMIN, ADMIN_PW, actor=admin)
    accounts.disable("boss", actor=admin)
    copy = tmp_path / "copy.sqlite3"
    backup(store, copy)
    before = copy.read_bytes()
    with open_for_review(copy) as review:
        on_copy = Accounts(review, AuditTrail(review, trail.key), hasher=accounts.hasher)
        assert on_copy.sign_in_read_only("root", ADMIN_PW) == admin
        for name, password in (("root", "wrong-password"), ("nobody", ADMIN_PW)):
            with pytest.raises(AuthenticationFailed):
                on_copy.sign_in_read_only(name, password)
        with pytest.raises(AccountDisabled):
            on_copy.sign_in_read_only("boss", ADMIN_PW)
    assert copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == [copy.name]
