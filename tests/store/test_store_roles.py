"""The role × action matrix, exhaustively, at the core level (no GUI involved)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from programmer.store import (
    Accounts,
    Action,
    AuditTrail,
    NotAllowed,
    Principal,
    Records,
    Role,
    allowed,
    authorize,
    checkpoint_trail,
    export_trail,
    verify_trail,
)

# Written out from issue 4, independently of programmer.store.roles.PERMISSIONS.
P, N, A = Role.PHYSICIAN, Role.NURSE, Role.ADMIN
EXPECTED: dict[Action, set[Role]] = {
    Action.INTERROGATE: {P, N},
    Action.READ_HISTORY: {P, N},
    Action.CHECK_PRESCRIPTION: {P, N},
    Action.RESOLVE_UNCERTAIN: {P, N},
    Action.RECORD_REFILL: {P, N},
    Action.PROGRAM: {P},
    Action.OVERRIDE_FINDING: {P},
    Action.SET_CLOCK: {P},
    Action.REVIEW_AUDIT: {P, N, A},
    Action.EXPORT: {P, N, A},
    Action.MANAGE_ACCOUNTS: {A},
    Action.CHANGE_SETTINGS: {A},
}


def test_the_expected_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_authorize(role: Role, action: Action) -> None:
    if role in EXPECTED[action]:
        authorize(role, action)
        assert allowed(role, action)
    else:
        with pytest.raises(NotAllowed, match=f"an? {role} account may not"):
            authorize(role, action)
        assert not allowed(role, action)


@pytest.mark.parametrize("action", list(Action))
def test_unknown_roles_may_do_nothing(action: Action) -> None:
    with pytest.raises(NotAllowed):
        authorize("superuser", action)


def test_admin_never_programs_and_nurse_never_changes_therapy() -> None:
    therapy = {Action.PROGRAM, Action.OVERRIDE_FINDING, Action.SET_CLOCK}
    for action in therapy:
        assert not allowed(Role.ADMIN, action) and not allowed(Role.NURSE, action)


# Each core operation guarded in programmer.store, with the action it needs.
Operation = Callable[[Principal, Accounts, Records, AuditTrail], object]
OPERATIONS: dict[str, tuple[Action, Operation]] = {
    "add account": (
        Action.MANAGE_ACCOUNTS,
        lambda me, acc, rec, tr: acc.add("newbie", Role.NURSE, "pw-for-tests-1", actor=me),
    ),
    "list accounts": (Action.MANAGE_ACCOUNTS, lambda me, acc, rec, tr: acc.list(actor=me)),
    "disable account": (
        Action.MANAGE_ACCOUNTS,
        lambda me, acc, rec, tr: acc.disable("spare", actor=me),
    ),
    "enable account": (
        Action.MANAGE_ACCOUNTS,
        lambda me, acc, rec, tr: acc.enable("spare", actor=me),
    ),
    "change a setting": (
        Action.CHANGE_SETTINGS,
        lambda me, acc, rec, tr: rec.set_setting(me, "idle_lock_minutes", 5),
    ),
    "record a refill": (
        Action.RECORD_REFILL,
        lambda me, acc, rec, tr: rec.record_refill(
            me, "ITP40-1", removed_nl=4_600_000, added_nl=18_000_000
        ),
    ),
    "record a prescription sent": (
        Action.PROGRAM,
        lambda me, acc, rec, tr: rec.record_prescription_sent(me, "ITP40-1", {}, {}),
    ),
    "verify the trail": (Action.REVIEW_AUDIT, lambda me, acc, rec, tr: verify_trail(tr, me)),
    "checkpoint the trail": (
        Action.REVIEW_AUDIT,
        lambda me, acc, rec, tr: checkpoint_trail(tr, me),
    ),
    "export the trail": (
        Action.EXPORT,
        lambda me, acc, rec, tr: export_trail(tr, me, "json", io.StringIO()),
    ),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_core_operations_enforce_the_matrix(
    role: Role, operation: str, accounts: Accounts, records: Records, trail: AuditTrail
) -> None:
    accounts.add("root", Role.ADMIN, "pw-for-tests-0", actor=None)
    root = accounts.sign_in("root", "pw-for-tests-0")
    accounts.add("spare", Role.NURSE, "pw-for-tests-2", actor=root)
    accounts.add("me", role, "pw-for-tests-3", actor=root)
    me = accounts.sign_in("me", "pw-for-tests-3")
    records.upsert_pump("ITP40-1", "ITP-40")
    action, run = OPERATIONS[operation]
    before = trail.verify().records
    if role in EXPECTED[action]:
        run(me, accounts, records, trail)
    else:
        with pytest.raises(NotAllowed):
            run(me, accounts, records, trail)
        assert trail.verify().records == before  # a refusal changes nothing


def test_the_refusal_reads_as_english() -> None:
    """ "an admin account", never "a admin account"."""
    with pytest.raises(NotAllowed) as refused:
        authorize(Role.ADMIN, Action.PROGRAM)
    assert str(refused.value) == "an admin account may not program"
    with pytest.raises(NotAllowed) as refused:
        authorize(Role.NURSE, Action.MANAGE_ACCOUNTS)
    assert str(refused.value) == "a nurse account may not manage accounts"
