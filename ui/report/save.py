"""Where reports are saved: the user's documents folder (made if missing)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def documents_folder() -> Path:
    where = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(where) if where else Path.home()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
