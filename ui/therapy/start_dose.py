"""The screening trial's starting dose beside the first fill's program.

The figure, its rule and its source are the core plan's `start_dose` (programmer.trial):
this note only shows them, and "Use it" types the rule's single dose into the program.
A rule that gives a range (opioids: PACC beside the trial's result) has no button: the
physician chooses within it; nothing converts the trial's dose.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from programmer.planner import Plan
from ui.style import INFO


class StartDoseNote(QFrame):
    def __init__(self, use: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("start_dose_note")
        self.setStyleSheet(f"#start_dose_note {{ background: #e8f0fe; border-radius: 4px; }} "
                           f"QLabel {{ color: {INFO}; }}")  # fmt: skip
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        self.text = QLabel()
        self.text.setObjectName("start_dose_text")
        self.text.setWordWrap(True)
        row.addWidget(self.text, 1)
        self.use_button = QPushButton("Use it")
        self.use_button.setObjectName("use_start_dose")
        self.use_button.setAccessibleName("write the trial's starting dose into the program")
        self.use_button.clicked.connect(lambda: use(self.dose))
        row.addWidget(self.use_button)
        self.dose: str | None = None
        self.setVisible(False)

    def show_plan(self, p: Plan, continuous: bool) -> None:
        """Visible only when the prescription carries a trial (a first fill)."""
        start: dict[str, Any] | None = p.extra.get("start_dose")
        if "start_dose" not in p.extra:
            self.setVisible(False)
            return
        self.setVisible(True)
        if start is None:
            self.dose = None
            self.text.setText("Screening trial: no starting dose follows from it (see findings).")
            self.text.setToolTip("")
            self.use_button.setVisible(False)
            return
        single = start["amount_ng"] is not None
        what = "Starting dose" if single else "Starting range (PACC, beside the trial)"
        self.text.setText(
            f"<b>{what} from the trial: {start['text']}</b><br>{start['trial']}.<br>"
            f"Rule: {start['rule'].replace('_', ' ')}. Source: {start['source']}."
        )
        self.text.setToolTip(str(start["wording"]))
        self.dose = str(start["text"]) if single and not start["text"].startswith("≈") else None
        self.use_button.setVisible(self.dose is not None)
        self.use_button.setEnabled(continuous)
        self.use_button.setToolTip(
            "" if continuous else "A flex profile's steps are written by hand: use continuous mode"
        )
