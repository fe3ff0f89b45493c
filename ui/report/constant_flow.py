"""The visit report of a constant-flow refill, as a person reads it: patient and pump, the
flow measured from what was drawn out (against the nominal flow), each drug with the
concentration filled and the daily dose it gives, when the catheter's old fill has gone,
the next refill date, each override with its reason, and who recorded it.

Every figure is the core plan's (programmer.constant_flow through planner.plan); here it
becomes words, with dates in this computer's local time.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from programmer.finding_words import finding_title, severity_words
from programmer.formatting import volume_rate_text, volume_text
from programmer.patients.records import Patient, Pump
from programmer.session.visit_report import REASONS
from ui.fields import field_text
from ui.history.course import day_text
from ui.timefmt import computer_text

# Why the refill is due then, in words (the core's reason codes).
DUE = {**REASONS, "usable_volume": "the reservoir's usable volume runs out"}


def _row(*cells: str, head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in cells) + "</tr>"


def _when(iso: str) -> str:
    return computer_text(int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()))


def cf_visit_html(*, patient: Patient, pump: Pump, plan: dict[str, Any], removed_nl: int,
                  added_nl: int, at: datetime, user: str, role: str,
                  overrides: dict[str, str], recorded: bool) -> str:  # fmt: skip
    """`plan` is Plan.to_json() of the refill as recorded (or about to be)."""
    h = [
        "<html><body style='font-family: sans-serif; font-size: 10pt'>",
        f"<h1>Visit report: constant-flow refill, {escape(patient.clinic_id)}</h1>",
        "<table cellpadding='3'>",
        _row("Patient", f"{patient.clinic_id}, {patient.name}, born {day_text(patient.dob)}"),
        _row(
            "Pump",
            f"{pump.model or 'constant-flow pump'}, serial {pump.serial}: constant flow "
            f"(cannot be programmed; the dose is set by the concentration filled)",
        ),
        _row("Nominal flow", volume_rate_text(pump.flow_nl_day or 0)),
        _row("Refill", computer_text(int(at.timestamp()))),
        _row("Report by", f"{user} ({role})"),
        "</table>",
        "<h2>Refill</h2><table cellpadding='3'>",
        _row("Drawn out", volume_text(removed_nl)),
        _row("Injected", volume_text(added_nl)),
    ]
    if plan.get("flow_nl_day"):
        source = (
            "measured over the last interval"
            if plan.get("flow_source") == "measured"
            else "nominal"
        )
        h.append(_row("Flow used", f"{volume_rate_text(plan['flow_nl_day'])} ({source})"))
    h.append("</table>")
    h.append("<h2>Drugs filled</h2><table border='1' cellspacing='0' cellpadding='3'>")
    h.append(_row("Drug", "Concentration filled", "Daily dose at this flow", head=True))
    for c, d in zip(plan.get("concentrations") or [], plan.get("daily_doses") or [], strict=False):
        h.append(_row(str(c["drug"]), str(c["text"]), str(d["text"])))
    h.append("</table>")
    h.append("<table cellpadding='3'>")
    if plan.get("refill_due_at"):
        due = DUE.get(str(plan.get("refill_due_reason") or ""), "")
        h.append(
            _row(
                "Next refill", f"{_when(str(plan['refill_due_at']))}" + (f" ({due})" if due else "")
            )
        )
    washout = plan.get("catheter_washout")
    if washout:
        h.append(_row("Catheter", str(washout["text"])))
    h.append("</table>")
    standing = [f for f in plan.get("findings", []) if f.get("severity") != "info"]
    if standing:
        h.append("<h2>Findings and overrides</h2><ul>")
        for f in standing:
            why = overrides.get(str(f["code"]))
            over = f" <b>Accepted by {escape(user)}:</b> {escape(why)}" if why else ""
            h.append(f"<li>{escape(severity_words(str(f['severity'])))}: "
                     f"<b>{escape(finding_title(str(f['code'])))}</b> "
                     f"({escape(field_text(str(f['field'])))}): "
                     f"{escape(str(f['message']))}.{over}</li>")  # fmt: skip
        h.append("</ul>")
    h.append(
        f"<h2>Outcome</h2><p><b>{'RECORDED' if recorded else 'NOT RECORDED'}</b>: "
        + ("the refill is on the patient's record." if recorded else "nothing was recorded.")
        + "</p></body></html>"
    )
    return "\n".join(h)
