"""One sync run as the command line and the app do it: open the local store, connect,
sync, and write the outcome to the local sync log (what the app's status line shows)."""

from __future__ import annotations

from pathlib import Path

from programmer.clinic import local_state
from programmer.clinic.connection import ClinicUrl, connect
from programmer.clinic.errors import ClinicError
from programmer.clinic.sync import AUDIT_BATCH, Progress, SyncReport, sync
from programmer.store import AuditTrail, Store, open_store
from programmer.store.clock import utc_text


def run_sync(
    db: Path | None,
    audit_key: Path | None,
    url: ClinicUrl,
    *,
    label: str = "",
    progress: Progress | None = None,
    audit_batch: int = AUDIT_BATCH,
) -> SyncReport:
    with open_store(db, create=False) as store:
        trail = AuditTrail.open(store, audit_key)
        return sync_store(
            store, trail, url, label=label, progress=progress, audit_batch=audit_batch
        )


def sync_store(
    store: Store,
    trail: AuditTrail,
    url: ClinicUrl,
    *,
    label: str = "",
    progress: Progress | None = None,
    audit_batch: int = AUDIT_BATCH,
) -> SyncReport:
    local_state.ensure(store)
    started = utc_text(store.clock())
    with store.write() as conn:
        log_id = conn.execute(
            "INSERT INTO clinic_sync_log (started_at, clinic, outcome) VALUES (?, ?, 'running')",
            (started, url.shown()),
        ).lastrowid
    try:
        with connect(url, autocommit=True) as conn:
            report = sync(
                store, trail, conn, label=label, progress=progress, audit_batch=audit_batch
            )
    except ClinicError as exc:
        _finish(store, log_id, "failed", str(exc))
        raise
    _finish(store, log_id, "ok", None)
    return report


def _finish(store: Store, log_id: int | None, outcome: str, detail: str | None) -> None:
    with store.write() as conn:
        conn.execute(
            "UPDATE clinic_sync_log SET finished_at = ?, outcome = ?, detail = ? WHERE id = ?",
            (utc_text(store.clock()), outcome, detail, log_id),
        )
