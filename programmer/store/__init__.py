"""The local store: SQLite database, HMAC-chained audit trail, accounts and roles.

Typical use by the pump session:

    store = open_store(path)                      # None: the platform's user data folder
    trail = AuditTrail.open(store)                # key in the user config folder
    accounts = Accounts(store, trail)
    me = accounts.sign_in(name, password)
    accounts.authorize(me, Action.PROGRAM)        # raises NotAllowed
    accounts.reauthenticate(me, password)         # before sending a program
    trail.append(AuditAction.PROGRAM_INTENT, ...) # raises StoreError: then send nothing
"""

from programmer.store.accounts import (
    IDLE_LOCK,
    LOCKOUT,
    MAX_FAILED_SIGN_INS,
    AccountDisabled,
    AccountError,
    AccountInfo,
    AccountLocked,
    Accounts,
    AuthenticationFailed,
    AuthError,
    Principal,
)
from programmer.store.audit import AuditAction, AuditTrail, ProgramOutcome
from programmer.store.audit_chain import (
    AuditRecord,
    Checkpoint,
    CheckpointError,
    Problem,
    VerifyResult,
)
from programmer.store.audit_export import ExportUnreadable, verify_export
from programmer.store.audit_key import AuditKeyError, default_key_path
from programmer.store.audit_review import checkpoint_trail, export_trail, verify_trail
from programmer.store.clock import Clock, system_clock
from programmer.store.db import Store, default_db_path, open_memory_store, open_store
from programmer.store.errors import (
    AppendOnlyViolation,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreIOError,
    StoreLocked,
    StoreNewerSchema,
    StoreReadOnly,
    StoreUnavailable,
)
from programmer.store.records import InfusionHour, PumpEvent, Records, Refill, SaveResult
from programmer.store.roles import PERMISSIONS, Action, NotAllowed, Role, allowed, authorize

__all__ = [
    "IDLE_LOCK",
    "LOCKOUT",
    "MAX_FAILED_SIGN_INS",
    "PERMISSIONS",
    "AccountDisabled",
    "AccountError",
    "AccountInfo",
    "AccountLocked",
    "Accounts",
    "Action",
    "AppendOnlyViolation",
    "AuditAction",
    "AuditKeyError",
    "AuditRecord",
    "AuditTrail",
    "AuthError",
    "AuthenticationFailed",
    "Checkpoint",
    "CheckpointError",
    "Clock",
    "ExportUnreadable",
    "InfusionHour",
    "NotAllowed",
    "Principal",
    "Problem",
    "ProgramOutcome",
    "PumpEvent",
    "Records",
    "Refill",
    "Role",
    "SaveResult",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "StoreIOError",
    "StoreLocked",
    "StoreNewerSchema",
    "StoreReadOnly",
    "StoreUnavailable",
    "VerifyResult",
    "allowed",
    "authorize",
    "checkpoint_trail",
    "default_db_path",
    "default_key_path",
    "export_trail",
    "open_memory_store",
    "open_store",
    "system_clock",
    "verify_export",
    "verify_trail",
]
