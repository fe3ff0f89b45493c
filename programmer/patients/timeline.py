"""One timeline per patient across pump replacements: each pump's stretch, every event.

Reads the patients tables and, for each of the patient's pumps by serial, what the pump
session stored (visits, programs sent, refills, hourly infusion). Nothing is computed
anew: each entry says what was recorded and when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from programmer.formatting import volume_rate_text, volume_text
from programmer.patients.access import PatientAction, require
from programmer.patients.records import Pump
from programmer.patients.registry import Patients
from programmer.patients.words import (
    DECISION,
    FLOW_SOURCE,
    PROGRAM_OUTCOME,
    PUMP_KIND,
    RESPONSE,
    TRIAL_KIND,
    VISIT_KIND,
    day_text,
    word,
)
from programmer.store.accounts import Principal

MAX_ENTRIES = 5_000


@dataclass(frozen=True)
class Stretch:
    """The time one pump served the patient."""

    serial: str
    kind: str
    model: str | None
    start: date
    end: date | None  # None: implanted now

    @property
    def label(self) -> str:
        what = self.model or f"{word(PUMP_KIND, self.kind)} pump"
        until = day_text(self.end) if self.end else "now"
        return f"{what} {self.serial}: {day_text(self.start)} to {until}"


@dataclass(frozen=True)
class Entry:
    at: str  # ISO UTC (or a date for implants and explants)
    serial: str | None
    kind: str
    text: str


@dataclass(frozen=True)
class Timeline:
    stretches: list[Stretch]
    entries: list[Entry]

    def replacements(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "replacement"]


def stretches(pumps: list[Pump]) -> list[Stretch]:
    return [Stretch(p.serial, p.kind, p.model, p.implanted_on, p.explanted_on) for p in pumps]


def build(patients: Patients, actor: Principal, patient_id: int) -> Timeline:
    require(actor, PatientAction.READ)
    pumps = patients.pumps(actor, patient_id)
    by_id = {p.id: p for p in pumps}
    entries: list[Entry] = []
    for p in pumps:
        what = p.model or f"{word(PUMP_KIND, p.kind)} pump"
        entries.append(Entry(p.implanted_on.isoformat(), p.serial, "implant",
                             f"{what} {p.serial} implanted" + _catheter(p)))  # fmt: skip
        if p.explanted_on is not None:
            entries.append(Entry(p.explanted_on.isoformat(), p.serial, "explant",
                                 f"{what} {p.serial} explanted: {p.explant_reason or ''}"))  # fmt: skip
    for v in patients.visits(actor, patient_id):
        serial = by_id[v.pump_id].serial if v.pump_id in by_id else None
        entries.append(Entry(v.at, serial, v.kind, _visit_text(v.kind, v.summary, v.account)))
    for t in patients.trials(actor, patient_id):
        entries.append(
            Entry(
                t.started_at, None, "trial", f"{t.drug} trial started ({word(TRIAL_KIND, t.kind)})"
            )
        )
        if t.result is not None:
            entries.append(Entry(t.result.decided_at, None, "trial-result",
                                 f"{t.drug} trial {word(RESPONSE, t.result.response)}; decision: "
                                 f"{word(DECISION, t.result.decision)} "
                                 f"(by {t.result.decided_by})"))  # fmt: skip
    store = patients.store
    for p in pumps:
        for at, account, outcome in store.query(
            "SELECT at, account, outcome FROM prescriptions_sent WHERE pump_serial = ? "
            "ORDER BY at_s LIMIT ?", (p.serial, MAX_ENTRIES),
        ):  # fmt: skip
            entries.append(
                Entry(
                    at,
                    p.serial,
                    "program",
                    f"program sent by {account}: {word(PROGRAM_OUTCOME, outcome)}",
                )
            )
        for at, account, removed, added in store.query(
            "SELECT at, account, removed_nl, added_nl FROM refills WHERE pump_serial = ? "
            "ORDER BY at_s LIMIT ?", (p.serial, MAX_ENTRIES),
        ):  # fmt: skip
            entries.append(Entry(at, p.serial, "refill",
                                 f"refill by {account}: {volume_text(removed)} out, {volume_text(added)} in"))  # fmt: skip
    entries.sort(key=lambda e: (e.at, e.kind != "explant"))
    return Timeline(stretches(pumps), entries[-MAX_ENTRIES:])


def _catheter(p: Pump) -> str:
    parts = []
    if p.catheter_tip:
        parts.append(f"tip at {p.catheter_tip}")
    if p.catheter_volume_nl is not None:
        parts.append(f"catheter {volume_text(p.catheter_volume_nl)}")
    if p.flow_nl_day is not None:
        parts.append(f"flow {volume_rate_text(p.flow_nl_day)}")
    return f" ({', '.join(parts)})" if parts else ""


def _visit_text(kind: str, summary: dict[str, Any], account: str) -> str:
    if kind == "replacement":
        return (f"pump replaced: {summary.get('old_serial')} -> {summary.get('new_serial')} "
                f"({summary.get('reason', '')}) by {account}")  # fmt: skip
    if kind == "refill" and "concentrations" in summary:
        conc = ", ".join(f"{c['drug']} {c['text']}" for c in summary.get("concentrations", []))
        flow = summary.get("flow_nl_day")
        source = word(FLOW_SOURCE, str(summary.get("flow_source", "")))
        flow_text = f" at {volume_rate_text(flow)} ({source})" if flow else ""
        return f"constant-flow refill by {account}: {conc}{flow_text}"
    return f"{word(VISIT_KIND, kind)} by {account}"


def daily_volumes(
    patients: Patients, actor: Principal, patient_id: int
) -> dict[str, list[tuple[int, int]]]:
    """Each pump's delivered volume per UTC day (nL), from the hours it reported."""
    require(actor, PatientAction.READ)
    out: dict[str, list[tuple[int, int]]] = {}
    for p in patients.pumps(actor, patient_id):
        rows = patients.store.query(
            "SELECT hour_s / 86400 * 86400 AS d, sum(volume_nl) FROM infusion_hours "
            "WHERE pump_serial = ? GROUP BY d ORDER BY d", (p.serial,),
        )  # fmt: skip
        out[p.serial] = [(int(d), int(v)) for d, v in rows]
    return out


def summary_json(timeline: Timeline) -> dict[str, Any]:
    return {
        "pumps": [
            {
                "serial": s.serial,
                "kind": s.kind,
                "model": s.model,
                "from": s.start.isoformat(),
                "to": s.end.isoformat() if s.end else None,
            }
            for s in timeline.stretches
        ],
        "entries": [
            {"at": e.at, "pump": e.serial, "kind": e.kind, "text": e.text} for e in timeline.entries
        ],
    }


def dumps(timeline: Timeline) -> str:
    return json.dumps(summary_json(timeline), indent=2, ensure_ascii=False)
