"""A choice of stored codes shown as words: the combo box lists the words and keeps the
code as each item's data, so what is stored is the code and what is read is the words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtWidgets import QComboBox

from programmer.patients.words import choices


def fill_choices(
    combo: QComboBox, table: Mapping[str, str], codes: Sequence[str], *, blank: str | None = None
) -> None:
    """The codes' words, in the order given; `blank` (if given) first, standing for none."""
    combo.clear()
    if blank is not None:
        combo.addItem(blank, "")
    for text, code in choices(table, list(codes)):
        combo.addItem(text, code)


def chosen_code(combo: QComboBox) -> str:
    """The code behind the words chosen ("" for the blank choice)."""
    data = combo.currentData()
    return data if isinstance(data, str) else combo.currentText()
