"""Dialogs of the patient screen: a new patient, a new pump, a pump replacement."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from programmer.drugs import INDICATIONS
from programmer.patients.fields import PUMP_KINDS, PatientError
from programmer.patients.records import Patient, Pump
from programmer.patients.registry import Patients, PumpSpec
from programmer.patients.replacement import CarriedOver, propose
from programmer.patients.words import INDICATION, PUMP_KIND
from programmer.store.accounts import Principal
from ui.patients.choices import chosen_code, fill_choices
from ui.patients.date_fields import DayField, labelled
from ui.patients.proposal_text import proposal_lines
from ui.widgets import WRAP, fit_to_screen


class _Form(QDialog):
    """A form whose errors show under it, naming the field; nothing is stored until it is valid."""

    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        # The fields scroll; Save and Cancel stay in view (1024x768 at scale 2).
        outer = QVBoxLayout(self)
        body = QWidget()
        self.layout_ = QVBoxLayout(body)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        area = QScrollArea()
        area.setObjectName("form_scroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidget(body)
        outer.addWidget(area, 1)
        self.scroll_area = area
        self.form = QFormLayout()
        self.form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        self.layout_.addLayout(self.form)
        self.error = QLabel()
        self.error.setObjectName("form_error")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        self.layout_.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self.labels: dict[str, str] = {}  # the core's field name -> the label on screen

    def field(self, label: str, name: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setAccessibleName(label)
        self.form.addRow(label, edit)
        self.labels[name] = label
        return edit

    def day(self, label: str, name: str, *, blank: bool = False) -> DayField:
        """A date from a calendar (or typed "4 May 1961"), never ISO text."""
        edit = DayField(name, label, blank=blank)
        self.form.addRow(label, edit)
        self.labels[name] = label
        return edit

    def _save(self) -> None:
        try:
            self.save()
        except PatientError as exc:
            self.error.setText(labelled(exc, self.labels))
            return
        self.accept()

    def save(self) -> None:
        raise NotImplementedError


class NewPatientDialog(_Form):
    def __init__(self, patients: Patients, actor: Principal, parent: QWidget | None = None) -> None:
        super().__init__("New patient", parent)
        self.patients, self.actor = patients, actor
        self.clinic_id = self.field("Clinic identifier", "clinic_id", "MRN-0001")
        self.name = self.field("Name", "name")
        self.dob = self.day("Date of birth", "dob", blank=True)
        self.indication = QComboBox()
        self.indication.setObjectName("indication")
        fill_choices(self.indication, INDICATION, INDICATIONS, blank="")
        self.form.addRow("Indication", self.indication)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notes")
        self.notes.setMaximumHeight(70)
        self.form.addRow("Notes", self.notes)
        self.created: Patient | None = None

    def save(self) -> None:
        self.created = self.patients.add(
            self.actor, clinic_id=self.clinic_id.text(), name=self.name.text(), dob=self.dob.iso(),
            indication=chosen_code(self.indication) or None, notes=self.notes.toPlainText(),
        )  # fmt: skip


class _PumpFields:
    def __init__(self, form: _Form) -> None:
        self.kind = QComboBox()
        self.kind.setObjectName("pump_kind")
        fill_choices(self.kind, PUMP_KIND, PUMP_KINDS)
        form.form.addRow("Kind", self.kind)
        self.serial = form.field("Serial", "pump_serial")
        self.model = form.field("Model", "pump_model", "ITP-40")
        self.implanted = form.day("Implanted on", "implanted_on")
        self.tip = form.field("Catheter tip level", "catheter_tip", "T10")
        self.length = form.field("Catheter length", "catheter_length", "60 cm")
        self.per_cm = form.field("Catheter volume per cm", "catheter_volume_per_cm", "0.0026 mL")
        self.flow = form.field("Nominal flow (constant-flow pump)", "flow", "1 mL/day")
        self.capacity = form.field("Capacity (constant-flow pump)", "capacity", "35 mL")
        self.kind.currentIndexChanged.connect(lambda _: self._kind(chosen_code(self.kind)))
        self._kind(chosen_code(self.kind))

    def _kind(self, kind: str) -> None:
        for w in (self.flow, self.capacity):
            w.setEnabled(kind == "constant-flow")

    def spec(self) -> PumpSpec:
        cf = chosen_code(self.kind) == "constant-flow"
        return PumpSpec(
            chosen_code(self.kind), self.serial.text(), self.implanted.iso(),
            model=self.model.text() or None, catheter_tip=self.tip.text() or None,
            catheter_length=self.length.text() or None,
            catheter_volume_per_cm=self.per_cm.text() or None,
            flow=(self.flow.text() or None) if cf else None,
            capacity=(self.capacity.text() or None) if cf else None,
        )  # fmt: skip


class NewPumpDialog(_Form):
    def __init__(
        self, patients: Patients, actor: Principal, patient: Patient, parent: QWidget | None = None
    ) -> None:
        super().__init__(f"Pump for {patient.clinic_id}", parent)
        self.patients, self.actor, self.patient = patients, actor, patient
        self.pump = _PumpFields(self)
        self.created: Pump | None = None

    def save(self) -> None:
        self.created = self.patients.add_pump(self.actor, self.patient.id, self.pump.spec())


class ReplacePumpDialog(_Form):
    """The replacement visit: the old pump out, the new one in, its first program proposed."""

    def __init__(self, patients: Patients, actor: Principal, patient: Patient, old: Pump,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(f"Replace pump {old.serial} of {patient.clinic_id}", parent)
        self.patients, self.actor, self.patient, self.old = patients, actor, patient, old
        intro = QLabel(
            f"The old pump {old.serial} is explanted on the new pump's implant date and stays on "
            "the record. Its last therapy becomes the new pump's proposed first program: same "
            "drugs and doses, a priming bolus, a first fill (fresh stability clock), the catheter as it is."
        )
        intro.setWordWrap(True)
        self.layout_.insertWidget(0, intro)
        self.pump = _PumpFields(self)
        if old.catheter_tip:
            self.pump.tip.setText(old.catheter_tip)
        self.reason = self.field("Reason", "replace_reason", "battery at elective replacement")
        self.proposal_box = QPlainTextEdit()
        self.proposal_box.setObjectName("proposal")
        self.proposal_box.setReadOnly(True)
        self.proposal_box.setVisible(False)
        self.layout_.addWidget(self.proposal_box)
        self.carried: CarriedOver | None = None
        self.new_pump: Pump | None = None

    def save(self) -> None:
        if not self.reason.text().strip():
            raise PatientError("replace_reason", "say why the pump is replaced")
        spec = self.pump.spec()
        new, _ = self.patients.replace_pump(self.actor, self.patient.id, spec,
                                            reason=self.reason.text(), proposed=None)  # fmt: skip
        self.new_pump = new
        self.carried = propose(self.patients, self.actor, self.old, new)

    def _save(self) -> None:
        if self.new_pump is not None:  # done: the button now closes
            self.accept()
            return
        try:
            self.save()
        except PatientError as exc:
            self.error.setText(labelled(exc, self.labels))
            return
        self.error.clear()
        self.proposal_box.setPlainText(self.proposal_text())
        self.proposal_box.setVisible(True)
        # Room for the proposal where the screen has it; otherwise scrolled to it.
        hint = self.sizeHint()
        fit_to_screen(self, max(self.width(), hint.width()), max(self.height(), hint.height()))
        self.scroll_area.ensureWidgetVisible(self.proposal_box)
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setText("Close")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setVisible(False)

    def proposal_text(self) -> str:
        c = self.carried
        if c is None:
            return ""
        if c.prescription is None:
            return f"No first program proposed: {c.source}. " + "; ".join(c.notes)
        body: dict[str, Any] = c.prescription
        # In words for the person; the exact prescription (JSON) on hover.
        self.proposal_box.setToolTip(json.dumps(body, indent=2))
        return (f"Proposed first program (from {c.source}):\n"
                + "\n".join(proposal_lines(body))
                + "\n" + "\n".join(f"- {n}" for n in c.notes))  # fmt: skip
