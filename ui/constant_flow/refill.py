"""The refill wizard's constant-flow variant: the same steps as a programmable pump's
refill (drawn out → flow → drug → injected → catheter → confirm → summary), no pump to
connect.

A constant-flow pump is never connected: its dose changes only through the concentration.
The wizard builds the prescription (the pump's nominal flow, the last fill and when, the
concentration in the catheter now), runs `plan()` with every dose rule, shows the flow
measured over the interval and its trend, the concentrations the pharmacy prepares, the
dose each gives, when the refill is due and how long the catheter's old fill flows, and
records the refill only when nothing stands (soft findings need their own reason; a
suspected unit slip needs the value typed again). The summary is the visit report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from programmer.finding_words import finding_line, finding_title, severity_words
from programmer.findings import readable_message
from programmer.formatting import concentration_text, volume_rate_text, volume_text
from programmer.patients.fields import PatientError
from programmer.patients.records import CfRefill, Patient, Pump
from programmer.patients.registry import Patients
from programmer.patients.report import flow_trend
from programmer.patients.words import FLOW_SOURCE, word
from programmer.planner import Plan, plan
from programmer.store.accounts import Principal
from ui.fields import field_text
from ui.history.charts import dose_unit
from ui.numbers import rounded_text
from ui.patients.date_fields import MomentField
from ui.refill.steps import DISABLED, check_label, step_page, step_title
from ui.report.constant_flow import DUE, cf_visit_html
from ui.timefmt import computer_text
from ui.widgets import WRAP, fit_to_screen

DRUG_ROWS = 3


class FlowTrendChart(pg.PlotWidget):  # type: ignore[misc]
    """Measured flow at each refill against the nominal flow and its ±15 % band."""

    def __init__(self) -> None:
        super().__init__(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.setBackground("w")
        self.setMinimumHeight(120)
        self.setLabel("left", "flow", units="mL/day")
        self.points = 0

    def show_trend(self, nominal_nl: int, trend: list[tuple[str, int, Any]]) -> None:
        self.clear()
        nominal = nominal_nl / 1e6
        self.addItem(
            pg.InfiniteLine(nominal, angle=0, pen=pg.mkPen("#444", width=1), label="nominal")
        )
        for k in (0.85, 1.15):
            self.addItem(
                pg.InfiniteLine(
                    nominal * k,
                    angle=0,
                    pen=pg.mkPen("#c26a00", style=pg.QtCore.Qt.PenStyle.DashLine),
                )
            )
        xs = [datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() for at, _, _ in trend]
        ys = [f / 1e6 for _, f, _ in trend]
        if xs:
            self.plot(xs, ys, pen=pg.mkPen("#0b5394", width=2), symbol="o", symbolBrush="#0b5394")
        self.points = len(xs)
        self.setYRange(0, nominal * 1.5)


CF_STEPS = ["Drawn out", "Flow", "Drug", "Injected", "Catheter", "Confirm", "Summary"]
CONFIRM, SUMMARY = 5, 6


def _on_step(field: str, index: int) -> bool:
    """Which step a finding's field is typed on (the core's field names)."""
    if index == 0:
        return field.startswith(("refill.removed", "refill.at", "refill.last_fill"))
    if index == 2:  # the drugs, and what the measured flow means for their doses
        return field in ("drugs", "pump.flow") or field.startswith(("drugs[", "drugs."))
    if index == 3:
        return field == "refill" or field.startswith("refill.added")
    return False


class ConstantFlowRefillDialog(QDialog):
    def __init__(self, patients: Patients, actor: Principal, patient: Patient, pump: Pump,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.patients, self.actor, self.patient, self.pump = patients, actor, patient, pump
        self.setWindowTitle(f"Refill (constant-flow pump): {patient.clinic_id}, pump {pump.serial}")
        fit_to_screen(self, 980, 760)  # never larger than the screen (1024x768, scale 2)
        self.history: list[CfRefill] = patients.cf_refills(actor, pump.id)
        self.reasons: dict[str, QLineEdit] = {}
        self.retypes: dict[str, QLineEdit] = {}
        self.plan: Plan | None = None
        self._early: Plan | None = None  # the plan the drug step shows (see _preview)
        self.recorded: CfRefill | None = None
        self.report = ""
        self._ready = False  # the fields are checked once every step is built
        last = self.history[-1] if self.history else None
        layout = QVBoxLayout(self)
        self.step_label = QLabel()
        self.step_label.setProperty("role", "title")
        self.step_label.setObjectName("cf_step")
        self.step_label.setWordWrap(True)  # fits 512 px wide (1024x768 at scale 2)
        layout.addWidget(self.step_label)
        intro = QLabel(
            f"{patient.clinic_id} ({patient.name}), pump {pump.serial}: constant flow, nominal "
            f"{volume_rate_text(pump.flow_nl_day or 0)}, reservoir {volume_text(pump.capacity_nl or 0)}. "
            "It cannot be programmed or connected: the dose changes only through the "
            "concentration filled."
            + (
                f" Last fill: {volume_text(last.added_nl)} on {computer_text(last.at_s)}."
                if last
                else " No refill recorded yet."
            )
        )
        intro.setToolTip(intro.text())  # the exact figures
        intro.setText(rounded_text(intro.text()))
        intro.setWordWrap(True)
        intro.setObjectName("cf_intro")
        layout.addWidget(intro)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self._build_steps(last)
        self.step_problem = check_label("cf_step_problem")
        self.step_problem.setStyleSheet("color: #b00020; font-weight: 600;")
        layout.addWidget(self.step_problem)
        nav = QHBoxLayout()
        self.back = QPushButton("Back")
        self.back.setObjectName("cf_back")
        self.back.clicked.connect(lambda: self.go(self.stack.currentIndex() - 1))
        self.next = QPushButton("Next")
        self.next.setObjectName("cf_next")
        self.next.setProperty("role", "primary")
        self.next.setStyleSheet(DISABLED)
        self.next.clicked.connect(lambda: self.go(self.stack.currentIndex() + 1))
        self.record = QPushButton("Record refill")
        self.record.setObjectName("cf_record")
        self.record.setProperty("role", "primary")
        self.record.setStyleSheet(DISABLED)
        self.record.setEnabled(False)
        self.record.clicked.connect(self._record)
        self.close_button = QPushButton("Cancel")
        self.close_button.setObjectName("cf_close")
        self.close_button.clicked.connect(self._close)
        nav.addWidget(self.back)
        nav.addStretch(1)
        nav.addWidget(self.close_button)
        nav.addWidget(self.next)
        nav.addWidget(self.record)
        layout.addLayout(nav)
        self._ready = True
        self.go(0)

    def _changed(self) -> None:
        if self._ready:
            self.check()

    # --- the steps --------------------------------------------------------------------

    def _build_steps(self, last: CfRefill | None) -> None:
        # 1. drawn out
        self.removed = self._edit("cf_removed", "what the syringe drew out, e.g. 4.6 mL")
        self.at = MomentField("cf_at", "refilled at")  # local time, from a calendar; starts now
        self.at.dateTimeChanged.connect(lambda _: self._changed())
        self.first_fill = QCheckBox("first fill of this pump")
        self.first_fill.setObjectName("cf_first_fill")
        self.first_fill.setChecked(last is None)
        self.first_fill.toggled.connect(lambda _: self._changed())
        form = QFormLayout()
        form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        form.addRow("Drawn out", self.removed)
        form.addRow("At", self.at)
        form.addRow("", self.first_fill)
        self.removed_check = check_label("cf_removed_check")
        self.stack.addWidget(step_page(form, self.removed_check))
        # 2. the flow measured from what was drawn out, and its trend
        self.flow_text = check_label("cf_flow")
        self.trend = FlowTrendChart()
        self.trend.setObjectName("flow_trend")
        self.trend.setMinimumHeight(200)
        self.trend.show_trend(
            self.pump.flow_nl_day or 0, flow_trend(self.patients, self.actor, self.pump)
        )
        self.stack.addWidget(step_page(self.flow_text, self.trend))
        # 3. drugs: each a daily dose (the pharmacy's concentration follows) or a concentration
        self.drugs = QTableWidget(DRUG_ROWS, 3)
        self.drugs.setObjectName("cf_drugs")
        self.drugs.setHorizontalHeaderLabels(["Drug", "Give", "Value"])
        self.drugs.horizontalHeader().setStretchLastSection(True)
        self.drugs.setMinimumHeight(130)
        for r in range(DRUG_ROWS):
            give = QComboBox()
            give.addItems(["daily dose", "concentration"])
            give.currentIndexChanged.connect(lambda _: self._changed())
            self.drugs.setCellWidget(r, 1, give)
        for r, d in enumerate((last.drugs if last else [])[:DRUG_ROWS]):
            self.drugs.setItem(r, 0, QTableWidgetItem(str(d["drug"])))
        self.drugs.itemChanged.connect(lambda _: self._changed())
        self.conc_text = check_label("cf_concentrations")
        self.drug_check = check_label("cf_drug_check")
        self.stack.addWidget(step_page(self.drugs, self.conc_text, self.drug_check))
        # 4. injected, and when the next refill is due
        self.added = self._edit(
            "cf_added", f"what was injected, e.g. {volume_text(self.pump.capacity_nl or 0)}"
        )
        form = QFormLayout()
        form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        form.addRow("Injected", self.added)
        self.due_text = check_label("cf_due")
        self.stack.addWidget(step_page(form, self.due_text))
        # 5. the catheter: how long its old fill keeps flowing (no bridging bolus possible)
        self.washout_text = check_label("cf_washout")
        self.stack.addWidget(step_page(self.washout_text))
        # 6. confirm: before and after, every standing finding with its own reason
        self.compare = QTableWidget(0, 3)
        self.compare.setObjectName("cf_compare")
        self.compare.setHorizontalHeaderLabels(["Drug", "In the pump now", "After this refill"])
        self.compare.horizontalHeader().setStretchLastSection(True)
        self.compare.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.compare.setMaximumHeight(120)
        self.summary = check_label("cf_summary")
        self.findings_box = QWidget()
        self.findings_grid = QGridLayout(self.findings_box)
        self.findings_grid.setColumnStretch(0, 3)
        self.findings_grid.setColumnStretch(1, 2)
        self.findings_grid.setColumnStretch(2, 2)
        self.error = check_label("form_error")
        self.error.setStyleSheet("color: #b00020")
        self.stack.addWidget(step_page(self.compare, self.summary, self.findings_box, self.error))
        # 7. summary: the visit report
        self.report_view = QTextBrowser()
        self.report_view.setObjectName("cf_report")
        self.report_view.setMinimumHeight(420)
        save = QPushButton("Save report…")
        save.setObjectName("cf_save_report")
        save.clicked.connect(lambda: self.save_report(None))
        self.stack.addWidget(step_page(self.report_view, save))

    def _edit(self, name: str, placeholder: str) -> QLineEdit:
        e = QLineEdit()
        e.setObjectName(name)
        e.setPlaceholderText(placeholder)
        e.textChanged.connect(lambda _: self._changed())
        e.returnPressed.connect(lambda: self.next.click() if self.next.isEnabled() else None)
        return e

    def set_drug(self, row: int, name: str, give: str, value: str) -> None:
        self.drugs.blockSignals(True)
        self.drugs.setItem(row, 0, QTableWidgetItem(name))
        combo = self.drugs.cellWidget(row, 1)
        assert isinstance(combo, QComboBox)
        combo.setCurrentText(give)
        self.drugs.setItem(row, 2, QTableWidgetItem(value))
        self.drugs.blockSignals(False)
        self.check()

    def _cell(self, row: int, column: int) -> str:
        item = self.drugs.item(row, column)
        return item.text().strip() if item is not None else ""

    # --- navigation -------------------------------------------------------------------

    def go(self, index: int) -> None:
        here = self.stack.currentIndex()
        index = max(0, min(index, SUMMARY if self.recorded else CONFIRM))
        while here < index and not self.step_problems(here):  # forward only past good steps
            here += 1
        if index <= self.stack.currentIndex():
            here = index
        self.stack.setCurrentIndex(here)
        self.step_label.setText(step_title("Refill, constant-flow pump", here, CF_STEPS))
        self.check()

    def step_problems(self, index: int) -> list[str]:
        """Why Next is refused on a step: an empty field, or a hard finding of its fields."""
        empty = {0: (self.removed, "what was drawn out"), 3: (self.added, "what was injected")}
        out = []
        if index in empty and not empty[index][0].text().strip():
            out.append(f"Give {empty[index][1]} (mL).")
        if index == 2 and not any(self._cell(r, 0) for r in range(DRUG_ROWS)):
            out.append("Name the drug filled (saline when none).")
        p = self._early if index == 2 else self.plan  # the drug step, before the volume in
        if p is not None:
            # A value to type again is typed at Confirm (where recording waits for it).
            out += [f"{field_text(f.field)}: {finding_title(f.code)}: {readable_message(f)}" for f in p.hard
                    if _on_step(f.field, index) and not f.retype]  # fmt: skip
        return out

    def _close(self) -> None:
        if self.recorded is not None:
            self.accept()
        else:
            self.reject()

    # --- the core ---------------------------------------------------------------------

    def prescription(self) -> dict[str, Any]:
        p, pump = self.patient, self.pump
        drugs = []
        for r in range(DRUG_ROWS):
            name, value = self._cell(r, 0), self._cell(r, 2)
            if not name:
                continue
            combo = self.drugs.cellWidget(r, 1)
            assert isinstance(combo, QComboBox)
            key = "dose" if combo.currentText() == "daily dose" else "concentration"
            drugs.append(
                {"name": name, key: value} if value or name.lower() != "saline" else {"name": name}
            )
        refill: dict[str, Any] = {"removed": self.removed.text().strip(), "added": self.added.text().strip(),
                                  "at": self.at.iso(), "first_fill": self.first_fill.isChecked()}  # fmt: skip
        rx: dict[str, Any] = {
            "patient": p.clinic_id,
            "pump": {"kind": "constant-flow", "flow": f"{pump.flow_nl_day} nL/day",
                     "capacity": f"{pump.capacity_nl} nL", "serial": pump.serial},
            "drugs": drugs,
            "refill": refill,
        }  # fmt: skip
        if p.indication:
            rx["indication"] = p.indication
        if pump.catheter_json():
            rx["catheter"] = pump.catheter_json()
        if self.history:
            last = self.history[-1]
            refill["last_fill"] = f"{last.added_nl} nL"
            refill["last_fill_at"] = last.at
            rx["previous"] = {"drugs": [{"name": d["drug"], "concentration": f"{d['conc_ng_ml']} ng/mL"}
                                        for d in last.drugs]}  # fmt: skip
        return rx

    def check(self) -> Plan:
        overrides = {code: e.text() for code, e in self.reasons.items() if e.text().strip()}
        typed = {field: e.text() for field, e in self.retypes.items() if e.text().strip()}
        result = plan(
            self.prescription(), now=datetime.now(UTC), overrides=overrides, confirmations=typed
        )
        self.plan = result
        self._show(result)
        return result

    def _preview(self, saline: bool) -> Plan:
        """The flow and drug steps come before the volume injected (and the flow step before
        the drug): the core measures the flow and the concentrations from what is known,
        a full reservoir standing in for the volume injected (and saline for the drugs),
        which neither depends on. Never recorded: the real plan decides."""
        rx = self.prescription()
        if saline:
            rx["drugs"] = [{"name": "saline"}]
        rx["refill"]["added"] = rx["refill"]["added"] or f"{self.pump.capacity_nl} nL"
        return plan(rx, now=datetime.now(UTC))

    def _show(self, p: Plan) -> None:
        x = p.to_json()
        here = self.stack.currentIndex()
        early = p if self.added.text().strip() else self._preview(saline=False)
        flow_plan = early if early.to_json().get("flow_nl_day") else self._preview(saline=True)
        fx = flow_plan.to_json()
        ex = early.to_json()
        self._early = early
        flow = []
        if fx.get("flow_nl_day"):
            flow.append(
                f"Flow used: {volume_rate_text(fx['flow_nl_day'])} ({word(FLOW_SOURCE, str(fx['flow_source']))})"
            )
        flow += [f"⚠ {finding_title(f.code)}: {readable_message(f)}" for f in flow_plan.findings
                 if f.code == "flow_deviation" and f.field == "refill.removed"]  # fmt: skip
        self.flow_text.setText(
            "\n".join(flow) or "The flow is known once what was drawn out is given."
        )
        self.flow_text.setToolTip(  # the exact hourly rate, one hover away
            f"exactly: {volume_rate_text(fx['flow_nl_day'], exact=True)}"
            if fx.get("flow_nl_day")
            else ""
        )
        conc = [f"Prepare {c['drug']} at {c['text']}: {d['text']}"
                for c, d in zip(ex.get("concentrations") or [], ex["daily_doses"], strict=False)]  # fmt: skip
        self.conc_text.setText("\n".join(conc))
        due = ""
        if x.get("refill_due_at"):
            when = computer_text(
                int(datetime.fromisoformat(x["refill_due_at"].replace("Z", "+00:00")).timestamp())
            )
            due = f"Refill due {when} ({DUE.get(str(x['refill_due_reason']), x['refill_due_reason'])})"
        self.due_text.setText(due)
        wash = x.get("catheter_washout")
        self.washout_text.setText(
            f"After this refill, {wash['text']}." if wash
            else "The catheter's volume is not recorded for this pump: how long the old fill "
                 "keeps flowing is unknown."
        )  # fmt: skip
        for label, index, q in ((self.removed_check, 0, p), (self.drug_check, 2, early)):
            label.setText("\n".join(
                finding_line(f, readable_message(f))
                + (" (type it again at Confirm)" if f.retype and not f.confirmed else "")
                for f in q.findings if _on_step(f.field, index) and f.severity != "info"))  # fmt: skip
        washed = [f"After this refill, {wash['text']}."] if wash else []  # a sentence
        lines = flow[:1] + conc + ([due] if due else []) + washed
        lines.append("READY to record" if p.ok else "NOT READY: see below")
        self.summary.setText(rounded_text("\n".join(lines)))
        self.summary.setToolTip("\n".join(lines))  # the exact figures
        self._fill_compare(x)
        self._fill_findings(p)
        problems = self.step_problems(here) if here < CONFIRM else []
        self.step_problem.setText("\n".join(problems))
        self.next.setVisible(here < CONFIRM)
        self.next.setEnabled(not problems)
        self.back.setEnabled(0 < here <= CONFIRM and self.recorded is None)
        self.record.setVisible(here == CONFIRM)
        self.record.setEnabled(p.ok and here == CONFIRM and self.recorded is None)
        self.close_button.setText("Close" if self.recorded is not None else "Cancel")

    def _fill_compare(self, x: dict[str, Any]) -> None:
        """Side by side: what the pump holds now (the last fill) and what this refill puts in."""
        old = {
            str(d["drug"]): int(d["conc_ng_ml"])
            for d in (self.history[-1].drugs if self.history else [])
        }
        after = list(zip(x.get("concentrations") or [], x["daily_doses"], strict=False))
        self.compare.setRowCount(len(after))
        for r, (c, d) in enumerate(after):
            name = str(c["drug"])
            was = (
                concentration_text(old[name], dose_unit(name)) if name in old else "not in the pump"
            )
            for col, text in enumerate((name, was, f"{c['text']}, giving {d['text']}")):
                self.compare.setItem(r, col, QTableWidgetItem(text))

    def _fill_findings(self, p: Plan) -> None:
        old_reasons = {k: e.text() for k, e in self.reasons.items()}
        old_typed = {k: e.text() for k, e in self.retypes.items()}
        focused = {n for n, e in (*self.reasons.items(), *self.retypes.items()) if e.hasFocus()}
        if focused:
            return  # typing a reason: the boxes stay as they are while the person types
        while self.findings_grid.count():
            item = self.findings_grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.hide()  # gone now, not at the next event loop turn (a grab would show it)
                w.deleteLater()
        self.reasons, self.retypes = {}, {}
        for row, f in enumerate(p.findings):
            done = " (typed again: confirmed)" if f.retype and f.confirmed else ""
            said = readable_message(f)
            label = QLabel(
                f"{severity_words(f.severity)}: {finding_title(f.code)} ({field_text(f.field)}): "
                f"{rounded_text(said)}{done}"
            )
            label.setToolTip(said)  # the exact figures
            label.setWordWrap(True)
            label.setMinimumHeight(label.heightForWidth(560))
            self.findings_grid.addWidget(label, row, 0)
            if f.retype:  # kept once confirmed: the confirmation is this box's text
                e = QLineEdit(old_typed.get(f.field, ""))
                e.setObjectName(f"retype:{f.field}")
                e.setPlaceholderText(f"type {field_text(f.field)} again")
                e.editingFinished.connect(self.check)
                self.retypes[f.field] = e
                self.findings_grid.addWidget(e, row, 1)
            if f.severity == "soft" and f.code not in self.reasons:  # a confirmed slip too
                e = QLineEdit(old_reasons.get(f.code, ""))
                e.setObjectName(f"reason:{f.code}")
                e.setPlaceholderText("reason to accept (3 words or more)")
                e.editingFinished.connect(self.check)
                self.reasons[f.code] = e
                self.findings_grid.addWidget(e, row, 2 if f.retype else 1)

    def _record(self) -> None:
        p = self.check()  # judged again on exactly what is shown and typed now
        if not p.ok:
            self.error.setText("not recorded: a finding stands")
            return
        x = p.to_json()
        r = p.prescription.refill
        assert r is not None
        measured = x.get("flow_measurement")
        at = r.at or datetime.now(UTC)
        try:
            self.recorded = self.patients.record_cf_refill(
                self.actor, self.pump.id, at=at, removed_nl=r.removed_nl,
                added_nl=r.added_nl,
                drugs=[{"drug": c["drug"], "conc_ng_ml": c["conc_ng_ml"]} for c in x["concentrations"]],
                measured_flow_nl_day=measured["flow_nl_day"] if measured else None, plan=x,
            )  # fmt: skip
        except PatientError as exc:
            self.error.setText(str(exc))
            return
        self.report = cf_visit_html(patient=self.patient, pump=self.pump, plan=x,
                                    removed_nl=r.removed_nl, added_nl=r.added_nl, at=at,
                                    user=self.actor.name, role=str(self.actor.role),
                                    overrides=dict(p.overrides), recorded=True)  # fmt: skip
        self.report_view.setHtml(self.report)
        self.go(SUMMARY)

    def save_report(self, path: Path | None) -> Path | None:
        if not self.report:
            return None
        from ui.report.save import save_report_pdf

        return save_report_pdf(self, self.report, path)
