"""History: read the pump's log (resumable), then chart what the store holds; works offline.

The series come from programmer.history_series; this page only draws them. What the
pump never reported is a gap, and the page says how many.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.formatting import decimal_text, volume_text
from programmer.history_series import History, load_history, pumps_with_history
from programmer.patients.course import PumpCourse, load_course
from programmer.patients.registry import Patients
from programmer.session.pump_session import HistoryResult, SessionError
from programmer.store.roles import Action, allowed
from ui.app_state import AppState
from ui.history.charts import (
    GAP_BRUSH,
    PROGRAM_COLOUR,
    REFILL_COLOUR,
    UNKNOWN_COLOUR,
    HistoryCharts,
    dose_unit,
    fit_title,
)
from ui.history.course import course_bands, course_text, replacement_times
from ui.pump_text import pump_text
from ui.timefmt import day_text, local_moment, local_text, stored_moment

NARROW_PX = 760  # less room than this (scale 2): the page stacks, so the charts keep the width
READ_DEADLINE_S = 1800.0  # five years of hours over a slow serial link
RANGES = (("All", 0), ("1 year", 365), ("3 months", 91), ("1 month", 30), ("1 week", 7), ("1 day", 1), ("6 hours", 0.25))  # fmt: skip


def _right(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _refill_day(at: str, offset_min: int) -> QTableWidgetItem:
    """A refill's day in the charts' time (never ISO), the time of day on hover."""
    moment = stored_moment(at)
    if moment is None:
        return QTableWidgetItem(at)
    t = int(moment.timestamp())
    item = QTableWidgetItem(day_text(local_moment(t, offset_min).date()))  # short: the table fits
    item.setToolTip(local_text(t, offset_min))
    return item


def ml_text(nl: int) -> str:
    """A volume to 0.01 mL, as a syringe is read; "≈" when rounded (the exact in a tooltip)."""
    exact = Fraction(nl, 1_000_000)
    shown = Fraction(round(exact * 100), 100)
    return f"{'' if shown == exact else '≈'}{decimal_text(shown)} mL"


def deviation_text(dev: Fraction | None, recorded_pct: float | None) -> str:
    """Delivered against programmed, to 0.1 % ("≈" when rounded); + means more was given."""
    if dev is not None:
        pct = dev * 100
        shown = Fraction(round(pct * 10), 10)  # half-even, exact
        sign = "+" if shown > 0 else ""
        return f"{'' if shown == pct else '≈'}{sign}{decimal_text(shown)} %"
    if recorded_pct is not None:
        return f"{recorded_pct:+.1f} % (recorded)"
    return "unknown"


class ChartSplitter(QSplitter):
    """Charts beside their side panel, asking only for the room they need: the side
    panel's wrapped text asked for more than a 1024x768 screen's height, which pushed
    the alarm lane below it."""

    def sizeHint(self) -> QSize:
        least = self.minimumSizeHint()
        if self.orientation() is Qt.Orientation.Horizontal:
            return least
        # Stacked (a narrow screen): each part as tall as its wrapped text needs.
        height = 0
        for i in range(self.count()):
            w = self.widget(i)
            if w is None:
                continue
            box = w.layout()
            wrapped = box.heightForWidth(self.width()) if box is not None else -1
            height += max(w.minimumSizeHint().height(), wrapped) + self.handleWidth()
        return QSize(least.width(), height)


class HistoryPage(QWidget):
    sig_history_loaded = Signal(str)  # serial
    sig_read_finished = Signal(object)  # HistoryResult or the exception

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self._generation = 0
        self.state = state
        self.history: History | None = None
        self.course: PumpCourse | None = None  # the patient's pumps, when more than this one
        self._stop = False
        self._reading = False
        self._dirty = True
        self._shown_serial: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        title = QLabel("History")
        title.setProperty("role", "title")
        top.addWidget(title)
        top.addSpacing(12)
        pump_label = QLabel("Pump")
        self.pump_select = QComboBox()
        self.pump_select.setObjectName("pump_select")
        self.pump_select.setAccessibleName("pump whose history is shown")
        self.pump_select.setMinimumWidth(160)
        # Not as wide as the longest serial: the bar fits 1024x768 (the full name on hover).
        self.pump_select.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.pump_select.setMinimumContentsLength(14)
        pump_label.setBuddy(self.pump_select)
        top.addWidget(pump_label)
        top.addWidget(self.pump_select)
        # What the charts show: beside the pump when there is room, on a row of its own
        # when there is not (see _fit_width).
        self.view_choices = QWidget()
        choices = QHBoxLayout(self.view_choices)
        choices.setContentsMargins(0, 0, 0, 0)
        show_label = QLabel("Show")
        self.series_select = QComboBox()
        self.series_select.setObjectName("series_select")
        self.series_select.setAccessibleName("what the charts show: volume or the dose of a drug")
        self.series_select.setMinimumWidth(170)
        self.series_select.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.series_select.setMinimumContentsLength(18)
        show_label.setBuddy(self.series_select)
        choices.addWidget(show_label)
        choices.addWidget(self.series_select)
        range_label = QLabel("Range")
        self.range_select = QComboBox()
        self.range_select.setObjectName("range_select")
        self.range_select.setAccessibleName("time range shown, ending at the latest record")
        for text, days in RANGES:
            self.range_select.addItem(text, days)
        range_label.setBuddy(self.range_select)
        choices.addWidget(range_label)
        choices.addWidget(self.range_select)
        top.addWidget(self.view_choices)
        top.addStretch(1)
        self.read_button = QPushButton("Read from pump")
        self.read_button.setObjectName("read_button")
        self.read_button.setProperty("role", "primary")
        self.read_button.setAccessibleName("read the pump's history into this computer")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.setAccessibleName("stop reading; what arrived is kept")
        self.progress_label = QLabel()
        self.progress_label.setObjectName("progress_label")
        self.progress_label.setProperty("role", "muted")
        self.progress_label.setWordWrap(True)
        outer.addLayout(top)
        self._top = top
        self._narrow_row = QHBoxLayout()
        self._narrow_row.addStretch(1)
        outer.addLayout(self._narrow_row)
        self._narrow = False
        self._watched: QWidget | None = None
        self.summary = QLabel()
        self.summary.setObjectName("summary_label")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Reading the pump sits beside the summary, not in the top bar: the bar fits 1024x768.
        second = QHBoxLayout()
        second.addWidget(self.summary, 1)
        second.addWidget(self.progress_label)
        second.addWidget(self.read_button, 0, Qt.AlignmentFlag.AlignTop)
        second.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(second)
        self.course_label = QLabel()
        self.course_label.setObjectName("course_label")
        self.course_label.setWordWrap(True)
        self.course_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.course_label.setVisible(False)
        outer.addWidget(self.course_label)
        legend = QLabel(
            f'<span style="color:{REFILL_COLOUR}">┆ refill</span> &nbsp; '
            f'<span style="color:{PROGRAM_COLOUR}">│ program change (sent from here)</span> &nbsp; '
            f'<span style="color:{UNKNOWN_COLOUR}">│ program change not sent from here: drug unknown</span> &nbsp; '
            f'<span style="background:rgba{GAP_BRUSH}">&nbsp;grey&nbsp;</span> pump events missing'
            " &nbsp; · a break in a line: the pump never reported those hours"
        )
        legend.setObjectName("legend_label")
        legend.setWordWrap(True)
        legend.setProperty("role", "muted")
        outer.addWidget(legend)
        split = ChartSplitter(Qt.Orientation.Horizontal)
        self.charts = HistoryCharts()
        split.addWidget(self.charts)
        side = QWidget()
        side_box = QVBoxLayout(side)
        side_box.setContentsMargins(0, 0, 0, 0)
        self.ptm_plot = pg.PlotWidget(background="w")
        self.ptm_plot.setObjectName("ptm_chart")
        self.ptm_plot.setAccessibleName("patient bolus requests granted and denied by hour of day")
        self.ptm_plot.setMenuEnabled(False)
        self.ptm_plot.setMouseEnabled(x=False, y=False)
        fit_title(self.ptm_plot.getPlotItem())
        self.ptm_plot.setTitle("Patient bolus requests by hour (pump time)", size="10pt")
        self.ptm_plot.getAxis("bottom").setTicks([[(h, f"{h:02d}") for h in range(0, 24, 3)]])
        self.ptm_plot.setLabel("left", "requests")
        self.ptm_plot.getAxis("left").enableAutoSIPrefix(False)  # never "requests (x0.001)"
        self.ptm_plot.addLegend(offset=(5, 5))
        self.ptm_granted = pg.BarGraphItem(x=[], height=[], width=0.4, brush="#1e7e34", name="granted")  # fmt: skip
        self.ptm_denied = pg.BarGraphItem(x=[], height=[], width=0.4, brush="#b00020", name="denied")  # fmt: skip
        self.ptm_plot.addItem(self.ptm_granted)
        self.ptm_plot.addItem(self.ptm_denied)
        self.ptm_plot.setMinimumHeight(10 * self.fontMetrics().lineSpacing())  # bars readable
        side_box.addWidget(self.ptm_plot, 1)
        self.ptm_label = QLabel()
        self.ptm_label.setObjectName("ptm_label")
        self.ptm_label.setWordWrap(True)
        side_box.addWidget(self.ptm_label)
        acc_title = QLabel("Pump accuracy at each refill")
        acc_title.setStyleSheet("font-weight: 600;")
        side_box.addWidget(acc_title)
        self.accuracy_table = QTableWidget(0, 4)
        self.accuracy_table.setObjectName("accuracy_table")
        self.accuracy_table.setAccessibleName("pump accuracy at each refill")
        self.accuracy_table.setHorizontalHeaderLabels(["Refill", "Drawn", "Expected", "Accuracy"])  # fmt: skip
        self.accuracy_table.verticalHeader().setVisible(False)
        self.accuracy_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        acc_header = self.accuracy_table.horizontalHeader()
        # Every figure whole (never "16…"): columns as wide as their text, the last takes
        # what is left; a narrow panel scrolls sideways.
        acc_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        acc_header.setStretchLastSection(True)
        header_item = self.accuracy_table.horizontalHeaderItem(3)
        if header_item is not None:
            header_item.setToolTip(
                "Delivered against programmed since the fill before: + means the pump gave more"
            )
        acc_title.setBuddy(self.accuracy_table)
        side_box.addWidget(self.accuracy_table, 1)
        split.addWidget(side)
        # The side panel as wide as the accuracy table's figures, the charts the rest.
        fm = self.accuracy_table.fontMetrics()
        self._side_width = fm.horizontalAdvance("27 Nov 2025 17.75 mL ≈17.45 mL Accuracy") + 110
        side.setMinimumWidth(self._side_width)
        self._side = side
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([760, 390])
        self.splitter = split
        outer.addWidget(split, 1)
        self.pump_select.currentIndexChanged.connect(lambda _: self.reload())
        self.series_select.currentIndexChanged.connect(lambda _: self._draw())
        self.range_select.currentIndexChanged.connect(lambda _: self.show_range())
        self.read_button.clicked.connect(self.read_from_pump)
        self.cancel_button.clicked.connect(self.cancel)
        state.sig_pump_changed.connect(self._on_pump_changed)
        state.bridge.sig_progress.connect(self._on_progress)
        self.setTabOrder(self.pump_select, self.series_select)
        self.setTabOrder(self.series_select, self.range_select)
        self.setTabOrder(self.range_select, self.read_button)
        self.setTabOrder(self.read_button, self.cancel_button)
        self.setTabOrder(self.cancel_button, self.accuracy_table)
        self._update_buttons()

    # --- pumps and loading -------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        host = self.parentWidget()  # the scroll area's viewport: the room there is
        if host is not self._watched:
            if self._watched is not None:
                self._watched.removeEventFilter(self)
            self._watched = host
            if host is not None:
                host.installEventFilter(self)
        self._fit_width()
        if self._dirty:
            self.reload()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._watched and event.type() == QEvent.Type.Resize:
            self._fit_width()
        return super().eventFilter(watched, event)

    def _fit_width(self) -> None:
        """Narrow (1024x768 at scale 2): the choices on a second row and the side panel
        under the charts, so every chart is whole across the screen; wide: side by side."""
        host = self._watched
        narrow = (host.width() if host is not None else self.width()) < NARROW_PX
        if narrow == self._narrow:
            return
        self._narrow = narrow
        if narrow:
            self._top.removeWidget(self.view_choices)
            self._narrow_row.insertWidget(0, self.view_choices)
        else:
            self._narrow_row.removeWidget(self.view_choices)
            self._top.insertWidget(self._top.indexOf(self.pump_select) + 1, self.view_choices)
        self.splitter.setOrientation(
            Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
        )
        # Under the charts the side panel takes the page's width (its table scrolls
        # sideways) and the choices ask for less: nothing holds the page wider than 512 px.
        self._side.setMinimumWidth(0 if narrow else self._side_width)
        self.pump_select.setMinimumWidth(120 if narrow else 160)
        self.series_select.setMinimumWidth(90 if narrow else 170)
        self.series_select.setMinimumContentsLength(8 if narrow else 18)

    def _on_pump_changed(self) -> None:
        self._update_buttons()
        self._dirty = True
        if self.isVisible():
            self.reload()

    def _connected_serial(self) -> str | None:
        i = self.state.interrogation
        return i.serial if i is not None and self.state.session is not None else None

    def _utc_offset(self, serial: str) -> int | None:
        i = self.state.interrogation
        if i is not None and i.serial == serial:
            return int(i.status["utc_offset_min"])
        return None

    def reload(self, serial: str | None = None) -> None:
        """Re-read the store and redraw (the store is the only source of the charts)."""
        self._dirty = False
        pumps = pumps_with_history(self.state.store)
        wanted = serial or self.pump_select.currentData() or self._connected_serial()
        self.pump_select.blockSignals(True)
        self.pump_select.clear()
        for serial, model in pumps:
            self.pump_select.addItem(f"{pump_text(model or 'pump')} {pump_text(serial)}", serial)
        index = self.pump_select.findData(wanted) if wanted else 0
        self.pump_select.setCurrentIndex(max(index, 0))
        self.pump_select.blockSignals(False)
        serial = self.pump_select.currentData()
        if serial is None:
            self.history = None
            self.course = None
            self.course_label.setVisible(False)
            self.summary.setText(
                "No pump history in this database yet."
                + ("" if self.state.offline else " Connect to a pump and read its history.")
            )
            self._fill_series([])
            return
        offset = self._utc_offset(serial)
        # Years of hours take a moment to load: off the GUI thread, on the core's worker.
        self._generation += 1
        generation = self._generation
        self.summary.setText("Loading the history from the local database…")
        records = self.state.records
        patients = Patients(self.state.store, self.state.trail)
        actor = self.state.principal

        def load() -> tuple[History, PumpCourse | None]:
            def one(s: str) -> History:
                return load_history(records, s, offset or 0)

            # A pump of a patient who had others: one timeline across all their pumps.
            course = load_course(patients, actor, serial, one)
            return (course.history if course is not None else one(serial)), course

        def loaded(result: tuple[History, PumpCourse | None]) -> None:
            if generation != self._generation:
                return  # a newer load was asked for meanwhile
            history, self.course = result
            self.history = history
            self.course_label.setText(course_text(self.course))
            self.course_label.setVisible(self.course is not None)
            self._fill_series(history.drug_names, serial)
            self._draw()
            self._summarise(offset)
            self.sig_history_loaded.emit(serial)

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                self.summary.setText(f"The history could not be loaded: {error}")

        self.state.bridge.run("load history", load, loaded, failed)

    def _fill_series(self, drugs: list[str], serial: str | None = None) -> None:
        """A drug's dose first when one is known; the choice is kept while the pump is."""
        current = self.series_select.currentData()
        same_pump = serial == self._shown_serial
        self._shown_serial = serial
        self.series_select.blockSignals(True)
        self.series_select.clear()
        for d in drugs:
            self.series_select.addItem(f"{pump_text(d)} dose ({dose_unit(d)})", d)
        self.series_select.addItem("Volume delivered (mL)", "")
        i = (
            self.series_select.findData(current)
            if current is not None and (current or same_pump)
            else 0
        )
        self.series_select.setCurrentIndex(max(i, 0))
        self.series_select.blockSignals(False)

    def selected_drug(self) -> str | None:
        data = self.series_select.currentData()
        return str(data) if data else None

    def _draw(self) -> None:
        h = self.history
        if h is None:
            return
        self.charts.show_history(h, self.selected_drug())
        if self.course is not None:
            self.charts.show_course(
                course_bands(self.course, h.utc_offset_min), replacement_times(self.course)
            )
        if self.range_select.currentData():
            self.show_range()
        ptm = h.ptm_by_hour
        hours = np.arange(24, dtype=np.float64)
        self.ptm_granted.setOpts(x=hours - 0.2, height=[p.granted for p in ptm])
        self.ptm_denied.setOpts(x=hours + 0.2, height=[p.denied for p in ptm])
        granted = sum(p.granted for p in ptm)
        denied = sum(p.denied for p in ptm)
        reasons: dict[str, int] = {}
        for p in ptm:
            for k, v in p.denied_reasons.items():
                reasons[k] = reasons.get(k, 0) + v
        why = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(reasons.items()))
        self.ptm_label.setText(
            f"Granted {granted}, denied {denied}"
            + (f" ({why})" if why else "")
            + (" · in stored events only" if h.event_gaps else "")
        )
        self.accuracy_table.setRowCount(len(h.accuracy))
        for r, a in enumerate(reversed(h.accuracy)):
            self.accuracy_table.setItem(r, 0, _refill_day(a.at, h.utc_offset_min))
            drawn = _right(ml_text(a.removed_nl))
            drawn.setToolTip(volume_text(a.removed_nl))
            self.accuracy_table.setItem(r, 1, drawn)
            expected = _right(ml_text(a.expected_nl) if a.expected_nl is not None else "unknown")
            if a.expected_nl is not None:
                expected.setToolTip(f"{volume_text(a.expected_nl)} (the pump's estimate)")
            self.accuracy_table.setItem(r, 2, expected)
            dev = _right(deviation_text(a.deviation, a.recorded_pct))
            if a.finding:
                dev.setToolTip(a.finding)
                dev.setText(dev.text() + " ⚠")
            self.accuracy_table.setItem(r, 3, dev)

    def show_range(self) -> None:
        """Zoom to a preset ending at the latest record (the mouse zooms and pans freely)."""
        h = self.history
        days = self.range_select.currentData()
        if h is None or not h.hour_starts:
            return
        end = h.hour_starts[-1] + 3600
        start = h.hour_starts[0] if not days else end - int(days * 86_400)
        self.charts.daily.setXRange(start, end, padding=0.02 if not days else 0)

    def _summarise(self, offset: int | None) -> None:
        h = self.history
        if h is None:
            return
        parts: list[str] = []
        if h.hour_starts:
            missing = sum(1 for v in h.hour_volume_nl if v is None)
            parts.append(
                f"{len(h.hour_starts) - missing} hours reported, {len(h.days)} days"
                + (f"; <b>{missing} hours never reported</b> (gaps)" if missing else "")
            )
        else:
            parts.append("no hourly delivery stored")
        parts.append(f"{h.events_stored} events")
        if h.event_gaps:
            n = sum(g.last_seq - g.first_seq + 1 for g in h.event_gaps)
            parts.append(f"<b>{n} events missing</b> in {len(h.event_gaps)} gap(s)")
        unknown = h.unknown_drug_days()
        if unknown:
            parts.append(f"drug unknown on {unknown} days: dose not shown, volume is")
        if not h.drug_names and h.hour_starts:
            parts.append("drug never known from this database: only volume is shown")
        parts.append(
            f"times in pump time (UTC{offset:+d} min)"
            if offset is not None
            else "times in UTC (the pump's offset is known only when connected)"
        )
        self.summary.setText(" · ".join(parts))

    # --- reading the pump --------------------------------------------------------------

    def _update_buttons(self) -> None:
        offline = self.state.offline
        self.read_button.setVisible(not offline)
        self.cancel_button.setVisible(not offline and self._reading)
        p = self.state.principal
        may = p is not None and allowed(p.role, Action.READ_HISTORY)
        self.read_button.setEnabled(self.state.session is not None and may and not self._reading)
        self.read_button.setToolTip(
            "Connect to a pump first"
            if self.state.session is None
            else ("" if may else "This account may not read a pump's history")
        )

    def read_from_pump(self) -> None:
        session = self.state.session
        if session is None or self.state.offline or self._reading:
            return
        self._stop = False
        self._reading = True
        self.progress_label.setText("reading…")
        self._update_buttons()
        progress = self.state.bridge.progress()

        def work() -> HistoryResult:
            return session.read_history(progress=progress, should_stop=lambda: self._stop)

        self.state.bridge.run("read history", work, self._read_done, self._read_failed, READ_DEADLINE_S)  # fmt: skip

    def cancel(self) -> None:
        """Stop after the page being read; what arrived is kept, the next read resumes."""
        self._stop = True
        self.progress_label.setText("stopping…")

    def _on_progress(self, text: str) -> None:
        if self._reading:
            self.progress_label.setText(text)

    def _read_done(self, result: HistoryResult) -> None:
        self._reading = False
        self.progress_label.setText(
            ("Read complete: " if result.complete else "Stopped; read again to resume: ")
            + result.message
        )
        self._update_buttons()
        self.reload(self._connected_serial())
        self.sig_read_finished.emit(result)

    def _read_failed(self, error: BaseException) -> None:
        self._reading = False
        self.progress_label.setText(
            f"Not read: {error}."  # refused before any page: nothing to keep
            if isinstance(error, SessionError)
            else f"Reading failed ({error}); what arrived is kept"
        )
        self._update_buttons()
        self.reload()
        self.sig_read_finished.emit(error)

    def current(self) -> dict[str, Any]:
        """What is on screen, for tests."""
        return {"serial": self.pump_select.currentData(), "drug": self.selected_drug()}
