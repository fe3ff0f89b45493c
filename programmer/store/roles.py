"""Roles, the actions they guard, and the permission matrix as data.

Enforced in the core: every guarded operation calls `authorize` itself, whatever the
GUI shows or hides.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    ADMIN = "admin"


class Action(StrEnum):
    INTERROGATE = "interrogate"  # connect to a pump and read status and therapy
    READ_HISTORY = "read_history"  # read and cache events and hourly infusion
    CHECK_PRESCRIPTION = "check_prescription"
    RESOLVE_UNCERTAIN = "resolve_uncertain"  # read back after a lost link; changes nothing
    RECORD_REFILL = "record_refill"  # reservoir refill with no therapy change
    PROGRAM = "program"  # send a prescription: changes the therapy
    OVERRIDE_FINDING = "override_finding"  # send despite a soft finding, with a reason
    SET_CLOCK = "set_clock"  # change the pump's clock
    REVIEW_AUDIT = "review_audit"  # read, query, verify and checkpoint the audit trail
    EXPORT = "export"  # audit trail, history and reports
    MANAGE_ACCOUNTS = "manage_accounts"  # add, list, enable, disable accounts
    CHANGE_SETTINGS = "change_settings"


_NURSE = frozenset(
    {
        Action.INTERROGATE,
        Action.READ_HISTORY,
        Action.CHECK_PRESCRIPTION,
        Action.RESOLVE_UNCERTAIN,
        Action.RECORD_REFILL,
        Action.REVIEW_AUDIT,
        Action.EXPORT,
    }
)

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.NURSE: _NURSE,
    # Everything a nurse can, plus what changes the pump's therapy or clock.
    Role.PHYSICIAN: _NURSE | {Action.PROGRAM, Action.OVERRIDE_FINDING, Action.SET_CLOCK},
    # Accounts and settings; may review and export the trail; never touches a pump.
    Role.ADMIN: frozenset(
        {Action.MANAGE_ACCOUNTS, Action.CHANGE_SETTINGS, Action.REVIEW_AUDIT, Action.EXPORT}
    ),
}


class NotAllowed(Exception):
    """This role may not do this action (exit code 7 on the command line)."""

    def __init__(self, role: Role | str, action: Action | str) -> None:
        article = "an" if str(role)[:1].lower() in "aeiou" else "a"  # "an admin account"
        super().__init__(f"{article} {role} account may not {str(action).replace('_', ' ')}")
        self.role = role
        self.action = action


def allowed(role: Role | str, action: Action) -> bool:
    try:
        return action in PERMISSIONS[Role(role)]
    except ValueError:
        return False  # an unknown role may do nothing


def authorize(role: Role | str, action: Action) -> None:
    """Raise NotAllowed unless `role` may do `action`."""
    if not allowed(role, action):
        raise NotAllowed(role, action)
