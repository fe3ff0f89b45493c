"""Every pump answer checked against the contract's types and ranges, where it enters.

A pump is outside the programmer's control: a defect, a bad telemetry head or an
attacker can answer anything a frame can carry. `PumpClient` passes each answer
through one of the `check_*` functions below before anyone reads it; what breaks
the contract raises `ImpossibleValue` ("the pump reported an impossible value")
naming every bad field, with the fields that could be read kept in `readable`.
Nothing an answer holds is used, stored or shown unchecked.

The bounds are those of pump-link-protocol.md (sections 4 and 5); where it gives
none, a bound no pump can pass (a drug stronger than 1 g/mL, an hour delivering
more than the largest reservoir) keeps numbers finite and loops short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from programmer.link.errors import BadResponse
from programmer.pump_limits import (
    CAPACITY_NL,
    LOW_ALARM_MAX_NL,
    LOW_ALARM_MIN_NL,
    MAX_CYCLE_DAYS,
    MAX_DRUGS,
    MAX_RATE_NL_DAY,
    MAX_STEPS_PER_DAY,
    MIN_RATE_NL_DAY,
    MINUTES_PER_DAY,
    PTM_DURATION_MAX,
    PTM_DURATION_MIN,
    PTM_LOCKOUT_MAX,
    PTM_PER_DAY_MAX,
    PTM_PER_DAY_MIN,
    PTM_VOLUME_MAX_NL,
    PTM_VOLUME_MIN_NL,
)
from programmer.session.display_text import display_text, is_plain

U32_MAX = 0xFFFF_FFFF
# Instants outside 2000-01-01 .. 2100-01-01 are impossible: no pump is that old or new
# (and a year past 9999 would break every date computed from it).
T_MIN = 946_684_800
T_MAX = 4_102_444_800
HOUR_MIN = T_MIN // 3600
HOUR_MAX = T_MAX // 3600
SEQ_MAX = 2**53  # never reused, one per event: far beyond any pump's lifetime
TEXT_MAX_CHARS = 32  # model, serial, firmware, drug names, codes (protocol: 1..32)
EVENT_TEXT_MAX_CHARS = 64
EVENT_DATA_MAX_KEYS = 16
EVENT_LIST_MAX = 16
EVENT_BLOB_MAX_BYTES = 256  # a binary value in an event of a code we do not know
ALARMS_MAX = 64
MAX_CAPACITY_NL = max(CAPACITY_NL.values())
UNKNOWN_MODEL_CAPACITY_MAX_NL = 100_000_000  # 100 mL: no implanted reservoir is larger
CONC_MAX_NG_ML = 1_000_000_000  # 1 g/mL: no solution is stronger than its own solute
CATHETER_MAX_NL = MAX_CAPACITY_NL
HOUR_VOLUME_MAX_NL = MAX_CAPACITY_NL  # more than a full reservoir in one hour is impossible
PTM_DISABLED_MAX = 1_000_000_000
CANONICAL_MAX_BYTES = 4096
DELIVERING = ("basal", "clinician_bolus", "stopped", "minimum_rate")
MODES = ("continuous", "flex", "stopped")
MAX_ERRORS_SHOWN = 6


@dataclass(frozen=True)
class Impossible:
    """One field of an answer that breaks the contract."""

    field: str
    value: str  # as received, made safe to show and shortened
    rule: str  # what the contract allows, with its unit

    @property
    def text(self) -> str:
        return f"{self.field} = {self.value} ({self.rule})"


class ImpossibleValue(BadResponse):
    """The pump reported an impossible value: a defect or an attack, never a reading.

    `answer` names the message, `problems` every bad field, `readable` what could be
    read of the answer (only fields that passed their checks).
    """

    def __init__(
        self, answer: str, problems: list[Impossible], readable: Mapping[str, Any] | None = None
    ) -> None:
        shown = "; ".join(p.text for p in problems[:MAX_ERRORS_SHOWN])
        more = len(problems) - MAX_ERRORS_SHOWN
        if more > 0:
            shown += f"; and {more} more"
        super().__init__(f"the pump reported an impossible value in its {answer} answer: {shown}")
        self.answer = answer
        self.problems = problems
        self.readable: dict[str, Any] = dict(readable or {})


class _Missing:
    pass


MISSING = _Missing()


class AnswerChecker:
    """Collects every problem of one answer; `done()` raises them together.

    Each getter returns the value when it is good and None otherwise, so a caller can
    go on checking the rest and keep what was readable.
    """

    def __init__(self, answer: str, payload: Mapping[Any, Any]) -> None:
        self.answer = answer
        self.payload = payload
        self.problems: list[Impossible] = []
        self.readable: dict[str, Any] = {}

    def bad(self, field: str, value: object, rule: str) -> None:
        shown = "missing" if value is MISSING else display_text(value, 60)
        self.problems.append(Impossible(field, shown, rule))

    def _keep(self, field: str, value: Any) -> Any:
        if "." not in field and "[" not in field:
            self.readable[field] = value
        return value

    def get(self, source: Mapping[Any, Any], key: str) -> Any:
        return source.get(key, MISSING)

    def integer(self, field: str, value: object, lo: int, hi: int, unit: str = "") -> int | None:
        if type(value) is not int:
            self.bad(field, value, "must be an integer" + (f" in {unit}" if unit else ""))
            return None
        if not lo <= value <= hi:
            self.bad(field, value, f"must be {lo} to {hi}{' ' + unit if unit else ''}")
            return None
        return int(self._keep(field, value))

    def optional_integer(self, field: str, value: object, lo: int, hi: int, unit: str = "") -> int | None:  # fmt: skip
        if value is None:
            self._keep(field, None)
            return None
        return self.integer(field, value, lo, hi, unit)

    def instant(self, field: str, value: object) -> int | None:
        return self.integer(field, value, T_MIN, T_MAX, "s since 1970 (years 2000 to 2100)")

    def boolean(self, field: str, value: object) -> bool | None:
        if not isinstance(value, bool):
            self.bad(field, value, "must be true or false")
            return None
        return bool(self._keep(field, value))

    def text(self, field: str, value: object, max_chars: int = TEXT_MAX_CHARS) -> str | None:
        if not isinstance(value, str):
            self.bad(field, value, "must be text")
            return None
        if not 1 <= len(value) <= max_chars:
            self.bad(field, value, f"must be 1 to {max_chars} characters")
            return None
        if not is_plain(value):
            self.bad(field, value, "must hold no control or formatting characters")
            return None
        return str(self._keep(field, value))

    def choice(self, field: str, value: object, choices: tuple[str, ...]) -> str | None:
        if not isinstance(value, str) or value not in choices:
            self.bad(field, value, "must be one of " + ", ".join(choices))
            return None
        return str(self._keep(field, value))

    def binary(self, field: str, value: object, lo: int, hi: int) -> bytes | None:
        if not isinstance(value, bytes):
            self.bad(field, value, "must be binary (bin)")
            return None
        if not lo <= len(value) <= hi:
            self.bad(field, f"{len(value)} bytes", f"must be {lo} to {hi} bytes")
            return None
        return bytes(self._keep(field, value))

    def mapping(self, field: str, value: object) -> Mapping[Any, Any] | None:
        if not isinstance(value, dict):
            self.bad(field, value, "must be a map")
            return None
        return value

    def listing(self, field: str, value: object, most: int) -> list[Any] | None:
        if not isinstance(value, list):
            self.bad(field, value, "must be a list")
            return None
        if len(value) > most:
            self.bad(field, f"{len(value)} entries", f"must have at most {most} entries")
            return None
        return value

    def done(self) -> None:
        if self.problems:
            raise ImpossibleValue(self.answer, self.problems, self.readable)


# --- HELLO -------------------------------------------------------------------------------


def check_hello(payload: Mapping[Any, Any], nonce_size: int) -> dict[str, Any]:
    c = AnswerChecker("HELLO", payload)
    protocol = c.integer("protocol", c.get(payload, "protocol"), 1, 255)
    for name in ("model", "serial", "firmware"):
        c.text(name, c.get(payload, name))
    nonce = c.binary("nonce", c.get(payload, "nonce"), nonce_size, nonce_size)
    c.done()
    out = dict(c.readable)
    out["protocol"], out["nonce"] = protocol, nonce
    return out


# --- GET_STATUS ----------------------------------------------------------------------------


def check_status(
    payload: Mapping[Any, Any], identity: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A GET_STATUS answer; with `identity` (the session's HELLO), the model and serial must
    be the ones HELLO gave: a pump does not change its serial in the middle of a session."""
    c = AnswerChecker("GET_STATUS", payload)
    g = payload.get
    model = c.text("model", g("model", MISSING))
    serial = c.text("serial", g("serial", MISSING))
    c.text("firmware", g("firmware", MISSING))
    if identity is not None:
        for name, value in (("model", model), ("serial", serial)):
            if value is not None and value != identity.get(name):
                c.readable.pop(name, None)
                c.bad(name, value, f"must be {display_text(identity.get(name), 40)}, as HELLO said")
    c.instant("implanted_t", g("implanted_t", MISSING))
    c.instant("clock_t", g("clock_t", MISSING))
    c.integer("utc_offset_min", g("utc_offset_min", MISSING), -840, 840, "min")
    known = CAPACITY_NL.get(model) if model is not None else None
    capacity = c.integer(
        "reservoir_capacity_nl",
        g("reservoir_capacity_nl", MISSING),
        known or 1,
        known or UNKNOWN_MODEL_CAPACITY_MAX_NL,
        "nl" + (f" for an {model}" if known else ""),
    )
    top = capacity if capacity is not None else MAX_CAPACITY_NL
    c.integer("reservoir_nl", g("reservoir_nl", MISSING), 0, top, "nl")
    c.integer("low_alarm_nl", g("low_alarm_nl", MISSING), LOW_ALARM_MIN_NL, LOW_ALARM_MAX_NL, "nl")
    c.integer("therapy_crc", g("therapy_crc", MISSING), 0, U32_MAX)
    c.optional_integer("last_changeset_crc", g("last_changeset_crc", MISSING), 0, U32_MAX)
    last_t = g("last_changeset_t", MISSING)
    if last_t is None:
        c.readable["last_changeset_t"] = None
    else:
        c.instant("last_changeset_t", last_t)
    c.choice("delivering", g("delivering", MISSING), DELIVERING)
    c.integer("bolus_remaining_nl", g("bolus_remaining_nl", MISSING), 0, top, "nl")
    alarms = c.listing("alarms", g("alarms", MISSING), ALARMS_MAX)
    if alarms is not None:
        good = []
        for i, raw in enumerate(alarms):
            where = f"alarms[{i}]"
            alarm = c.mapping(where, raw)
            if alarm is None:
                continue
            code = c.text(f"{where}.code", alarm.get("code", MISSING))
            since = c.instant(f"{where}.since_t", alarm.get("since_t", MISSING))
            critical = c.boolean(f"{where}.critical", alarm.get("critical", MISSING))
            if code is not None and since is not None and critical is not None:
                good.append({"code": code, "since_t": since, "critical": critical})
        c.readable["alarms"] = good
    c.instant("eri_t", g("eri_t", MISSING))
    first = c.integer("event_first_seq", g("event_first_seq", MISSING), 1, SEQ_MAX + 1)
    last = c.integer("event_last_seq", g("event_last_seq", MISSING), 0, SEQ_MAX)
    if first is not None and last is not None and first > last + 1:
        c.bad("event_first_seq", first, f"must be at most event_last_seq + 1 ({last + 1})")
    h_first = c.integer("infusion_first_hour", g("infusion_first_hour", MISSING), HOUR_MIN, HOUR_MAX + 1, "h since 1970")  # fmt: skip
    h_last = c.integer("infusion_last_hour", g("infusion_last_hour", MISSING), HOUR_MIN - 1, HOUR_MAX, "h since 1970")  # fmt: skip
    if h_first is not None and h_last is not None and h_first > h_last + 1:
        c.bad("infusion_first_hour", h_first, f"must be at most infusion_last_hour + 1 ({h_last + 1})")  # fmt: skip
    c.done()
    return dict(c.readable)


# --- GET_THERAPY ---------------------------------------------------------------------------


def check_therapy_answer(payload: Mapping[Any, Any]) -> dict[str, Any]:
    c = AnswerChecker("GET_THERAPY", payload)
    therapy = check_therapy(c, "therapy", payload.get("therapy", MISSING), anchored=True)
    c.done()
    return {"therapy": therapy}


def check_therapy(c: AnswerChecker, path: str, value: object, *, anchored: bool) -> dict[str, Any]:
    """A THERAPY map (section 4, GET_THERAPY), with `cycle_anchor_t` when `anchored`."""
    raw = c.mapping(path, value)
    if raw is None:
        return {}
    out: dict[str, Any] = {}
    drugs = c.listing(f"{path}.drugs", raw.get("drugs", MISSING), MAX_DRUGS)
    if drugs is not None:
        out["drugs"] = []
        for i, entry in enumerate(drugs):
            where = f"{path}.drugs[{i}]"
            drug = c.mapping(where, entry)
            if drug is None:
                continue
            name = c.text(f"{where}.name", drug.get("name", MISSING))
            conc = c.integer(f"{where}.conc_ng_ml", drug.get("conc_ng_ml", MISSING), 1, CONC_MAX_NG_ML, "ng/mL")  # fmt: skip
            out["drugs"].append({"name": name, "conc_ng_ml": conc})
    out["low_alarm_nl"] = c.integer(f"{path}.low_alarm_nl", raw.get("low_alarm_nl", MISSING), LOW_ALARM_MIN_NL, LOW_ALARM_MAX_NL, "nl")  # fmt: skip
    mode = c.choice(f"{path}.mode", raw.get("mode", MISSING), MODES)
    out["mode"] = mode
    days = c.integer(f"{path}.cycle_days", raw.get("cycle_days", MISSING), 1, MAX_CYCLE_DAYS, "days")  # fmt: skip
    if days is not None and mode is not None and mode != "flex" and days != 1:
        c.bad(f"{path}.cycle_days", days, f"must be 1 in mode {mode}")
    out["cycle_days"] = days
    if anchored:
        out["cycle_anchor_t"] = c.instant(f"{path}.cycle_anchor_t", raw.get("cycle_anchor_t", MISSING))  # fmt: skip
    out["steps"] = _check_steps(c, f"{path}.steps", raw.get("steps", MISSING), mode, days)
    out["ptm"] = _check_ptm(c, f"{path}.ptm", raw.get("ptm", MISSING))
    out["catheter_volume_nl"] = c.integer(f"{path}.catheter_volume_nl", raw.get("catheter_volume_nl", MISSING), 0, CATHETER_MAX_NL, "nl")  # fmt: skip
    extra = [k for k in raw if k not in out]
    for key in extra[:4]:
        c.bad(f"{path}.{display_text(key, 32)}", raw[key], "not a field of THERAPY")
    return out


def _check_rate(c: AnswerChecker, field: str, value: object) -> int | None:
    rate = c.integer(field, value, 0, MAX_RATE_NL_DAY, "nl/day")
    if rate is not None and 0 < rate < MIN_RATE_NL_DAY:
        c.bad(field, rate, f"must be 0 or {MIN_RATE_NL_DAY} to {MAX_RATE_NL_DAY} nl/day")
        return None
    return rate


def _check_steps(
    c: AnswerChecker, path: str, value: object, mode: str | None, days: int | None
) -> list[list[int | None]]:
    most = MAX_STEPS_PER_DAY * (days or MAX_CYCLE_DAYS)
    steps = c.listing(path, value, most)
    if steps is None:
        return []
    out: list[list[int | None]] = []
    cycle_min = (days or MAX_CYCLE_DAYS) * MINUTES_PER_DAY
    previous = -1
    for i, entry in enumerate(steps):
        where = f"{path}[{i}]"
        if not isinstance(entry, list) or len(entry) != 2:
            c.bad(where, entry, "must be [start_min, rate_nl_day]")
            continue
        start = c.integer(f"{where}.start_min", entry[0], 0, cycle_min - 1, "min")
        rate = _check_rate(c, f"{where}.rate_nl_day", entry[1])
        if start is not None:
            if i == 0 and start != 0:
                c.bad(f"{where}.start_min", start, "the first step must start at minute 0")
            elif start <= previous:
                c.bad(f"{where}.start_min", start, f"must be after the step before ({previous} min)")  # fmt: skip
            previous = start
        out.append([start, rate])
    if mode == "stopped" and steps:
        c.bad(path, f"{len(steps)} steps", "mode stopped has no steps")
    elif mode == "continuous" and len(steps) != 1:
        c.bad(path, f"{len(steps)} steps", "mode continuous has exactly one step, [0, rate]")
    elif mode == "flex" and not steps:
        c.bad(path, "0 steps", f"mode flex has 1 to {most} steps")
    return out


_PTM_FIELDS: tuple[tuple[str, int, int, str], ...] = (
    ("volume_nl", PTM_VOLUME_MIN_NL, PTM_VOLUME_MAX_NL, "nl"),
    ("duration_min", PTM_DURATION_MIN, PTM_DURATION_MAX, "min"),
    ("lockout_min", PTM_DURATION_MIN, PTM_LOCKOUT_MAX, "min"),
    ("max_per_day", PTM_PER_DAY_MIN, PTM_PER_DAY_MAX, "per 24 h"),
)


def _check_ptm(c: AnswerChecker, path: str, value: object) -> dict[str, Any]:
    raw = c.mapping(path, value)
    if raw is None:
        return {}
    enabled = c.boolean(f"{path}.enabled", raw.get("enabled", MISSING))
    out: dict[str, Any] = {"enabled": enabled}
    for name, lo, hi, unit in _PTM_FIELDS:
        if enabled:
            out[name] = c.integer(f"{path}.{name}", raw.get(name, MISSING), lo, hi, unit)
        else:  # a disabled patient bolus is never used; its numbers need only be sane
            out[name] = c.integer(f"{path}.{name}", raw.get(name, MISSING), 0, PTM_DISABLED_MAX, unit)  # fmt: skip
    duration, lockout = out.get("duration_min"), out.get("lockout_min")
    if enabled and duration is not None and lockout is not None and lockout < duration:
        c.bad(f"{path}.lockout_min", lockout, f"must be at least the duration ({duration} min)")
    return out


# --- STAGE and COMMIT ------------------------------------------------------------------------


def check_stage(payload: Mapping[Any, Any]) -> dict[str, Any]:
    c = AnswerChecker("STAGE", payload)
    c.integer("staged_crc", payload.get("staged_crc", MISSING), 0, U32_MAX)
    c.binary("canonical", payload.get("canonical", MISSING), 1, CANONICAL_MAX_BYTES)
    c.done()
    return dict(c.readable)


def check_commit(payload: Mapping[Any, Any]) -> dict[str, Any]:
    c = AnswerChecker("COMMIT", payload)
    c.integer("therapy_crc", payload.get("therapy_crc", MISSING), 0, U32_MAX)
    c.instant("applied_t", payload.get("applied_t", MISSING))
    c.done()
    return dict(c.readable)


# --- history -------------------------------------------------------------------------------

_VOLUME = (0, MAX_CAPACITY_NL, "nl")
_EVENT_FIELDS: dict[str, dict[str, tuple[int, int, str]]] = {
    "refill": {"removed_nl": _VOLUME, "added_nl": _VOLUME, "reservoir_nl": _VOLUME},
    "bolus_started": {"volume_nl": _VOLUME},
    "bolus_completed": {"volume_nl": _VOLUME},
    "bolus_cancelled": {"volume_nl": _VOLUME},
    "changeset_applied": {"crc": (0, U32_MAX, "")},
    "clock_set": {
        "old_t": (T_MIN, T_MAX, "s"),
        "new_t": (T_MIN, T_MAX, "s"),
        "old_offset_min": (-840, 840, "min"),
        "new_offset_min": (-840, 840, "min"),
    },
}
_INT_LIMIT = 2**63 - 1


def check_event(c: AnswerChecker, path: str, value: object) -> dict[str, Any] | None:
    """One EVENT map; None when it is not one. Fields the store and the checks read (a
    refill's volumes, a changeset's crc, a clock change) must be there and in range."""
    raw = c.mapping(path, value)
    if raw is None:
        return None
    before = len(c.problems)
    seq = c.integer(f"{path}.seq", raw.get("seq", MISSING), 1, SEQ_MAX)
    t = c.instant(f"{path}.t", raw.get("t", MISSING))
    code = c.text(f"{path}.code", raw.get("code", MISSING))
    data = c.mapping(f"{path}.data", raw.get("data", MISSING))
    if data is not None:
        if len(data) > EVENT_DATA_MAX_KEYS:
            c.bad(f"{path}.data", f"{len(data)} keys", f"must have at most {EVENT_DATA_MAX_KEYS}")
        else:
            for key, item in data.items():
                _check_data_value(c, f"{path}.data", key, item)
        for name, (lo, hi, unit) in _EVENT_FIELDS.get(code or "", {}).items():
            c.integer(f"{path}.data.{name}", data.get(name, MISSING), lo, hi, unit)
    if len(c.problems) > before:
        return None
    return {"seq": seq, "t": t, "code": code, "data": dict(data or {})}


def _check_data_value(c: AnswerChecker, path: str, key: object, item: object) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= EVENT_TEXT_MAX_CHARS or not is_plain(key):
        c.bad(f"{path} key", key, f"must be text of 1 to {EVENT_TEXT_MAX_CHARS} characters")
        return
    where = f"{path}.{key}"
    if isinstance(item, bool) or item is None:
        return
    if type(item) is int:
        if not -_INT_LIMIT <= item <= _INT_LIMIT:
            c.bad(where, item, "must fit in 64 bits")
    elif isinstance(item, str):
        if len(item) > EVENT_TEXT_MAX_CHARS or not is_plain(item):
            c.bad(where, item, f"must be plain text of at most {EVENT_TEXT_MAX_CHARS} characters")
    elif isinstance(item, list):
        if len(item) > EVENT_LIST_MAX or not all(
            isinstance(x, str) and len(x) <= EVENT_TEXT_MAX_CHARS and is_plain(x) for x in item
        ):
            c.bad(where, item, f"must be a list of at most {EVENT_LIST_MAX} short texts")
    elif isinstance(item, bytes):
        # A code this programmer does not know may carry a vendor's binary note: kept as it
        # is (the packed pages carry it losslessly), but never a large one.
        if len(item) > EVENT_BLOB_MAX_BYTES:
            c.bad(where, f"{len(item)} bytes", f"must be at most {EVENT_BLOB_MAX_BYTES} bytes")
    else:
        c.bad(where, item, "must be an integer, text, true/false, nil, bytes or a list of texts")


def check_events_page(payload: Mapping[Any, Any], from_seq: int, most: int) -> dict[str, Any]:
    """A READ_EVENTS page asked from `from_seq` for at most `most` events: consecutive
    events from `from_seq` (or the oldest kept) on, `next_seq` right after the last one,
    so every page that holds events moves the reader forward."""
    return _events_page(AnswerChecker("READ_EVENTS", payload), payload, from_seq, most)


def _events_page(
    c: AnswerChecker, payload: Mapping[Any, Any], from_seq: int, most: int
) -> dict[str, Any]:
    raw = c.listing("events", payload.get("events", MISSING), most)
    last_seq = c.integer("last_seq", payload.get("last_seq", MISSING), 0, SEQ_MAX)
    next_seq = c.integer("next_seq", payload.get("next_seq", MISSING), 1, SEQ_MAX + 1)
    events: list[dict[str, Any]] = []
    for i, value in enumerate(raw or []):
        event = check_event(c, f"events[{i}]", value)
        if event is None:
            break  # the rest cannot be placed after a bad one
        seq = event["seq"]
        expected = events[-1]["seq"] + 1 if events else None
        if expected is not None and seq != expected:
            c.bad(f"events[{i}].seq", seq, f"must be {expected}: events come in order, one by one")
            break
        if expected is None and seq < from_seq:
            c.bad(f"events[{i}].seq", seq, f"must be at least {from_seq}, where the page was asked from")  # fmt: skip
            break
        if last_seq is not None and seq > last_seq:
            c.bad(f"events[{i}].seq", seq, f"must be at most last_seq ({last_seq})")
            break
        events.append(event)
    if next_seq is not None:
        if events and next_seq != events[-1]["seq"] + 1:
            c.bad("next_seq", next_seq, f"must be {events[-1]['seq'] + 1}, after the page's last event")  # fmt: skip
        elif not events and next_seq < from_seq:
            c.bad("next_seq", next_seq, f"must be at least {from_seq}: a page never goes back")
    c.readable["events"] = events
    c.done()
    return {"events": events, "next_seq": next_seq, "last_seq": last_seq}


def check_infusion_page(payload: Mapping[Any, Any], from_hour: int, most: int) -> dict[str, Any]:
    """A READ_INFUSION page asked from `from_hour` for at most `most` hours: hours from
    `from_hour` (or the oldest kept) on, `next_hour` right after the last one."""
    return _infusion_page(AnswerChecker("READ_INFUSION", payload), payload, from_hour, most)


def _infusion_page(
    c: AnswerChecker, payload: Mapping[Any, Any], from_hour: int, most: int
) -> dict[str, Any]:
    first = c.integer("first_hour", payload.get("first_hour", MISSING), HOUR_MIN, HOUR_MAX + 1, "h since 1970")  # fmt: skip
    basal = c.listing("basal_nl", payload.get("basal_nl", MISSING), most)
    bolus = c.listing("bolus_nl", payload.get("bolus_nl", MISSING), most)
    next_hour = c.integer("next_hour", payload.get("next_hour", MISSING), HOUR_MIN, HOUR_MAX + 1, "h since 1970")  # fmt: skip
    if basal is not None and bolus is not None and len(basal) != len(bolus):
        c.bad("bolus_nl", f"{len(bolus)} hours", f"must be as many as basal_nl ({len(basal)})")
    for name, values in (("basal_nl", basal), ("bolus_nl", bolus)):
        for i, v in enumerate(values or []):
            if c.integer(f"{name}[{i}]", v, 0, HOUR_VOLUME_MAX_NL, "nl in one hour") is None:
                break
    if first is not None:
        if first < from_hour:
            c.bad("first_hour", first, f"must be at least {from_hour}, where the page was asked from")  # fmt: skip
        count = len(basal or [])
        if next_hour is not None and next_hour != first + count:
            c.bad("next_hour", next_hour, f"must be first_hour + {count} ({first + count})")
        if first + count - 1 > HOUR_MAX:
            c.bad("first_hour", first, f"its {count} hours must end by hour {HOUR_MAX}")
    c.done()
    return {"first_hour": first, "basal_nl": list(basal or []), "bolus_nl": list(bolus or []),
            "next_hour": next_hour}  # fmt: skip


# --- emulator-only answers -----------------------------------------------------------------


def check_clock_answer(payload: Mapping[Any, Any]) -> dict[str, Any]:
    c = AnswerChecker("SIM_ADVANCE", payload)
    c.instant("clock_t", payload.get("clock_t", MISSING))
    c.done()
    return dict(c.readable)


def check_truth(payload: Mapping[Any, Any]) -> dict[str, Any]:
    c = AnswerChecker("SIM_TRUTH", payload)
    c.integer("true_reservoir_nl", payload.get("true_reservoir_nl", MISSING), -UNKNOWN_MODEL_CAPACITY_MAX_NL, UNKNOWN_MODEL_CAPACITY_MAX_NL, "nl")  # fmt: skip
    c.integer("true_delivered_nl", payload.get("true_delivered_nl", MISSING), 0, _INT_LIMIT, "nl")
    c.done()
    return dict(c.readable)


def check_ptm_answer(payload: Mapping[Any, Any]) -> dict[str, Any]:
    c = AnswerChecker("SIM_PTM", payload)
    c.boolean("granted", payload.get("granted", MISSING))
    c.text("reason", payload.get("reason", MISSING))
    c.done()
    return dict(c.readable)


def check_empty(_: Mapping[Any, Any]) -> dict[str, Any]:
    """Answers that carry nothing but `ok` (AUTH, DISCARD, SET_CLOCK...): nothing is read
    from them, whatever else they hold."""
    return {}
