"""After connecting a programmable pump: whose pump is it? Found by serial, or asked.

Never guessed: an unknown serial opens a dialog where the user searches for and picks the
patient, then confirms; a serial already linked to another patient is a hard stop.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.patients.access import PatientAction, may
from programmer.patients.fields import PatientError, PumpLinkedElsewhere
from programmer.patients.records import Pump
from programmer.patients.registry import Patients
from ui.app_state import AppState
from ui.pump_text import pump_text
from ui.timefmt import day_text
from ui.widgets import fit_to_screen


class PumpOwnerDialog(QDialog):
    def __init__(
        self, state: AppState, serial: str, model: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state, self.serial, self.model = state, serial, model
        self.patients = Patients(state.store, state.trail)
        self.setWindowTitle(f"Whose pump is {pump_text(serial)}?")
        fit_to_screen(self, 520, 480)  # never larger than the screen (1024x768, scale 2)
        layout = QVBoxLayout(self)
        intro = QLabel(f"Pump {pump_text(model or '')} {pump_text(serial)} is linked to no "
                       "patient. Find the patient it is implanted in and confirm. Nothing is "
                       "linked until you do.")  # fmt: skip
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.search = QLineEdit()
        self.search.setObjectName("owner_search")
        self.search.setPlaceholderText("name or clinic identifier")
        self.search.textChanged.connect(self._fill)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("owner_list")
        layout.addWidget(self.list, 1)
        self.error = QLabel()
        self.error.setObjectName("form_error")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.link = buttons.addButton(
            "Link to the chosen patient", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.link.setObjectName("owner_link")
        self.link.clicked.connect(self.confirm)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.linked: Pump | None = None
        self._fill("")

    def _fill(self, text: str) -> None:
        me = self.state.principal
        self.list.clear()
        if me is None:
            return
        try:
            rows = self.patients.search(me, text, limit=200)
        except PatientError as exc:
            self.error.setText(str(exc))
            return
        for r in rows:
            item = QListWidgetItem(f"{r.name}  {r.clinic_id}  born {day_text(r.dob)}"
                                   + (f"  (has pump {r.pump_serial})" if r.pump_serial else ""))  # fmt: skip
            item.setData(256, r.id)
            self.list.addItem(item)

    def confirm(self) -> None:
        me = self.state.principal
        item = self.list.currentItem()
        if me is None or item is None:
            self.error.setText("choose the patient first")
            return
        try:
            self.linked = self.patients.link_connected(
                me, int(item.data(256)), self.serial, self.model,
                self.state.store.clock().date().isoformat(),
            )  # fmt: skip
        except PumpLinkedElsewhere as exc:
            self.error.setText(f"STOP: {exc}")
            return
        except PatientError as exc:
            self.error.setText(str(exc))
            return
        self.state.sig_pump_changed.emit()  # whose pump it is changed: the screens read again
        self.accept()


def after_connect(parent: QWidget, state: AppState) -> str | None:
    """Say whose the connected pump is; ask (a physician) when it is nobody's. Returns the note."""
    i, me = state.interrogation, state.principal
    if i is None or me is None or not may(me, PatientAction.READ):
        return None
    patients = Patients(state.store, state.trail)
    owner = patients.owner_of(me, i.serial)
    if owner is not None:
        note = f"Pump {pump_text(i.serial)} belongs to {owner.patient.clinic_id} ({owner.patient.name})."
    elif patients.count(me) == 0:  # no patient records kept here yet: nothing to choose from
        note = f"Pump {pump_text(i.serial)} is linked to no patient (no patients are recorded here yet)."
    elif may(me, PatientAction.WRITE) and not state.read_only:
        dialog = PumpOwnerDialog(state, i.serial, i.model, parent)
        dialog.setObjectName("pump_owner_dialog")
        dialog.open()
        note = f"Pump {pump_text(i.serial)} is linked to no patient: say whose it is."
    else:
        note = f"Pump {pump_text(i.serial)} is linked to no patient: a physician must say whose it is (Patients)."
    state.sig_message.emit("info" if owner else "warning", note)
    return note
