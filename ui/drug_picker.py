"""A drug from the library, never free text; a concentration from its standard strengths
or typed with its unit.

The list is searchable by any part of a name or alias ("gablo" finds baclofen via
Gablofen); what is typed is resolved to the library's name, and a name the library does
not know is no drug at all (the field says so and nothing is planned with it).
"""

from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import QRegularExpression, QStringListModel, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QComboBox, QCompleter, QHBoxLayout, QLineEdit, QWidget

from programmer.drugs import Drug, default_library
from programmer.formatting import concentration_text

OTHER = "other strength…"
_NUMBER = QRegularExpression(r"[0-9]*\.?[0-9]*")


def search_entries() -> list[str]:
    """ "alias → name" entries for every alias, and every name alone, for the completer."""
    lib = default_library()
    out = list(lib.drugs)
    out += [f"{alias} → {name}" for alias, name in lib.aliases.items() if alias != name]
    return out


def resolve(text: str) -> Drug | None:
    """The library's drug for a typed name, alias or completer entry; None if unknown."""
    name = text.split("→")[-1].strip()
    return default_library().find(name) if name else None


class DrugPicker(QComboBox):
    """The drug's library name; typing searches names and aliases (contains, any case)."""

    sig_picked = Signal(str)  # the library name, or "" when cleared / unknown

    def __init__(self, name: str, accessible: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItem("")
        self.addItems(list(default_library().drugs))
        self.setAccessibleName(accessible)
        completer = QCompleter(QStringListModel(search_entries(), self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompleter(completer)
        completer.activated.connect(lambda text: self._settle(text))
        edit = self.lineEdit()
        assert edit is not None
        edit.setPlaceholderText("type to search the drug library")
        edit.editingFinished.connect(lambda: self._settle(self.currentText()))
        self.activated.connect(lambda _: self._settle(self.currentText()))

    def _settle(self, typed: str) -> None:
        drug = resolve(typed)
        name = drug.name if drug is not None else ""
        if drug is not None and self.currentText() != name:
            self.setCurrentText(name)
        self.sig_picked.emit(name)

    def drug(self) -> Drug | None:
        return resolve(self.currentText())

    def text(self) -> str:
        """The library name, or what was typed when it is not in the library."""
        drug = self.drug()
        return drug.name if drug is not None else self.currentText().strip()

    def setText(self, text: str) -> None:
        drug = resolve(text)
        self.setCurrentText(drug.name if drug is not None else text)

    def problem(self) -> str | None:
        """Why this is not a drug: "required", or not in the library."""
        typed = self.currentText().strip()
        if not typed:
            return "required"
        if self.drug() is None:
            return f"'{typed}' is not in the drug library: choose from the list"
        return None


class ConcentrationField(QWidget):
    """A standard strength of the drug, or a number typed with its unit."""

    sig_changed = Signal()  # every keystroke, for a live preview
    sig_committed = Signal()  # Enter, focus out, a unit or a strength chosen

    def __init__(self, name: str, accessible: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.strength = QComboBox()
        self.strength.setObjectName(f"{name}_strength")
        self.strength.setAccessibleName(f"{accessible}: standard strength")
        self.number = QLineEdit()
        self.number.setObjectName(f"{name}_number")
        self.number.setAccessibleName(f"{accessible}, number")
        self.number.setValidator(QRegularExpressionValidator(_NUMBER, self.number))
        self.number.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.unit = QComboBox()
        self.unit.setObjectName(f"{name}_unit")
        self.unit.setAccessibleName(f"{accessible}, unit")
        self.unit.addItems(["mg/mL", "mcg/mL"])
        row.addWidget(self.strength, 2)
        row.addWidget(self.number, 1)
        row.addWidget(self.unit)
        # The first control drawn: with the number as proxy, Tab jumped past the strength.
        self.setFocusProxy(self.strength)
        self._drug: Drug | None = None
        self.strength.activated.connect(lambda _: self._strength_chosen())
        self.number.textChanged.connect(lambda _: self._typed())
        self.unit.activated.connect(lambda _: self._typed())
        self.number.editingFinished.connect(self.sig_committed.emit)
        self.unit.activated.connect(lambda _: self.sig_committed.emit())
        self.set_drug(None)

    def set_drug(self, drug: Drug | None) -> None:
        """Offer `drug`'s standard strengths (its own unit first)."""
        self._drug = drug
        self.strength.blockSignals(True)
        self.strength.clear()
        for ng in sorted(drug.standard_ng_ml) if drug is not None else ():
            # the drug's standard strengths (marketed and compounded), each in the library
            self.strength.addItem(concentration_text(ng, drug.dose_unit or "mg"), ng)  # type: ignore[union-attr]
        self.strength.addItem(OTHER, None)
        self.strength.blockSignals(False)
        if drug is not None and drug.dose_unit:
            self.unit.setCurrentText(f"{drug.dose_unit}/mL")
        self._match_strength()

    def text(self) -> str:
        n = self.number.text().strip()
        return f"{n} {self.unit.currentText()}" if n else ""

    def setText(self, text: str, *, quiet: bool = False) -> None:
        """Show `text` ("10 mg/mL"); `quiet`: no signal (the model is showing itself)."""
        parts = text.split(" ")
        number, unit = (parts[0], parts[1]) if len(parts) == 2 else (text, "")
        self.number.blockSignals(True)
        self.number.setText(number)
        self.number.blockSignals(False)
        if unit:
            if self.unit.findText(unit) < 0:
                self.unit.addItem(unit)
            self.unit.setCurrentText(unit)
        self._match_strength()
        if not quiet:
            self.sig_changed.emit()

    def _strength_chosen(self) -> None:
        ng = self.strength.currentData()
        if ng is None or self._drug is None:
            self.number.setFocus()
            return
        self.setText(self.strength.currentText())
        self.sig_committed.emit()

    def _typed(self) -> None:
        self._match_strength()
        self.sig_changed.emit()

    def _match_strength(self) -> None:
        index = self.strength.findText(self.text()) if self.text() else -1
        self.strength.blockSignals(True)
        self.strength.setCurrentIndex(index if index >= 0 else self.strength.count() - 1)
        self.strength.blockSignals(False)

    def problem(self) -> str | None:
        if not self.number.text().strip():
            return "required"
        try:
            Fraction(self.number.text().strip())
        except ValueError:
            return "a number, e.g. 10"
        return None
