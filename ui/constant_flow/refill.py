"""The constant-flow refill: what came out and went in, the concentration to fill, checked.

A constant-flow pump is never connected: its dose changes only through the concentration.
This screen builds the prescription (the pump's nominal flow, the last fill and when, the
concentration in the catheter now), runs `plan()` with every dose rule, shows the flow
measured over the interval and its trend, the concentrations the pharmacy prepares, the
dose each gives, when the refill is due and how long the catheter's old fill flows, and
records the refill only when nothing stands (soft findings need their own reason; a
suspected unit slip needs the value typed again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from programmer.findings import readable_message
from programmer.formatting import volume_rate_text, volume_text
from programmer.patients.fields import PatientError
from programmer.patients.records import CfRefill, Patient, Pump
from programmer.patients.registry import Patients
from programmer.patients.report import flow_trend
from programmer.planner import Plan, plan
from programmer.store.accounts import Principal
from ui.fields import field_text
from ui.numbers import rounded_text
from ui.timefmt import computer_text
from ui.widgets import fit_to_screen, scrolling_body

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


# Why the refill is due then, in words (the plan's codes are for the JSON).
DUE_REASONS = {"usable_volume": "the usable volume runs out", "drug_stability": "drug stability",
               "low_reservoir_alarm": "low-reservoir alarm", "elective_replacement": "battery replacement"}  # fmt: skip


class ConstantFlowRefillDialog(QDialog):
    def __init__(self, patients: Patients, actor: Principal, patient: Patient, pump: Pump,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.patients, self.actor, self.patient, self.pump = patients, actor, patient, pump
        self.setWindowTitle(f"Constant-flow refill: {patient.clinic_id}, pump {pump.serial}")
        fit_to_screen(self, 980, 760)  # 760 px is taller than a 1024x768 screen leaves
        self.history: list[CfRefill] = patients.cf_refills(actor, pump.id)
        last = self.history[-1] if self.history else None
        layout = scrolling_body(self)  # scrolls at scale 2; Record and Cancel stay in view
        intro = QLabel(
            f"Pump {pump.serial}: constant flow, nominal {volume_rate_text(pump.flow_nl_day or 0)}, "
            f"reservoir {volume_text(pump.capacity_nl or 0)}. It cannot be programmed or connected: "
            "the dose changes only through the concentration filled."
            + (
                f" Last fill: {volume_text(last.added_nl)} on {last.at[:10]}."
                if last
                else " No refill recorded yet."
            )
        )
        intro.setToolTip(intro.text())  # the exact figures
        intro.setText(rounded_text(intro.text()))
        intro.setWordWrap(True)
        intro.setObjectName("cf_intro")
        layout.addWidget(intro)
        top = QHBoxLayout()
        layout.addLayout(top)
        form = QFormLayout()
        top.addLayout(form, 1)
        self.removed = self._edit("cf_removed", "what the syringe drew out, e.g. 4.6 mL")
        self.added = self._edit(
            "cf_added", f"what was injected, e.g. {volume_text(pump.capacity_nl or 0)}"
        )
        self.at = self._edit("cf_at", "now")
        self.at.setText(datetime.now(UTC).replace(microsecond=0).isoformat())
        self.first_fill = QCheckBox("first fill of this pump")
        self.first_fill.setObjectName("cf_first_fill")
        self.first_fill.setChecked(last is None)
        form.addRow("Drawn out", self.removed)
        form.addRow("Injected", self.added)
        form.addRow("At", self.at)
        form.addRow("", self.first_fill)
        self.drugs = QTableWidget(DRUG_ROWS, 3)
        self.drugs.setObjectName("cf_drugs")
        self.drugs.setHorizontalHeaderLabels(["Drug", "Give", "Value"])
        self.drugs.horizontalHeader().setStretchLastSection(True)
        self.drugs.setMaximumHeight(130)
        for r in range(DRUG_ROWS):
            give = QComboBox()
            give.addItems(["daily dose", "concentration"])
            self.drugs.setCellWidget(r, 1, give)
        for r, d in enumerate((last.drugs if last else [])[:DRUG_ROWS]):
            self.drugs.setItem(r, 0, QTableWidgetItem(str(d["drug"])))
        top.addWidget(self.drugs, 1)
        self.trend = FlowTrendChart()
        self.trend.setObjectName("flow_trend")
        self.trend.setMaximumHeight(170)
        top.addWidget(self.trend, 1)
        self.trend.show_trend(pump.flow_nl_day or 0, flow_trend(patients, actor, pump))
        check = QPushButton("Check")
        check.setObjectName("cf_check")
        check.clicked.connect(self.check)
        layout.addWidget(check)
        self.summary = QLabel()
        self.summary.setObjectName("cf_summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.findings_box = QWidget()
        self.findings_grid = QGridLayout(self.findings_box)
        self.findings_grid.setColumnStretch(0, 3)
        self.findings_grid.setColumnStretch(1, 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.findings_box)
        layout.addWidget(scroll, 1)
        self.error = QLabel()
        self.error.setObjectName("form_error")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.record = buttons.addButton("Record refill", QDialogButtonBox.ButtonRole.AcceptRole)
        self.record.setObjectName("cf_record")
        self.record.setEnabled(False)
        self.record.clicked.connect(self._record)
        buttons.rejected.connect(self.reject)
        outer = self.layout()
        assert outer is not None
        outer.addWidget(buttons)
        self.reasons: dict[str, QLineEdit] = {}
        self.retypes: dict[str, QLineEdit] = {}
        self.plan: Plan | None = None
        self.recorded: CfRefill | None = None

    def _edit(self, name: str, placeholder: str) -> QLineEdit:
        e = QLineEdit()
        e.setObjectName(name)
        e.setPlaceholderText(placeholder)
        e.textChanged.connect(
            lambda _: self.record.setEnabled(False) if hasattr(self, "record") else None
        )
        return e

    def set_drug(self, row: int, name: str, give: str, value: str) -> None:
        self.drugs.setItem(row, 0, QTableWidgetItem(name))
        combo = self.drugs.cellWidget(row, 1)
        assert isinstance(combo, QComboBox)
        combo.setCurrentText(give)
        self.drugs.setItem(row, 2, QTableWidgetItem(value))

    def _cell(self, row: int, column: int) -> str:
        item = self.drugs.item(row, column)
        return item.text().strip() if item is not None else ""

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
                                  "at": self.at.text().strip(), "first_fill": self.first_fill.isChecked()}  # fmt: skip
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

    def _show(self, p: Plan) -> None:
        x = p.to_json()
        lines = []
        if x.get("flow_nl_day"):
            lines.append(f"Flow used: {volume_rate_text(x['flow_nl_day'])} ({x['flow_source']})")
        for c, d in zip(x.get("concentrations") or [], x["daily_doses"], strict=False):
            lines.append(f"Prepare {c['drug']} at {c['text']}: {d['text']}")
        if p.refill_due_at is not None:
            why = DUE_REASONS.get(p.refill_due_reason or "", "")
            lines.append(
                f"Refill due {computer_text(p.refill_due_at)}" + (f" ({why})" if why else "")
            )
        if x.get("catheter_washout"):
            lines.append(x["catheter_washout"]["text"])
        lines.append("READY to record" if p.ok else "NOT READY: see below")
        self.summary.setText(rounded_text("\n".join(lines)))
        self.summary.setToolTip("\n".join(lines))  # the exact figures
        old_reasons = {k: e.text() for k, e in self.reasons.items()}
        old_typed = {k: e.text() for k, e in self.retypes.items()}
        while self.findings_grid.count():
            item = self.findings_grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.reasons, self.retypes = {}, {}
        for row, f in enumerate(p.findings):
            said = readable_message(f)
            label = QLabel(f"{f.severity.upper()} ({field_text(f.field)}): {rounded_text(said)}")
            label.setToolTip(said)  # the exact figures
            label.setWordWrap(True)
            label.setMinimumHeight(label.heightForWidth(560))
            self.findings_grid.addWidget(label, row, 0)
            if f.retype and not f.confirmed:
                e = QLineEdit(old_typed.get(f.field, ""))
                e.setObjectName(f"retype:{f.field}")
                e.setPlaceholderText(f"type {field_text(f.field)} again")
                self.retypes[f.field] = e
                self.findings_grid.addWidget(e, row, 1)
            elif f.severity == "soft" and f.code not in self.reasons:
                e = QLineEdit(old_reasons.get(f.code, ""))
                e.setObjectName(f"reason:{f.code}")
                e.setPlaceholderText("reason to accept (3 words or more)")
                self.reasons[f.code] = e
                self.findings_grid.addWidget(e, row, 1)
        self.record.setEnabled(p.ok)

    def _record(self) -> None:
        p = self.check()  # judged again on exactly what is shown and typed now
        if not p.ok:
            self.error.setText("not recorded: a finding stands")
            return
        x = p.to_json()
        r = p.prescription.refill
        assert r is not None
        measured = x.get("flow_measurement")
        try:
            self.recorded = self.patients.record_cf_refill(
                self.actor, self.pump.id, at=r.at or datetime.now(UTC), removed_nl=r.removed_nl,
                added_nl=r.added_nl,
                drugs=[{"drug": c["drug"], "conc_ng_ml": c["conc_ng_ml"]} for c in x["concentrations"]],
                measured_flow_nl_day=measured["flow_nl_day"] if measured else None, plan=x,
            )  # fmt: skip
        except PatientError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
