"""The profile chart: the new therapy's steps over the pump's current one, in grey.

Levels come from the editor model (the core's arithmetic); the chart only draws them
and turns drags into `sig_level_dragged(row, level)` and `sig_edge_dragged(row, minute)`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ui.therapy.model import Segment

NEW_PEN = "#0b5394"
OLD_PEN = "#9aa0a6"


class _Handle(pg.TargetItem):  # type: ignore[misc]
    """A drag handle that moves along one axis only ("x": a step's start, "y": its level)."""

    def __init__(self, row: int, axis: str, x: float, y: float, **kw: Any) -> None:
        self.row = row
        self.axis = axis
        self.fixed = y if axis == "x" else x
        self._placing = False
        super().__init__(pos=(x, y), **kw)

    def place(self, x: float, y: float) -> None:
        """Move to (x, y) from the model (not a drag): no preview, no signal handling."""
        self.fixed = y if self.axis == "x" else x
        self._placing = True
        try:
            super().setPos(pg.Point(x, y))
        finally:
            self._placing = False

    def setPos(self, *args: Any) -> None:
        p = pg.Point(*args)
        if self.axis == "x":
            p = pg.Point(p.x(), self.fixed)
        else:
            p = pg.Point(self.fixed, max(0.0, p.y()))
        super().setPos(p)


def _xy(segments: list[Segment]) -> tuple[list[float], list[float]]:
    xs: list[float] = []
    ys: list[float] = []
    for s in segments:
        level = float(s.level)  # drawing only
        xs += [s.start_min / 60, s.end_min / 60]
        ys += [level, level]
    return xs, ys


class ProfileChart(QWidget):
    sig_level_dragged = Signal(int, object)  # row, Fraction level in the chart's unit
    sig_edge_dragged = Signal(int, float)  # row, minute of the cycle

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("therapy_chart")
        self.setAccessibleName("profile chart: the new therapy over the pump's current one")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "time of day, h")
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)  # no hidden "x0.001"
        self.legend = self.plot.addLegend(offset=(10, 5))
        self.old_curve = self.plot.plot(
            [],
            [],
            pen=pg.mkPen(OLD_PEN, width=3, style=Qt.PenStyle.DashLine),
            name="on the pump now",
        )
        self.new_curve = self.plot.plot([], [], pen=pg.mkPen(NEW_PEN, width=3), name="new")
        layout.addWidget(self.plot)
        self.empty = pg.TextItem("", color="#b00020", anchor=(0.5, 0.5))
        self.plot.addItem(self.empty, ignoreBounds=True)
        self.level_handles: list[_Handle] = []
        self.edge_handles: list[_Handle] = []
        self.segments: list[Segment] = []
        self.old: list[Segment] = []
        self.cycle_days = 1
        self.empty_text = "Nothing to draw: correct the findings marked in red"

    def set_profiles(self, old: list[Segment], new: list[Segment], unit_label: str,
                     cycle_days: int, edges_movable: bool, levels_movable: bool) -> None:  # fmt: skip
        self.old, self.segments, self.cycle_days = old, new, cycle_days
        self.plot.setLabel("left", unit_label)
        self.plot.setLabel("bottom", "time of day, h" if cycle_days == 1 else "hour of the cycle")
        self.old_curve.setData(*_xy(old))
        self.new_curve.setData(*_xy(new))
        # Handles are made once and reused: removing pyqtgraph items that have been painted
        # and letting Python collect them crashes PySide at interpreter exit.
        for row, s in enumerate(new):
            level = self._handle(self.level_handles, row, "y")
            level.place((s.start_min + s.end_min) / 120, float(s.level))
            level.movable = levels_movable
            if row > 0:
                edge = self._handle(self.edge_handles, row, "x")
                edge.place(s.start_min / 60, float(s.level))
                edge.movable = edges_movable
        for h in self.level_handles[len(new) :]:
            h.setVisible(False)
        for h in self.edge_handles[max(0, len(new) - 1) :]:
            h.setVisible(False)
        top = max([float(s.level) for s in old + new] or [1.0])
        self.plot.setXRange(0, 24 * cycle_days, padding=0.01)
        self.empty.setText("" if new else self.empty_text)
        self.empty.setPos(12 * cycle_days, (top * 1.25 if top > 0 else 1.0) / 2)
        self.plot.setYRange(0, top * 1.25 if top > 0 else 1.0, padding=0)
        ticks = [(h, f"{h % 24:02d}" if cycle_days == 1 or h % 24 else f"d{h // 24 + 1}")
                 for h in range(0, 24 * cycle_days + 1, 3 if cycle_days == 1 else 12)]  # fmt: skip
        self.plot.getAxis("bottom").setTicks([ticks])

    def _handle(self, pool: list[_Handle], row: int, axis: str) -> _Handle:
        """The pool's handle for `row` (edges start at row 1), made on first use."""
        index = row if axis == "y" else row - 1
        while len(pool) <= index:
            r = len(pool) if axis == "y" else len(pool) + 1
            if axis == "y":
                h = _Handle(r, "y", 0.0, 0.0, size=14, symbol="s", pen=pg.mkPen(NEW_PEN, width=2),
                            brush=pg.mkBrush("#ffffff"))  # fmt: skip
                h.setToolTip(f"step {r + 1}: drag up or down to change its dose")
                h.sigPositionChangeFinished.connect(self._level_done)
            else:
                h = _Handle(r, "x", 0.0, 0.0, size=12, symbol="t1", pen=pg.mkPen(NEW_PEN, width=2),
                            brush=pg.mkBrush(NEW_PEN))  # fmt: skip
                h.setToolTip(f"step {r + 1}: drag left or right to move its start (15 min)")
                h.sigPositionChangeFinished.connect(self._edge_done)
            h.sigPositionChanged.connect(self._preview)
            self.plot.addItem(h)
            pool.append(h)
        handle = pool[index]
        handle.setVisible(True)
        return handle

    def _preview(self, handle: _Handle) -> None:
        """While dragging: redraw the new curve with the handle's position (not yet applied)."""
        segs = list(self.segments)
        if handle._placing or not segs or not (0 <= handle.row < len(segs)):
            return
        pos = handle.pos()
        if handle.axis == "y":
            s = segs[handle.row]
            segs[handle.row] = Segment(s.start_min, s.end_min, Fraction(max(0.0, pos.y())))
        else:
            minute = int(pos.x() * 60)
            prev, cur = segs[handle.row - 1], segs[handle.row]
            minute = max(prev.start_min + 1, min(cur.end_min - 1, minute))
            segs[handle.row - 1] = Segment(prev.start_min, minute, prev.level)
            segs[handle.row] = Segment(minute, cur.end_min, cur.level)
        self.new_curve.setData(*_xy(segs))

    def _level_done(self, handle: _Handle) -> None:
        self.finish_level_drag(handle.row, handle.pos().y())

    def _edge_done(self, handle: _Handle) -> None:
        self.finish_edge_drag(handle.row, handle.pos().x() * 60)

    def finish_level_drag(self, row: int, y: float) -> None:
        """The end of a level drag (also what tests call): y in the chart's unit."""
        self.sig_level_dragged.emit(row, Fraction(repr(max(0.0, y))))

    def finish_edge_drag(self, row: int, minute: float) -> None:
        """The end of a start-edge drag: minute of the cycle, snapped by the model."""
        self.sig_edge_dragged.emit(row, minute)
