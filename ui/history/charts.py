"""The history charts: daily totals, hour by hour, reservoir estimate and alarms, one time axis.

Only drawing: every number comes from programmer.history_series (exact); it becomes a
float here, for plotting. A value the pump never reported is NaN, drawn as a gap
(connect="finite"), never joined across.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from fractions import Fraction
from html import escape

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneResizeEvent

from programmer.drugs import default_library
from programmer.history_series import History
from programmer.quantities import MASS_UNITS, NL_PER_ML
from ui.pump_text import pump_text

REFILL_COLOUR = "#1e7e34"
PROGRAM_COLOUR = "#0b5394"
UNKNOWN_COLOUR = "#c26a00"
GAP_BRUSH = (150, 150, 150, 70)
GAP_PEN = "#8a8a8a"
CRITICAL_ALARMS = {"empty_reservoir", "end_of_service", "motor_stall", "pump_stopped"}
DAY_S = 86_400
REPLACED_COLOUR = "#b00020"
STRETCH_COLOURS = [(11, 83, 148), (194, 106, 0), (30, 126, 52), (120, 60, 160)]


def dose_unit(drug: str) -> str:
    """The drug library's unit for a drug's dose; mcg for a drug it does not know."""
    found = default_library().find(drug)
    return found.dose_unit if found is not None and found.dose_unit else "mcg"


def y_top(values: NDArray[np.float64]) -> float:
    """The top of a y axis that starts at zero: the largest value and a margin."""
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    return top * 1.08 if top > 0 else 1.0


def to_floats(values: Sequence[Fraction | int | None], divisor: int) -> NDArray[np.float64]:
    """Exact values to floats in a display unit; None becomes NaN (a gap)."""
    nan = float("nan")
    return np.fromiter(
        (
            nan
            if v is None
            else v / divisor
            if isinstance(v, int)
            else v.numerator / (v.denominator * divisor)  # int / int: correctly rounded
            for v in values
        ),
        dtype=np.float64,
        count=len(values),
    )


class Marks(pg.GraphicsObject):  # type: ignore[misc]
    """Vertical lines and shaded bands at given times, across the whole visible height.

    One item per kind per plot: a hundred refill and program markers over five years cost
    one paint, where as many InfiniteLines would each recompute their bounds per redraw.
    """

    def __init__(
        self,
        lines: Sequence[float] = (),
        pen: QPen | None = None,
        bands: Sequence[tuple[float, float]] = (),
        brush: QBrush | None = None,
    ) -> None:
        super().__init__()
        self.lines = np.asarray(sorted(lines), dtype=np.float64)
        self.bands = list(bands)
        self.pen = pen if pen is not None else pg.mkPen("k")
        self.brush = brush if brush is not None else pg.mkBrush(GAP_BRUSH)
        self.setZValue(-10)

    def boundingRect(self) -> QRectF:
        rect = self.viewRect()
        return QRectF() if rect is None else rect

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()
        self.update()

    def paint(self, painter: QPainter, *args: object) -> None:
        rect = self.viewRect()
        if rect is None:
            return
        left, right, top, bottom = rect.left(), rect.right(), rect.top(), rect.bottom()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.brush)
        least = 4 * (self.pixelWidth() or 0.0)  # a gap of minutes still shows at years
        for a, b in self.bands:
            if b >= left and a <= right:
                width = max(b - a, least)
                painter.drawRect(QRectF((a + b - width) / 2, top, width, bottom - top))
        painter.setPen(self.pen)
        lo, hi = np.searchsorted(self.lines, [left, right])
        for x in self.lines[lo:hi]:
            painter.drawLine(QPointF(float(x), top), QPointF(float(x), bottom))


class FittingTitle(pg.LabelItem):  # type: ignore[misc]
    """A plot title that never widens its plot past the chart's view (pyqtgraph makes a
    title's text width the plot's minimum width): cut to the width with "…", the whole
    title on hover."""

    def __init__(self, parent: pg.PlotItem) -> None:
        super().__init__("", size="11pt", parent=parent)
        self.full = ""

    def setText(self, text: str, **args: object) -> None:
        self.full = text
        self.setToolTip(text)
        super().setText(self._fitted(text), **args)

    def _fitted(self, text: str) -> str:
        width = self.rect().width()
        if width <= 0:
            return text
        font = QFont(self.item.font())
        size = str(self.opts.get("size", ""))
        if size.endswith("pt"):
            font.setPointSizeF(float(size[:-2]))
        return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, width - 6)

    def updateMin(self) -> None:
        super().updateMin()
        height = self.itemRect().height()
        self.setMinimumWidth(0)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, height)
        self._sizeHint[Qt.SizeHint.PreferredSize] = (0, height)

    def resizeEvent(self, ev: QGraphicsSceneResizeEvent | None) -> None:
        fitted = self._fitted(self.full)
        if fitted != self.text:
            pg.LabelItem.setText(self, fitted)  # calls back here once, with the same width
            return
        super().resizeEvent(ev)


def fit_title(plot: pg.PlotItem) -> None:
    """Give a plot a title that fits its width (see FittingTitle); set it with setTitle."""
    old = plot.titleLabel
    plot.layout.removeItem(old)
    old.setParentItem(None)
    if old.scene() is not None:
        old.scene().removeItem(old)
    plot.titleLabel = FittingTitle(plot)
    plot.layout.addItem(plot.titleLabel, 0, 1)
    plot.setTitle(None)


class ChartView(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """A chart that asks for little room: pyqtgraph's views ask for their scene's size,
    which made the History page taller than a 1024x768 screen (the alarms below it)."""

    def __init__(self, rows: int = 1) -> None:
        super().__init__()
        self.rows = rows

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint()

    def minimumSizeHint(self) -> QSize:
        """Room to read each plot (a few ticks); the page scrolls when there is less."""
        line = self.fontMetrics().lineSpacing()
        return QSize(16 * line, self.rows * 5 * line)


def tune(plot: pg.PlotItem) -> None:
    """Smooth with years of hourly data: draw only what is visible, peak-downsampled."""
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.showGrid(
        x=False, y=True, alpha=0.2
    )  # x grid lines would redraw on every pan; markers mark time
    plot.setMenuEnabled(False)
    plot.getAxis("left").enableAutoSIPrefix(False)  # never "mL (x0.001)": the unit is the unit
    # Replaying an axis's tick text is most of a redraw; a y axis seldom changes while the
    # view pans in time, so Qt keeps it as a pixmap and repaints it only when it does.
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class HistoryCharts(ChartView):
    """Four plots sharing one date axis that zooms from years to hours."""

    def __init__(self, utc_offset_min: int = 0) -> None:
        super().__init__(rows=4)
        self.setObjectName("history_chart")
        self.setAccessibleName("history charts: daily totals, hour by hour, reservoir, alarms")
        self.setBackground("w")
        self.ci.setSpacing(2)
        self.daily = self._plot(0, "Daily total")
        self.hourly = self._plot(1, "Hour by hour")
        self.reservoir = self._plot(2, "Reservoir (estimate)")
        self.alarms = self._plot(3, "Alarms")
        for p in (self.hourly, self.reservoir, self.alarms):
            p.setXLink(self.daily)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 2)
        self.ci.layout.setRowStretchFactor(2, 2)
        self.ci.layout.setRowStretchFactor(3, 2)
        self.alarms.getAxis("left").setWidth(110)
        for p in (self.daily, self.hourly, self.reservoir):
            p.getAxis("left").setWidth(110)
        # One date axis, under the last plot: the plots above share it (and its grid).
        for p in (self.daily, self.hourly, self.reservoir):
            p.hideAxis("bottom")
        self.alarms.setMouseEnabled(x=True, y=False)
        self.reservoir.setMouseEnabled(x=True, y=False)
        self.daily_curve = self.daily.plot(
            [], [], pen=pg.mkPen("#0b5394", width=2), connect="finite"
        )
        self.hourly_curve = self.hourly.plot(
            [], [], pen=pg.mkPen("#5f6368", width=1), connect="finite"
        )
        self.reservoir_curve = self.reservoir.plot(
            [], [], pen=pg.mkPen("#6a1b9a", width=2), connect="finite"
        )
        self._decor: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self.course_labels: list[str] = []
        self.replacement_lines = 0
        self.set_utc_offset(utc_offset_min)

    def _plot(self, row: int, title: str) -> pg.PlotItem:
        axis = pg.DateAxisItem(orientation="bottom")
        plot: pg.PlotItem = self.addPlot(row=row, col=0, axisItems={"bottom": axis})
        fit_title(plot)
        plot.setTitle(title, size="10pt", justify="left")
        tune(plot)
        return plot

    def set_utc_offset(self, minutes: int) -> None:
        for p in (self.daily, self.hourly, self.reservoir, self.alarms):
            p.getAxis("bottom").utcOffset = -minutes * 60  # seconds west of UTC

    def show_history(self, h: History, drug: str | None) -> None:
        """Draw the volume (drug None) or the dose of one drug."""
        for plot, item in self._decor:
            plot.removeItem(item)
        self._decor = []
        self.course_labels = []
        self.replacement_lines = 0
        self.set_utc_offset(h.utc_offset_min)
        if drug is None:
            unit, divisor = "mL", NL_PER_ML
        else:
            unit = dose_unit(drug)
            divisor = MASS_UNITS[unit]
        what = "volume" if drug is None else f"{escape(pump_text(drug))} dose"  # a title is HTML
        days_x, days_y = h.day_series(drug)
        hours_x, hours_y, scale = h.hour_scaled(drug)
        # A day's total is drawn at noon of its day; an hour's at its middle.
        daily_y = to_floats(days_y, divisor)
        hourly_y = to_floats(hours_y, divisor * scale)
        self.daily_curve.setData(np.asarray(days_x, dtype=np.float64) + DAY_S / 2, daily_y)
        self.hourly_curve.setData(np.asarray(hours_x, dtype=np.float64) + 1800, hourly_y)
        self.daily.setTitle(f"Daily total {what} ({unit}/day)", size="10pt", justify="left")
        self.hourly.setTitle(f"Hour by hour {what} ({unit}/h)", size="10pt", justify="left")
        self.daily.setLabel("left", f"{unit}/day")
        self.hourly.setLabel("left", f"{unit}/h")
        reservoir_y = to_floats(h.reservoir_nl, NL_PER_ML)
        self.reservoir_curve.setData(np.asarray(h.reservoir_t, dtype=np.float64), reservoir_y)
        self.reservoir.setTitle(
            "Reservoir estimate (mL): each fill minus the volume delivered since; never measured",
            size="10pt",
            justify="left",
        )
        self.reservoir.setLabel("left", "mL")
        refills = [float(m.t_s) for m in h.refill_markers]
        therapy = [pm for pm in h.program_markers if "therapy" in pm.parts]
        known = [float(pm.t_s) for pm in therapy if pm.known]
        unknown = [float(pm.t_s) for pm in therapy if not pm.known]
        bands: list[tuple[float, float]] = []
        for g in h.event_gaps:
            a = g.after_s if g.after_s is not None else g.before_s
            b = g.before_s if g.before_s is not None else g.after_s
            if a is not None and b is not None:
                bands.append((float(a), float(b)))
        for p in (self.daily, self.hourly, self.reservoir):
            self._add(p, Marks(bands=bands, pen=pg.mkPen(GAP_PEN, width=1)))
            self._add(p, Marks(refills, pg.mkPen(REFILL_COLOUR, width=1, style=Qt.PenStyle.DashLine)))  # fmt: skip
            self._add(p, Marks(known, pg.mkPen(PROGRAM_COLOUR, width=1)))
            self._add(p, Marks(unknown, pg.mkPen(UNKNOWN_COLOUR, width=2)))
        self._draw_alarms(h)
        xs: list[float] = [*h.hour_starts, *h.reservoir_t] or [
            *refills,
            *known,
            *unknown,
            *(a.start_bound_s for a in h.alarms),
        ]
        if not xs:  # nothing dated to draw: the last week, not the epoch's first second
            now = time.time()
            xs = [now - 7 * DAY_S, now]
        self.daily.setXRange(min(xs), max(xs) + 3600, padding=0.02)
        # One y scale for the whole history, from zero: a change in dose looks like the
        # change it is, never a rescale of the visible part (pyqtgraph's auto range follows
        # the clipped, downsampled curve), and the y axes are not redrawn on every pan.
        for p, ys in (
            (self.daily, daily_y),
            (self.hourly, hourly_y),
            (self.reservoir, reservoir_y),
        ):
            p.disableAutoRange(axis="y")
            p.setYRange(0.0, y_top(ys), padding=0)

    def show_course(
        self, bands: Sequence[tuple[float, float, str]], replaced: Sequence[float]
    ) -> None:
        """A patient's pumps: each pump's stretch a tinted band named by its label on the
        daily plot, each replacement a red line through every plot. Call after
        show_history (which clears them)."""
        self.course_labels = [label for _, _, label in bands]
        for n, (start, end, label) in enumerate(bands):
            colour = STRETCH_COLOURS[n % len(STRETCH_COLOURS)]
            for p in (self.daily, self.hourly, self.reservoir):
                region = pg.LinearRegionItem((start, end), movable=False, brush=(*colour, 28),
                                             pen=pg.mkPen((*colour, 160), width=1))  # fmt: skip
                region.setZValue(-20)
                self._add(p, region)
            text = pg.TextItem(label, color=colour, anchor=(0, 0))
            text.setPos(start, self.daily.viewRange()[1][1])
            self._add(self.daily, text)
        for at in replaced:
            for p in (self.daily, self.hourly, self.reservoir, self.alarms):
                line = pg.InfiniteLine(at, angle=90, pen=pg.mkPen(REPLACED_COLOUR, width=2),
                                       label="pump replaced" if p is self.daily else None,
                                       labelOpts={"position": 0.5, "color": REPLACED_COLOUR})  # fmt: skip
                self._add(p, line)
        self.replacement_lines = len(replaced)

    def _add(self, plot: pg.PlotItem, item: pg.GraphicsObject) -> None:
        plot.addItem(item, ignoreBounds=True)
        self._decor.append((plot, item))

    def _draw_alarms(self, h: History) -> None:
        codes = sorted({a.code for a in h.alarms})
        rows = {c: i for i, c in enumerate(codes)}
        axis = self.alarms.getAxis("left")
        axis.setTicks([[(i, pump_text(c.replace("_", " "))) for c, i in rows.items()]])
        for code in codes:
            known_x: list[float] = []
            vague_x: list[float] = []
            for a in h.alarms:
                if a.code != code:
                    continue
                start = a.start_s if a.start_s is not None else a.start_bound_s
                end = a.end_s if a.end_s is not None else a.end_bound_s
                target = known_x if a.start_s is not None and a.end_s is not None else vague_x
                target += [start, end, np.nan]
            colour = "#b00020" if code in CRITICAL_ALARMS else "#9a6700"
            y = rows[code]
            for xs, style in ((known_x, Qt.PenStyle.SolidLine), (vague_x, Qt.PenStyle.DotLine)):
                if not xs:
                    continue
                # A marker at each end, so an alarm of minutes still shows at a zoom of years.
                item = pg.PlotDataItem(
                    np.asarray(xs, dtype=np.float64),
                    np.full(len(xs), y, dtype=np.float64),
                    pen=pg.mkPen(colour, width=8, style=style),
                    connect="finite",
                    symbol="s",
                    symbolSize=9,
                    symbolBrush=colour,
                    symbolPen=None,
                )
                self._add(self.alarms, item)
                # Every mark drawn, at any zoom: peak downsampling and clipping dropped the
                # two markers of a motor stall. A few thousand marks cost nothing to draw.
                item.setDownsampling(ds=1, auto=False)
                item.setClipToView(False)
        self.alarms.setYRange(-0.7, max(len(codes), 1) - 0.3, padding=0)
