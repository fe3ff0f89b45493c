"""The screening trial: its doses, scores over time and side effects, the chart of scores
against doses, and the result with the decision and who made it (written once)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.drugs import default_library
from programmer.patients.access import PatientAction, may
from programmer.patients.fields import PatientError
from programmer.patients.records import Patient, Trial
from programmer.patients.registry import (
    DECISIONS,
    RESPONSES,
    SCALES,
    SIDE_EFFECTS,
    TRIAL_KINDS,
    Patients,
)
from programmer.patients.report import trial_entries
from programmer.patients.words import DECISION, RESPONSE, SCALE, SIDE_EFFECT, TRIAL_KIND, word
from programmer.store.accounts import Principal
from ui.patients.choices import chosen_code, fill_choices
from ui.patients.date_fields import MomentField, labelled
from ui.table_fit import fit_columns
from ui.timefmt import stored_text
from ui.trial.chart import TrialChart
from ui.widgets import WRAP, fit_to_screen, is_narrow

# The core's field names as these screens name them.
LABELS = {"started_at": "Started", "at": "At", "dose": "Dose", "drug": "Drug", "rate": "Rate",
          "concentration": "Concentration", "effective_dose": "Effective dose",
          "effect_duration": "Effect lasted", "note": "Note", "score": "Score"}  # fmt: skip


def _edit(name: str, placeholder: str = "") -> QLineEdit:
    e = QLineEdit()
    e.setObjectName(name)
    e.setPlaceholderText(placeholder)
    return e


class NewTrialDialog(QDialog):
    def __init__(
        self, patients: Patients, actor: Principal, patient: Patient, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"New screening trial for {patient.clinic_id}")
        self.patients, self.actor, self.patient = patients, actor, patient
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        layout.addLayout(form)
        self.drug = _edit("trial_drug", "baclofen")
        self.kind = QComboBox()
        self.kind.setObjectName("trial_kind")
        fill_choices(self.kind, TRIAL_KIND, TRIAL_KINDS)
        self.started = MomentField("trial_started", "Started")
        self.conc = _edit("trial_conc", "50 mcg/mL")
        self.rate = _edit("trial_rate", "continuous only: 0.2 mL/day")
        for label, w in (("Drug", self.drug), ("Kind", self.kind), ("Started", self.started),
                         ("Concentration", self.conc), ("Rate", self.rate)):  # fmt: skip
            form.addRow(label, w)
        self.error = QLabel()
        self.error.setObjectName("form_error")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.created: Trial | None = None

    def _save(self) -> None:
        try:
            self.created = self.patients.add_trial(
                self.actor, self.patient.id, drug=self.drug.text(), kind=chosen_code(self.kind),
                started_at=self.started.moment(),
                concentration=self.conc.text() or None, rate=self.rate.text() or None,
            )  # fmt: skip
        except PatientError as exc:
            self.error.setText(labelled(exc, LABELS))
            return
        self.accept()


class TrialDialog(QDialog):
    def __init__(
        self, patients: Patients, actor: Principal, trial_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.patients, self.actor, self.trial_id = patients, actor, trial_id
        fit_to_screen(self, 980, 720)
        # Everything but Close scrolls: the dialog fits 1024x768 and scale 2.
        outer = QVBoxLayout(self)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        area = QScrollArea()
        area.setObjectName("trial_scroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidget(body)
        outer.addWidget(area, 1)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setProperty("role", "title")
        self.heading.setObjectName("trial_heading")
        layout.addWidget(self.heading)
        top = QBoxLayout(QBoxLayout.Direction.LeftToRight)  # one under the other when narrow
        layout.addLayout(top, 1)
        self.chart_row = top
        self.entries = QTableWidget(0, 2)
        self.entries.setObjectName("trial_entries")
        self.entries.setHorizontalHeaderLabels(["When", "What"])
        self.entries.verticalHeader().setVisible(False)
        fit_columns(self.entries)  # "What" in view at scale 2; a cut entry whole on hover
        self.entries.setMinimumHeight(160)
        top.addWidget(self.entries, 2)
        self.chart = TrialChart()
        self.chart.setObjectName("trial_chart")
        top.addWidget(self.chart, 3)
        self.forms = QWidget()
        row = QGridLayout(self.forms)  # two by two: four side by side are wider than 1024
        row.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.forms)
        # a dose
        dose_box = QGroupBox("Dose given")
        f = QFormLayout(dose_box)
        f.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        self.dose_at = MomentField("dose_at", "dose given at")
        self.dose = _edit("dose_amount", "50 mcg (continuous: 100 mcg/day)")
        f.addRow("At", self.dose_at)
        f.addRow("Dose", self.dose)
        b = QPushButton("Add dose")
        b.setObjectName("add_dose")
        b.clicked.connect(self._add_dose)
        f.addRow(b)
        row.addWidget(dose_box, 0, 0)
        # a score
        obs_box = QGroupBox("Score")
        f = QFormLayout(obs_box)
        f.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        self.obs_at = MomentField("obs_at", "score taken at")
        self.scale = QComboBox()
        self.scale.setObjectName("obs_scale")
        fill_choices(self.scale, SCALE, list(SCALES))
        self.score = QSpinBox()
        self.score.setObjectName("obs_score")
        self.score.setRange(0, 10)
        self.scale.currentIndexChanged.connect(
            lambda _: self.score.setMaximum(SCALES.get(chosen_code(self.scale), 10))
        )
        f.addRow("At", self.obs_at)
        f.addRow("Scale", self.scale)
        f.addRow("Score", self.score)
        b = QPushButton("Add score")
        b.setObjectName("add_score")
        b.clicked.connect(self._add_score)
        f.addRow(b)
        row.addWidget(obs_box, 0, 1)
        # a side effect
        side_box = QGroupBox("Side effect")
        f = QFormLayout(side_box)
        f.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        self.side_at = MomentField("side_at", "side effect at")
        self.effect = QComboBox()
        self.effect.setObjectName("side_effect")
        fill_choices(self.effect, SIDE_EFFECT, SIDE_EFFECTS)
        self.side_note = _edit("side_note", "what, when it resolved")
        f.addRow("At", self.side_at)
        f.addRow("Effect", self.effect)
        f.addRow("Note", self.side_note)
        b = QPushButton("Add side effect")
        b.setObjectName("add_side_effect")
        b.clicked.connect(self._add_side_effect)
        f.addRow(b)
        row.addWidget(side_box, 1, 0)
        # the result
        res_box = QGroupBox("Result and decision")
        f = QFormLayout(res_box)
        f.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        self.response = QComboBox()
        self.response.setObjectName("response")
        fill_choices(self.response, RESPONSE, RESPONSES)
        self.decision = QComboBox()
        self.decision.setObjectName("decision")
        fill_choices(self.decision, DECISION, DECISIONS)
        self.effective = _edit("effective_dose", "50 mcg")
        self.duration = _edit("effect_duration", "6 h")
        self.rationale = _edit("rationale")
        for label, w in (("Response", self.response), ("Decision", self.decision),
                         ("Effective dose", self.effective), ("Effect lasted", self.duration),
                         ("Rationale", self.rationale)):  # fmt: skip
            f.addRow(label, w)
        b = QPushButton("Record result")
        b.setObjectName("record_result")
        b.clicked.connect(self._record_result)
        f.addRow(b)
        row.addWidget(res_box, 1, 1)
        self.form_grid = row
        self.form_boxes = (dose_box, obs_box, side_box, res_box)
        self._narrow: bool | None = None
        self.error = QLabel()
        self.error.setObjectName("form_error")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.result_label = QLabel()
        self.result_label.setObjectName("trial_result")
        self.result_label.setWordWrap(True)
        layout.addWidget(self.result_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        self.reload()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = is_narrow(self)
        if narrow == self._narrow:
            return
        self._narrow = narrow
        # At scale 2 on 1024x768 the entries, the chart and the forms side by side ran off
        # the right edge: one under the other, the dialog scrolls down instead.
        self.chart_row.setDirection(
            QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        )
        for n, box in enumerate(self.form_boxes):
            self.form_grid.removeWidget(box)
            self.form_grid.addWidget(box, n if narrow else n // 2, 0 if narrow else n % 2)

    def reload(self) -> None:
        t = self.patients.trial(self.actor, self.trial_id)
        self.trial = t
        drug = default_library().find(t.drug)
        unit = (drug.dose_unit if drug else None) or "mg"
        self.heading.setText(
            f"{t.drug} trial, {word(TRIAL_KIND, t.kind)}, from {stored_text(t.started_at)}"
        )
        self.setWindowTitle(f"Screening trial {t.id}")
        lines = trial_entries(t, unit)  # one per entry, in words
        self.entries.setRowCount(len(lines))
        for r, (entry, what) in enumerate(lines):
            self.entries.setItem(r, 0, QTableWidgetItem(stored_text(entry.at)))
            item = QTableWidgetItem(what)
            item.setToolTip(what)
            self.entries.setItem(r, 1, item)
        self.chart.show_trial(t, unit)
        closed = t.result is not None
        writable = may(self.actor, PatientAction.WRITE)
        self.forms.setEnabled(writable and not closed)
        self.forms.setVisible(not closed)  # nothing more to add: the chart takes the room
        if t.result is not None:
            res = t.result
            self.result_label.setText(
                f"Result: {word(RESPONSE, res.response)}. Decision: {word(DECISION, res.decision)}, "
                f"by {res.decided_by} on "
                f"{stored_text(res.decided_at)}. {res.rationale}  (The trial is closed.)"
            )
        else:
            self.result_label.setText("No result yet.")

    def _try(self, action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except PatientError as exc:
            self.error.setText(labelled(exc, LABELS))
            return
        self.error.clear()
        self.reload()

    def _add_dose(self) -> None:
        self._try(lambda: self.patients.add_trial_dose(self.actor, self.trial_id,
                                                       self.dose_at.moment(), self.dose.text()))  # fmt: skip

    def _add_score(self) -> None:
        self._try(lambda: self.patients.add_observation(self.actor, self.trial_id, self.obs_at.moment(),
                                                        chosen_code(self.scale), self.score.value()))  # fmt: skip

    def _add_side_effect(self) -> None:
        self._try(lambda: self.patients.add_side_effect(self.actor, self.trial_id, self.side_at.moment(),
                                                        chosen_code(self.effect), self.side_note.text()))  # fmt: skip

    def _record_result(self) -> None:
        self._try(lambda: self.patients.record_result(
            self.actor, self.trial_id, response=chosen_code(self.response),
            decision=chosen_code(self.decision), rationale=self.rationale.text(),
            effective_dose=self.effective.text() or None, effect_duration=self.duration.text() or None,
        ))  # fmt: skip


__all__ = ["NewTrialDialog", "Qt", "TrialDialog"]
