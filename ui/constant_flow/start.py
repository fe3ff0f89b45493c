"""Where a nurse starts a constant-flow pump's refill on the Refill screen.

A constant-flow pump has no telemetry: nothing connects to it. Its refill starts from
its patient, chosen here (or from the Patients screen), and runs the refill wizard's
constant-flow variant (ui.constant_flow.refill).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QComboBox, QLabel, QLineEdit, QPushButton, QWidget

from programmer.patients.access import PatientAction, may
from programmer.patients.fields import PatientError
from programmer.patients.registry import Patients
from ui.app_state import AppState
from ui.widgets import Card, is_narrow


class ConstantFlowStart(Card):
    sig_refilled = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Constant-flow pump (never connected)", parent)
        self.setObjectName("cf_start")
        self.state = state
        self.patients = Patients(state.store, state.trail)
        note = QLabel(
            "A constant-flow pump cannot be connected or programmed: choose its patient, then "
            "refill it step by step (drawn out, flow, drug, injected, catheter, confirm)."
        )
        note.setWordWrap(True)
        self.box.insertWidget(1, note)
        row = QBoxLayout(QBoxLayout.Direction.LeftToRight)  # one under the other when narrow
        self.search_row = row
        self.search = QLineEdit()
        self.search.setObjectName("cf_patient_search")
        self.search.setPlaceholderText("patient name or clinic identifier")
        self.search.setAccessibleName("search patients with a constant-flow pump")
        self.search.textChanged.connect(lambda _: self.reload())
        self.choice = QComboBox()
        self.choice.setObjectName("cf_patient")
        self.choice.setAccessibleName("patient whose constant-flow pump is refilled")
        self.choice.setMinimumContentsLength(24)
        self.start = QPushButton("Refill this patient's pump…")
        self.start.setObjectName("cf_start_refill")
        self.start.clicked.connect(self.open_refill)
        row.addWidget(self.search, 1)
        row.addWidget(self.choice, 2)
        row.addWidget(self.start)
        self.box.insertLayout(2, row)
        self.dialog: QWidget | None = None
        self.reload()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # At scale 2 on 1024x768 the search, the patient and the button side by side made
        # the refill's first step scroll sideways.
        self.search_row.setDirection(
            QBoxLayout.Direction.TopToBottom
            if is_narrow(self)
            else QBoxLayout.Direction.LeftToRight
        )

    def reload(self) -> None:
        me = self.state.principal
        self.choice.clear()
        allowed = (
            me is not None and may(me, PatientAction.RECORD_REFILL) and not self.state.read_only
        )
        if allowed and me is not None:
            try:
                rows = self.patients.constant_flow_patients(me, self.search.text())
            except PatientError:
                rows = []
            for r in rows:
                self.choice.addItem(f"{r.name} ({r.clinic_id}), pump {r.pump_serial}", r.id)
        self.start.setEnabled(allowed and self.choice.count() > 0)
        self.start.setToolTip("" if allowed else "Refills are recorded by nurses and physicians")

    def open_refill(self) -> None:
        """The wizard's constant-flow variant for the chosen patient's current pump."""
        from ui.constant_flow.refill import ConstantFlowRefillDialog

        me, pid = self.state.principal, self.choice.currentData()
        if me is None or pid is None:
            return
        patient = self.patients.get(me, int(pid))
        pump = next((p for p in self.patients.pumps(me, patient.id) if p.current), None)
        if pump is None or pump.kind != "constant-flow":
            return
        dialog = ConstantFlowRefillDialog(self.patients, me, patient, pump, self)
        self.dialog = dialog
        dialog.open()
        dialog.finished.connect(lambda _: self.sig_refilled.emit())
