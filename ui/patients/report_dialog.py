"""The patient report on screen (the same HTML the command line writes)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from ui.widgets import fit_to_screen


class ReportDialog(QDialog):
    def __init__(self, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Patient report")
        fit_to_screen(self, 760, 640)  # never larger than the screen (1024x768, scale 2)
        layout = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setObjectName("patient_report")
        self.view.setHtml(html)
        layout.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
