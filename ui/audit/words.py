"""An audit record in words: its action, outcome and stored fields as a short sentence.

The stored JSON stays as it is (the trail and its export are evidence); this is only
what a person reads in the table. A kind this module does not know is shown as
"field: value" pairs, never as braces and quotes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from programmer.drugs import default_library
from programmer.finding_words import finding_title
from programmer.store import AuditRecord
from ui.numbers import clinical_dose, clinical_volume, significant
from ui.pump_text import pump_text
from ui.timefmt import computer_text

ACTIONS = {
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in refused",
    "sign_out": "Signed out",
    "lock": "Screen locked",
    "unlock": "Screen unlocked",
    "pump_connected": "Pump connected",
    "interrogated": "Pump read",
    "history_read": "Pump log read",
    "prescription_checked": "Prescription checked",
    "finding_overridden": "Finding overridden",
    "program_intent": "Program about to be sent",
    "program_outcome": "Program outcome",
    "refill_recorded": "Refill recorded",
    "clock_set": "Pump clock set",
    "export": "Exported",
    "account_changed": "Account changed",
    "settings_changed": "Setting changed",
    "session_ended": "Session ended",
    "patient_changed": "Patient record changed",
}
OUTCOMES = {
    "not_applied": "not applied",
    "uncertain_resolved": "uncertain, now decided",
    "impossible_value": "impossible value read",
    "refill_check_skipped": "refill check skipped",
}
_CODE = re.compile(r"[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+")  # "clinician_bolus", "new-pump"
MAX_WORDS = 600  # of one record's sentence: the whole record is in the details pane


def words(code: str | None) -> str:
    """An internal code ("history_read", "new-pump") as words ("history read")."""
    return (code or "").replace("_", " ").replace("-", " ").strip()


def action_words(action: str) -> str:
    return ACTIONS.get(action) or words(action).capitalize()


def outcome_words(outcome: str | None) -> str:
    return OUTCOMES.get(outcome or "") or words(outcome)


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _drug_unit(name: str) -> str:
    drug = default_library().find(name)
    return drug.dose_unit if drug is not None and drug.dose_unit else "mg"


def doses_text(after: Mapping[str, Any] | None, before: Mapping[str, Any] | None = None) -> str:
    """{drug: ng/day} as "morphine 0.5 → 0.6 mg/day" (with `before`), or "morphine 0.6 mg/day"."""
    if not isinstance(after, Mapping):
        return ""
    parts = []
    for drug, ng in after.items():
        if not isinstance(ng, int):
            continue
        unit = _drug_unit(str(drug))
        now = clinical_dose(ng, unit)
        was = (before or {}).get(drug)
        if isinstance(was, int) and was != ng:
            now = f"{clinical_dose(was, unit).removesuffix(f' {unit}/day')} → {now}"
        parts.append(f"{pump_text(str(drug))} {now}")
    return ", ".join(parts)


def value_words(key: str, value: Any) -> str:
    """One stored value as a person reads it: volumes in mL, times local, codes as words."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        if key.endswith("_nl"):
            return clinical_volume(value)
        if key.endswith("_ng"):
            return f"{significant(Fraction(value, 1_000_000))} mg"
        if key == "t" or key.endswith("_t"):
            return computer_text(value)
        return str(value)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return words(value) if _CODE.fullmatch(value) else pump_text(value)
        if stamp.tzinfo is not None and "T" in value:
            return computer_text(int(stamp.timestamp()))
        return pump_text(value)
    if isinstance(value, list):
        return ", ".join(value_words(key, v) for v in value) or "none"
    if isinstance(value, Mapping):
        return "(" + pairs(value) + ")"
    return pump_text(str(value))


def pairs(data: Any) -> str:
    """A stored object as "field: value; field: value" (a bare value as itself)."""
    if not isinstance(data, Mapping):
        return value_words("", data)
    return "; ".join(f"{words(str(k))}: {value_words(str(k), v)}" for k, v in data.items())


def _program(after: Mapping[str, Any]) -> str:
    change = after.get("changeset")
    parts = [words(str(k)) for k in change] if isinstance(change, Mapping) else []
    return " and ".join(parts) or "a change"


def describe(r: AuditRecord, earlier_doses: Mapping[str, int] | None = None) -> str:
    """One sentence for the record; `earlier_doses` are the daily doses this pump was given
    before (the previous applied program), for "0.5 → 0.6 mg/day"."""
    before, after = _load(r.before), _load(r.after)
    a = after if isinstance(after, Mapping) else {}
    pump = pump_text(r.pump_serial) if r.pump_serial else "the pump"
    outcome = outcome_words(r.outcome)
    text: str
    match r.action:
        case "sign_in" | "sign_out" | "lock" | "unlock" | "sign_in_failed":
            text = f"{action_words(r.action)}: {r.account or 'unknown account'}"
            if a.get("locked_until"):  # a lock-out after failed sign-ins, not a screen lock
                text = (f"Account {r.account or ''} locked until "
                        f"{value_words('', a['locked_until'])}")  # fmt: skip
        case "pump_connected":
            text = (f"Connected to {pump_text(str(a.get('model') or 'a pump'))} {pump}"
                    f"{', firmware ' + pump_text(str(a['firmware'])) if a.get('firmware') else ''}"
                    f"{'; DEMO KEY' if a.get('demo_key') else ''}")  # fmt: skip
        case "interrogated":
            if "problems" in a:
                text = f"{pump} read: impossible values: {value_words('', a['problems'])}"
            else:
                alarms = [words(str(x)) for x in a.get("alarms") or []]
                text = (f"{pump} read: reservoir {value_words('reservoir_nl', a.get('reservoir_nl'))}, "
                        f"{words(str(a.get('delivering') or 'unknown'))}; "
                        f"alarms: {', '.join(alarms) or 'none'}")  # fmt: skip
        case "history_read":
            text = (f"Log of {pump} read: {a.get('events_added', 0)} new events, "
                    f"{a.get('hours_added', 0)} new hours"
                    f"{'; gaps remain' if a.get('gaps') else ''}")  # fmt: skip
        case "prescription_checked":
            found = [finding_title(str(c)) for c in a.get("findings") or []]
            text = f"Prescription checked for {pump}: " + (
                f"findings: {', '.join(found)}" if found else "no findings"
            )
        case "finding_overridden":
            text = f"Finding overridden on {pump}: {finding_title(str(a.get('code', '')))}"
        case "program_intent":
            text = f"Program about to be sent to {pump}: {_program(a)}"
        case "program_outcome":
            doses = doses_text(a.get("daily_doses_ng"), earlier_doses)
            verb = "Program sent to" if r.outcome != "refused" else "Program refused for"
            text = f"{verb} {pump}{': ' + doses if doses else ''}; outcome {outcome}"
        case "refill_recorded":
            text = (f"Refill of {pump}: removed {value_words('removed_nl', a.get('removed_nl'))}, "
                    f"added {value_words('added_nl', a.get('added_nl'))}")  # fmt: skip
            pct = a.get("discrepancy_pct")
            if pct is not None:
                text += f"; discrepancy {value_words('', pct)} %"
        case "clock_set":
            want = a.get("clock_t")
            text = f"Clock of {pump} set to {value_words('clock_t', want)}; {outcome}"
        case "export":
            what = str(a.get("what") or "records")
            fmt = str(a.get("format") or "").upper()
            count = a.get("count")
            text = (f"Exported {what}{f' ({count} records)' if count is not None else ''}"
                    f"{f' as {fmt}' if fmt else ''}")  # fmt: skip
        case "account_changed":
            text = f"Account {a.get('name', '')} {outcome or 'changed'}"
            if "role" in a:
                text += f" ({a['role']})"
        case "settings_changed":
            text = "Setting changed: " + pairs(after)
        case "session_ended":
            warnings = a.get("warnings") or []
            text = f"Session with {pump} ended" + (
                f"; warnings: {value_words('', warnings)}" if warnings else ""
            )
        case "patient_changed":
            rest = {k: v for k, v in a.items() if k != "change"}
            text = f"Patient record: {words(str(a.get('change', 'changed')))}"
            if rest:
                text += f"; {pairs(rest)}"
        case _:
            text = "; ".join(
                p for p in (pairs(before) if before is not None else "",
                            pairs(after) if after is not None else "") if p
            )  # fmt: skip
    return text if len(text) <= MAX_WORDS else text[: MAX_WORDS - 1] + "…"


def raw_text(r: AuditRecord) -> str:
    """The stored fields as stored (for the tooltip and the details pane)."""
    lines = []
    for label, text in (("before", r.before), ("after", r.after)):
        if text is not None:
            value = _load(text)
            shown = (
                json.dumps(value, indent=2, ensure_ascii=False)
                if not isinstance(value, str)
                else value
            )
            lines.append(f"{label}: {shown}")
    return "\n".join(lines)
