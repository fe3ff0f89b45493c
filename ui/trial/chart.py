"""A trial's observations against its doses on one time axis: doses as bars (top), each
score scale as a line (bottom), side effects as marks. Drawing only: floats start here."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from programmer.patients.records import Trial
from programmer.patients.words import SCALE, SIDE_EFFECT, word
from programmer.quantities import MASS_UNITS

SCALE_PENS = {"pain": "#b00020", "ashworth": "#0b5394", "spasm": "#1e7e34"}
MIN_SPAN_S = 4 * 3600  # a lone entry is drawn among hours, not fractions of a second
MARGIN_S = 1800
EMPTY_TEXT = "No observations yet: doses, scores and side effects appear here as they are added."


class TrialChart(QWidget):
    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("trial_chart_empty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setProperty("role", "muted")
        self.empty.setHidden(True)
        layout.addWidget(self.empty, 1)
        self.doses = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.scores = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        for w in (self.doses, self.scores):
            w.setBackground("w")
            w.showGrid(x=True, y=True, alpha=0.2)
            w.setMinimumHeight(110)
            layout.addWidget(w)
        self.scores.setXLink(self.doses)
        self.scores.addLegend(offset=(5, 5))
        self.dose_bars = 0
        self.score_points = 0
        self.effect_marks = 0

    def sizeHint(self) -> QSize:
        """Only the room it needs: a plot's view asks for its scene's size, which pushed
        the trial's forms below the screen in its scrolling dialog."""
        return QSize(360, 240)

    def show_trial(self, t: Trial, unit: str) -> None:
        self.doses.clear()
        self.scores.clear()
        per_day = t.kind == "continuous"
        self.doses.setLabel("left", f"dose ({unit}{'/day' if per_day else ''})")
        self.scores.setLabel("left", "score")
        doses = [e for e in t.doses if e.amount_ng is not None]
        xs = [float(e.at_s) for e in doses]
        ys = [(e.amount_ng or 0) / MASS_UNITS[unit] for e in doses]
        if per_day and xs:
            self.doses.plot([*xs, xs[-1] + 3600.0], [*ys, ys[-1]], stepMode="right",
                            pen=pg.mkPen("#444", width=2))  # fmt: skip
        elif xs:
            self.doses.addItem(pg.BarGraphItem(x=xs, height=ys, width=900, brush="#6d8fb3"))
        self.dose_bars = len(xs)
        self.score_points = 0
        for scale, pen in SCALE_PENS.items():
            obs = [e for e in t.observations if e.scale == scale and e.score is not None]
            if obs:
                self.scores.plot([float(e.at_s) for e in obs], [float(e.score or 0) for e in obs],
                                 pen=pg.mkPen(pen, width=2), symbol="o", symbolBrush=pen, name=word(SCALE, scale))  # fmt: skip
                self.score_points += len(obs)
        self.effect_marks = 0
        for e in t.side_effects:
            line = pg.InfiniteLine(float(e.at_s), angle=90, pen=pg.mkPen("#c26a00", width=1),
                                   label=word(SIDE_EFFECT, e.effect), labelOpts={"position": 0.85, "color": "#c26a00"})  # fmt: skip
            self.scores.addItem(line)
            self.effect_marks += 1
        self.scores.setYRange(0, 10.5 if any(e.scale == "pain" for e in t.observations) else 4.5)
        self._x_range([float(e.at_s) for e in t.entries])

    def _x_range(self, xs: list[float]) -> None:
        """Nothing to draw: say so instead of an empty plot whose date axis counts fractions
        of a second. Otherwise every entry in view, over at least a few hours."""
        empty = not xs
        self.empty.setHidden(not empty)
        self.doses.setHidden(empty)
        self.scores.setHidden(empty)
        if empty:
            return
        lo, hi = min(xs), max(xs)
        if hi - lo < MIN_SPAN_S:
            mid = (lo + hi) / 2
            lo, hi = mid - MIN_SPAN_S / 2, mid + MIN_SPAN_S / 2
        self.doses.setXRange(lo - MARGIN_S, hi + MARGIN_S, padding=0)
