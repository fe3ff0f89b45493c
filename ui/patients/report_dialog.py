"""The patient report on screen (the same HTML the command line writes)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget


class ReportDialog(QDialog):
    def __init__(self, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Patient report")
        self.resize(760, 640)
        layout = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setObjectName("patient_report")
        self.view.setHtml(html)
        layout.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
