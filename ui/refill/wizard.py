"""The refill visit, step by step: pump now → drawn out → drug → injected → bridge → confirm → summary.

Every figure on these pages comes from the core: `plan()` for the discrepancy,
the bolus and the dates, `state.propose/send` for the pump. The wizard keeps
only what the person typed (strings with units).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from programmer.checks import check_discrepancy, discrepancy
from programmer.findings import Severity
from programmer.formatting import concentration_text, percent_text, volume_rate_text, volume_text
from programmer.planner import Plan, plan
from programmer.quantities import Dimension, QuantityError, parse_quantity
from programmer.session.changes import change_text
from programmer.session.pump_session import ProgramResult, Proposal
from programmer.session.refill_rx import prescription_from_therapy, with_refill
from programmer.session.visit_report import REASONS, VisitReport
from programmer.timeutil import iso_local
from ui.app_state import AppState
from ui.inputs import guard_inputs
from ui.style import CRITICAL, OK, WARNING
from ui.widgets import Card

STEPS = ["Pump now", "Drawn out", "Drug", "Injected", "Bridge bolus", "Confirm", "Summary"]


def _unit(name: str, conc: int) -> str:
    from programmer.drugs import default_library

    drug = default_library().find(name)
    if drug is not None and drug.dose_unit:
        return drug.dose_unit
    return "mg" if conc >= 1_000_000 else "mcg"


class RefillPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        guard_inputs()  # no wheel or arrow key changes a drop-down unseen
        self.state = state
        self.proposal: Proposal | None = None
        self.result: ProgramResult | None = None
        outer = QVBoxLayout(self)
        self.step_label = QLabel()
        self.step_label.setProperty("role", "title")
        self.step_label.setObjectName("refill_step")
        outer.addWidget(self.step_label)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        nav = QHBoxLayout()
        self.back = QPushButton("Back")
        self.next = QPushButton("Next")
        self.next.setProperty("role", "primary")
        self.back.clicked.connect(lambda: self.go(self.stack.currentIndex() - 1))
        self.next.clicked.connect(self._next)
        nav.addWidget(self.back)
        nav.addStretch(1)
        nav.addWidget(self.next)
        outer.addLayout(nav)
        self._build_pages()
        state.sig_pump_changed.connect(self._pump_changed)
        self._pump_changed()  # built after connecting: start from what the pump says now
        self.go(0)

    # --- pages --------------------------------------------------------------------------

    def _build_pages(self) -> None:
        # 1. the pump now
        self.now_card = Card("What the pump says now")
        reread = QPushButton("Read the pump again")
        reread.clicked.connect(lambda: self.state.refresh())
        self.stack.addWidget(self._page(self.now_card, reread))
        # 2. drawn out
        self.removed = QLineEdit()
        self.removed.setObjectName("refill_removed")
        self.removed.setAccessibleName("volume drawn out, mL")
        self.removed.setPlaceholderText("e.g. 4.6")
        self.removed_check = QLabel()
        self.removed_check.setObjectName("refill_discrepancy")
        self.removed_check.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Drawn out with the syringe (mL)", self.removed)
        self.stack.addWidget(self._page(form, self.removed_check))
        # 3. drug and concentration
        self.drug = QLineEdit()
        self.drug.setObjectName("refill_drug")
        self.drug.setAccessibleName("drug name")
        self.conc = QLineEdit()
        self.conc.setObjectName("refill_concentration")
        self.conc.setAccessibleName("concentration with unit, e.g. 10 mg/mL")
        self.drug_check = QLabel()
        self.drug_check.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Drug", self.drug)
        form.addRow("Concentration (with unit)", self.conc)
        self.stack.addWidget(self._page(form, self.drug_check))
        # 4. injected
        self.added = QLineEdit()
        self.added.setObjectName("refill_added")
        self.added.setAccessibleName("volume injected, mL")
        self.added_check = QLabel()
        self.added_check.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Injected into the reservoir (mL)", self.added)
        self.stack.addWidget(self._page(form, self.added_check))
        # 5. bridge bolus
        self.bridge = QCheckBox("Give a bridge bolus (old drug in the catheter at the old rate)")
        self.bridge.setObjectName("refill_bridge")
        self.bridge.setChecked(True)
        self.bridge_text = QLabel()
        self.bridge_text.setObjectName("refill_bridge_text")
        self.bridge_text.setWordWrap(True)
        self.stack.addWidget(self._page(self.bridge, self.bridge_text))
        # 6. confirm
        self.change = QLabel()
        self.change.setObjectName("refill_change")
        self.change.setStyleSheet("font-family: monospace;")
        self.change.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.daily = QLabel()
        self.daily.setProperty("role", "big")
        self.findings = QLabel()
        self.findings.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setObjectName("refill_override_reason")
        self.reason.setAccessibleName("reason for overriding the soft findings")
        self.reason.setPlaceholderText("Reason, if soft findings are to be overridden (recorded)")
        self.password = QLineEdit()
        self.password.setObjectName("refill_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("your password, again, to send")
        self.send_button = QPushButton("Send to the pump")
        self.send_button.setObjectName("refill_send")
        self.send_button.setProperty("role", "danger")
        self.send_button.clicked.connect(self._send)
        self.progress = QLabel()
        self.progress.setObjectName("refill_progress")
        form = QFormLayout()
        form.addRow("Override reason", self.reason)
        form.addRow("Password", self.password)
        self.stack.addWidget(
            self._page(
                self.change, self.daily, self.findings, form, self.send_button, self.progress
            )
        )
        # 7. summary
        self.summary = QLabel()
        self.summary.setObjectName("refill_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        report = QPushButton("Save the visit report (PDF)…")
        report.clicked.connect(lambda: self.save_report(None))
        self.stack.addWidget(self._page(self.summary, report))
        for field in (self.removed, self.drug, self.conc, self.added):
            field.textChanged.connect(self._recheck)
        self.bridge.toggled.connect(self._recheck)

    @staticmethod
    def _page(*parts: Any) -> QWidget:
        w = QWidget()
        layout = QVBoxLayout(w)
        for part in parts:
            if isinstance(part, QWidget):
                layout.addWidget(part)
            else:
                layout.addLayout(part)
        layout.addStretch(1)
        return w

    # --- navigation -------------------------------------------------------------------

    def go(self, index: int) -> None:
        index = max(0, min(index, len(STEPS) - 1))
        self.stack.setCurrentIndex(index)
        self.step_label.setText(f"Refill — step {index + 1} of {len(STEPS)}: {STEPS[index]}")
        self.back.setEnabled(0 < index < 5 or index == 5)
        self.next.setVisible(index < 5)
        if index == 5:
            self._propose()
        self._recheck()

    def _next(self) -> None:
        self.go(self.stack.currentIndex() + 1)

    def _pump_changed(self) -> None:
        i = self.state.interrogation
        if i is None:
            return
        if not self.drug.text() and i.therapy.drugs:
            d = i.therapy.drugs[0]
            self.drug.setText(d.name)
            self.conc.setText(concentration_text(d.conc_ng_ml, _unit(d.name, d.conc_ng_ml)))
        self._recheck()

    # --- live checks (the core computes) -------------------------------------------------

    def prescription(self) -> dict[str, Any] | None:
        i = self.state.interrogation
        if i is None:
            return None
        base = prescription_from_therapy(
            i.therapy, pump_serial=i.serial, pump_model=i.model, keep="dose"
        )
        drugs = (
            [{"name": self.drug.text().strip(), "concentration": self.conc.text().strip()}]
            if self.drug.text().strip()
            else []
        )
        return with_refill(base, removed=f"{self.removed.text().strip()} mL", added=f"{self.added.text().strip()} mL",
                           drugs=drugs, bridge=self.bridge.isChecked() and self._conc_changed())  # fmt: skip

    def _conc_changed(self) -> bool:
        i = self.state.interrogation
        if i is None:
            return False
        old = [
            (d.name, concentration_text(d.conc_ng_ml, _unit(d.name, d.conc_ng_ml)))
            for d in i.therapy.drugs
        ]
        new = (
            [(self.drug.text().strip().lower(), self.conc.text().strip())]
            if self.drug.text().strip()
            else []
        )
        return old != new

    def current_plan(self) -> Plan | None:
        rx, i = self.prescription(), self.state.interrogation
        if rx is None or i is None:
            return None
        return plan(
            rx, now=datetime.fromtimestamp(int(i.status["clock_t"]), UTC), pump=i.pump_context()
        )

    def _recheck(self) -> None:
        i = self.state.interrogation
        if i is None:
            self.now_card.set_rows([("Pump", "not connected")])
            return
        f = self.state.forecast
        s = i.status
        off = int(s["utc_offset_min"])
        fill = (
            ", ".join(
                f"{d.name} {concentration_text(d.conc_ng_ml, _unit(d.name, d.conc_ng_ml))}"
                for d in i.therapy.drugs
            )
            or "saline"
        )
        self.now_card.set_rows([
            ("Pump", f"{i.model} {i.serial}"),
            ("In the reservoir (estimate)", volume_text(int(s["reservoir_nl"]))),
            ("Filled at the last refill", volume_text(i.last_fill_nl) if i.last_fill_nl is not None else "not in the pump's log"),
            ("Drug", fill),
            ("Refill was due", iso_local(f.refill_due_t, off)[:16] + f" ({REASONS.get(f.refill_due_reason or '', '')})" if f and f.refill_due_t else "unknown"),
        ])  # fmt: skip
        p = self.current_plan()
        if p is None:
            return
        codes = {x.code: x for x in p.findings}
        expected = volume_text(int(s["reservoir_nl"]))
        rc = None
        try:
            removed_nl = parse_quantity(
                f"{self.removed.text().strip()} mL", Dimension.VOLUME
            ).whole("the volume drawn out")
        except QuantityError as exc:
            removed_nl = None
            if self.removed.text().strip():
                self._tell(self.removed_check, f"Drawn out: {exc.reason}", CRITICAL)
        if removed_nl is not None and i.last_fill_nl is not None:
            rc = discrepancy(removed_nl, int(s["reservoir_nl"]), i.last_fill_nl)
            codes.update({x.code: x for x in check_discrepancy(rc)} if rc else {})
        if rc is not None:
            text = (f"Expected to draw out about {expected} (the pump's estimate). Programmed delivery since the last fill "
                    f"{volume_text(rc.programmed_nl)}; actual {volume_text(rc.actual_nl)}: {percent_text(rc.deviation * 100)}.")  # fmt: skip
            flag = (
                codes.get("refill_over_infusion")
                or codes.get("refill_under_infusion")
                or codes.get("refill_removed_over_fill")
            )
            self._tell(
                self.removed_check,
                text
                + (f"\n{flag.message}. {flag.remedy}" if flag else "\nWithin the pump's ±14.5 %."),
                CRITICAL if flag else OK,
            )
        else:
            self._tell(
                self.removed_check,
                f"Expected to draw out about {expected}. "
                + (
                    codes["refill_check_skipped"].message if "refill_check_skipped" in codes else ""
                ),
                WARNING,
            )
        drug_msgs = [
            x
            for x in p.findings
            if x.field.startswith("drugs") or x.code in ("unknown_drug", "admixture", "off_label")
        ]
        changed = self._conc_changed()
        self._tell(self.drug_check, ("The concentration changes: the daily dose is kept, the rates are recomputed, and a bridge bolus is planned.\n" if changed else "Same drug and concentration.\n")
                   + "\n".join(f"[{x.severity}] {x.message}" for x in drug_msgs), WARNING if changed or drug_msgs else OK)  # fmt: skip
        cap_msgs = [x for x in p.findings if x.field.startswith("refill.added")]
        self._tell(self.added_check, f"Capacity {volume_text(int(s['reservoir_capacity_nl']))}.\n" + "\n".join(f"[{x.severity}] {x.message}" for x in cap_msgs),
                   CRITICAL if any(x.severity is Severity.HARD for x in cap_msgs) else OK)  # fmt: skip
        self.bridge.setEnabled(changed)
        if not changed:
            self.bridge_text.setText("Not needed: the concentration does not change.")
        elif p.bolus is not None:
            b = p.bolus
            self.bridge_text.setText(f"Bridge bolus {volume_text(b.volume_nl)} at {volume_rate_text(b.rate_nl_day)}: "
                                     f"pump tubing {volume_text(b.inputs['pump_tubing_nl'])} ({b.inputs['pump_tubing_source']}) + catheter "
                                     f"{volume_text(b.inputs['catheter_volume_nl'])}; rate: {b.inputs['rate_source']}.")  # fmt: skip
        else:
            why = codes.get("invalid_bolus") or codes.get("bridge_bolus_needed")
            self.bridge_text.setText(why.message if why else "No bridge bolus.")

    @staticmethod
    def _tell(label: QLabel, text: str, colour: str) -> None:
        label.setText(text)
        label.setStyleSheet(f"color: {colour}; font-weight: 600;")

    # --- confirm and send -------------------------------------------------------------

    def _soft_overrides(self, p: Plan) -> dict[str, str]:
        reason = self.reason.text().strip()
        return {f.code: reason for f in p.unresolved_soft} if reason else {}

    def _propose(self) -> None:
        rx = self.prescription()
        if rx is None:
            return
        pre = self.current_plan()
        overrides = self._soft_overrides(pre) if pre else {}
        self.send_button.setEnabled(False)
        self.change.setText("Reading the pump and planning…")
        self.state.propose(
            rx,
            overrides,
            self._show_proposal,
            lambda e: self.change.setText(f"Could not plan: {e}"),
        )

    def _show_proposal(self, proposal: Proposal) -> None:
        self.proposal = proposal
        p = proposal.plan
        self.change.setText(change_text(proposal.changes, proposal.daily_change))
        self.daily.setText(
            f"Daily total {percent_text(proposal.daily_change * 100)}"
            if proposal.daily_change is not None
            else ""
        )
        lines = [
            f"[{f.severity}] {f.code}: {f.message}"
            + (" (overridden)" if f.code in p.overrides else "")
            for f in p.findings
            if f.severity != "info"
        ]
        self.findings.setText("\n".join(lines) or "No findings.")
        self.findings.setStyleSheet(f"color: {CRITICAL if not p.ok else OK}; font-weight: 600;")
        self.send_button.setEnabled(p.ok)
        if not p.ok and p.unresolved_soft and not p.hard:
            self.progress.setText(
                "Soft findings stand: give a reason to override them, then go Back and Next to plan again."
            )

    def _send(self) -> None:
        if self.proposal is None:
            return
        self.send_button.setEnabled(False)
        self.progress.setText("stage…")
        conn = self.state.bridge.sig_progress.connect(
            lambda step: self.progress.setText(f"{step}…")
        )

        def done(result: ProgramResult) -> None:
            self.state.bridge.sig_progress.disconnect(conn)
            self.result = result
            self._summarise()
            self.go(6)

        def failed(error: BaseException) -> None:
            self.state.bridge.sig_progress.disconnect(conn)
            self.progress.setText(f"Not sent: {error}")
            self.send_button.setEnabled(True)

        self.state.send(self.proposal, self.password.text(), done, failed)
        self.password.clear()

    def _summarise(self) -> None:
        r, p = self.result, self.proposal
        if r is None or p is None:
            return
        colour = {"applied": OK, "not_applied": WARNING, "uncertain": CRITICAL}.get(
            r.outcome, CRITICAL
        )
        i = self.state.interrogation
        off = int(i.status["utc_offset_min"]) if i else 0
        parts = [
            f"<p style='color:{colour}; font-size:16pt'><b>{r.outcome.replace('_', ' ').upper()}</b>: {r.message}</p>"
        ]
        if r.outcome == "uncertain":
            parts.append("<p><b>Nothing else will be sent until the pump is read again.</b></p>")
        if r.outcome == "applied" and p.plan.refill_due_at is not None:
            parts.append(f"<p>Next refill: <b>{iso_local(p.plan.refill_due_at, off)[:16]}</b> ({REASONS.get(p.plan.refill_due_reason or '', '')}). "
                         "The alarm date is an estimate from the programmed rate.</p>")  # fmt: skip
        self.summary.setText("".join(parts))

    def report(self) -> VisitReport | None:
        p, s = self.proposal, self.state
        if p is None or s.principal is None:
            return None
        trail = s.trail.query(pump=p.base.serial) if s.session is not None else []
        return VisitReport(s.principal.name, str(s.principal.role), f"{p.base.model} {p.base.serial}", p.base, p, self.result,
                           trail[-40:], demo_key=s.demo_key)  # fmt: skip

    def save_report(self, path: Path | None) -> Path | None:
        report = self.report()
        if report is None:
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self, "Visit report", "visit-report.pdf", "PDF (*.pdf)"
            )
            if not name:
                return None
            path = Path(name)
        from ui.report.pdf import write_pdf

        return write_pdf(report.html(), path)
