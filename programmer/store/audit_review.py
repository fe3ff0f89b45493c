"""Reviewing the audit trail as a signed-in user: the role check and the export record."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from programmer.store.accounts import Principal
from programmer.store.audit import AuditAction, AuditTrail
from programmer.store.audit_chain import AuditRecord, Checkpoint, VerifyResult
from programmer.store.roles import Action, authorize


def verify_trail(
    trail: AuditTrail, actor: Principal, checkpoint: Checkpoint | None = None
) -> VerifyResult:
    authorize(actor.role, Action.REVIEW_AUDIT)
    return trail.verify(checkpoint)


def checkpoint_trail(trail: AuditTrail, actor: Principal, out: Path | None = None) -> Checkpoint:
    authorize(actor.role, Action.REVIEW_AUDIT)
    return trail.checkpoint(out)


def export_trail(trail: AuditTrail, actor: Principal, fmt: str, out: TextIO) -> int:
    """Record the export first (so it is in the file), then write every record."""
    authorize(actor.role, Action.EXPORT)
    if fmt not in ("csv", "json"):
        raise ValueError(f"unknown export format {fmt!r} (csv or json)")
    trail.append(
        AuditAction.EXPORT,
        account=actor.name,
        role=str(actor.role),
        after={"what": "audit trail", "format": fmt},
    )
    return trail.export(fmt, out)


def export_shown(trail: AuditTrail, actor: Principal, fmt: str, out: TextIO,
                 records: list[AuditRecord], filters: dict[str, str], *,
                 record: bool = True) -> int:  # fmt: skip
    """Write only `records` (what a filtered view shows); the export is recorded first, with
    its filters. A part of the trail: its chain cannot be verified on its own.
    `record=False` only for a copy under review, which cannot be written."""
    from programmer.store.audit_export import export_csv, export_json
    from programmer.store.clock import utc_text

    authorize(actor.role, Action.EXPORT)
    if fmt not in ("csv", "json"):
        raise ValueError(f"unknown export format {fmt!r} (csv or json)")
    if record:
        trail.append(
            AuditAction.EXPORT,
            account=actor.name,
            role=str(actor.role),
            after={"what": "audit records shown by filters", "format": fmt, "filters": filters,
                   "count": len(records)},
        )  # fmt: skip
    rows = (r.as_row() for r in records)
    if fmt == "csv":
        return export_csv(rows, out)
    return export_json(rows, out, trail.key_id, utc_text(trail.store.clock()))
