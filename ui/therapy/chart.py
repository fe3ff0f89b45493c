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
        super().__init__(pos=(x, y), **kw)

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
        self.legend = self.plot.addLegend(offset=(10, 5))
        self.old_curve = self.plot.plot(
            [], [], pen=pg.mkPen(OLD_PEN, width=3, style=Qt.PenStyle.DashLine), name="on the pump now"
        )
        self.new_curve = self.plot.plot([], [], pen=pg.mkPen(NEW_PEN, width=3), name="new")
        layout.addWidget(self.plot)
        self.level_handles: list[_Handle] = []
        self.edge_handles: list[_Handle] = []
        self.segments: list[Segment] = []
        self.old: list[Segment] = []
        self.cycle_days = 1

    def set_profiles(self, old: list[Segment], new: list[Segment], unit_label: str,
                     cycle_days: int, edges_movable: bool, levels_movable: bool) -> None:  # fmt: skip
        self.old, self.segments, self.cycle_days = old, new, cycle_days
        self.plot.setLabel("left", unit_label)
        self.plot.setLabel("bottom", "time of day, h" if cycle_days == 1 else "hour of the cycle")
        self.old_curve.setData(*_xy(old))
        self.new_curve.setData(*_xy(new))
        for h in self.level_handles + self.edge_handles:
            self.plot.removeItem(h)
        self.level_handles, self.edge_handles = [], []
        for row, s in enumerate(new):
            mid = (s.start_min + s.end_min) / 120
            level = _Handle(row, "y", mid, float(s.level), size=14, symbol="s",
                            pen=pg.mkPen(NEW_PEN, width=2), brush=pg.mkBrush("#ffffff"),
                            movable=levels_movable)  # fmt: skip
            level.setToolTip(f"step {row + 1}: drag up or down to change its dose")
            level.sigPositionChanged.connect(self._preview)
            level.sigPositionChangeFinished.connect(self._level_done)
            self.plot.addItem(level)
            self.level_handles.append(level)
            if row > 0:
                edge = _Handle(row, "x", s.start_min / 60, float(s.level), size=12, symbol="t1",
                               pen=pg.mkPen(NEW_PEN, width=2), brush=pg.mkBrush(NEW_PEN),
                               movable=edges_movable)  # fmt: skip
                edge.setToolTip(f"step {row + 1}: drag left or right to move its start (15 min)")
                edge.sigPositionChanged.connect(self._preview)
                edge.sigPositionChangeFinished.connect(self._edge_done)
                self.plot.addItem(edge)
                self.edge_handles.append(edge)
        top = max([float(s.level) for s in old + new] or [1.0])
        self.plot.setXRange(0, 24 * cycle_days, padding=0.01)
        self.plot.setYRange(0, top * 1.25 if top > 0 else 1.0, padding=0)
        ticks = [(h, f"{h % 24:02d}" if cycle_days == 1 or h % 24 else f"d{h // 24 + 1}")
                 for h in range(0, 24 * cycle_days + 1, 3 if cycle_days == 1 else 12)]  # fmt: skip
        self.plot.getAxis("bottom").setTicks([ticks])

    def _preview(self, handle: _Handle) -> None:
        """While dragging: redraw the new curve with the handle's position (not yet applied)."""
        segs = list(self.segments)
        if not segs or not (0 <= handle.row < len(segs)):
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
