"""Where reports are saved: the user's documents folder (made if missing)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget


def documents_folder() -> Path:
    where = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(where) if where else Path.home()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_report_pdf(parent: QWidget, html: str, path: Path | None) -> Path | None:
    """The visit report as a PDF: at `path`, or where the user picks in the documents
    folder (None when the user cancels)."""
    if path is None:
        name, _ = QFileDialog.getSaveFileName(
            parent, "Visit report", str(documents_folder() / "visit-report.pdf"), "PDF (*.pdf)"
        )
        if not name:
            return None
        path = Path(name)
    from ui.report.pdf import write_pdf

    return write_pdf(html, path)
