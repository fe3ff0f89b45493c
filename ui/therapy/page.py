"""The therapy editor: a step table and a profile chart that edit the same prescription,
live totals and % change from the core's plan, findings at their fields, undo, files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.drugs import INDICATIONS, JURISDICTIONS, default_library
from programmer.finding_words import finding_title, severity_words
from programmer.findings import readable_message
from programmer.patients.access import PatientAction, may
from programmer.patients.registry import Patients
from programmer.patients.trial_link import first_fill_trial
from programmer.patients.words import INDICATION, word
from programmer.planner import Plan
from programmer.prescription import PrescriptionFileError
from programmer.session.changes import daily_doses
from programmer.session.drug_changes import drug_changes
from programmer.store import Action
from ui.app_state import AppState
from ui.drug_change import DrugChangeLabel, over_the_limit
from ui.drug_picker import ConcentrationField, DrugPicker
from ui.fields import field_text
from ui.inputs import guard_inputs
from ui.numbers import clinical_dose, rounded_text
from ui.style import CRITICAL, INFO, OK, WARNING
from ui.therapy.chart import ProfileChart
from ui.therapy.model import TherapyModel, severity_rank, split_quantity
from ui.therapy.start_dose import StartDoseNote
from ui.therapy.widgets import SEVERITY_COLOUR, FieldMessage, QuantityField, findings_text, mark
from ui.widgets import FillsItsArea, chain_tabs, is_narrow

COL_DAY, COL_START, COL_AMOUNT, COL_UNIT, COL_RUNS, COL_CHECK = range(6)
ROW_TINT = {"hard": "#fde7e9", "soft": "#fff4ce", "info": "#e8f0fe"}
CHECK_WORD = {"hard": "✖ must fix", "soft": "⚠ reason", "info": "note"}  # words, not codes
NO_INDICATION = "not given (the stricter rule applies)"
DISABLED_PRIMARY = "QPushButton:disabled { background: #c8ccd0; color: #5f6368; }"
RATE_STEP_UNITS = ("mL/day", "uL/h")
VERDICT_COLOUR = {"ok": OK, "soft": WARNING, "hard": CRITICAL}


class _UnitDelegate(QStyledItemDelegate):
    """The unit column edits with a list of units: never typed free-hand; the first drug's
    dose units, volume rates only when asked for."""

    def __init__(self, units: Callable[[], list[str]], parent: QWidget) -> None:
        super().__init__(parent)
        self._units = units

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:  # fmt: skip
        box = QComboBox(parent)
        box.setAccessibleName("step unit")
        box.addItems(self._units())
        return box

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        text = str(index.data() or "")
        if text and editor.findText(text) < 0:
            editor.addItem(text)
        editor.setCurrentText(text)

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex | QPersistentModelIndex) -> None:  # fmt: skip
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentText())


class _DrugRow(QWidget):
    """One drug: its library name (searched, aliases resolved) and a standard strength or a
    concentration typed with its unit; a name the library does not know is never used."""

    def __init__(self, page: TherapyPage, index: int) -> None:
        super().__init__()
        self.index = index
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.name = DrugPicker(f"drug_{index}_name", f"drug {index + 1}, from the library")
        self.conc = ConcentrationField(
            f"drug_{index}_concentration", f"drug {index + 1} concentration"
        )
        self.remove = QPushButton("Remove")
        self.remove.setObjectName(f"drug_{index}_remove")
        self.remove.setAccessibleName(f"remove drug {index + 1}")
        self.message = FieldMessage(f"drug_{index}_message")
        self.name_problem = QLabel()
        self.name_problem.setObjectName(f"drug_{index}_name_problem")
        self.name_problem.setStyleSheet(f"color: {CRITICAL}; font-weight: 600;")
        self.name_problem.setVisible(False)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.remove, 0, 1)
        grid.addWidget(self.conc, 1, 0, 1, 2)  # its own line: the form fits 1024x768
        grid.addWidget(self.name_problem, 2, 0, 1, 2)
        grid.addWidget(self.message, 3, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        self.name.sig_picked.connect(lambda _: page._drug_edited(self.index))
        self.conc.sig_committed.connect(lambda: page._drug_edited(self.index))
        self.conc.sig_changed.connect(lambda: page._preview_drug(self.index))
        self.remove.clicked.connect(lambda: page.model.remove_drug(self.index))


class TherapyPage(QWidget):
    scrolls_itself = True  # the main window adds no scroll area: Send stays in view

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.setObjectName("therapy_page")
        guard_inputs()  # no wheel or arrow key changes a drop-down unseen
        self.state = state
        self.model = TherapyModel(self)
        self.confirm: QWidget | None = None
        self._filling = False
        self._drug_rows: list[_DrugRow] = []
        self._trial_offered: str | None = None  # the pump whose first fill got its trial

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        title = QLabel("Therapy editor")
        title.setProperty("role", "title")
        self.verdict = QLabel()
        self.verdict.setObjectName("therapy_verdict")
        self.verdict.setWordWrap(True)
        top.addWidget(title)
        top.addStretch(1)
        outer.addLayout(top)
        self.role_note = QLabel()
        self.role_note.setObjectName("therapy_role_note")
        self.role_note.setWordWrap(True)
        self.role_note.setStyleSheet(
            f"background: #e8f0fe; color: {INFO}; padding: 6px; border-radius: 4px; font-weight: 600;"
        )
        self.role_note.setVisible(False)
        outer.addWidget(self.role_note)

        # The form and the chart scroll together when the screen is small (scale 2 on
        # 1024x768); the title, the role notice and the action bar (the % change, Send)
        # stay outside the scroll area, always on screen.
        content = QWidget()
        content.setObjectName("therapy_content")
        fills = QVBoxLayout(content)
        fills.setContentsMargins(0, 0, 0, 0)
        inner = FillsItsArea()
        fills.addWidget(inner)
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.verdict)  # wraps: in the scroll area, never clipped
        column.addLayout(self._build_tools())
        body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.body_row = body  # the form above the chart on a narrow window
        column.addLayout(body, 1)
        body.addWidget(self._build_form(), 6)
        body.addLayout(self._build_right(), 5)
        self.body_area = QScrollArea()
        self.body_area.setObjectName("therapy_body")
        self.body_area.setWidgetResizable(True)
        self.body_area.setFrameShape(QFrame.Shape.NoFrame)
        self.body_area.setWidget(content)
        self.body_area.setMinimumHeight(40)
        self.body_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to its fields
        outer.addWidget(self.body_area, 1)
        outer.addWidget(self._build_action_bar())

        self._narrow: bool | None = None
        self.model.sig_changed.connect(self.refresh)
        self.model.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.model.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.chart.sig_level_dragged.connect(self._level_dragged)
        self.chart.sig_edge_dragged.connect(self._edge_dragged)
        state.sig_pump_changed.connect(self._pump_changed)
        state.sig_user_changed.connect(self._user_changed)
        state.editor_prescription = self.changed_prescription
        self._pump_changed()
        self.refresh()

    # --- building ----------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = is_narrow(self)
        if narrow != self._narrow:
            # At scale 2 on 1024x768 the form and the chart side by side scrolled sideways
            # and cut the daily dose: one under the other, the body scrolls down instead.
            self._narrow = narrow
            self.body_row.setDirection(
                QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
            )
            # One under the other the form needs height of its own, not width.
            self.form_scroll.setMinimumWidth(0 if narrow else 360)
            self.form_scroll.setMinimumHeight(260 if narrow else 0)

    def _build_form(self) -> QWidget:
        inner = QWidget()
        form = QVBoxLayout(inner)
        form.setContentsMargins(0, 0, 6, 0)

        who = QGroupBox("Patient and rules")
        wform = QGridLayout(who)
        self.patient = QLineEdit()
        self.patient.setObjectName("patient")
        self.patient.setAccessibleName("patient identifier")
        self.patient.setPlaceholderText("e.g. MRN-0001")
        self.patient.editingFinished.connect(
            lambda: self.model.set_field("patient", self.patient.text().strip(), "patient")
        )
        self.indication = QComboBox()
        self.indication.setObjectName("indication")
        self.indication.setAccessibleName("indication (selects the drug rules)")
        self.indication.addItem(NO_INDICATION, "")
        self.indication.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.indication.setMinimumContentsLength(14)
        for name in INDICATIONS:  # words for the clinic, the code for the prescription
            self.indication.addItem(word(INDICATION, name), name)
        self.indication.activated.connect(
            lambda _: self.model.set_field(
                "indication", self.indication.currentData(), "indication"
            )
        )
        self.jurisdiction = QComboBox()
        self.jurisdiction.setObjectName("jurisdiction")
        self.jurisdiction.setAccessibleName("jurisdiction (selects the label's limits)")
        self.jurisdiction.addItems(list(JURISDICTIONS))
        self.jurisdiction.activated.connect(
            lambda _: self.model.set_field(
                "jurisdiction", self.jurisdiction.currentText(), "jurisdiction"
            )
        )
        wform.addWidget(QLabel("Patient"), 0, 0)
        wform.addWidget(self.patient, 0, 1)
        wform.addWidget(QLabel("Labels"), 0, 2)
        wform.addWidget(self.jurisdiction, 0, 3)
        wform.addWidget(QLabel("Indication"), 1, 0)
        wform.addWidget(self.indication, 1, 1, 1, 3)
        wform.setColumnStretch(1, 1)
        self.who_message = FieldMessage("who_message")
        wform.addWidget(self.who_message, 2, 0, 1, 4)
        form.addWidget(who)
        self.start_dose = StartDoseNote(self._use_start_dose)
        form.addWidget(self.start_dose)

        drugs = QGroupBox("Drugs (the first is the one doses are written in)")
        self.drugs_box = QVBoxLayout(drugs)
        self.add_drug_button = QPushButton("Add drug")
        self.add_drug_button.setObjectName("add_drug")
        self.add_drug_button.clicked.connect(self.model.add_drug)
        self.drugs_message = FieldMessage("drugs_message")
        self.drugs_box.addWidget(self.drugs_message)
        self.drugs_box.addWidget(self.add_drug_button, alignment=Qt.AlignmentFlag.AlignLeft)
        form.addWidget(drugs)

        sched = QGroupBox("Schedule")
        sbox = QVBoxLayout(sched)
        row = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.setObjectName("mode")
        self.mode.setAccessibleName("mode")
        self.mode.addItems(["continuous", "flex", "stopped"])
        self.mode.activated.connect(lambda _: self.model.set_mode(self.mode.currentText()))
        self.cycle = QSpinBox()
        self.cycle.setObjectName("cycle_days")
        self.cycle.setAccessibleName("cycle length in days")
        self.cycle.setRange(1, 7)
        self.cycle.setSuffix(" day cycle")
        self.cycle.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.cycle.editingFinished.connect(lambda: self.model.set_cycle_days(self.cycle.value()))
        self.rates_box = QCheckBox("offer volume rates (mL/day)")
        self.rates_box.setObjectName("offer_rates")
        self.rates_box.setToolTip(
            "Steps are written as doses of the first drug; tick to type a volume rate instead"
        )
        row.addWidget(QLabel("Mode"))
        row.addWidget(self.mode)
        row.addSpacing(12)
        row.addWidget(self.cycle)
        row.addStretch(1)
        sbox.addLayout(row)
        sbox.addWidget(self.rates_box)
        self.mode_message = FieldMessage("mode_message")
        sbox.addWidget(self.mode_message)

        self.table = QTableWidget(0, 6)
        self.table.setObjectName("steps_table")
        self.table.setAccessibleName("steps: day, start, amount, unit, what the pump runs")
        self.table.setHorizontalHeaderLabels(
            ["Day", "Start", "Amount", "Unit", "Pump runs", "Check"]
        )
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        for c, mode in ((COL_DAY, QHeaderView.ResizeMode.ResizeToContents),
                        (COL_START, QHeaderView.ResizeMode.ResizeToContents),
                        (COL_AMOUNT, QHeaderView.ResizeMode.Interactive),
                        (COL_UNIT, QHeaderView.ResizeMode.ResizeToContents),
                        (COL_RUNS, QHeaderView.ResizeMode.Stretch),
                        (COL_CHECK, QHeaderView.ResizeMode.ResizeToContents)):  # fmt: skip
            hh.setSectionResizeMode(c, mode)
        self.table.setColumnWidth(COL_AMOUNT, 80)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setItemDelegateForColumn(COL_UNIT, _UnitDelegate(self.step_units, self.table))
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.itemChanged.connect(self._item_changed)
        sbox.addWidget(self.table)
        steps_row = QHBoxLayout()
        self.add_step_button = QPushButton("Add step")
        self.add_step_button.setObjectName("add_step")
        self.add_step_button.clicked.connect(self.model.add_step)
        self.remove_step_button = QPushButton("Remove step")
        self.remove_step_button.setObjectName("remove_step")
        self.remove_step_button.clicked.connect(
            lambda: self.model.remove_step(self.table.currentRow())
        )
        steps_row.addWidget(self.add_step_button)
        steps_row.addWidget(self.remove_step_button)
        steps_row.addStretch(1)
        sbox.addLayout(steps_row)
        self.steps_message = FieldMessage("steps_message")
        sbox.addWidget(self.steps_message)
        self.units_message = QLabel()
        self.units_message.setObjectName("units_message")
        self.units_message.setWordWrap(True)
        self.units_message.setStyleSheet(f"color: {WARNING}; font-weight: 600;")
        self.units_message.setVisible(False)
        sbox.addWidget(self.units_message)
        form.addWidget(sched)

        pbox = QGroupBox("Patient bolus (the patient's button)")
        pform = QFormLayout(pbox)
        self.ptm_enabled = QComboBox()
        self.ptm_enabled.setObjectName("ptm_enabled")
        self.ptm_enabled.setAccessibleName("patient bolus allowed")
        self.ptm_enabled.addItems(["off", "on"])
        self.ptm_enabled.activated.connect(lambda _: self._ptm_edited())
        self.ptm_dose = QuantityField("ptm_dose", "patient bolus dose", ["mg", "mcg", "uL", "mL"])
        self.ptm_duration = QuantityField("ptm_duration", "patient bolus duration", ["min"])
        self.ptm_lockout = QuantityField("ptm_lockout", "patient bolus lockout", ["h", "min"])
        self.ptm_max = QSpinBox()
        self.ptm_max.setObjectName("ptm_max_per_day")
        self.ptm_max.setAccessibleName("patient boluses at most per day")
        self.ptm_max.setRange(1, 24)
        self.ptm_max.setSuffix(" per day")
        self.ptm_max.setAlignment(Qt.AlignmentFlag.AlignRight)
        pform.addRow("Allowed", self.ptm_enabled)
        pform.addRow("Dose", self.ptm_dose)
        pform.addRow("Duration", self.ptm_duration)
        pform.addRow("Lockout", self.ptm_lockout)
        pform.addRow("At most", self.ptm_max)
        self.ptm_message = FieldMessage("ptm_message")
        pform.addRow(self.ptm_message)
        for f in (self.ptm_dose, self.ptm_duration, self.ptm_lockout):
            f.sig_edited.connect(lambda _: self._ptm_edited())
            f.sig_typing.connect(lambda _: self._preview_ptm())
        self.ptm_max.editingFinished.connect(self._ptm_edited)
        form.addWidget(pbox)

        abox = QGroupBox("Low-reservoir alarm")
        aform = QFormLayout(abox)
        self.low_alarm = QuantityField("low_reservoir_alarm", "low-reservoir alarm volume", ["mL"])
        self.low_alarm.sig_edited.connect(
            lambda t: self.model.set_field("low_reservoir_alarm", t, "low-reservoir alarm")
        )
        aform.addRow("Alarm at", self.low_alarm)
        self.low_alarm_message = FieldMessage("low_alarm_message")
        aform.addRow(self.low_alarm_message)
        form.addWidget(abox)
        form.addStretch(1)

        scroll = QScrollArea()
        scroll.setObjectName("therapy_form")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        scroll.setMinimumWidth(360)
        self.form_scroll = scroll
        return scroll

    def _build_right(self) -> QVBoxLayout:
        right = QVBoxLayout()
        totals = QFrame()
        totals.setProperty("role", "card")
        grid = QGridLayout(totals)
        self.totals_grid = grid
        self.totals = QLabel()
        self.totals.setObjectName("daily_totals")
        self.totals.setAccessibleName("daily totals")
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        self.totals.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        heading = QLabel("Per day")
        heading.setProperty("role", "muted")
        self.change = DrugChangeLabel("daily_change")
        self.totals.setWordWrap(True)
        grid.addWidget(heading, 0, 0)
        grid.addWidget(self.totals, 1, 0)
        right.addWidget(totals)
        self.chart = ProfileChart()
        self.chart.setMinimumHeight(170)
        right.addWidget(self.chart, 3)
        self.findings = QListWidget()
        self.findings.setObjectName("findings_list")
        self.findings.setAccessibleName("findings")
        self.findings.setWordWrap(True)
        self.findings.setMinimumHeight(60)
        right.addWidget(self.findings, 1)
        return right

    def _build_action_bar(self) -> QFrame:
        """The % change per drug and Send: outside the scroll area, never scrolled away."""
        bar = QFrame()
        bar.setObjectName("therapy_action_bar")
        grid = QGridLayout(bar)
        grid.setContentsMargins(0, 4, 0, 0)
        self.file_message = QLabel()
        self.file_message.setObjectName("file_message")
        self.file_message.setWordWrap(True)
        self.file_message.setVisible(False)
        self.send_button = QPushButton("Review and send…")
        self.send_button.setObjectName("review_and_send")
        self.send_button.setProperty("role", "primary")
        self.send_button.setStyleSheet(DISABLED_PRIMARY)
        self.send_button.clicked.connect(self.review_and_send)
        self.change.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # The daily dose change per drug against the pump, one line each (never wrapped:
        # a wrapped label is clipped when the window is at its smallest), then Send: this
        # fits 512 px (scale 2 on 1024x768).
        self.change.setAccessibleDescription("daily dose vs the pump")
        self.change.setWordWrap(False)
        grid.addWidget(self.change, 0, 0, 1, 2)
        grid.addWidget(self.file_message, 1, 0)
        grid.addWidget(self.send_button, 1, 1, Qt.AlignmentFlag.AlignRight)
        grid.setColumnStretch(0, 1)
        grid.setVerticalSpacing(2)
        return bar

    def _build_tools(self) -> QHBoxLayout:
        """From the pump, files, undo: at the top of the scrolled form."""
        row = QHBoxLayout()
        self.from_pump_button = QPushButton("From the pump")
        self.from_pump_button.setToolTip("Start again from the therapy the pump holds")
        self.from_pump_button.setObjectName("from_pump")
        self.from_pump_button.clicked.connect(self.start_from_pump)
        self.open_button = QPushButton("Open…")
        self.open_button.setObjectName("open_file")
        self.open_button.clicked.connect(self._open_dialog)
        self.save_button = QPushButton("Save…")
        self.save_button.setObjectName("save_file")
        self.save_button.clicked.connect(self._save_dialog)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undo")
        self.undo_button.setToolTip("Ctrl+Z")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.model.undo_stack.undo)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setObjectName("redo")
        self.redo_button.setToolTip("Ctrl+Shift+Z")
        self.redo_button.setEnabled(False)
        self.redo_button.clicked.connect(self.model.undo_stack.redo)
        for b in (self.from_pump_button, self.open_button, self.save_button, self.undo_button, self.redo_button):  # fmt: skip
            row.addWidget(b)
        row.addStretch(1)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.model.undo_stack.undo)
        redo = QShortcut(QKeySequence("Ctrl+Shift+Z"), self)
        redo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        redo.activated.connect(self.model.undo_stack.redo)
        return row

    # --- the pump -------------------------------------------------------------------------

    def _user_changed(self) -> None:
        if self.state.principal is None:
            self.model.reset()  # a prescription is patient data: not left for the next user
            self._file_note("", OK)
        self.refresh()

    def _pump_changed(self) -> None:
        i = self.state.interrogation
        if i is None:
            self.model.set_pump(None)
        else:
            now = datetime.fromtimestamp(int(i.status["clock_t"]), UTC)
            self.model.set_pump(i.pump_context(), now)
            if self.model.undo_stack.count() == 0:
                self.start_from_pump()
            elif (
                "trial" not in self.model.data
                and not i.therapy.drugs
                and self._trial_offered != i.serial
            ):
                # The pump was linked to its patient after it was read: their first fill now
                # carries their trial, once (an edit that Undo takes back for good).
                rx = dict(self.model.data)
                self._add_first_fill_trial(rx, i.serial, False)
                if "trial" in rx:
                    self.model.replace(rx, "the patient's screening trial")
        self.refresh()

    def changed_prescription(self) -> dict[str, Any] | None:
        """The prescription being edited, if it builds and differs from the pump's therapy
        (for the refill wizard: refill and therapy change in one transaction)."""
        p = self.model.plan()
        if p.therapy is None or p.hard or p.therapy == self.model.pump_therapy:
            return None
        return self.model.data

    def start_from_pump(self) -> None:
        i = self.state.interrogation
        if i is None:
            return
        rx = self.model.from_pump(i.therapy, i.serial, i.model)
        self._add_first_fill_trial(rx, i.serial, bool(i.therapy.drugs))
        self.model.replace(rx, "start from the pump")

    def _add_first_fill_trial(self, rx: dict[str, Any], serial: str, holds_drug: bool) -> None:
        """A first fill of a patient's pump carries their trial: the plan proposes the start."""
        me = self.state.principal
        if me is None or not may(me, PatientAction.READ):
            return
        patients = Patients(self.state.store, self.state.trail)
        trial, _why_not = first_fill_trial(patients, me, serial, pump_holds_drug=holds_drug)
        if trial is not None:
            self._trial_offered = serial
            rx["trial"] = trial
            owner = patients.owner_of(me, serial)
            if owner is not None:
                rx.setdefault("patient", owner.patient.clinic_id)
                if owner.patient.indication:
                    rx.setdefault("indication", owner.patient.indication)

    def _use_start_dose(self, dose: str | None) -> None:
        if dose is not None:
            self.model.set_continuous_dose(dose)

    # --- files ------------------------------------------------------------------------------

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a prescription", "", "Prescription (*.json)"
        )
        if path:
            self.load_file(Path(path))

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the prescription", "prescription.json",
                                              "Prescription (*.json)")  # fmt: skip
        if path:
            self.save_file(Path(path))

    def load_file(self, path: Path) -> bool:
        """Open a prescription; a bad file is reported and nothing changes."""
        try:
            self.model.load(path)
        except PrescriptionFileError as exc:
            self._file_note(f"Not opened: {exc}", CRITICAL)
            return False
        self._file_note(f"Opened {path.name}", OK)
        return True

    def save_file(self, path: Path) -> bool:
        try:
            self.model.save(path)
        except OSError as exc:
            self._file_note(f"Not saved: {exc}", CRITICAL)
            return False
        self._file_note(f"Saved {path.name}", OK)
        return True

    def _file_note(self, text: str, colour: str) -> None:
        self.file_message.setText(text)
        self.file_message.setVisible(bool(text))
        self.file_message.setStyleSheet(f"color: {colour}; font-weight: 600;")

    # --- edits from the widgets -------------------------------------------------------------

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        self.commit_row(item.row())

    def commit_row(self, row: int) -> None:
        def text(col: int) -> str:
            it = self.table.item(row, col)
            return it.text().strip() if it is not None else ""

        day_text = text(COL_DAY)
        day = int(day_text) if day_text.isdigit() else 1
        number, unit = text(COL_AMOUNT), text(COL_UNIT)
        amount = f"{number} {unit}" if unit else number
        self.model.set_step(row, day, text(COL_START), amount)

    def _drug_edited(self, index: int) -> None:
        if self._filling or index >= len(self._drug_rows):
            return
        r = self._drug_rows[index]
        problem = r.name.problem()
        r.name_problem.setText(f"Drug {index + 1}: {problem}" if problem else "")
        r.name_problem.setVisible(bool(problem))
        mark(r.name, "hard" if problem else None, problem or "")
        if problem and r.name.currentText().strip():
            return  # a name the library does not know never reaches the prescription
        r.conc.set_drug(r.name.drug())
        self.model.set_drug(index, r.name.text(), r.conc.text())

    def _ptm_values(self) -> dict[str, Any] | None:
        if self.ptm_enabled.currentText() != "on":
            return None
        dose = self.ptm_dose.text()
        key = "volume" if dose.endswith("L") else "dose"
        pb: dict[str, Any] = {key: dose, "duration": self.ptm_duration.text(),
                              "lockout": self.ptm_lockout.text(), "max_per_day": self.ptm_max.value()}  # fmt: skip
        return {k: v for k, v in pb.items() if v != ""}

    def _ptm_edited(self) -> None:
        if not self._filling:
            self.model.set_patient_bolus(self._ptm_values())

    def _preview_drug(self, index: int) -> None:
        """While typing a concentration: the totals as they would be (nothing is changed)."""
        if index >= len(self._drug_rows):
            return
        r = self._drug_rows[index]
        drug: dict[str, Any] = {"name": r.name.text()}
        if r.conc.text():
            drug["concentration"] = r.conc.text()

        def change(d: dict[str, Any]) -> None:
            d["drugs"][index] = drug

        self._show_totals(self.model.preview(change))

    def _preview_ptm(self) -> None:
        """While typing a bolus field: the totals as they would be (nothing is changed)."""
        pb = self._ptm_values()
        self._show_totals(self.model.preview(lambda d: d.__setitem__("patient_bolus", pb) if pb else d.pop("patient_bolus", None)))  # fmt: skip

    def _level_dragged(self, row: int, level: Fraction) -> None:
        self.model.drag_level(row, level)

    def _edge_dragged(self, row: int, minute: float) -> None:
        self.model.drag_edge(row, minute)

    def review_and_send(self) -> None:
        from ui.confirm.dialog import ConfirmDialog

        if not self.send_button.isEnabled():
            return
        dialog = ConfirmDialog(self.state, self.model.data, parent=self)
        self.confirm = dialog
        dialog.open()

    # --- showing the model --------------------------------------------------------------------

    def refresh(self) -> None:
        p = self.model.plan()
        self._filling = True
        try:
            self._fill_who(p)
            self._fill_drugs(p)
            self._fill_schedule(p)
            self._fill_ptm(p)
            self.low_alarm.set_text(str(self.model.data.get("low_reservoir_alarm", "")))
            mine = self.model.findings_at("low_reservoir_alarm", p)
            self.low_alarm.mark(severity_rank(mine), findings_text(mine))
            self.low_alarm_message.show_findings(mine, severity_rank(mine))
        finally:
            self._filling = False
        self._show_totals(p)
        self._show_findings(p)
        self.start_dose.show_plan(p, self.model.mode == "continuous")
        unit = self.model.chart_unit(p)
        self.chart.empty_text = (
            "Mode stopped: the pump delivers nothing"
            if self.model.mode == "stopped"
            else "Nothing to draw: correct the findings marked in red"
        )
        self.chart.set_profiles(self.model.old_segments(), self.model.new_segments(), unit.label,
                                max(self.model.cycle_days, self.model.pump_therapy.cycle_days if self.model.pump_therapy else 1),
                                edges_movable=self.model.mode == "flex", levels_movable=self.model.mode != "stopped")  # fmt: skip
        level, text = self.model.verdict(p)
        self.verdict.setText(text)
        self.verdict.setProperty("level", level)
        self.verdict.setStyleSheet(
            f"color: {VERDICT_COLOUR[level]}; font-size: 13pt; font-weight: 700;"
        )
        s = self.state.session
        may = self.state.may(Action.PROGRAM)
        role = self.state.principal.role if self.state.principal is not None else None
        self.role_note.setText(
            f"Signed in as a {role}: you can check and save this prescription, but sending a "
            "therapy change needs a physician's account." if role is not None and not may else ""
        )  # fmt: skip
        self.role_note.setVisible(role is not None and not may)
        can_send = (not p.hard and p.therapy is not None and s is not None and not self.state.offline
                    and not s.uncertain and may)  # fmt: skip
        self.send_button.setEnabled(can_send)
        self.send_button.setToolTip(
            "" if can_send else
            ("Sending a therapy change needs a physician's account" if not may else
             "Connect a pump first" if s is None else
             "The last outcome is uncertain: read the pump again first" if s.uncertain else
             "Correct the findings marked in red first")
        )  # fmt: skip
        self.from_pump_button.setEnabled(self.state.interrogation is not None)

    def _fill_who(self, p: Plan) -> None:
        data = self.model.data
        patient = str(data.get("patient", ""))
        if self.patient.text() != patient:
            self.patient.setText(patient)
        index = self.indication.findData(str(data.get("indication", "")))
        self.indication.setCurrentIndex(max(index, 0))
        self.jurisdiction.setCurrentText(str(data.get("jurisdiction", "US")))
        mine = [f for key in ("patient", "indication", "jurisdiction", "pump_serial", "pump_model")
                for f in self.model.findings_at(key, p)]  # fmt: skip
        self.who_message.show_findings(mine, severity_rank(mine))

    def _fill_drugs(self, p: Plan) -> None:
        drugs = self.model.drugs()
        while len(self._drug_rows) > len(drugs):
            r = self._drug_rows.pop()
            r.setParent(None)
            r.deleteLater()
        grew = len(self._drug_rows) < len(drugs)
        while len(self._drug_rows) < len(drugs):
            r = _DrugRow(self, len(self._drug_rows))
            self.drugs_box.insertWidget(len(self._drug_rows), r)
            self._drug_rows.append(r)
        if grew:  # rows made later would otherwise come last in the tab order
            # As drawn, row by row: Patient, Labels (beside it), Indication, then the drugs
            # (each: its name, Remove beside it, then its concentration on the line below).
            rows = [w for r in self._drug_rows
                    for w in (r.name, r.remove, r.conc.strength, r.conc.number, r.conc.unit)]  # fmt: skip
            chain_tabs(self.patient, self.jurisdiction, self.indication, *rows,
                       self.add_drug_button, self.mode)  # fmt: skip
        for i, (name, conc) in enumerate(drugs):
            r = self._drug_rows[i]
            r.name.blockSignals(True)
            if r.name.text() != name:
                r.name.setText(name)
            r.name.blockSignals(False)
            r.conc.set_drug(r.name.drug())
            r.conc.setText(conc, quiet=True)
            mine = self.model.findings_at(f"drugs[{i}]", p)
            conc_f = self.model.findings_at(f"drugs[{i}].concentration", p)
            mark(r.conc.number, severity_rank(conc_f), findings_text(conc_f))
            r.message.show_findings(mine, severity_rank(mine))
        general = [f for f in p.findings if f.field == "drugs"]
        self.drugs_message.show_findings(general, severity_rank(general))
        self.add_drug_button.setEnabled(len(drugs) < 4)

    def _fill_schedule(self, p: Plan) -> None:
        mode = self.model.mode
        if self.mode.currentText() != mode:
            self.mode.setCurrentText(mode)
        self.cycle.setValue(self.model.cycle_days)
        self.cycle.setEnabled(mode == "flex")
        mine = self.model.findings_at("mode", p) + self.model.findings_at("cycle_days", p)
        self.mode_message.show_findings(mine, severity_rank(mine))
        rows = self.model.rows()
        runs = self.model.row_results(p)
        per_row = self.model.step_findings(p)
        self.table.setRowCount(len(rows))
        flex = mode == "flex"
        for r, row in enumerate(rows):
            number, unit = split_quantity(row.amount)
            short, full = runs[r] if r < len(runs) else ("—", "no therapy can be built yet")
            values = [str(row.day), row.start, number, unit, short]
            found = per_row.get(r, [])
            worst = severity_rank(found)
            values.append(CHECK_WORD[worst] if worst else "ok")
            for c, v in enumerate(values):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                if item.text() != v:
                    item.setText(v)
                editable = c in (COL_AMOUNT, COL_UNIT) or (flex and c == COL_START) or (flex and c == COL_DAY and self.model.cycle_days > 1)  # fmt: skip
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                item.setFlags(flags | Qt.ItemFlag.ItemIsEditable if editable else flags)
                if c in (COL_AMOUNT, COL_RUNS, COL_DAY):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                item.setBackground(QBrush(QColor(ROW_TINT[worst])) if worst else QBrush())
                if c == COL_CHECK and worst:
                    item.setForeground(QBrush(QColor(SEVERITY_COLOUR[worst])))
                elif c == COL_CHECK:
                    item.setForeground(QBrush())
                item.setToolTip(
                    "\n".join(t for t in (f"pump runs: {full}", findings_text(found)) if t)
                )
                item.setData(Qt.ItemDataRole.UserRole, worst or "")
        self.table.setEnabled(mode != "stopped")
        rows_h = sum(self.table.rowHeight(r) for r in range(len(rows))) or 30
        height = self.table.horizontalHeader().height() + rows_h + 2 * self.table.frameWidth() + 34
        self.table.setFixedHeight(max(110, min(height, 340)))
        self.add_step_button.setEnabled(flex)
        self.remove_step_button.setEnabled(flex and len(rows) > 1)
        general = [f for f in p.findings if f.field == "steps"]
        self.steps_message.show_findings(general, severity_rank(general))
        units = [split_quantity(row.amount)[1] for row in rows]
        odd = [f"row {n} is in {u}" for n, u in enumerate(units, 1) if units and u != units[0]]
        self.units_message.setText(
            f"Rows in different units (row 1 is in {units[0]}): " + "; ".join(odd) if odd else ""
        )
        self.units_message.setVisible(bool(odd))

    def _fill_ptm(self, p: Plan) -> None:
        pb = self.model.patient_bolus()
        self.ptm_enabled.setCurrentText("on" if pb is not None else "off")
        for w in (self.ptm_dose, self.ptm_duration, self.ptm_lockout, self.ptm_max):
            w.setEnabled(pb is not None)
        pb = pb or {}
        self.ptm_dose.set_text(str(pb.get("dose", pb.get("volume", ""))))
        self.ptm_duration.set_text(str(pb.get("duration", "")))
        self.ptm_lockout.set_text(str(pb.get("lockout", "")))
        per_day = pb.get("max_per_day", 1)
        self.ptm_max.setValue(per_day if isinstance(per_day, int) else 1)
        for key, w in (("dose", self.ptm_dose), ("duration", self.ptm_duration), ("lockout", self.ptm_lockout)):  # fmt: skip
            found = self.model.findings_at(f"patient_bolus.{key}", p)
            if key == "dose":
                found += self.model.findings_at("patient_bolus.volume", p)
            w.mark(severity_rank(found), findings_text(found))
        mine = self.model.findings_at("patient_bolus", p)
        self.ptm_message.show_findings(mine, severity_rank(mine))

    def _show_totals(self, p: Plan) -> None:
        lines, exact = [], []
        now = daily_doses(self.model.pump_therapy)
        for d, most in zip(p.daily_doses, p.max_daily_doses, strict=False):
            # rounded as a clinician writes it; the exact figures one hover away
            base = clinical_dose(d.amount_ng, d.unit)
            top = clinical_dose(most.amount_ng, most.unit)
            exact.append(f"{d.drug}: exactly {d.to_json()['text']}"
                         f" ({most.to_json()['text']} with every patient bolus)")  # fmt: skip
            lines.append(f"<b>{d.drug}</b>: <b style='font-size:15pt'>{base}</b>")
            if most.amount_ng != d.amount_ng:
                lines.append(f"&nbsp;&nbsp;with every patient bolus: <b>{top}</b>")
            if d.drug in now:
                lines.append(
                    f"&nbsp;&nbsp;<span style='color:#5f6368'>on the pump now: {now[d.drug]}</span>"
                )
        vol = p.to_json()["daily_volume_text"]
        lines.append(f"volume: <b>{vol}</b>" if vol else "volume: — (no therapy can be built)")
        self.totals.setText("<br>".join(lines))
        self.totals.setToolTip("\n".join(exact))
        if p.therapy is None:
            self.change.show_changes([], set())
            self.change.setText("—")
            self.change.setToolTip("no therapy can be built from this prescription")
            return
        changes = drug_changes(self.model.pump_therapy, p.therapy)
        self.change.show_changes(changes, over_the_limit(p.findings),
                                 pump_known=self.model.pump_therapy is not None)  # fmt: skip

    def _show_findings(self, p: Plan) -> None:
        self.findings.clear()
        order = {"hard": 0, "soft": 1, "info": 2}
        for f in sorted(p.findings, key=lambda f: order[str(f.severity)]):
            said = readable_message(f)
            item = QListWidgetItem(
                f"{severity_words(f.severity)}: {finding_title(f.code)} ({field_text(f.field)}): "
                f"{rounded_text(said)}"
            )
            item.setForeground(QBrush(QColor(SEVERITY_COLOUR[str(f.severity)])))
            item.setToolTip(
                f.remedy + (f"\n\nexactly: {said}" if rounded_text(said) != said else "")
            )
            item.setData(Qt.ItemDataRole.UserRole, f.field)
            self.findings.addItem(item)
        if not p.findings:
            self.findings.addItem("No findings.")

    def step_units(self) -> list[str]:
        """The units a step may be written in: the first drug's dose (its own mass unit
        first), volume rates only for saline or when asked for."""
        drugs = self.model.drugs()
        first = default_library().find(drugs[0][0]) if drugs else None
        if not drugs:
            return list(RATE_STEP_UNITS)
        mass = first.dose_unit if first is not None and first.dose_unit else "mg"
        other = "mcg" if mass == "mg" else "mg"
        units = [f"{mass}/day", f"{mass}/h", f"{other}/day", f"{other}/h"]
        return units + list(RATE_STEP_UNITS) if self.rates_box.isChecked() else units

    # --- for tests and screenshots ---------------------------------------------------------------

    def row_severity(self, row: int) -> str | None:
        item = self.table.item(row, COL_AMOUNT)
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else ""
        return str(value) or None

    def edit_cell(self, row: int, col: int, text: str) -> None:
        """As if typed into the table (Enter): the row is committed to the model."""
        item = self.table.item(row, col)
        assert item is not None
        item.setText(text)
