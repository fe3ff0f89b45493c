"""The patient's report: details, pumps over time, trials and their results, the timeline.

HTML text, like the session's visit report (the app prints it to PDF). Every figure is what
was recorded; the constant-flow flow trend is measured flow against the nominal flow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from html import escape

from programmer.constant_flow import FLOW_DEVIATION_LIMIT
from programmer.formatting import (
    decimal_text,
    dose_per_day_text,
    mass_text,
    minutes_text,
    volume_rate_text,
)
from programmer.patients import timeline
from programmer.patients.records import Pump, Trial, TrialEntry
from programmer.patients.registry import Patients
from programmer.patients.words import (
    DECISION,
    INDICATION,
    PUMP_KIND,
    RESPONSE,
    SCALE,
    SIDE_EFFECT,
    TRIAL_KIND,
    day_text,
    moment_text,
    stored_html,
    stored_text,
    word,
)
from programmer.store.accounts import Principal


def flow_trend(patients: Patients, actor: Principal, pump: Pump) -> list[tuple[str, int, Fraction]]:
    """(when, measured flow nL/day, deviation from nominal) for each refill that measured it."""
    if pump.flow_nl_day is None:
        return []
    out = []
    for r in patients.cf_refills(actor, pump.id):
        if r.measured_flow_nl_day is not None:
            dev = Fraction(r.measured_flow_nl_day - pump.flow_nl_day, pump.flow_nl_day)
            out.append((r.at, r.measured_flow_nl_day, dev))
    return out


def trial_lines(t: Trial, unit: str) -> list[str]:
    """Each entry in words, its time in the clinic's local time (plain text)."""
    return [f"{stored_text(e.at)} {what}" for e, what in trial_entries(t, unit)]


def trial_entries(t: Trial, unit: str) -> list[tuple[TrialEntry, str]]:
    """(entry, what it was in words) for each entry of the trial, in order."""
    out = []
    for e in t.entries:
        if e.kind == "dose" and e.amount_ng is not None:
            amount = (
                dose_per_day_text(e.amount_ng, unit) if e.per_day else mass_text(e.amount_ng, unit)
            )
            what = f"dose {amount}"
        elif e.kind == "observation":
            what = f"{word(SCALE, e.scale)} score {e.score}"
        else:
            what = f"side effect: {word(SIDE_EFFECT, e.effect)}"
        out.append((e, what + (f" ({e.note})" if e.note else "")))
    return out


def html(
    patients: Patients, actor: Principal, patient_id: int, *, created: datetime | None = None
) -> str:
    from programmer.drugs import default_library

    p = patients.get(actor, patient_id)
    moment = created or datetime.now(UTC)
    made = (
        f"<span title='{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC'>"
        f"{escape(moment_text(moment))}</span>"
    )
    h = [
        "<html><body style='font-family: sans-serif; font-size: 10pt'>",
        f"<h1>Patient report: {escape(p.clinic_id)}</h1>",
        f"<p>Prepared {made} by {escape(actor.name)} ({escape(str(actor.role))}).</p>",
        "<table cellpadding='3'>",
        f"<tr><td>Name</td><td>{escape(p.name)}</td></tr>",
        f"<tr><td>Date of birth</td><td>{escape(day_text(p.dob))}</td></tr>",
        f"<tr><td>Indication</td><td>{escape(word(INDICATION, p.indication) or 'not recorded')}</td></tr>",
        f"<tr><td>Notes</td><td>{escape(p.notes)}</td></tr>",
        f"<tr><td>Details version</td><td>{p.version} ({stored_html(p.updated_at, day=True)}, {escape(p.updated_by)})</td></tr>",
        "</table>",
        "<h2>Pumps over time</h2><table border='1' cellpadding='3' cellspacing='0'>",
        "<tr><th>Pump</th><th>Kind</th><th>Implanted</th><th>Explanted</th><th>Catheter</th><th>Flow</th></tr>",
    ]
    pumps = patients.pumps(actor, patient_id)
    for pump in pumps:
        cath = pump.catheter_tip or ""
        if pump.catheter_volume_nl is not None:
            cath += f" {decimal_text(Fraction(pump.catheter_volume_nl, 1_000_000))} mL"
        flow = volume_rate_text(pump.flow_nl_day) if pump.flow_nl_day else "programmable"
        out = (
            day_text(pump.explanted_on) + f" ({pump.explant_reason})"
            if pump.explanted_on
            else "implanted now"
        )
        h.append(
            f"<tr><td>{escape((pump.model or '') + ' ' + pump.serial)}</td>"
            f"<td>{escape(word(PUMP_KIND, pump.kind))}</td>"
            f"<td>{escape(day_text(pump.implanted_on))}</td><td>{escape(out)}</td>"
            f"<td>{escape(cath.strip())}</td>"
            f"<td>{escape(flow)}</td></tr>"
        )
    h.append("</table>")
    for pump in pumps:
        trend = flow_trend(patients, actor, pump)
        if not trend:
            continue
        h.append(f"<h3>Flow of {escape(pump.serial)} at each refill (nominal "
                 f"{escape(volume_rate_text(pump.flow_nl_day or 0))})</h3><ul>")  # fmt: skip
        for at, flow_nl, dev in trend:
            mark = (
                " <b>more than 15 % off: occlusion or pump failure?</b>"
                if abs(dev) > FLOW_DEVIATION_LIMIT
                else ""
            )
            h.append(f"<li>{stored_html(at)}: {escape(volume_rate_text(flow_nl))} "
                     f"({decimal_text(dev * 100, Fraction(1, 10))} %){mark}</li>")  # fmt: skip
        h.append("</ul>")
    trials = patients.trials(actor, patient_id)
    if trials:
        h.append("<h2>Screening trials</h2>")
    lib = default_library()
    for t in trials:
        drug = lib.find(t.drug)
        unit = (drug.dose_unit if drug else None) or "mg"
        h.append(f"<h3>{escape(t.drug)} trial, {escape(word(TRIAL_KIND, t.kind))}, started "
                 f"{stored_html(t.started_at)}</h3><ul>")  # fmt: skip
        h.extend(
            f"<li>{stored_html(e.at)} {escape(what)}</li>" for e, what in trial_entries(t, unit)
        )
        h.append("</ul>")
        r = t.result
        if r is None:
            h.append("<p>No result recorded yet.</p>")
        else:
            dose = ""
            if r.effective_dose_ng is not None:
                dose = (dose_per_day_text(r.effective_dose_ng, unit) if t.kind == "continuous"
                        else mass_text(r.effective_dose_ng, unit))  # fmt: skip
                dose = f", effective dose {dose}"
            effect = (
                f", effect lasted {minutes_text(r.effect_duration_min)}"
                if r.effect_duration_min is not None
                else ""
            )
            h.append(f"<p><b>Result: {escape(word(RESPONSE, r.response))}{escape(dose)}{escape(effect)}. "
                     f"Decision: {escape(word(DECISION, r.decision))}</b>, by {escape(r.decided_by)} on "
                     f"{stored_html(r.decided_at)}. "
                     f"{escape(r.rationale)}</p>")  # fmt: skip
    tl = timeline.build(patients, actor, patient_id)
    h.append("<h2>Timeline</h2>")
    for s in tl.stretches:
        h.append(f"<h3>{escape(s.label)}</h3>")
    h.append(
        "<table border='1' cellpadding='3' cellspacing='0'><tr><th>When</th><th>Pump</th><th>What</th></tr>"
    )
    for e in tl.entries:
        style = (
            " style='font-weight:bold'" if e.kind in ("replacement", "implant", "explant") else ""
        )
        h.append(f"<tr{style}><td>{stored_html(e.at)}</td><td>{escape(e.serial or '')}</td>"
                 f"<td>{escape(e.text)}</td></tr>")  # fmt: skip
    h.append("</table></body></html>")
    return "\n".join(h)
