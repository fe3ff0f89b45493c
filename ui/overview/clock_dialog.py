"""Setting the pump's clock to this computer's: the change side by side, then an explicit
"Set the clock". The core sends it, reads the pump's log back, and audits every step."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.session.pump_session import clock_change_text
from programmer.timeutil import iso_local
from ui.app_state import AppState
from ui.pump_text import pump_text
from ui.style import STYLE, WARNING
from ui.timefmt import local_text
from ui.widgets import fit_to_screen


class ClockDialog(QDialog):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("clock_dialog")
        self.setWindowTitle("Set the pump's clock")
        self.setStyleSheet(STYLE)
        self.setModal(True)
        fit_to_screen(self, 760, 360)  # never larger than the screen (scale 2)
        i, session = state.interrogation, state.session
        assert i is not None and session is not None, "a connected pump"
        clock_t, offset = session.clock_now_here()
        old_t, old_offset = int(i.status["clock_t"]), int(i.status["utc_offset_min"])
        outer = QVBoxLayout(self)
        heading = QLabel(f"Set the clock of {pump_text(i.model)} {pump_text(i.serial)} "
                         "to this computer's")  # fmt: skip
        heading.setProperty("role", "title")
        heading.setWordWrap(True)  # the dialog fits the screen (scale 2), the title wraps
        outer.addWidget(heading)
        self.table = QTableWidget(2, 3)
        self.table.setObjectName("clock_changes")
        self.table.setAccessibleName("clock change: field, now on the pump, will be")
        self.table.setHorizontalHeaderLabels(["", "Now on the pump", "Will be"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        rows = [
            # To the second: a clock is set to the second. The exact stamp on hover.
            ("Local time", f"{local_text(old_t, old_offset)}:{old_t % 60:02d}",
             f"{local_text(clock_t, offset)}:{clock_t % 60:02d}"),
            ("UTC offset", f"{old_offset:+d} min", f"{offset:+d} min"),
        ]  # fmt: skip
        stamps = ["", iso_local(old_t, old_offset), iso_local(clock_t, offset)]
        for r, cells in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r == 0:
                    item.setToolTip(stamps[c])
                self.table.setItem(r, c, item)
        self.table.setMaximumHeight(110)
        outer.addWidget(self.table)
        self.effect = QLabel(
            "Sending: " + clock_change_text(i.status, clock_t, offset) + ". The pump's "
            "schedule, bolus lockouts and hourly history follow its clock from then on. "
            "Check this computer's time first: the pump will take it as it is."
        )
        self.effect.setObjectName("clock_effect")
        self.effect.setWordWrap(True)
        self.effect.setStyleSheet(f"color: {WARNING};")
        outer.addWidget(self.effect)
        outer.addStretch(1)
        buttons = QDialogButtonBox()
        self.set_button = buttons.addButton("Set the clock", QDialogButtonBox.ButtonRole.AcceptRole)
        self.set_button.setObjectName("clock_set")
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("clock_cancel")
        cancel.setDefault(True)  # Enter does not change a pump's clock
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
