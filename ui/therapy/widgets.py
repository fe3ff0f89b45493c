"""Inputs of the therapy editor: one field, one explicit unit; a finding shown at its field."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from programmer.finding_words import finding_line
from programmer.findings import Finding, readable_message
from ui.style import CRITICAL, INFO, WARNING

SEVERITY_COLOUR = {"hard": CRITICAL, "soft": WARNING, "info": INFO}
# Typing is free (the core judges the number); only digits and one point get in.
_TYPING = QRegularExpression(r"[0-9]*\.?[0-9]*")


def mark(widget: QWidget, severity: str | None, tooltip: str = "") -> None:
    """A coloured border and a tooltip on `widget` for a finding of `severity` (None clears)."""
    widget.setProperty("severity", severity or "")
    colour = SEVERITY_COLOUR.get(severity or "")
    name = widget.objectName()
    widget.setStyleSheet(
        f"#{name} {{ border: 2px solid {colour}; border-radius: 3px; }}" if colour and name else ""
    )
    widget.setToolTip(tooltip)


def findings_text(findings: list[Finding]) -> str:
    return "\n".join(finding_line(f, readable_message(f)) for f in findings)


class QuantityField(QWidget):
    """A number and its unit, composed into the file's text ("2 h"); never a bare number."""

    sig_edited = Signal(str)  # committed (Enter, focus out, unit chosen)
    sig_typing = Signal(str)  # every keystroke, for a live preview

    def __init__(self, name: str, accessible: str, units: list[str], parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.setObjectName(name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.number = QLineEdit()
        self.number.setObjectName(f"{name}_number")
        self.number.setAccessibleName(f"{accessible}, number")
        self.number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.number.setValidator(QRegularExpressionValidator(_TYPING, self.number))
        self.number.setMinimumWidth(70)
        self.unit = QComboBox()
        self.unit.setObjectName(f"{name}_unit")
        self.unit.setAccessibleName(f"{accessible}, unit")
        self.unit.addItems(units)
        layout.addWidget(self.number, 1)
        layout.addWidget(self.unit)
        self.setFocusProxy(self.number)
        self._last = ""
        self.number.editingFinished.connect(self._commit)
        self.unit.activated.connect(lambda _: self._commit())
        self.number.textEdited.connect(lambda _: self.sig_typing.emit(self.text()))

    def text(self) -> str:
        n = self.number.text().strip()
        return f"{n} {self.unit.currentText()}" if n else ""

    def set_text(self, text: str) -> None:
        """Show the file's text; an unknown unit is added, so what is shown is what is held."""
        parts = text.split(" ")
        number, unit = (parts[0], parts[1]) if len(parts) == 2 else (text, "")
        if unit and self.unit.findText(unit) < 0:
            self.unit.addItem(unit)
        self.number.blockSignals(True)
        self.unit.blockSignals(True)
        if self.number.text() != number:
            self.number.setText(number)
        if unit:
            self.unit.setCurrentText(unit)
        self.number.blockSignals(False)
        self.unit.blockSignals(False)
        self._last = self.text()

    def _commit(self) -> None:
        text = self.text()
        if text != self._last:
            self._last = text
            self.sig_edited.emit(text)

    def mark(self, severity: str | None, tooltip: str = "") -> None:
        mark(self.number, severity, tooltip)


class FieldMessage(QLabel):
    """The findings of one field, under it: coloured by the worst severity, hidden when none."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setVisible(False)

    def show_findings(self, findings: list[Finding], worst: str | None) -> None:
        self.setVisible(bool(findings))
        self.setText(findings_text(findings))
        colour = SEVERITY_COLOUR.get(worst or "", "#5f6368")
        self.setStyleSheet(f"color: {colour}; font-size: 10pt;")
        self.setAccessibleName("findings: " + self.text() if findings else "")
