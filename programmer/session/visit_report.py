"""The visit report's content: pump, therapy before and after, refill, findings, who did what.

Built from the session's own results and the audit trail, as HTML text; the
desktop app prints it to PDF with Qt's writer. Nothing here is computed anew:
every figure comes from the plan, the pump's read-back or the trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from programmer.formatting import percent_text, volume_text
from programmer.session.changes import ChangeRow, daily_doses, therapy_changes
from programmer.session.pump_session import Interrogation, ProgramResult, Proposal
from programmer.store import AuditRecord
from programmer.timeutil import iso_local

REASONS = {"low_reservoir_alarm": "low-reservoir alarm (estimate)", "drug_stability": "drug stability",
           "elective_replacement": "battery replacement"}  # fmt: skip


@dataclass
class VisitReport:
    clinic_user: str
    role: str
    pump: str
    before: Interrogation
    proposal: Proposal | None = None
    result: ProgramResult | None = None
    trail: list[AuditRecord] = field(default_factory=list)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    demo_key: bool = False

    def rows(self) -> list[ChangeRow]:
        if self.proposal is None or self.proposal.plan.therapy is None:
            return []
        return therapy_changes(self.before.therapy, self.proposal.plan.therapy) + [
            r
            for r in self.proposal.changes
            if r.field in ("reservoir (estimate)", "refill", "one-time bolus")
        ]

    def html(self) -> str:
        b = self.before
        off = int(b.status["utc_offset_min"])
        h: list[str] = [
            "<html><body style='font-family: sans-serif; font-size: 10pt'>",
            f"<h1>Visit report: {escape(self.pump)}</h1>",
            f"<p>Prepared {escape(self.created.strftime('%Y-%m-%d %H:%M UTC'))} by {escape(self.clinic_user)} ({escape(self.role)}).</p>",
        ]
        if self.demo_key:
            h.append(
                "<p style='color:#9a6700'><b>DEMO KEY in use: this session is not for clinical use.</b></p>"
            )
        h.append("<h2>Pump</h2><table cellpadding='3'>")
        for k, v in [("Model", b.model), ("Serial", b.serial), ("Firmware", b.firmware),
                     ("Reservoir at start (estimate)", volume_text(int(b.status["reservoir_nl"]))),
                     ("Delivering at start", str(b.status["delivering"]))]:  # fmt: skip
            h.append(f"<tr><td>{escape(k)}</td><td align='right'>{escape(v)}</td></tr>")
        h.append("</table>")
        h.append(
            "<h2>Therapy before</h2><p>"
            + escape(
                ", ".join(f"{n}: {t}" for n, t in daily_doses(b.therapy).items())
                or "saline (no drug)"
            )
            + "</p>"
        )
        p = self.proposal
        if p is not None:
            h.append(
                "<h2>Change</h2><table border='1' cellspacing='0' cellpadding='3'><tr><th>Field</th><th>Before</th><th>After</th></tr>"
            )
            for r in self.rows():
                h.append(
                    f"<tr><td>{escape(r.field)}</td><td align='right'>{escape(r.old)}</td><td align='right'>{escape(r.new)}</td></tr>"
                )
            h.append("</table>")
            if p.daily_change is not None:
                h.append(f"<p><b>Daily total: {escape(percent_text(p.daily_change * 100))}</b></p>")
            rc = p.plan.refill_check
            if p.plan.prescription.refill is not None:
                fill = p.plan.prescription.refill
                h.append("<h2>Refill</h2><table cellpadding='3'>")
                rows = [
                    ("Drawn out", volume_text(fill.removed_nl)),
                    ("Injected", volume_text(fill.added_nl)),
                ]
                if rc is not None:
                    rows += [("Programmed delivery since last fill", volume_text(rc.programmed_nl)),
                             ("Actual delivery (from what was drawn out)", volume_text(rc.actual_nl)),
                             ("Discrepancy", percent_text(rc.deviation * 100) + " (limit ±14.5 %)")]  # fmt: skip
                for k, v in rows:
                    h.append(f"<tr><td>{escape(k)}</td><td align='right'>{escape(v)}</td></tr>")
                h.append("</table>")
            findings = [
                f
                for f in p.plan.findings
                if f.severity != "info" or f.code in ("admixture", "off_label")
            ]
            if findings:
                h.append("<h2>Findings</h2><ul>")
                for f in findings:
                    why = p.overrides.get(f.code)
                    over = f" <b>Overridden:</b> {escape(why)}" if why else ""
                    h.append(
                        f"<li>[{escape(str(f.severity))}] {escape(f.code)} ({escape(f.field)}): {escape(f.message)}.{over}</li>"
                    )
                h.append("</ul>")
            if p.plan.refill_due_at is not None:
                due = iso_local(p.plan.refill_due_at, off)[:16]
                h.append(f"<h2>Next refill</h2><p><b>{escape(due)}</b> ({escape(REASONS.get(p.plan.refill_due_reason or '', ''))}). "
                         "The alarm date is an estimate from the programmed rate: over-infusion makes it earlier.</p>")  # fmt: skip
        if self.result is not None:
            h.append(
                f"<h2>Outcome</h2><p><b>{escape(self.result.outcome.replace('_', ' ').upper())}</b>: {escape(self.result.message)}</p>"
            )
        if self.trail:
            h.append(
                "<h2>Who did what</h2><table border='1' cellspacing='0' cellpadding='2'><tr><th>Time (UTC)</th><th>Account</th><th>Action</th><th>Outcome</th><th>Reason</th></tr>"
            )
            for rec in self.trail:
                h.append(f"<tr><td>{escape(str(rec.ts)[:19].replace('T', ' '))}</td><td>{escape(str(rec.account or ''))}</td><td>{escape(str(rec.action))}</td>"
                         f"<td>{escape(str(rec.outcome or ''))}</td><td>{escape(str(rec.reason or ''))}</td></tr>")  # fmt: skip
            h.append("</table>")
        h.append("</body></html>")
        return "\n".join(h)
