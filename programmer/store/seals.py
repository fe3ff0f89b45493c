"""Row seals: every row a safety decision or an authorization reads carries an HMAC.

Editing a row with plain `sqlite3` (a nurse's role set to physician, the cached refill
changed from 20 to 24 mL, an outcome or a lockout counter reset) went unseen: the audit
chain covered only the audit table. Now each such row holds `seal` = HMAC-SHA256 with
the audit key over the table name and every column, so a change without the key is
found where the row is read (and refused there) and by `itp audit verify`.

A seal covers one row as it is. What it cannot show is a whole row put back as it was
earlier (a copy of an old row with its old seal); for accounts, `itp audit verify` also
compares each account's role and enabled state with the one the audit chain records.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from programmer.store.audit_chain import Mac
from programmer.store.errors import StoreError

SEAL_ENCODING = "itp-row-v1"

# Sealed tables: the columns each seal covers, in this order, and the key columns.
SEALED: dict[str, tuple[str, ...]] = {
    "accounts": (
        "name",
        "role",
        "password_hash",
        "enabled",
        "failed_count",
        "locked_until_s",
        "created_at",
        "created_s",
        "created_by",
    ),
    "pump_events": ("pump_serial", "seq", "at", "at_s", "kind", "data"),
    "infusion_hours": ("pump_serial", "hour_s", "hour_at", "volume_nl", "data"),
    "prescriptions_sent": (
        "id",
        "pump_serial",
        "visit_id",
        "account",
        "at",
        "at_s",
        "prescription",
        "program",
        "outcome",
        "therapy_crc",
        "outcome_at",
    ),
    "refills": (
        "id",
        "pump_serial",
        "visit_id",
        "account",
        "at",
        "at_s",
        "removed_nl",
        "added_nl",
        "expected_nl",
        "last_fill_nl",
        "discrepancy_pct",
        "finding",
        "drugs",
    ),
    "settings": ("key", "value", "updated_at", "updated_by"),
}
KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("name",),
    "pump_events": ("pump_serial", "seq"),
    "infusion_hours": ("pump_serial", "hour_s"),
    "prescriptions_sent": ("id",),
    "refills": ("id",),
    "settings": ("key",),
}
WHAT = {
    "accounts": "account",
    "pump_events": "stored pump event",
    "infusion_hours": "stored infusion hour",
    "prescriptions_sent": "record of a prescription sent",
    "refills": "refill record",
    "settings": "setting",
}


class TamperedRow(StoreError):
    """A sealed row does not match its seal: it was changed outside itp. Not used."""

    def __init__(self, table: str, key: Sequence[Any]) -> None:
        self.table = table
        self.key = tuple(key)
        shown = ", ".join(str(k) for k in key)
        super().__init__(
            f"the {WHAT.get(table, table)} {shown} was changed outside itp (its seal does "
            "not match), so it is not used; run `itp audit verify` and restore the "
            "database from a backup"
        )


@dataclass(frozen=True)
class RowProblem:
    table: str
    key: tuple[Any, ...]
    message: str


def _encode(value: Any) -> str:
    if value is None:
        return "N;"
    if isinstance(value, bool):
        raise TypeError("booleans are stored as integers")
    if isinstance(value, int):
        return f"I{value};"
    if isinstance(value, float):
        return f"R{value!r};"
    if isinstance(value, bytes):
        return f"B{value.hex()};"
    text = str(value)
    return f"S{len(text)}:{text};"


class Sealer:
    """Computes and checks seals with the audit key."""

    def __init__(self, key: bytes) -> None:
        self._mac = Mac(key)

    def seal(self, table: str, values: Sequence[Any]) -> str:
        message = f"{SEAL_ENCODING};S{len(table)}:{table};" + "".join(map(_encode, values))
        inner, outer = self._mac.pads()
        inner = inner.copy()
        inner.update(message.encode())
        outer = outer.copy()
        outer.update(inner.digest())
        return str(outer.hexdigest())

    def good(self, table: str, values: Sequence[Any], seal: Any) -> bool:
        if not isinstance(seal, str):
            return False
        try:
            return hmac.compare_digest(self.seal(table, values), seal)
        except TypeError:
            return False

    def check(self, table: str, values: Sequence[Any], seal: Any) -> None:
        """Raise TamperedRow unless the row (in SEALED column order) matches its seal."""
        if not self.good(table, values, seal):
            columns = SEALED[table]
            raise TamperedRow(table, [values[columns.index(k)] for k in KEYS[table]])

    def reseal(
        self, conn: sqlite3.Connection, table: str, where: str, params: Sequence[Any]
    ) -> None:
        """Recompute the seals of the rows matching `where`, inside the caller's write."""
        columns = SEALED[table]
        keys = KEYS[table]
        rows = conn.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {where}", tuple(params)
        ).fetchall()
        for row in rows:
            key_values = [row[columns.index(k)] for k in keys]
            conn.execute(
                f"UPDATE {table} SET seal = ? WHERE " + " AND ".join(f"{k} = ?" for k in keys),
                (self.seal(table, row), *key_values),
            )

    def problems(self, conn: sqlite3.Connection) -> Iterator[RowProblem]:
        """Every sealed row that does not match its seal, table by table."""
        for table, columns in SEALED.items():
            keys = KEYS[table]
            cursor = conn.execute(f"SELECT {', '.join(columns)}, seal FROM {table}")
            for row in cursor:
                if not self.good(table, row[:-1], row[-1]):
                    key = tuple(row[columns.index(k)] for k in keys)
                    yield RowProblem(table, key, str(TamperedRow(table, key)))


def select(table: str) -> str:
    """`col1, col2, ..., seal` for a SELECT that will be checked."""
    return ", ".join(SEALED[table]) + ", seal"


def account_problems(conn: sqlite3.Connection) -> list[RowProblem]:
    """Accounts whose role or enabled state differs from what the audit chain records.

    A seal shows an edited row, not an old row put back whole with its old seal (a
    disabled account re-enabled so). The chain's `account_changed` records say what each
    account should be now; verify compares. Only meaningful once the chain verified.
    """
    expected: dict[str, tuple[Any, bool]] = {}
    for (after,) in conn.execute(
        "SELECT after FROM audit WHERE action = 'account_changed' ORDER BY seq"
    ):
        try:
            value = json.loads(after) if after else None
        except ValueError:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            continue
        name = value["name"].lower()
        role, enabled = expected.get(name, (None, True))
        expected[name] = (value.get("role", role), bool(value.get("enabled", enabled)))
    problems = []
    for name, role, enabled in conn.execute("SELECT name, role, enabled FROM accounts"):
        want = expected.get(str(name).lower())
        if want is None:
            message = f"the account {name} is not in the audit trail: it was added outside itp"
        elif want[0] != role:
            message = f"the account {name} has the role {role}, the audit trail says {want[0]}"
        elif want[1] != bool(enabled):
            state = "enabled" if enabled else "disabled"
            message = f"the account {name} is {state}, which the audit trail does not record"
        else:
            continue
        problems.append(RowProblem("accounts", (name,), message))
    return problems
