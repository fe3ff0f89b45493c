"""Pump overview: who the pump is, what it holds, what it is doing, and what is due."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.formatting import clock_text, volume_text
from programmer.session.changes import daily_doses, step_text
from programmer.session.clock_check import drift_advice, drift_text
from programmer.store.roles import Action, allowed
from ui.app_state import AppState
from ui.overview.since import SinceRow, since_last_visit
from ui.pump_text import pump_text
from ui.style import CRITICAL, banner_css
from ui.timefmt import computer_text, local_date, local_text
from ui.widgets import Card, is_narrow

REASONS = {
    "low_reservoir_alarm": "the low-reservoir alarm (estimate)",
    "drug_stability": "drug stability",
    "elective_replacement": "battery replacement",
}


class OverviewPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.since_rows: list[SinceRow] = []
        outer = QVBoxLayout(self)
        self.outcome = QLabel()
        self.outcome.setObjectName("overview_outcome")
        self.outcome.setWordWrap(True)
        self.dismiss_outcome = QPushButton("Dismiss")
        self.dismiss_outcome.setObjectName("dismiss_outcome")
        self.dismiss_outcome.setAccessibleName("dismiss the last send's outcome")
        self.dismiss_outcome.clicked.connect(state.dismiss_outcome)
        outcome_row = QHBoxLayout()
        outcome_row.addWidget(self.outcome, 1)
        outcome_row.addWidget(self.dismiss_outcome, alignment=Qt.AlignmentFlag.AlignTop)
        outer.addLayout(outcome_row)
        state.sig_outcome.connect(self._show_outcome)
        self._show_outcome()
        self.empty = QLabel("No pump connected. Go to Connect.")
        self.empty.setProperty("role", "title")
        outer.addWidget(self.empty)
        self.body = QWidget()
        grid = QGridLayout(self.body)
        self.identity = Card("Pump")
        self.reservoir = Card("Reservoir")
        self.gauge = QProgressBar()
        self.gauge.setObjectName("reservoir_gauge")
        self.gauge.setAccessibleName("reservoir estimate")
        self.gauge.setFormat("%p % (estimate)")
        self.reservoir.box.insertWidget(1, self.gauge)
        self.dates = Card("Dates")
        self.clock = Card("Clock")
        self.therapy = Card("Therapy on the pump")
        self.steps = QTableWidget(0, 2)
        self.steps.setHorizontalHeaderLabels(["From", "Dose per day"])
        self.steps.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.steps.verticalHeader().setVisible(False)
        self.steps.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.steps.setAccessibleName("therapy steps on the pump")
        self.therapy.box.insertWidget(2, self.steps)
        self.alarms = Card("Alarms")
        self.since = Card("Since the last visit")
        self.since.setObjectName("since_last_visit")
        read_log = QPushButton("Read the pump's log")
        read_log.setObjectName("read_log")
        read_log.clicked.connect(lambda: self.state.read_log())
        self.since.box.insertWidget(1, read_log, alignment=Qt.AlignmentFlag.AlignLeft)
        self.grid = grid
        self._narrow: bool | None = None
        self._place_cards(narrow=False)
        outer.addWidget(self.body, 1)
        self.refresh_button = QPushButton("Read the pump again")
        self.refresh_button.clicked.connect(lambda: self.state.refresh())
        self.clock_button = QPushButton("Set the pump's clock…")
        self.clock_button.setObjectName("set_clock_button")
        self.clock_button.setToolTip(
            "to this computer's time and UTC offset, after showing the change"
        )
        self.clock_button.clicked.connect(self.set_clock)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.clock_button)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        state.sig_pump_changed.connect(self.refresh)
        state.sig_log_read.connect(self.refresh)
        self.refresh()

    def _place_cards(self, narrow: bool) -> None:
        """Three columns; one under the other on a narrow screen (at scale 2 on 1024x768
        the third column was reached only by scrolling sideways)."""
        if narrow == self._narrow:
            return
        self._narrow = narrow
        cards = (self.identity, self.reservoir, self.dates, self.therapy, self.alarms,
                 self.clock, self.since)  # fmt: skip
        for card in cards:
            self.grid.removeWidget(card)
        if narrow:
            for row, card in enumerate(cards):
                self.grid.addWidget(card, row, 0)
            return
        g = self.grid
        g.addWidget(self.identity, 0, 0)
        g.addWidget(self.reservoir, 0, 1)
        g.addWidget(self.dates, 0, 2)
        g.addWidget(self.therapy, 1, 0, 1, 2)
        g.addWidget(self.alarms, 1, 2)
        g.addWidget(self.clock, 2, 0, 1, 2)
        g.addWidget(self.since, 2, 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_cards(narrow=is_narrow(self))

    def _show_outcome(self) -> None:
        last = self.state.last_outcome
        self.outcome.setVisible(last is not None)
        self.dismiss_outcome.setVisible(last is not None)
        if last is not None:
            _, text, colour = last
            self.outcome.setText(text)
            self.outcome.setStyleSheet(banner_css(colour))
            self.outcome.setAccessibleName(f"last send: {text}")

    def refresh(self) -> None:
        i, f = self.state.interrogation, self.state.forecast
        self.empty.setVisible(i is None)
        self.body.setVisible(i is not None)
        self.refresh_button.setVisible(i is not None)
        self.clock_button.setVisible(i is not None)
        principal = self.state.principal
        self.clock_button.setEnabled(
            principal is not None and allowed(principal.role, Action.SET_CLOCK)
        )
        if i is None or f is None:
            return
        s = i.status
        off = int(s["utc_offset_min"])
        self.identity.set_rows([
            ("Model", pump_text(i.model)), ("Serial", pump_text(i.serial)),
            ("Firmware", pump_text(i.firmware)),
            ("Implanted", local_date(int(s["implanted_t"]), off)),
            ("Delivering", str(s["delivering"]).replace("_", " ")),
            *self._link_rows(),
        ])  # fmt: skip
        cap, res = int(s["reservoir_capacity_nl"]), int(s["reservoir_nl"])
        self.gauge.setRange(0, cap // 1000)
        self.gauge.setValue(res // 1000)
        self.reservoir.set_rows([
            ("Estimate (never measured)", volume_text(res)),
            ("Capacity", volume_text(cap)),
            ("Low-reservoir alarm at", volume_text(int(s["low_alarm_nl"]))),
            ("Last fill", volume_text(i.last_fill_nl) if i.last_fill_nl is not None else "not in the pump's log"),
        ])  # fmt: skip
        due = (
            f"{local_text(f.refill_due_t, off)} ({REASONS.get(f.refill_due_reason or '', f.refill_due_reason)})"
            if f.refill_due_t
            else "unknown"
        )
        self.dates.set_rows([
            ("Low-reservoir alarm (estimate)", local_text(f.low_alarm_t, off) if f.low_alarm_t else "not within 2 years"),
            ("Refill due", due),
            ("Replacement indicator", local_date(f.eri_t, off)),
            ("End of service", local_date(f.end_of_service_t, off)),
        ])  # fmt: skip
        doses = daily_doses(i.therapy)
        drugs = ", ".join(f"{pump_text(n)}: {t}" for n, t in doses.items()) or "saline (no drug)"
        self.therapy.set_rows([("Mode", pump_text(i.therapy.mode)), ("Daily dose", drugs),
                               ("Daily volume", volume_text(i.therapy.max_day_volume_nl()) + "/day")])  # fmt: skip
        self.steps.setRowCount(len(i.therapy.steps))
        for r, st in enumerate(i.therapy.steps):
            a = QTableWidgetItem(clock_text(st.start_min, i.therapy.cycle_days))
            exact = step_text(st.rate_nl_day, i.therapy)  # each drug's dose = the volume rate
            b = QTableWidgetItem(exact.split(" = ")[0])
            b.setToolTip(exact)
            b.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.steps.setItem(r, 0, a)
            self.steps.setItem(r, 1, b)
        self.alarms.set_rows(
            [
                (
                    ("CRITICAL: " if a.critical else "") + pump_text(a.advice.title),
                    a.advice.remedy,
                )
                for a in i.alarms
            ]
            or [("None", "")]
        )
        self._fill_since(i.serial, off)
        self.clock.set_rows([
            ("Pump clock", local_text(int(s["clock_t"]), off)),
            ("Pump UTC offset", f"{off:+d} min (fixed: the pump knows nothing of daylight saving)"),
            ("This computer's offset", f"{i.local_offset_min:+d} min"),
            ("Drift", drift_text(i.clock_drift_s)),
            *[("Check", advice) for advice in [drift_advice(i.clock_drift_s)] if advice],
            *[("Check", fnd.message) for fnd in i.clock_findings],
        ])  # fmt: skip

    def _link_rows(self) -> list[tuple[str, str]]:
        """Connection details: the negotiated link protocol, where the core reports it."""
        version = getattr(self.state.session, "link_protocol", None)
        return [("Link protocol", f"version {version}")] if isinstance(version, int) else []

    def _fill_since(self, serial: str, offset_min: int) -> None:
        st = self.state
        at, rows = since_last_visit(st.records, st.trail, serial, offset_min)
        if at is None:
            self.since_rows = []
            self.since.set_rows([("First visit", "no earlier interrogation of this pump here")])
            return
        self.since_rows = rows
        head = ("Last visit", computer_text(at))
        self.since.set_rows([head] + [(r.when, r.text) for r in rows[:12]]
                            + ([("", f"and {len(rows) - 12} more (History)")] if len(rows) > 12 else [])
                            or [head, ("Nothing", "no alarm, refill, program or clock change logged")])  # fmt: skip
        for r, row in enumerate(rows[:12], start=1):
            if row.critical:
                item = self.since.grid.itemAtPosition(r, 1)
                w = item.widget() if item is not None else None
                if w is not None:
                    w.setStyleSheet(f"color: {CRITICAL}; font-weight: 700;")

    def set_clock(self) -> None:
        """Show the change; only an explicit "Set the clock" sends it (on the worker)."""
        from ui.overview.clock_dialog import ClockDialog

        if self.state.session is None or self.state.interrogation is None:
            return
        dialog = ClockDialog(self.state, self)
        if dialog.exec() == ClockDialog.DialogCode.Accepted:
            self.state.set_clock_to_this_computer()
