"""Table columns that fit their table: as wide as their contents when there is room, shared
out when there is not (long values elided, the whole value on hover), so no column is
reached only by scrolling sideways (1024x768, scale 2)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QToolTip

MIN_COLUMN = 40  # px: a column never narrower than a few characters


def shared_widths(wants: list[int], room: int, least: int = MIN_COLUMN) -> list[int]:
    """Each column's width: what it wants when everything fits (the spare room goes to the
    last); otherwise narrow columns keep their width and the wide ones share the rest
    equally (never below `least`)."""
    if not wants:
        return []
    if sum(wants) <= room:
        return [*wants[:-1], wants[-1] + room - sum(wants)]
    widths = list(wants)
    open_ = set(range(len(wants)))
    left = room
    while open_:
        share = left // len(open_)
        small = {c for c in open_ if wants[c] <= share}
        if not small:
            for c in open_:
                widths[c] = max(share, least)
            break
        for c in small:
            widths[c] = wants[c]
            left -= wants[c]
        open_ -= small
    return widths


class _ColumnFitter(QObject):
    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self.table = table
        self._pending = False
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        # A cut heading shows its start ("Implan"), not a middle ("mplante")
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.viewport().installEventFilter(self)
        self.watch_model()

    def watch_model(self) -> None:
        model: QAbstractItemModel | None = self.table.model()
        if model is None or model.property("_fitted_by") == id(self):
            return
        model.setProperty("_fitted_by", id(self))
        for sig in (model.modelReset, model.rowsInserted, model.dataChanged, model.layoutChanged):
            sig.connect(self.later)
        self.later()

    def later(self, *_: object) -> None:
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self, self.fit)  # not after the table is gone

    def fit(self) -> None:
        self._pending = False
        table = self.table
        model: QAbstractItemModel | None = table.model()
        if model is None:  # no model yet (or taken away)
            return
        header = table.horizontalHeader()
        columns = [c for c in range(model.columnCount()) if not header.isSectionHidden(c)]
        wants = [max(table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in columns]
        for c, w in zip(columns, shared_widths(wants, table.viewport().width()), strict=True):
            header.resizeSection(c, w)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.watch_model()
            self.later()
        elif event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            return self._whole_value(event)
        return False

    def _whole_value(self, event: QHelpEvent) -> bool:
        """Hover over a cut value: the whole value (unless the cell has a tip of its own)."""
        index = self.table.indexAt(event.pos())
        if not index.isValid() or index.data(Qt.ItemDataRole.ToolTipRole):
            return False
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if not text:
            return False
        width = self.table.fontMetrics().horizontalAdvance(str(text)) + 12
        if width <= self.table.columnWidth(index.column()):
            return False
        QToolTip.showText(event.globalPos(), str(text), self.table.viewport())
        return True


def fit_columns(table: QTableView) -> None:
    """Keep `table`'s columns inside its width from now on (also after a new model)."""
    fitter = table.findChild(_ColumnFitter)
    if fitter is None:
        _ColumnFitter(table)
    else:
        fitter.watch_model()
