"""The visit report as a person reads it: patient, pump, the therapy before and after with
every step as a dose, the refill and its discrepancy, the boluses as doses, each override
with its reason, and who did what, in words and local time, without internal codes.
Every figure comes from the core (the plan, the pump's read-back, the trail)."""

from __future__ import annotations

from fractions import Fraction
from html import escape

from programmer.finding_words import finding_title, severity_words
from programmer.formatting import dose_per_day_text, percent_text, volume_text
from programmer.patients.course import PumpsOfPatient
from programmer.session.drug_changes import drug_changes, profile_rows
from programmer.session.pump_session import Interrogation, ProgramResult, Proposal
from programmer.store import AuditRecord
from ui.confirm.change_view import _bolus as bolus_text
from ui.confirm.dialog import CHANGED, OUTCOME
from ui.fields import field_text
from ui.history.course import day_text
from ui.numbers import clinical_percent
from ui.pump_text import pump_text
from ui.timefmt import computer_text, local_text

# Trail actions a reader needs, in words; the rest (every interrogation, the sign-ins) is noise.
ACTIONS = {
    "pump_connected": "connected to the pump",
    "prescription_checked": "checked a prescription",
    "finding_overridden": "overrode a finding",
    "program_intent": "sent a program",
    "program_outcome": "program outcome",
    "refill_recorded": "recorded a refill",
    "clock_set": "set the pump's clock",
    "history_read": "read the pump's log",
    "export": "exported records",
}


def _row(*cells: str, head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in cells) + "</tr>"


def _doses_text(doses: dict[str, Fraction] | None, units: dict[str, str]) -> str:
    if doses is None:
        return "unknown"
    if not doses:
        return "saline"
    return ", ".join(f"{d} {dose_per_day_text(ng, units[d])}" for d, ng in doses.items())


def _who_did_what(trail: list[AuditRecord]) -> list[str]:
    out = []
    for rec in trail:
        words = ACTIONS.get(str(rec.action))
        if words is None:
            continue
        outcome = str(rec.outcome or "").replace("_", " ")
        if rec.action == "finding_overridden":
            outcome = ""
        out.append(_row(computer_text(int(rec.ts_s)), str(rec.account or ""), words, outcome,
                        str(rec.reason or "")))  # fmt: skip
    return out


def _pumps_of_patient(course: PumpsOfPatient) -> list[str]:
    """The patient's pumps over time (this one marked) and each replacement, in words."""
    h = ["<h2>The patient's pumps</h2><table border='1' cellspacing='0' cellpadding='3'>",
         _row("Pump", "Kind", "Implanted", "Explanted", head=True)]  # fmt: skip
    for p in course.pumps:
        name = f"{pump_text(p.model or '')} {pump_text(p.serial)}".strip() + (
            " (this visit)" if p.serial == course.serial else ""
        )
        out = (
            f"{day_text(p.explanted_on)} ({p.explant_reason or ''})"
            if p.explanted_on
            else "implanted now"
        )
        h.append(_row(name, p.kind, day_text(p.implanted_on), out))
    h.append("</table>")
    for e in course.replacements:
        h.append(f"<p><b>{escape(e.text.replace(' -> ', ' → '))}</b></p>")
    return h


def visit_html(*, user: str, role: str, before: Interrogation, proposal: Proposal | None,
               result: ProgramResult | None, trail: list[AuditRecord], demo_key: bool,
               course: PumpsOfPatient | None = None) -> str:  # fmt: skip
    off = int(before.status["utc_offset_min"])
    rx = proposal.prescription if proposal is not None else {}
    patient = str(rx.get("patient") or "not given")
    if course is not None:  # the pump is on a patient's record: name them
        c = course.patient
        patient = f"{c.clinic_id}, {c.name}, born {day_text(c.dob)}"
    h = ["<html><body style='font-family: sans-serif; font-size: 10pt'>",
         f"<h1>Visit report: {escape(pump_text(before.model))} {escape(pump_text(before.serial))}</h1>",
         "<table cellpadding='3'>",
         _row("Patient", patient),
         _row("Pump", f"{pump_text(before.model)}, serial {pump_text(before.serial)}, "
                      f"firmware {pump_text(before.firmware)}"),
         _row("Pump clock at the visit", local_text(int(before.status["clock_t"]), off)),
         _row("Report by", f"{user} ({role})"),
         "</table>"]  # fmt: skip
    if course is not None and len(course.pumps) > 1:
        h += _pumps_of_patient(course)
    if demo_key:
        h.append("<p style='color:#9a6700'><b>DEMO KEY in use: not for clinical use.</b></p>")
    new = proposal.plan.therapy if proposal is not None else None
    old = before.therapy
    h.append("<h2>Therapy before and after</h2>")
    if new is None:
        h.append(f"<p>No change planned. On the pump: {escape(old.mode)}.</p>")
    else:
        h.append("<table border='1' cellspacing='0' cellpadding='3'>")
        h.append(_row("", "Before", "After", "Change", head=True))
        for pr in profile_rows(old, new):
            ratios = [pr.change(d) for d in pr.after]
            ch = [clinical_percent(r) for r in ratios if r is not None]
            h.append(_row(f"from {pr.start}", _doses_text(pr.before, pr.units),
                          _doses_text(pr.after, pr.units), " / ".join(ch)))  # fmt: skip
        for dc in drug_changes(old, new):
            word = clinical_percent(dc.change) if dc.change is not None else dc.status
            h.append(
                _row(f"Daily dose, {dc.drug}", dc.text(dc.before_ng), dc.text(dc.after_ng), word)
            )
        for label, t in (("Patient bolus before", old), ("Patient bolus after", new)):
            p = t.ptm
            text = "off"
            if p.enabled:
                doses = bolus_text(p.volume_nl, t)
                text = f"{doses} over {p.duration_min} min, lockout {p.lockout_min} min, at most {p.max_per_day} a day"
            h.append(_row(label, text, "", ""))
        h.append("</table>")
    if proposal is not None:
        bolus = proposal.changeset.get("bolus")
        if bolus:
            doses = bolus_text(int(bolus["volume_nl"]), new)
            h.append(f"<h2>One-time bolus</h2><p>{escape(str(bolus['kind']))}: "
                     f"{escape(doses)} "
                     f"({escape(volume_text(int(bolus['volume_nl'])))})</p>")  # fmt: skip
        fill = proposal.plan.prescription.refill
        if fill is not None:
            rc = proposal.plan.refill_check
            h.append("<h2>Refill</h2><table cellpadding='3'>")
            h.append(_row("Drawn out", volume_text(fill.removed_nl)))
            h.append(_row("Injected", volume_text(fill.added_nl)))
            drugs = ", ".join(
                f"{d['name']} {d.get('concentration', '')}" for d in rx.get("drugs", [])
            )
            h.append(_row("Drug", drugs or "saline"))
            if rc is not None:
                h.append(
                    _row("Programmed delivery since the last fill", volume_text(rc.programmed_nl))
                )
                h.append(
                    _row("Actual delivery (from what was drawn out)", volume_text(rc.actual_nl))
                )
                h.append(_row("Discrepancy", f"{percent_text(rc.deviation * 100)} (limit ±14.5 %)"))
            else:
                h.append(_row("Discrepancy", "not checked (no earlier fill known)"))
            h.append("</table>")
        standing = [f for f in proposal.plan.findings if str(f.severity) != "info"]
        if standing:
            h.append("<h2>Findings and overrides</h2><ul>")
            for f in standing:
                why = proposal.plan.overrides.get(f.code)
                over = f" <b>Overridden by {escape(user)}:</b> {escape(why)}" if why else ""
                h.append(f"<li>{escape(severity_words(f.severity))}: <b>{escape(finding_title(f.code))}</b> "
                         f"({escape(field_text(f.field))}): "
                         f"{escape(f.message)}.{over}</li>")  # fmt: skip
            h.append("</ul>")
    if result is not None:
        word, _ = OUTCOME.get(result.outcome, (result.outcome.upper(), ""))
        h.append(f"<h2>Outcome</h2><p><b>{escape(word)}</b>: {escape(result.message)}. "
                 f"{escape(CHANGED.get(result.outcome, ''))}</p>")  # fmt: skip
    rows = _who_did_what(trail)
    if rows:
        h.append("<h2>Who did what</h2><table border='1' cellspacing='0' cellpadding='2'>")
        h.append(_row("Time", "Account", "What", "Outcome", "Reason", head=True))
        h += rows
        h.append("</table>")
    h.append("</body></html>")
    return "\n".join(h)
