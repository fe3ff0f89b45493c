"""The headline change, per drug and in dose: red and large beyond the titration limit,
"new drug" / "drug removed" where a percentage means nothing."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from programmer.findings import Finding
from programmer.formatting import percent_text
from programmer.session.drug_changes import DRUG_REMOVED, NEW_DRUG, DrugChange
from ui.numbers import clinical_dose, clinical_percent
from ui.style import CRITICAL, WARNING

TITRATION_CODES = {"dose_change_too_large", "dose_decrease_large", "titration_too_frequent"}
BIG = 20  # pt; beyond the titration limit the figure grows and turns red
HUGE = 30


def over_the_limit(findings: list[Finding]) -> set[str]:
    """Drugs whose change the core found beyond their titration rule (its messages name them)."""
    out = set()
    for f in findings:
        if f.code in TITRATION_CODES:
            out.add(f.message.split(" ", 1)[0])
    return out


class DrugChangeLabel(QLabel):
    """One line per drug: its name, its change; the exact doses one hover away."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.beyond: set[str] = set()
        self.words: dict[str, str] = {}

    def show_changes(self, changes: list[DrugChange], beyond: set[str], *,
                     pump_known: bool = True) -> None:  # fmt: skip
        self.beyond = {c.drug for c in changes if c.drug in beyond}
        self.words = {}
        lines, tips = [], []
        for c in changes:
            word = self._word(c, pump_known)
            self.words[c.drug] = word
            red = c.drug in beyond or (c.status in (NEW_DRUG, DRUG_REMOVED) and pump_known)
            big = c.drug in beyond or (c.change is not None and abs(c.change) >= 1)
            colour = CRITICAL if red or big else WARNING if c.status == "changed" else "#1f2328"
            size = HUGE if big else BIG
            lines.append(
                f"<span style='font-size:11pt;color:#5f6368'>{html.escape(c.drug)}</span> "
                f"<span style='font-size:{size}pt;font-weight:800;color:{colour}'>"
                f"{html.escape(word).replace(' ', '&nbsp;')}</span>"  # "+35 %" stays whole
            )
            exact = [f"{c.drug}: {c.text(c.before_ng)} → {c.text(c.after_ng)}"]
            if c.change is not None:
                exact.append(f"exactly {percent_text(c.change * 100)}")
            if c.drug in beyond:
                exact.append("beyond the drug's titration limit")
            tips.append(", ".join(exact))
        if not changes:
            lines.append("<span style='font-size:16pt'>saline: no drug</span>")
        self.setText("<br>".join(lines))
        self.setToolTip("\n".join(tips))
        self.setAccessibleName(
            "change per drug: " + "; ".join(f"{d} {w}" for d, w in self.words.items())
        )

    @staticmethod
    def _word(c: DrugChange, pump_known: bool) -> str:
        if not pump_known:
            return f"{clinical_dose(c.after_ng or 0, c.unit)} (pump not read)"
        if c.status == NEW_DRUG:
            return NEW_DRUG
        if c.status == DRUG_REMOVED:
            return DRUG_REMOVED
        if c.change is None:  # from 0
            return f"from 0 to {clinical_dose(c.after_ng or 0, c.unit)}"
        return clinical_percent(c.change)
