"""The visit report's "Export for the EHR (FHIR)" button: the visit as a FHIR R4 Bundle."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from programmer.fhir.bundle import bundle_json
from programmer.fhir.cli import write_atomically
from programmer.fhir.visit_data import VisitNotFound, load_visit
from programmer.store import AuditAction, StoreError
from programmer.store.roles import Action, NotAllowed, authorize


def export_visit(
    parent: QWidget, state: object, visit_id: int | None, path: Path | None = None
) -> Path | None:
    """Writes the bundle (audited as `export` first); returns the file, or None."""
    principal = getattr(state, "principal", None)
    store, trail = getattr(state, "store", None), getattr(state, "trail", None)
    if visit_id is None or principal is None or store is None or trail is None:
        QMessageBox.information(parent, "FHIR export", "There is no visit to export yet.")
        return None
    try:
        authorize(principal.role, Action.EXPORT)
        text = bundle_json(load_visit(store, visit_id))
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                parent,
                "Visit for the EHR (FHIR R4)",
                f"visit-{visit_id}.fhir.json",
                "FHIR JSON (*.json)",
            )
            if not name:
                return None
            path = Path(name)
        trail.append(AuditAction.EXPORT, account=principal.name, role=str(principal.role),
                     after={"format": "fhir-r4-bundle", "visit": visit_id, "to": str(path)},
                     outcome="exported")  # fmt: skip
        write_atomically(path, text)
    except (NotAllowed, VisitNotFound, StoreError, OSError) as exc:
        QMessageBox.warning(parent, "FHIR export", f"The visit was not exported: {exc}")
        return None
    return path
