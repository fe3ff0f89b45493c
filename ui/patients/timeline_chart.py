"""One chart per patient across pumps: each pump's stretch shaded and named, the replacement
marked, and the volume each pump reported per day. Drawing only: values become floats here."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pyqtgraph as pg
from PySide6.QtCore import Qt

from programmer.patients.timeline import Timeline
from programmer.patients.words import PUMP_KIND, word

STRETCH_BRUSHES = [(11, 83, 148, 40), (30, 126, 52, 40), (194, 106, 0, 40), (120, 60, 160, 40)]
CURVE_PENS = ["#0b5394", "#1e7e34", "#c26a00", "#783ca0"]


def _t(day: object) -> float:
    return datetime.combine(day, time(0), tzinfo=UTC).timestamp()  # type: ignore[arg-type]


class TimelineChart(pg.PlotWidget):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.setBackground("w")
        self.setMinimumHeight(160)
        self.setLabel("left", "delivered", units="mL/day")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setMouseEnabled(x=True, y=False)
        self.stretch_labels: list[str] = []
        self.replacement_lines = 0

    def show_timeline(self, tl: Timeline, volumes: dict[str, list[tuple[int, int]]]) -> None:
        self.clear()
        self.stretch_labels = []
        self.replacement_lines = 0
        now = datetime.now(UTC).timestamp()
        top = max((v for series in volumes.values() for _, v in series), default=1_000_000) / 1e6
        for n, s in enumerate(tl.stretches):
            start = _t(s.start)
            end = _t(s.end) if s.end else now
            region = pg.LinearRegionItem((start, end), movable=False, brush=STRETCH_BRUSHES[n % 4])
            region.setZValue(-10)
            self.addItem(region)
            label = pg.TextItem(
                f"{s.model or word(PUMP_KIND, s.kind)} {s.serial}",
                color=CURVE_PENS[n % 4],
                anchor=(0, 0),
            )
            label.setPos(start, top * 1.1)
            self.addItem(label)
            self.stretch_labels.append(s.label)
            series = volumes.get(s.serial, [])
            if series:
                xs = [float(d) for d, _ in series]
                ys = [v / 1e6 for _, v in series]
                self.plot(xs, ys, pen=pg.mkPen(CURVE_PENS[n % 4], width=2), name=s.serial)
        for e in tl.replacements():
            at = datetime.fromisoformat(e.at.replace("Z", "+00:00")).timestamp()
            line = pg.InfiniteLine(at, angle=90, pen=pg.mkPen("#b00020", width=2, style=Qt.PenStyle.DashLine),
                                   label="replaced", labelOpts={"position": 0.9, "color": "#b00020"})  # fmt: skip
            self.addItem(line)
            self.replacement_lines += 1
        if tl.stretches:
            self.setXRange(_t(tl.stretches[0].start) - 30 * 86_400, now + 30 * 86_400, padding=0)
            self.setYRange(0, top * 1.25, padding=0)
