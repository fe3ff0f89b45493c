"""Who may read and write patient records (issue 15: nurses and physicians read; physicians
write; nurses also record refills). Enforced in the core, whatever the app shows."""

from __future__ import annotations

from enum import StrEnum

from programmer.store.accounts import Principal
from programmer.store.roles import NotAllowed, Role


class PatientAction(StrEnum):
    READ = "read patient records"
    WRITE = "change patient records"
    RECORD_REFILL = "record a refill"


ALLOWED: dict[PatientAction, frozenset[Role]] = {
    PatientAction.READ: frozenset({Role.NURSE, Role.PHYSICIAN}),
    PatientAction.WRITE: frozenset({Role.PHYSICIAN}),
    PatientAction.RECORD_REFILL: frozenset({Role.NURSE, Role.PHYSICIAN}),
}


def may(actor: Principal, action: PatientAction) -> bool:
    try:
        return Role(actor.role) in ALLOWED[action]
    except ValueError:
        return False


def require(actor: Principal, action: PatientAction) -> None:
    if not may(actor, action):
        raise NotAllowed(actor.role, action.value)
