"""The screening trial: its doses, scores over time and side effects, the chart of scores
against doses, and the result with the decision and who made it (written once)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
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
from programmer.patients.report import trial_lines
from programmer.store.accounts import Principal
from ui.trial.chart import TrialChart
from ui.widgets import fit_to_screen, scrolling_body


def _moment(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PatientError(
            field, f"{text!r} is not a date and time like 2026-10-01T08:00+01:00"
        ) from None
    if at.tzinfo is None:
        raise PatientError(field, f"{text!r} has no UTC offset: add one, like +01:00 or Z")
    return at


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
        layout.addLayout(form)
        self.drug = _edit("trial_drug", "baclofen")
        self.kind = QComboBox()
        self.kind.setObjectName("trial_kind")
        self.kind.addItems(TRIAL_KINDS)
        self.started = _edit("trial_started", "2026-10-01T08:00+01:00")
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
                self.actor, self.patient.id, drug=self.drug.text(), kind=self.kind.currentText(),
                started_at=_moment(self.started.text(), "started_at"),
                concentration=self.conc.text() or None, rate=self.rate.text() or None,
            )  # fmt: skip
        except PatientError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


class TrialDialog(QDialog):
    def __init__(
        self, patients: Patients, actor: Principal, trial_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.patients, self.actor, self.trial_id = patients, actor, trial_id
        fit_to_screen(self, 980, 720)  # never larger than the screen (1024x768, scale 2)
        layout = scrolling_body(self)  # scrolls at scale 2 instead of leaving the screen
        self.heading = QLabel()
        self.heading.setProperty("role", "title")
        self.heading.setObjectName("trial_heading")
        layout.addWidget(self.heading)
        top = QHBoxLayout()
        layout.addLayout(top, 1)
        self.entries = QTableWidget(0, 2)
        self.entries.setObjectName("trial_entries")
        self.entries.setHorizontalHeaderLabels(["When", "What"])
        self.entries.horizontalHeader().setStretchLastSection(True)
        self.entries.verticalHeader().setVisible(False)
        self.entries.setColumnWidth(0, 130)
        top.addWidget(self.entries, 1)
        self.chart = TrialChart()
        self.chart.setObjectName("trial_chart")
        top.addWidget(self.chart, 2)
        self.forms = QWidget()
        row = QHBoxLayout(self.forms)
        row.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.forms)
        # a dose
        dose_box = QGroupBox("Dose given")
        f = QFormLayout(dose_box)
        self.dose_at = _edit("dose_at", "2026-10-01T08:00+01:00")
        self.dose = _edit("dose_amount", "50 mcg (continuous: 100 mcg/day)")
        f.addRow("At", self.dose_at)
        f.addRow("Dose", self.dose)
        b = QPushButton("Add dose")
        b.setObjectName("add_dose")
        b.clicked.connect(self._add_dose)
        f.addRow(b)
        row.addWidget(dose_box)
        # a score
        obs_box = QGroupBox("Score")
        f = QFormLayout(obs_box)
        self.obs_at = _edit("obs_at")
        self.scale = QComboBox()
        self.scale.setObjectName("obs_scale")
        self.scale.addItems(list(SCALES))
        self.score = QSpinBox()
        self.score.setObjectName("obs_score")
        self.score.setRange(0, 10)
        self.scale.currentTextChanged.connect(lambda s: self.score.setMaximum(SCALES[s]))
        f.addRow("At", self.obs_at)
        f.addRow("Scale", self.scale)
        f.addRow("Score", self.score)
        b = QPushButton("Add score")
        b.setObjectName("add_score")
        b.clicked.connect(self._add_score)
        f.addRow(b)
        row.addWidget(obs_box)
        # a side effect
        side_box = QGroupBox("Side effect")
        f = QFormLayout(side_box)
        self.side_at = _edit("side_at")
        self.effect = QComboBox()
        self.effect.setObjectName("side_effect")
        self.effect.addItems(SIDE_EFFECTS)
        self.side_note = _edit("side_note", "what, when it resolved")
        f.addRow("At", self.side_at)
        f.addRow("Effect", self.effect)
        f.addRow("Note", self.side_note)
        b = QPushButton("Add side effect")
        b.setObjectName("add_side_effect")
        b.clicked.connect(self._add_side_effect)
        f.addRow(b)
        row.addWidget(side_box)
        # the result
        res_box = QGroupBox("Result and decision")
        f = QFormLayout(res_box)
        self.response = QComboBox()
        self.response.setObjectName("response")
        self.response.addItems(RESPONSES)
        self.decision = QComboBox()
        self.decision.setObjectName("decision")
        self.decision.addItems(DECISIONS)
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
        row.addWidget(res_box)
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
        layout.addWidget(buttons)
        self.reload()

    def reload(self) -> None:
        t = self.patients.trial(self.actor, self.trial_id)
        self.trial = t
        drug = default_library().find(t.drug)
        unit = (drug.dose_unit if drug else None) or "mg"
        self.heading.setText(
            f"{t.drug} {t.kind} trial from {t.started_at[:16].replace('T', ' ')} UTC"
        )
        self.setWindowTitle(f"Screening trial {t.id}")
        lines = trial_lines(t, unit)
        self.entries.setRowCount(len(lines))
        for r, line in enumerate(lines):
            when, _, what = line.partition(" ")
            time_, _, what = what.partition(" ")
            self.entries.setItem(r, 0, QTableWidgetItem(f"{when[5:]} {time_}"))
            self.entries.setItem(r, 1, QTableWidgetItem(what))
        self.chart.show_trial(t, unit)
        closed = t.result is not None
        writable = may(self.actor, PatientAction.WRITE)
        self.forms.setEnabled(writable and not closed)
        if t.result is not None:
            res = t.result
            self.result_label.setText(
                f"Result: {res.response}. Decision: {res.decision}, by {res.decided_by} on "
                f"{res.decided_at[:10]}. {res.rationale}  (The trial is closed.)"
            )
        else:
            self.result_label.setText("No result yet.")

    def _try(self, action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except PatientError as exc:
            self.error.setText(str(exc))
            return
        self.error.clear()
        self.reload()

    def _add_dose(self) -> None:
        self._try(lambda: self.patients.add_trial_dose(self.actor, self.trial_id,
                                                       _moment(self.dose_at.text(), "at"), self.dose.text()))  # fmt: skip

    def _add_score(self) -> None:
        self._try(lambda: self.patients.add_observation(self.actor, self.trial_id, _moment(self.obs_at.text(), "at"),
                                                        self.scale.currentText(), self.score.value()))  # fmt: skip

    def _add_side_effect(self) -> None:
        self._try(lambda: self.patients.add_side_effect(self.actor, self.trial_id, _moment(self.side_at.text(), "at"),
                                                        self.effect.currentText(), self.side_note.text()))  # fmt: skip

    def _record_result(self) -> None:
        self._try(lambda: self.patients.record_result(
            self.actor, self.trial_id, response=self.response.currentText(),
            decision=self.decision.currentText(), rationale=self.rationale.text(),
            effective_dose=self.effective.text() or None, effect_duration=self.duration.text() or None,
        ))  # fmt: skip


__all__ = ["NewTrialDialog", "Qt", "TrialDialog"]
