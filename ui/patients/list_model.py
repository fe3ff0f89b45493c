"""The patient list as a Qt model that reads pages of 200 as it scrolls (10,000 open at once)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from programmer.patients.records import PatientRow
from programmer.patients.registry import Patients
from programmer.patients.words import PUMP_KIND, word
from programmer.store.accounts import Principal
from ui.timefmt import day_text, stored_day, stored_text

PAGE = 200
COLUMNS = ("Name", "Clinic ID", "Born", "Pump now", "Last visit")
Index = QModelIndex | QPersistentModelIndex


class PatientListModel(QAbstractTableModel):
    def __init__(self, patients: Patients, actor: Principal) -> None:
        super().__init__()
        self.patients = patients
        self.actor = actor
        self.text = ""
        self.rows: list[PatientRow] = []
        self._done = False
        self.reload()

    def reload(self, text: str | None = None) -> None:
        self.beginResetModel()
        if text is not None:
            self.text = text
        self.rows = self.patients.search(self.actor, self.text, limit=PAGE)
        self._done = len(self.rows) < PAGE
        self.endResetModel()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._done

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        more = self.patients.search(self.actor, self.text, limit=PAGE, offset=len(self.rows))
        self._done = len(more) < PAGE
        if more:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
            self.rows.extend(more)
            self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == len(COLUMNS) - 1:
            return stored_text(r.last_visit_at) if r.last_visit_at else None  # its time
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        pump = f"{r.pump_serial} ({word(PUMP_KIND, r.pump_kind)})" if r.pump_serial else "none"
        last = stored_day(r.last_visit_at) if r.last_visit_at else ""
        return (r.name, r.clinic_id, day_text(r.dob), pump, last)[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None
