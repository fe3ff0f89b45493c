"""What sync exchanges, table by table, and how (docs/clinic.md has the why).

Four ways a local table is synced:
- the audit chain (`audit`): append-only per programmer, pushed in order with checkpoints;
- pump history (`HistoryTable`): the pump's own log keyed by (pump, key), the same for
  every programmer that read it; pushed and pulled until both sides hold the union;
- owned records (`OwnedTable`): rows only the programmer that made them changes (its
  visits, prescriptions sent, refills); every content they had is kept as a version;
- shared records (`SharedTable`): rows any programmer may change (accounts; patients when
  they land), merged field by field against the last version both sides agreed on.

A new table slots in by adding a spec here: an OwnedTable for per-programmer rows with
an integer `id`, a SharedTable (with a rule per field for two offline edits) for rows
everyone edits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HistoryTable:
    name: str
    key: str  # the column that, with pump_serial, identifies a row
    columns: tuple[str, ...]  # after pump_serial and key, in order
    key_unit: int  # the key divided by this is a dense index (3600 for hours)
    check: str  # an integer column summed with the keys, so another copy of a row shows


@dataclass(frozen=True)
class OwnedTable:
    kind: str
    columns: tuple[str, ...]  # `id` first


Rule = Callable[[Any, Any], Any]  # (local, server) -> merged, when both sides changed


@dataclass(frozen=True)
class SharedTable:
    kind: str
    table: str
    key: str  # compared case-insensitively
    fields: tuple[str, ...]
    rules: dict[str, Rule]  # a field not named here: the clinic's (server's) value wins
    audit_view: tuple[str, ...]  # fields shown in the audit record of a synced change


def _disabled_wins(local: Any, server: Any) -> Any:
    return min(int(local), int(server))


def _later_lock(local: Any, server: Any) -> Any:
    values = [v for v in (local, server) if v is not None]
    return max(values) if values else None


def _more_failures(local: Any, server: Any) -> Any:
    return max(int(local or 0), int(server or 0))


HISTORY = (
    HistoryTable("pump_events", "seq", ("at", "at_s", "kind", "data", "read_at"), 1, "at_s"),
    HistoryTable(
        "infusion_hours", "hour_s", ("hour_at", "volume_nl", "data", "read_at"), 3600, "volume_nl"
    ),
)

OWNED = (
    OwnedTable("visits", ("id", "pump_serial", "account", "started_at", "started_s", "ended_at",
                          "ended_s")),
    OwnedTable("prescriptions_sent", ("id", "pump_serial", "visit_id", "account", "at", "at_s",
                                      "prescription", "program", "outcome", "therapy_crc",
                                      "outcome_at")),
    OwnedTable("refills", ("id", "pump_serial", "visit_id", "account", "at", "at_s", "removed_nl",
                           "added_nl", "expected_nl", "last_fill_nl", "discrepancy_pct", "finding",
                           "drugs")),
)  # fmt: skip

ACCOUNTS = SharedTable(
    kind="accounts",
    table="accounts",
    key="name",
    fields=(
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
    rules={
        "enabled": _disabled_wins,
        "locked_until_s": _later_lock,
        "failed_count": _more_failures,
    },
    audit_view=("name", "role", "enabled", "locked_until_s"),
)

SHARED = (ACCOUNTS,)
