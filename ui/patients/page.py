"""Patients: a searchable list; one patient's details, pumps over time, trials and timeline.

A connected programmable pump is looked up by its serial: its patient is shown, or the user
is asked which patient it belongs to (never guessed); a pump linked to another patient is
a hard stop. A constant-flow pump is never "connected": it is refilled from here.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.clinic.patients_sync import patient_conflicts
from programmer.formatting import volume_rate_text, volume_text
from programmer.patients import report, timeline
from programmer.patients.access import PatientAction, may
from programmer.patients.fields import PatientError, PumpLinkedElsewhere
from programmer.patients.records import Patient, Pump
from programmer.patients.registry import Patients
from programmer.patients.words import DECISION, INDICATION, PUMP_KIND, RESPONSE, TRIAL_KIND, word
from ui.app_state import AppState
from ui.patients.forms import NewPatientDialog, NewPumpDialog, ReplacePumpDialog
from ui.patients.list_model import PatientListModel
from ui.patients.timeline_chart import TimelineChart
from ui.pump_text import pump_text
from ui.style import CRITICAL, INFO, WARNING
from ui.table_fit import fit_columns
from ui.timefmt import computer_text, day_text, stored_day, stored_text
from ui.widgets import Banner, is_narrow


def _seconds(utc: str) -> int:
    """A stored UTC time ("...Z") as seconds."""
    return int(datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp())


class PatientsPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.patients = Patients(state.store, state.trail)
        self.current: Patient | None = None
        self.model: PatientListModel | None = None
        root = QVBoxLayout(self)
        self.link_box = QVBoxLayout()
        root.addLayout(self.link_box)
        split = QSplitter()
        self.split = split  # side by side, or one under the other on a narrow screen
        root.addWidget(split, 1)
        left = QWidget()
        lv = QVBoxLayout(left)
        self.search = QLineEdit()
        self.search.setObjectName("patient_search")
        self.search.setPlaceholderText("Search by name or clinic identifier")
        self.search.setAccessibleName("search patients")
        self.search.textChanged.connect(self._search)
        lv.addWidget(self.search)
        self.table = QTableView()
        self.table.setObjectName("patient_list")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        lv.addWidget(self.table, 1)
        self.count_label = QLabel()
        self.count_label.setProperty("role", "muted")
        lv.addWidget(self.count_label)
        self.new_button = QPushButton("New patient…")
        self.new_button.setObjectName("new_patient")
        self.new_button.clicked.connect(self._new_patient)
        lv.addWidget(self.new_button)
        split.addWidget(left)
        self.list_side = left
        right = QWidget()
        rv = QVBoxLayout(right)
        self.title = QLabel("Choose a patient")
        self.title.setProperty("role", "title")
        self.title.setObjectName("patient_title")
        self.title.setWordWrap(True)  # a long name wraps instead of widening the screen
        rv.addWidget(self.title)
        self.details = QLabel()
        self.details.setObjectName("patient_details")
        self.details.setWordWrap(True)
        rv.addWidget(self.details)
        # Two offline edits of these details on two programmers (docs/clinic.md)
        self.conflict = Banner("", WARNING, "patient_conflict")
        self.conflict.hide()
        rv.addWidget(self.conflict)
        rv.addWidget(QLabel("Pumps over time"))
        self.pumps = QTableWidget(0, 6)
        self.pumps.setObjectName("pump_table")
        self.pumps.setHorizontalHeaderLabels(
            ["Serial", "Kind", "Implanted", "Explanted", "Catheter", "Flow"]
        )
        fit_columns(self.pumps)
        self.pumps.setMaximumHeight(110)
        self.pumps.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        rv.addWidget(self.pumps)
        self.chart = TimelineChart()
        self.chart.setObjectName("timeline_chart")
        rv.addWidget(self.chart, 1)
        row = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.lists_row = row  # one under the other on a narrow screen
        rv.addLayout(row)
        self.trials = QListWidget()
        self.trials.setObjectName("trial_list")
        self.trials.setMaximumHeight(90)
        self.trials.itemActivated.connect(self._open_trial)
        row.addWidget(self.trials, 1)
        self.timeline = QListWidget()
        self.timeline.setObjectName("timeline_list")
        self.timeline.setMaximumHeight(90)
        row.addWidget(self.timeline, 2)
        buttons = QGridLayout()
        self.button_grid = buttons
        rv.addLayout(buttons)
        self.buttons: dict[str, QPushButton] = {}
        actions = (
            ("add_pump", "Record pump…", self._add_pump),
            ("replace", "Replace pump…", self._replace),
            ("trial", "New trial…", self._new_trial),
            ("cf_refill", "Constant-flow refill…", self._cf_refill),
            ("report", "Patient report…", self._report),
        )
        for n, (key, text, slot) in enumerate(actions):
            b = QPushButton(text)
            b.setObjectName(key)
            b.clicked.connect(slot)
            buttons.addWidget(b, n // 3, n % 3)
            self.buttons[key] = b
        split.addWidget(right)
        split.setSizes([300, 540])
        self._narrow: bool | None = None
        state.sig_user_changed.connect(self.refresh)
        state.sig_pump_changed.connect(self._pump_changed)
        self.refresh()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = is_narrow(self)
        if narrow == self._narrow:
            return
        self._narrow = narrow
        # At scale 2 on 1024x768 the list and the patient side by side were both cramped
        # and the screen scrolled sideways: one under the other, the page scrolls down.
        self.split.setOrientation(Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal)
        self.table.setMinimumHeight(150 if narrow else 0)  # a few patients, not one row
        # Side by side at 1024x768 the list got 170 px: every value cut to "Ad…", "MR…".
        self.list_side.setMinimumWidth(0 if narrow else 300)
        self.lists_row.setDirection(
            QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        )
        per_row = 1 if narrow else 3
        for n, b in enumerate(self.buttons.values()):
            self.button_grid.removeWidget(b)
            self.button_grid.addWidget(b, n // per_row, n % per_row)
        self._pump_changed()  # its "link" row, laid out for the new width

    # -- list ------------------------------------------------------------------------------

    def refresh(self) -> None:
        me = self.state.principal
        if me is None or not may(me, PatientAction.READ):
            self.table.setModel(None)
            self.title.setText("Patients are read by nurses and physicians")
            self._enable()
            return
        self.model = PatientListModel(self.patients, me)
        self.model.reload(self.search.text())
        self.table.setModel(self.model)
        fit_columns(self.table)  # every column in view; a cut value whole on hover
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _: self._select_row(cur.row())
        )
        self.count_label.setText(f"{self.patients.count(me):,} patients")
        if self.current is not None:
            self.show_patient(self.current.id)
        self._enable()
        self._pump_changed()

    def _search(self, text: str) -> None:
        if self.model is not None:
            try:
                self.model.reload(text)
            except PatientError as exc:
                self.count_label.setText(str(exc))

    def _select_row(self, row: int) -> None:
        if self.model is not None and 0 <= row < len(self.model.rows):
            self.show_patient(self.model.rows[row].id)

    def _enable(self) -> None:
        me = self.state.principal
        write = me is not None and may(me, PatientAction.WRITE) and not self.state.read_only
        refill = (
            me is not None and may(me, PatientAction.RECORD_REFILL) and not self.state.read_only
        )
        self.new_button.setEnabled(write)
        chosen = self.current is not None
        pump = self.current_pump()
        self.buttons["add_pump"].setEnabled(write and chosen and pump is None)
        self.buttons["replace"].setEnabled(write and pump is not None)
        self.buttons["trial"].setEnabled(write and chosen)
        self.buttons["cf_refill"].setEnabled(
            refill and pump is not None and pump.kind == "constant-flow"
        )
        self.buttons["report"].setEnabled(chosen)

    # -- one patient -----------------------------------------------------------------------

    def current_pump(self) -> Pump | None:
        me = self.state.principal
        if self.current is None or me is None:
            return None
        return next((p for p in self.patients.pumps(me, self.current.id) if p.current), None)

    def _show_conflict(self, p: Patient) -> None:
        others = patient_conflicts(self.state.store, p.id)
        self.conflict.setVisible(bool(others))
        if others:
            lines = [
                f"{computer_text(_seconds(at))} by {by}: {name}, born {dob}, "
                f"{word(INDICATION, indication) or 'indication not recorded'}"
                + (f"; notes: {notes.rstrip('.')}." if notes else ".")
                for _, name, dob, indication, notes, at, by in others
            ]
            self.conflict.setText(
                "TWO EDITS MADE OFFLINE on different programmers: the newer is shown above; "
                "the other was " + " / ".join(lines) + " Edit the details to settle them."
            )

    def show_patient(self, patient_id: int) -> None:
        me = self.state.principal
        assert me is not None
        p = self.patients.get(me, patient_id)
        self.current = p
        self.title.setText(f"{p.clinic_id}: {p.name}")
        self.details.setText(
            f"Born {day_text(p.dob)}; indication "
            f"{word(INDICATION, p.indication) or 'not recorded'}; details "
            f"version {p.version} ({stored_day(p.updated_at)}, {p.updated_by}). {p.notes}"
        )
        self.details.setToolTip(f"Details changed {stored_text(p.updated_at)} by {p.updated_by}")
        self._show_conflict(p)
        pumps = self.patients.pumps(me, p.id)
        self.pumps.setRowCount(len(pumps))
        self.pumps.setToolTip(
            "\n".join(
                f"{x.serial}: {word(PUMP_KIND, x.kind)}, {day_text(x.implanted_on)} to "
                f"{day_text(x.explanted_on) if x.explanted_on else 'now'}"
                for x in pumps
            )
        )
        for r, x in enumerate(pumps):
            volume = volume_text(x.catheter_volume_nl) if x.catheter_volume_nl else None
            cath = " ".join(filter(None, [x.catheter_tip, volume]))
            flow = volume_rate_text(x.flow_nl_day) if x.flow_nl_day else "programmable"
            values = [f"{x.model or ''} {x.serial}".strip(), word(PUMP_KIND, x.kind), day_text(x.implanted_on),
                      f"{day_text(x.explanted_on)} ({x.explant_reason})" if x.explanted_on else "implanted now", cath, flow]  # fmt: skip
            exact = volume_rate_text(x.flow_nl_day, exact=True) if x.flow_nl_day else ""
            for c, v in enumerate(values):
                cell = QTableWidgetItem(v)
                if v == flow and exact:
                    cell.setToolTip(f"exactly: {exact}")
                self.pumps.setItem(r, c, cell)
        self.pumps.resizeColumnsToContents()
        tl = timeline.build(self.patients, me, p.id)
        self.chart.show_timeline(tl, timeline.daily_volumes(self.patients, me, p.id))
        self.timeline.clear()
        for e in tl.entries:
            item = QListWidgetItem(f"{stored_day(e.at)}  {e.serial or ''}  {e.text}")
            item.setToolTip(stored_text(e.at))
            if e.kind in ("replacement", "implant", "explant"):
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.timeline.addItem(item)
        self.trials.clear()
        for t in self.patients.trials(me, p.id):
            result = (
                f"{word(RESPONSE, t.result.response)}, {word(DECISION, t.result.decision)}"
                if t.result
                else "open"
            )
            kind = word(TRIAL_KIND, t.kind)
            item = QListWidgetItem(f"{stored_day(t.started_at)} {t.drug}, {kind}: {result}")
            item.setToolTip(f"started {stored_text(t.started_at)}")
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            self.trials.addItem(item)
        self._enable()

    # -- the connected pump ----------------------------------------------------------------

    def _pump_changed(self) -> None:
        while self.link_box.count():
            old = self.link_box.takeAt(0)
            w = old.widget() if old is not None else None
            if w is not None:
                w.deleteLater()
        i = self.state.interrogation
        me = self.state.principal
        if i is None or me is None or not may(me, PatientAction.READ):
            return
        owner = self.patients.owner_of(me, i.serial)
        if owner is not None:
            self.link_box.addWidget(Banner(
                f"Connected pump {pump_text(i.serial)} belongs to {owner.patient.clinic_id} ({owner.patient.name})",
                INFO, "pump_owner"))  # fmt: skip
            return
        row = QWidget()
        narrow = is_narrow(self)  # the button under the banner: no sideways scrolling
        h = QBoxLayout(
            QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight, row
        )
        h.setContentsMargins(0, 0, 0, 0)
        ask = Banner(f"Connected pump {pump_text(i.serial)} is linked to no patient: choose its patient in the "
                     "list, then confirm. Nothing is linked until you do.", WARNING, "pump_unlinked")  # fmt: skip
        h.addWidget(ask, 1)
        link = QPushButton("This pump is the chosen patient's")
        link.setObjectName("link_pump")
        link.clicked.connect(self.link_connected_pump)
        link.setEnabled(may(me, PatientAction.WRITE) and not self.state.read_only)
        h.addWidget(link)
        self.link_box.addWidget(row)

    def link_connected_pump(self) -> None:
        i, me = self.state.interrogation, self.state.principal
        if i is None or me is None:
            return
        if self.current is None:
            self.state.sig_message.emit("warning", "choose the pump's patient in the list first")
            return
        try:
            self.patients.link_connected(
                me, self.current.id, i.serial, i.model, self._implant_day()
            )
        except PumpLinkedElsewhere as exc:
            self.link_box.addWidget(Banner(f"STOP: {exc}", CRITICAL, "pump_linked_elsewhere"))
            return
        except PatientError as exc:
            self.state.sig_message.emit("error", str(exc))
            return
        self.state.sig_pump_changed.emit()  # whose pump it is changed: the screens read again
        self.refresh()

    def _implant_day(self) -> str:
        return self.state.store.clock().date().isoformat()

    # -- actions ---------------------------------------------------------------------------

    def _new_patient(self) -> None:
        me = self.state.principal
        assert me is not None
        dialog = NewPatientDialog(self.patients, me, self)
        if dialog.exec() and dialog.created is not None:
            self.current = dialog.created
            self.refresh()

    def _add_pump(self) -> None:
        me = self.state.principal
        if me is None or self.current is None:
            return
        dialog = NewPumpDialog(self.patients, me, self.current, self)
        if dialog.exec():
            self.refresh()

    def _replace(self) -> None:
        me, old = self.state.principal, self.current_pump()
        if me is None or self.current is None or old is None:
            return
        dialog = ReplacePumpDialog(self.patients, me, self.current, old, self)
        dialog.exec()
        self.refresh()

    def _new_trial(self) -> None:
        from ui.trial.page import NewTrialDialog, TrialDialog

        me = self.state.principal
        if me is None or self.current is None:
            return
        dialog = NewTrialDialog(self.patients, me, self.current, self)
        if dialog.exec() and dialog.created is not None:
            TrialDialog(self.patients, me, dialog.created.id, self).exec()
            self.refresh()

    def _open_trial(self, item: QListWidgetItem) -> None:
        from ui.trial.page import TrialDialog

        me = self.state.principal
        if me is None:
            return
        TrialDialog(self.patients, me, int(item.data(Qt.ItemDataRole.UserRole)), self).exec()
        self.refresh()

    def _cf_refill(self) -> None:
        from ui.constant_flow.refill import ConstantFlowRefillDialog

        me, pump = self.state.principal, self.current_pump()
        if me is None or self.current is None or pump is None:
            return
        ConstantFlowRefillDialog(self.patients, me, self.current, pump, self).exec()
        self.refresh()

    def _report(self) -> None:
        from ui.patients.report_dialog import ReportDialog

        me = self.state.principal
        if me is None or self.current is None:
            return
        ReportDialog(report.html(self.patients, me, self.current.id), self).exec()
