"""What the patients tables store, in the words a clinician reads: one table per kind of
code, and stored times in the clinic's local time.

Qt-free so that the patient report (written by the command line as well as the app) and
every screen say the same words. A code no table knows is shown as it is, never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from html import escape

INDICATION: Mapping[str, str] = {
    "spasticity-spinal": "spasticity of spinal origin",
    "spasticity-cerebral": "spasticity of cerebral origin",
    "pain-cancer": "cancer pain",
    "pain-noncancer": "chronic non-cancer pain",
}
PUMP_KIND: Mapping[str, str] = {
    "programmable": "programmable",
    "constant-flow": "constant flow",
}
TRIAL_KIND: Mapping[str, str] = {
    "single-bolus": "single bolus by lumbar puncture",
    "repeated-bolus": "repeated boluses",
    "continuous": "continuous catheter infusion",
}
RESPONSE: Mapping[str, str] = {
    "positive": "positive",
    "negative": "negative",
    "equivocal": "equivocal",
}
DECISION: Mapping[str, str] = {
    "implant": "implant a pump",
    "no-implant": "no implant",
    "repeat-trial": "repeat the trial",
}
SIDE_EFFECT: Mapping[str, str] = {
    "respiratory-depression": "respiratory depression",
    "sedation": "sedation",
    "pruritus": "pruritus",
    "nausea": "nausea",
    "urinary-retention": "urinary retention",
    "hypotension": "hypotension",
    "headache": "headache",
    "other": "other",
}
SCALE: Mapping[str, str] = {
    "pain": "pain (0 to 10)",
    "ashworth": "Ashworth (0 to 4)",
    "spasm": "Penn spasm (0 to 4)",
}
VISIT_KIND: Mapping[str, str] = {
    "implant": "implant",
    "refill": "refill",
    "programming": "programming",
    "replacement": "pump replacement",
    "trial": "trial",
    "follow-up": "follow-up visit",
    "explant": "explant",
}
FLOW_SOURCE: Mapping[str, str] = {
    "measured": "measured at this refill",
    "nominal": "the pump's nominal flow",
}
PROGRAM_OUTCOME: Mapping[str, str] = {
    "pending": "sent, not yet confirmed",
    "applied": "applied",
    "not_applied": "not applied",
    "uncertain": "not known whether applied (read the pump)",
}
TABLES: tuple[Mapping[str, str], ...] = (
    INDICATION, PUMP_KIND, TRIAL_KIND, RESPONSE, DECISION, SIDE_EFFECT, SCALE, VISIT_KIND,
    FLOW_SOURCE, PROGRAM_OUTCOME,
)  # fmt: skip

# Codes that read differently from their words: none of these may reach a person.
RAW_CODES: frozenset[str] = frozenset(
    code
    for table in TABLES
    for code, text in table.items()
    if code != text and ("-" in code or "_" in code)
)


def word(table: Mapping[str, str], code: str | None) -> str:
    """The words for a stored code; a code the table does not know, as it is."""
    if code is None:
        return ""
    return table.get(code, code)


def choices(table: Mapping[str, str], codes: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """(words, code) for a list of the codes a field accepts, in the order given."""
    return [(word(table, c), c) for c in codes]


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def day_text(d: date | str | None) -> str:
    """A calendar day as the clinic writes it ("4 May 1961"): a date of birth or an implant
    has no time of day. Text that is not a date is shown as it is."""
    if d is None:
        return ""
    if isinstance(d, str):
        try:
            day = date.fromisoformat(d.strip()[:10])
        except ValueError:
            return d
    else:
        day = d
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def stored_moment(text: str | None) -> datetime | None:
    """A time as the store keeps it (ISO 8601, UTC when it has no offset); None if not one."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _day_only(text: str | None) -> bool:
    return text is not None and len(text.strip()) == 10


def moment_text(at: datetime) -> str:
    """An aware moment in this computer's (the clinic's) local time ("Mon 4 Mar 2019, 09:00")."""
    d = at.astimezone()
    return f"{DAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}, {d:%H:%M}"


def stored_text(text: str | None) -> str:
    """A stored time in the clinic's local time, to the minute; a stored day as a day."""
    if _day_only(text):
        return day_text(text)
    at = stored_moment(text)
    return moment_text(at) if at is not None else (text or "")


def stored_day(text: str | None) -> str:
    """The local calendar day of a stored time ("12 Mar 2026")."""
    if _day_only(text):
        return day_text(text)
    at = stored_moment(text)
    return day_text(at.astimezone().date()) if at is not None else (text or "")


def utc_stamp(text: str | None) -> str:
    """The exact stored time, in UTC to the second, for a hover."""
    at = stored_moment(text)
    if at is None or _day_only(text):
        return text or ""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def stored_html(text: str | None, *, day: bool = False) -> str:
    """A stored time for an HTML report: local words, the exact UTC stamp as its title."""
    shown = stored_day(text) if day else stored_text(text)
    exact = utc_stamp(text)
    if not exact or exact == shown:
        return escape(shown)
    return f"<span title='{escape(exact)}'>{escape(shown)}</span>"
