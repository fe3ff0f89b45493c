"""Audit: the trail in a table with filters, Verify, Export, and verifying an exported copy.

Reading only: nothing here changes a record. Verify and export go through the core's
review functions, which check the role; an export is itself recorded before it is
written (except from a read-only copy, which cannot record it, and says so).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from programmer.store import (
    AuditAction,
    AuditKeyError,
    AuditRecord,
    StoreError,
    StoreReadOnly,
    VerifyResult,
    export_trail,
    verify_export,
    verify_trail,
)
from programmer.store.audit_chain import FIELDS
from programmer.store.audit_review import export_shown
from programmer.store.roles import Action, NotAllowed, authorize
from ui.app_state import AppState, unverified_text
from ui.audit.words import action_words, describe, outcome_words, raw_text
from ui.error_words import error_text
from ui.style import CRITICAL, OK, WARNING, banner_css
from ui.timefmt import computer_text
from ui.widgets import is_narrow

MAX_ROWS = 5_000  # newest first; narrow the filters to see older records
ANY = ""
# What happened comes early: at 1024 pixels it is read without scrolling sideways.
COLUMNS = ("Time", "Seq", "Who", "What happened", "Outcome", "Pump", "Action", "Reason")
WHO, DETAILS, OUTCOME, PUMP, ACTION, REASON = 2, 3, 4, 5, 6, 7
# Outcomes of a program that reached the pump: their daily doses are "before" for the next.
_GIVEN = ("applied", "uncertain_resolved")
_NUMERIC = {1}


def result_text(result: VerifyResult, what: str) -> str:
    if result.ok:
        return f"OK: {what} verifies: {result.records} records, chain intact up to record {result.head.seq}."
    problem = f" ({result.problem})" if result.problem else ""
    return (
        f"NOT OK: {what} fails at record {result.first_bad_seq}{problem}: {result.message}. "
        f"{result.records} records before it verify."
    )


class AuditModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[AuditRecord] = []
        # seq of a program outcome -> the daily doses its pump was given before it
        self.earlier: dict[int, Mapping[str, int]] = {}

    def set_records(self, records: list[AuditRecord],
                    earlier: dict[int, Mapping[str, int]] | None = None) -> None:  # fmt: skip
        self.beginResetModel()
        self.records = records
        self.earlier = earlier or {}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # fmt: skip
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def cell(self, row: int, column: int) -> str:
        r = self.records[row]
        if column == DETAILS:
            return describe(r, self.earlier.get(r.seq))
        who = f"{r.account or '-'}{f' ({r.role})' if r.role else ''}"
        values = (computer_text(r.ts_s), str(r.seq), who, "", outcome_words(r.outcome),
                  r.pump_serial, action_words(r.action), r.reason)  # fmt: skip
        return values[column] or ""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # fmt: skip
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            text = self.cell(index.row(), index.column())
            return text if len(text) <= 80 else text[:79] + "…"
        if role == Qt.ItemDataRole.ToolTipRole:
            r = self.records[index.row()]
            if index.column() == 0:
                return f"{r.ts} (UTC, as stored)"
            if index.column() == DETAILS:  # the words, then the record as stored
                raw = raw_text(r)
                return self.cell(index.row(), DETAILS) + (f"\n\nAs stored:\n{raw}" if raw else "")
            if index.column() == REASON:
                return r.reason or None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def local_date_format() -> str:
    """This computer's short date format ("dd/MM/yyyy", "M/d/yyyy"), the year in full.
    Numbers only: a month name in a date edit crashed Qt here (tests/ui, offscreen)."""
    locale = QLocale()
    if locale.language() == QLocale.Language.C:  # no locale set: day first, as timefmt writes
        return "dd/MM/yyyy"
    fmt = locale.dateFormat(QLocale.FormatType.ShortFormat)
    if "yyyy" not in fmt:
        fmt = fmt.replace("yy", "yyyy")
    return fmt if "MMM" not in fmt else "dd/MM/yyyy"


class AuditPage(QWidget):
    sig_loaded = Signal(int)  # rows shown

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        title = QLabel("Audit trail")
        title.setProperty("role", "title")
        outer.addWidget(title)
        # A copy reviewed without its audit key: read as stored, said before anything else.
        self.unverified = QLabel()
        self.unverified.setObjectName("audit_unverified")
        self.unverified.setWordWrap(True)
        self.unverified.setStyleSheet(banner_css(WARNING))
        self.unverified.setAccessibleName("the audit trail is not verified")
        outer.addWidget(self.unverified)
        filters = QGridLayout()
        self.account_filter = self._combo("account_filter", "filter by account")
        self.pump_filter = self._combo("pump_filter", "filter by pump serial")
        self.action_filter = self._combo("action_filter", "filter by action")
        self.range_check = QCheckBox("Dates")
        self.range_check.setObjectName("range_check")
        self.range_check.setAccessibleName("filter by a date range")
        self.since_edit = self._date("since_edit", "from this date, inclusive")
        self.until_edit = self._date("until_edit", "to this date, inclusive")
        self._filter_pairs: list[tuple[QLabel, QWidget]] = []
        for label, widget in (("Account", self.account_filter), ("Pump", self.pump_filter),
                              ("Action", self.action_filter)):  # fmt: skip
            lab = QLabel(label)
            lab.setBuddy(widget)
            self._filter_pairs.append((lab, widget))
        self.filter_grid = filters
        # The dates on a row of their own: the filters fit 1024 pixels, at scale 2 too.
        dates = QHBoxLayout()
        dates.addWidget(self.range_check)
        dates.addWidget(self.since_edit)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.until_edit)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setObjectName("clear_button")
        dates.addStretch(1)
        self.date_row = dates
        outer.addLayout(filters)
        actions = QGridLayout()
        self.action_grid = actions
        self.verify_button = QPushButton("Verify the trail")
        self.verify_button.setObjectName("verify_button")
        self.verify_button.setProperty("role", "primary")
        self.verify_button.setAccessibleName("verify every record of the audit trail")
        self.export_button = QPushButton("Export what is shown…")
        self.export_button.setObjectName("export_button")
        self.export_button.setAccessibleName("export the records the filters show (CSV or JSON)")
        self.export_all_button = QPushButton("Export everything…")
        self.export_all_button.setObjectName("export_all_button")
        self.export_all_button.setAccessibleName("export the whole trail, verifiable (CSV or JSON)")
        self.open_copy_button = QPushButton("Open an exported copy…")
        self.open_copy_button.setObjectName("open_copy_button")
        self.open_copy_button.setAccessibleName("open an exported trail and verify it")
        self._narrow: bool | None = None
        self._place(narrow=False)
        self.count_label = QLabel()
        self.count_label.setObjectName("count_label")
        self.count_label.setProperty("role", "muted")
        self.count_label.setWordWrap(True)
        outer.addLayout(actions)
        self.result_label = QLabel()
        self.result_label.setObjectName("verify_result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setVisible(False)
        outer.addWidget(self.result_label)
        outer.addWidget(self.count_label)  # over the table: the buttons' row fits 1024 pixels
        self.model = AuditModel()
        self.table = QTableView()
        self.table.setObjectName("audit_table")
        self.table.setAccessibleName("audit records, newest first")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((175, 45, 130, 430, 100, 115, 165)):
            self.table.setColumnWidth(col, width)
        self.detail = QPlainTextEdit()
        self.detail.setObjectName("detail_text")
        self.detail.setAccessibleName("the selected record in full")
        self.detail.setReadOnly(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        outer.addWidget(split, 1)
        for combo in (self.account_filter, self.pump_filter, self.action_filter):
            combo.currentIndexChanged.connect(lambda _: self.reload())
        self.range_check.toggled.connect(self._range_toggled)
        self.since_edit.dateChanged.connect(lambda _: self.reload())
        self.until_edit.dateChanged.connect(lambda _: self.reload())
        self.clear_button.clicked.connect(self.clear_filters)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self._export_clicked)
        self.export_all_button.clicked.connect(self._export_all_clicked)
        self.open_copy_button.clicked.connect(self._open_copy_clicked)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _: self._show_detail(cur.row()))  # fmt: skip
        state.sig_user_changed.connect(self._refresh_later)
        self._range_toggled(False)
        self._dirty = True  # the lists are filled on first show (the toggle above reloaded)
        self._show_unverified()

    def _show_unverified(self) -> None:
        text = unverified_text(self.state.trail)
        # The first sentence here; the main window's banner adds what to do.
        self.unverified.setText((text or "").split(". ")[0] + ".")
        self.unverified.setToolTip(text or "")
        self.unverified.setVisible(text is not None)
        keyed = text is None
        self.verify_button.setEnabled(keyed)
        self.verify_button.setProperty("role", "primary" if keyed else "")  # looks disabled
        self.verify_button.style().unpolish(self.verify_button)
        self.verify_button.style().polish(self.verify_button)
        self.open_copy_button.setEnabled(keyed)
        why = (
            ""
            if keyed
            else "Needs the audit key of this record, which this computer does not hold."
        )
        self.verify_button.setToolTip(why)
        self.open_copy_button.setToolTip(why)

    # --- widgets -------------------------------------------------------------------------

    def _combo(self, name: str, accessible: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setAccessibleName(accessible)
        combo.setMinimumWidth(150)
        return combo

    def _date(self, name: str, accessible: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setCalendarPopup(True)
        # The clinic's own way of writing a date (its locale), with a four-digit year.
        edit.setDisplayFormat(local_date_format())
        today = datetime.now().date()  # the clinic's day, not UTC's
        edit.setDate(QDate(today.year, today.month, today.day))
        return edit

    def _range_toggled(self, on: bool) -> None:
        self.since_edit.setEnabled(on)
        self.until_edit.setEnabled(on)
        self.reload()

    def _refresh_later(self) -> None:
        self._dirty = True
        if self.isVisible():
            self.reload()

    def _place(self, narrow: bool) -> None:
        """Filters and buttons side by side; one under the other on a narrow window (at
        scale 2 on 1024x768 the Action filter and the export buttons ran off the screen)."""
        if narrow == self._narrow:
            return
        self._narrow = narrow
        f = self.filter_grid
        for lab, widget in self._filter_pairs:
            f.removeWidget(lab)
            f.removeWidget(widget)
        f.removeItem(self.date_row)
        self.date_row.setParent(None)  # free to be added again
        f.removeWidget(self.clear_button)
        f.setColumnStretch(3, 0)
        f.setColumnStretch(1, 0)
        for n, (lab, widget) in enumerate(self._filter_pairs):
            if narrow:
                f.addWidget(lab, n, 0)
                f.addWidget(widget, n, 1)
            else:
                f.addWidget(lab, 0, n)
                f.addWidget(widget, 1, n)
        if narrow:
            f.addLayout(self.date_row, 3, 0, 1, 2)
            f.addWidget(self.clear_button, 4, 0, 1, 2, Qt.AlignmentFlag.AlignLeft)
            f.setColumnStretch(1, 1)
        else:
            f.addLayout(self.date_row, 2, 0, 1, 3)
            f.addWidget(self.clear_button, 2, 3, Qt.AlignmentFlag.AlignLeft)
            f.setColumnStretch(3, 1)
        buttons = (self.verify_button, self.export_button, self.export_all_button,
                   self.open_copy_button)  # fmt: skip
        for n, b in enumerate(buttons):
            self.action_grid.removeWidget(b)
            self.action_grid.addWidget(b, n if narrow else 0, 0 if narrow else n)
        self.action_grid.setColumnStretch(4, 0 if narrow else 1)
        self.action_grid.setColumnStretch(1, 1 if narrow else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place(narrow=is_narrow(self))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # The longest local time whole, in the font the window's style sheet gave the table.
        widest = self.table.fontMetrics().horizontalAdvance("Wed 22 Sep 2026, 22:22")
        self.table.setColumnWidth(0, max(self.table.columnWidth(0), widest + 20))
        if self._dirty:
            self.refresh_choices()

    def _fill(self, combo: QComboBox, values: list[str], label: str) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(f"(any {label})", ANY)
        for v in values:
            combo.addItem(action_words(v) if label == "action" else v, v)
        i = combo.findData(current) if current else 0
        combo.setCurrentIndex(max(i, 0))
        combo.blockSignals(False)

    def refresh_choices(self) -> None:
        """Fill the filter lists from what the trail holds, then reload."""
        q = self.state.store.query
        self._fill(self.account_filter, [r[0] for r in q("SELECT DISTINCT account FROM audit WHERE account IS NOT NULL ORDER BY account")], "account")  # fmt: skip
        self._fill(self.pump_filter, [r[0] for r in q("SELECT DISTINCT pump_serial FROM audit WHERE pump_serial IS NOT NULL ORDER BY pump_serial")], "pump")  # fmt: skip
        self._fill(self.action_filter, [str(a) for a in AuditAction], "action")
        self.reload()

    def clear_filters(self) -> None:
        for combo in (self.account_filter, self.pump_filter, self.action_filter):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self.range_check.setChecked(False)
        self.reload()

    # --- the records -----------------------------------------------------------------------

    def filters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, combo in (("account", self.account_filter), ("pump_serial", self.pump_filter), ("action", self.action_filter)):  # fmt: skip
            if combo.currentData():
                out[key] = combo.currentData()
        if self.range_check.isChecked():
            since = self.since_edit.date().toPython()
            until = self.until_edit.date().toPython()
            # The clinic's local days, midnight to midnight (a UTC day splits an evening).
            out["since"] = datetime.combine(since, time()).astimezone()  # type: ignore[arg-type]
            out["until"] = datetime.combine(until + timedelta(days=1), time()).astimezone()  # type: ignore[arg-type, operator]
        return out

    def reload(self) -> None:
        """The newest MAX_ROWS records matching the filters (the trail's own filters)."""
        self._dirty = False
        principal = self.state.principal
        if principal is None:
            self.model.set_records([])
            return
        try:
            authorize(principal.role, Action.REVIEW_AUDIT)
        except NotAllowed as exc:
            self.model.set_records([])
            self._say(error_text(exc), ok=False)
            return
        where, params = self._where()
        total = self.state.store.query(f"SELECT count(*) FROM audit {where}", tuple(params))[0][0]
        rows = self.state.store.query(
            f"SELECT {', '.join(FIELDS)} FROM audit {where} ORDER BY seq DESC LIMIT {MAX_ROWS}",
            tuple(params),
        )
        records = [AuditRecord.from_row(r) for r in rows]
        self.model.set_records(records, self._earlier_doses(records))
        shown = len(rows)
        self.count_label.setText(
            f"{total} records"
            if shown == total
            else f"newest {shown} of {total} records: narrow the filters to see older ones"
        )
        self.detail.clear()
        self.sig_loaded.emit(shown)

    def _earlier_doses(self, records: list[AuditRecord]) -> dict[int, Mapping[str, int]]:
        """For each program outcome shown, the daily doses its pump had been given before
        (the previous program that reached it), for "0.5 → 0.6 mg/day"."""
        wanted = {r.seq for r in records if r.action == "program_outcome"}
        if not wanted:
            return {}
        given: dict[str | None, Mapping[str, int]] = {}
        out: dict[int, Mapping[str, int]] = {}
        for seq, serial, after, outcome in self.state.store.query(
            "SELECT seq, pump_serial, after, outcome FROM audit WHERE action = 'program_outcome'"
            " AND seq <= ? ORDER BY seq", (max(wanted),)
        ):  # fmt: skip
            if seq in wanted and serial in given:
                out[seq] = given[serial]
            if outcome not in _GIVEN:
                continue
            try:
                doses = json.loads(after or "null")
            except ValueError:
                continue
            doses = doses.get("daily_doses_ng") if isinstance(doses, dict) else None
            if isinstance(doses, dict) and all(isinstance(v, int) for v in doses.values()):
                given[serial] = doses
        return out

    def _where(self) -> tuple[str, list[Any]]:
        f = self.filters()
        clauses, params = [], []
        for column in ("account", "pump_serial", "action"):
            if column in f:
                clauses.append(f"{column} = ?")
                params.append(f[column])
        if "since" in f:
            clauses.append("ts_s >= ?")
            params.append(int(f["since"].timestamp()))
            clauses.append("ts_s < ?")
            params.append(int(f["until"].timestamp()))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return where, params

    def _show_detail(self, row: int) -> None:
        if not 0 <= row < len(self.model.records):
            self.detail.clear()
            return
        r = self.model.records[row]
        lines = [f"Record {r.seq}, {computer_text(r.ts_s)}: {action_words(r.action)}",
                 self.model.cell(row, DETAILS),
                 f"Account: {r.account or '-'} ({r.role or '-'})", f"Pump: {r.pump_serial or '-'}",
                 f"Outcome: {outcome_words(r.outcome) or '-'}", f"Reason: {r.reason or '-'}"]  # fmt: skip
        raw = raw_text(r)
        lines.append(f"\nAs stored ({r.ts} UTC, action {r.action}, outcome {r.outcome or '-'}):"
                     f"\n{raw}" if raw else f"\nAs stored: {r.ts} UTC, action {r.action}")  # fmt: skip
        self.detail.setPlainText("\n".join(lines))

    # --- verify and export -------------------------------------------------------------------

    def _say(self, text: str, ok: bool) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet(banner_css(OK if ok else CRITICAL))
        self.result_label.setVisible(True)

    def _needs_key(self, what: str) -> bool:
        """Said on the screen when `what` needs the key this computer does not hold."""
        if self.state.trail.verifiable:
            return False
        self._say(f"Cannot verify {what}: verifying needs the audit key of this record, "
                  "which this computer does not hold. The entries are shown as stored.",
                  ok=False)  # fmt: skip
        return True

    def verify(self) -> VerifyResult | None:
        principal = self.state.principal
        if principal is None or self._needs_key("this trail"):
            return None
        try:
            result = verify_trail(self.state.trail, principal)
        except (NotAllowed, StoreError) as exc:
            self._say(f"Cannot verify. {error_text(exc)}", ok=False)
            return None
        self._say(result_text(result, "this database's trail"), result.ok)
        return result

    def _export_clicked(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the audit trail", "audit-trail.json", "JSON (*.json);;CSV (*.csv)"
        )
        if path:
            self.export_to(
                Path(path), "csv" if "CSV" in chosen or path.endswith(".csv") else "json"
            )

    def _export_all_clicked(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the whole audit trail", "audit-trail.json", "JSON (*.json);;CSV (*.csv)"
        )
        if path:
            fmt = "csv" if "CSV" in chosen or path.endswith(".csv") else "json"
            self.export_to(Path(path), fmt, everything=True)

    def export_to(self, path: Path, fmt: str, *, everything: bool = False) -> int | None:
        """Write what the filters show (all of it, not only the newest rows on screen), or the
        whole trail when no filter is set or `everything`; the export is recorded first
        (unless the copy is read-only)."""
        principal = self.state.principal
        if principal is None:
            return None
        where, params = self._where()
        if where and not everything:
            return self._export_shown(path, fmt, where, params)
        note = ""
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                try:
                    count = export_trail(self.state.trail, principal, fmt, out)
                except (StoreReadOnly, AuditKeyError):
                    if not self.state.offline:
                        raise
                    authorize(principal.role, Action.EXPORT)
                    count = self.state.trail.export(fmt, out)
                    note = self._copy_note()
        except (NotAllowed, StoreError, OSError, ValueError) as exc:
            self._say(f"Nothing exported. {error_text(exc)}", ok=False)
            return None
        self._say(
            f"Exported the whole trail, {count} records, to {path} ({fmt.upper()}).{note}", ok=True
        )
        self.refresh_choices()
        return count

    def _export_shown(self, path: Path, fmt: str, where: str, params: list[Any]) -> int | None:
        principal = self.state.principal
        assert principal is not None
        rows = self.state.store.query(f"SELECT {', '.join(FIELDS)} FROM audit {where} ORDER BY seq",
                                      tuple(params))  # fmt: skip
        records = [AuditRecord.from_row(r) for r in rows]
        shown = {k: str(v) for k, v in self.filters().items()}
        # A copy under review cannot record its export (read-only, maybe without its key).
        record = not self.state.read_only
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                count = export_shown(self.state.trail, principal, fmt, out, records, shown,
                                     record=record)  # fmt: skip
        except (NotAllowed, StoreError, OSError, ValueError) as exc:
            self._say(f"Nothing exported. {error_text(exc)}", ok=False)
            return None
        self._say(f"Exported the {count} records the filters show to {path} ({fmt.upper()}): a "
                  "part of the trail, so its chain cannot be verified on its own (Export "
                  "everything for a copy that can)." + ("" if record else self._copy_note()),
                  ok=True)  # fmt: skip
        self.refresh_choices()
        return count

    def _copy_note(self) -> str:
        note = " Not recorded in the trail: this is a read-only copy."
        if not self.state.trail.verifiable:
            note += " Not verified: the records are as stored (no audit key on this computer)."
        return note

    def _open_copy_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an exported audit trail", "", "Audit exports (*.json *.csv);;All files (*)"
        )
        if path:
            self.open_copy(Path(path))

    def open_copy(self, path: Path) -> VerifyResult | None:
        """Verify an exported copy with this installation's audit key."""
        principal = self.state.principal
        if principal is None or self._needs_key(f"the exported copy {path.name}"):
            return None
        try:
            authorize(principal.role, Action.REVIEW_AUDIT)
            # The key stays in the core object; only its bytes are handed to the verifier.
            result = verify_export(path, self.state.trail.key)
        except (NotAllowed, StoreError, OSError) as exc:
            self._say(f"Cannot verify {path.name}. {error_text(exc)}", ok=False)
            return None
        self._say(result_text(result, f"the exported copy {path.name}"), result.ok)
        return result
