"""Print a visit report to PDF with Qt's own writer (no external tools)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument


def write_pdf(html: str, path: Path, title: str = "itp visit report") -> Path:
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("itp")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
        )
    )
    writer.setResolution(300)
    doc = QTextDocument()
    # Lay out at the writer's resolution, or 10 pt text comes out at a third of its size.
    layout_engine = doc.documentLayout()
    if layout_engine is not None:
        layout_engine.setPaintDevice(writer)
    doc.setHtml(html)
    layout = writer.pageLayout()
    rect = layout.paintRectPixels(writer.resolution())
    doc.setPageSize(QSizeF(rect.width(), rect.height()))
    doc.print_(writer)
    return path
