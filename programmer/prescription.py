"""Reading the prescription file (cli-and-prescription.md) into exact values.

Nothing is guessed: a missing, misspelt or malformed field becomes a hard
finding that names the field. Structure is checked here; clinical limits are
checked in `checks`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from programmer.drugs import INDICATIONS, JURISDICTIONS, Drug, DrugLibrary
from programmer.files import FileRefused, read_bounded_text
from programmer.findings import Finding, finding
from programmer.pump_limits import CAPACITY_NL, MAX_CYCLE_DAYS, MINUTES_PER_DAY
from programmer.quantities import Dimension, Quantity, QuantityError, parse_quantity

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
MAX_FILE_BYTES = 1_000_000
# A run of digits longer than this anywhere in the file is no number anyone meant: the file
# is refused as unreadable (exit 2) before anything converts it (int() fails past 4300).
MAX_FILE_DIGITS = 100
_DIGIT_RUN = re.compile("[0-9]{" + str(MAX_FILE_DIGITS + 1) + ",}")


class PrescriptionFileError(Exception):
    """The file cannot be read as a prescription at all (exit code 2)."""


@dataclass(frozen=True)
class DrugEntry:
    written: str
    drug: Drug | None
    conc_ng_ml: int | None  # None for saline
    field: str

    @property
    def name(self) -> str:
        return self.drug.name if self.drug else self.written.strip().lower()


@dataclass(frozen=True)
class StepEntry:
    start_min: int  # minute of the cycle
    dose_ng_day: Fraction | None  # of the first drug
    rate_nl_day: Fraction | None
    field: str


@dataclass(frozen=True)
class PatientBolusEntry:
    dose_ng: Fraction | None
    volume_nl: Fraction | None
    duration_min: int
    lockout_min: int
    max_per_day: int


@dataclass(frozen=True)
class RefillEntry:
    removed_nl: int
    added_nl: int
    at: datetime | None  # None: now
    expected_nl: int | None
    last_fill_nl: int | None
    first_fill: bool | None


# Why a priming bolus may push the fluid path's content at the pump's fastest rate: the
# path holds no drug because the pump is new, the catheter is new (and the pump held none),
# or the reservoir was emptied and the catheter access port aspirated.
FLUID_PATHS = ("new-pump", "new-catheter", "emptied-and-aspirated")
# The same statements as a person says them (the codes are for files and the CLI).
FLUID_PATH_WORDS = {
    "new-pump": "a new pump",
    "new-catheter": "a new catheter",
    "emptied-and-aspirated": "emptied and aspirated",
}


@dataclass(frozen=True)
class BolusEntry:
    kind: str
    dose_ng: Fraction | None = None
    volume_nl: Fraction | None = None
    duration_min: Fraction | None = None
    rate_nl_day: Fraction | None = None
    fluid_path: str | None = None  # priming: why the path holds no drug (FLUID_PATHS)


@dataclass(frozen=True)
class PreviousEntry:
    drugs: tuple[DrugEntry, ...]
    rate_nl_day: Fraction | None


@dataclass(frozen=True)
class DoseRecord:
    """A daily dose of one drug that took effect at `at` (for titration checks)."""

    at: datetime
    drug: str
    daily_ng: Fraction


@dataclass
class Prescription:
    patient: str | None = None
    pump_serial: str | None = None
    pump_model: str | None = None
    jurisdiction: str = "US"
    indication: str | None = None
    drugs: list[DrugEntry] = field(default_factory=list)
    mode: str = "continuous"
    cycle_days: int = 1
    steps: list[StepEntry] = field(default_factory=list)
    patient_bolus: PatientBolusEntry | None = None
    low_alarm_nl: int | None = None
    catheter_volume_nl: int | None = None
    refill: RefillEntry | None = None
    bolus: BolusEntry | None = None
    previous: PreviousEntry | None = None
    dose_history: list[DoseRecord] = field(default_factory=list)
    # Sections where an entry could not be read: never build a therapy from what is left.
    incomplete: set[str] = field(default_factory=set)
    # Each quantity's text as written, by field ("drugs[0].concentration", "steps[2].dose"):
    # what a retype-to-confirm finding asks to be typed again.
    values: dict[str, str] = field(default_factory=dict)


def load_prescription_file(path: Path) -> Any:
    """The parsed JSON of a prescription file, or PrescriptionFileError saying why not."""
    try:
        text = read_bounded_text(path, MAX_FILE_BYTES, "the prescription file")
    except FileRefused as exc:  # missing, a folder, unreadable, not a regular file, too big
        raise PrescriptionFileError(str(exc)) from None
    except UnicodeDecodeError:
        raise PrescriptionFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise PrescriptionFileError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_prescription_json(text, str(path))


def parse_prescription_json(text: str, name: str = "prescription") -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise PrescriptionFileError(f"{name}: the key {key!r} appears twice in one object")
            out[key] = value
        return out

    def no_constants(token: str) -> Any:
        raise PrescriptionFileError(f"{name}: {token} is not a number")

    def bounded(kind: type[int] | type[float]) -> Any:
        def read(token: str) -> Any:
            digits = sum(1 for ch in token if ch.isdigit())
            if digits > MAX_FILE_DIGITS:
                raise PrescriptionFileError(
                    f"{name}: a number with {digits} digits; at most {MAX_FILE_DIGITS} digits "
                    "are accepted"
                )
            return kind(token)

        return read

    try:
        data = json.loads(
            text,
            object_pairs_hook=no_duplicates,
            parse_constant=no_constants,
            parse_int=bounded(int),
            parse_float=bounded(float),
        )
    except json.JSONDecodeError as exc:
        raise PrescriptionFileError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise PrescriptionFileError(f"{name}: nested too deeply") from None
    if not isinstance(data, dict):
        raise PrescriptionFileError(f"{name}: the prescription must be a JSON object {{...}}")
    _refuse_long_digit_runs(data, "", name)
    return data


def _refuse_long_digit_runs(value: Any, path: str, name: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_long_digit_runs(item, f"{path}.{key}" if path else str(key), name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_long_digit_runs(item, f"{path}[{i}]", name)
    elif isinstance(value, str):
        run = _DIGIT_RUN.search(value)
        if run is not None:
            digits = max(len(m) for m in re.findall(r"[0-9]+", value))
            raise PrescriptionFileError(
                f"{name}: {path or 'a value'} has a number with {digits} digits; "
                f"at most {MAX_FILE_DIGITS} digits are accepted"
            )


class _Reader:
    """Typed access to the JSON that records a finding instead of raising."""

    def __init__(self, library: DrugLibrary) -> None:
        self.library = library
        self.findings: list[Finding] = []
        self.values: dict[str, str] = {}

    def bad(self, field_: str, message: str, code: str = "invalid_prescription") -> None:
        self.findings.append(finding(code, field_, message))

    def keys(self, obj: dict[str, Any], path: str, allowed: set[str]) -> None:
        for key in obj:
            if key not in allowed:
                self.bad(
                    f"{path}{key}",
                    f"unknown field {key!r} (known here: {', '.join(sorted(allowed))})",
                )

    def obj(self, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.bad(path, f"{path} must be an object {{...}}, got {_kind(value)}")
            return None
        return value

    def text(self, obj: dict[str, Any], key: str, path: str, required: bool = False) -> str | None:
        if key not in obj or obj[key] is None:
            if required:
                self.bad(path + key, f"{key} is required")
            return None
        value = obj[key]
        if not isinstance(value, str) or value.strip() == "":
            self.bad(path + key, f"{key} must be a non-empty string, got {_kind(value)}")
            return None
        return value

    def integer(
        self, obj: dict[str, Any], key: str, path: str, lo: int, hi: int, required: bool = False
    ) -> int | None:
        if key not in obj:
            if required:
                self.bad(path + key, f"{key} is required (a whole number from {lo} to {hi})")
            return None
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(
                path + key, f"{key} must be a whole number from {lo} to {hi}, got {_kind(value)}"
            )
            return None
        if not lo <= value <= hi:
            self.bad(path + key, f"{key} is {value}; it must be from {lo} to {hi}")
            return None
        return value

    def quantity(
        self, obj: dict[str, Any], key: str, path: str, *dims: Dimension, required: bool = False
    ) -> Quantity | None:
        if key not in obj:
            if required:
                self.bad(path + key, f"{key} is required")
            return None
        try:
            q = parse_quantity(obj[key], *dims)
        except QuantityError as exc:
            self.bad(path + key, f"{key}: {exc.reason}", "invalid_quantity")
            return None
        self.values[path + key] = q.text
        return q

    def whole(self, q: Quantity | None, field_: str, what: str) -> int | None:
        if q is None:
            return None
        try:
            return q.whole(what)
        except QuantityError as exc:
            self.bad(field_, f"{what} {q.text!r}: {exc.reason}", "invalid_quantity")
            return None

    def whole_minutes(self, q: Quantity | None, field_: str) -> int | None:
        if q is None:
            return None
        if q.value.denominator != 1:
            self.bad(field_, f"{q.text!r} is not a whole number of minutes", "invalid_quantity")
            return None
        return int(q.value)

    def instant(self, obj: dict[str, Any], key: str, path: str) -> datetime | None:
        raw = self.text(obj, key, path)
        if raw is None:
            return None
        try:
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            self.bad(
                path + key, f"{key} {raw!r} is not a date and time like 2025-03-01T09:00:00-06:00"
            )
            return None
        if at.tzinfo is None:
            self.bad(path + key, f"{key} {raw!r} has no UTC offset: add one, like -06:00 or Z")
            return None
        return at


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the bare number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"


TOP_KEYS = {
    "patient", "pump_serial", "pump_model", "jurisdiction", "indication", "drugs", "mode",
    "cycle_days", "steps", "dose", "rate", "patient_bolus", "low_reservoir_alarm", "catheter",
    "refill", "bolus", "previous", "dose_history", "trial", "pump",
}  # fmt: skip


def read_prescription(
    data: dict[str, Any], library: DrugLibrary
) -> tuple[Prescription, list[Finding]]:
    """The prescription and the structural findings (hard) about it."""
    r = _Reader(library)
    p = Prescription()
    r.keys(data, "", TOP_KEYS)
    p.patient = r.text(data, "patient", "")
    p.pump_serial = r.text(data, "pump_serial", "")
    p.pump_model = r.text(data, "pump_model", "")
    if p.pump_model is not None and p.pump_model not in CAPACITY_NL:
        r.bad("pump_model", f"pump_model {p.pump_model!r} is not one of {', '.join(CAPACITY_NL)}")
        p.pump_model = None
    jurisdiction = r.text(data, "jurisdiction", "")
    if jurisdiction is not None:
        if jurisdiction in JURISDICTIONS:
            p.jurisdiction = jurisdiction
        else:
            r.bad(
                "jurisdiction",
                f"jurisdiction {jurisdiction!r} is not one of {', '.join(JURISDICTIONS)}",
            )
    indication = r.text(data, "indication", "")
    if indication is not None:
        if indication in INDICATIONS:
            p.indication = indication
        else:
            r.bad("indication", f"indication {indication!r} is not one of {', '.join(INDICATIONS)}")

    p.drugs = _read_drugs(r, data.get("drugs"), "drugs", required=True)
    _read_schedule(r, data, p)
    _read_patient_bolus(r, data, p)
    q = r.quantity(data, "low_reservoir_alarm", "", Dimension.VOLUME)
    p.low_alarm_nl = r.whole(q, "low_reservoir_alarm", "low_reservoir_alarm")
    _read_catheter(r, data, p)
    _read_refill(r, data, p)
    _read_bolus(r, data, p)
    _read_previous(r, data, p)
    _read_history(r, data, p)
    for f in r.findings:
        top = re.split(r"[.\[]", f.field, maxsplit=1)[0]
        p.incomplete.add(top)
    p.values = r.values
    return p, r.findings


def _read_drugs(r: _Reader, raw: Any, path: str, required: bool) -> list[DrugEntry]:
    if raw is None:
        if required:
            r.bad(path, f'{path} is required: a list of {{"name", "concentration"}}, [] for saline')
        return []
    if not isinstance(raw, list):
        r.bad(path, f"{path} must be a list, got {_kind(raw)}")
        return []
    out: list[DrugEntry] = []
    for i, item in enumerate(raw):
        fp = f"{path}[{i}]"
        obj = r.obj(item, fp)
        if obj is None:
            continue
        r.keys(obj, fp + ".", {"name", "concentration"})
        name = r.text(obj, "name", fp + ".", required=True)
        if name is None:
            continue
        drug = r.library.find(name)
        if drug is not None and drug.is_saline:
            if "concentration" in obj:
                r.bad(fp + ".concentration", "saline has no concentration")
            out.append(DrugEntry(name, drug, None, fp))
            continue
        q = r.quantity(obj, "concentration", fp + ".", Dimension.CONCENTRATION, required=True)
        conc = r.whole(q, fp + ".concentration", "a concentration")
        if conc is None:
            continue
        if conc <= 0:
            r.bad(fp + ".concentration", "the concentration must be above 0", "invalid_quantity")
            continue
        out.append(DrugEntry(name, drug, conc, fp))
    return out


def _dose_or_rate(
    r: _Reader, obj: dict[str, Any], path: str, field_: str
) -> tuple[Fraction | None, Fraction | None, bool]:
    """(dose ng/day, rate nl/day, ok). Exactly one of dose and rate."""
    has_dose, has_rate = "dose" in obj, "rate" in obj
    if has_dose == has_rate:
        r.bad(
            field_,
            "give exactly one of dose (like '0.5 mg/day') and rate (like '8 uL/h')",
            "invalid_profile",
        )
        return None, None, False
    if has_dose:
        q = r.quantity(obj, "dose", path, Dimension.DOSE_RATE)
        return (q.value if q else None), None, q is not None
    q = r.quantity(obj, "rate", path, Dimension.VOLUME_RATE)
    return None, (q.value if q else None), q is not None


def _read_schedule(r: _Reader, data: dict[str, Any], p: Prescription) -> None:
    mode = r.text(data, "mode", "", required=True)
    if mode is None:
        return
    if mode not in ("continuous", "flex", "stopped"):
        r.bad("mode", f"mode {mode!r} is not one of continuous, flex, stopped", "invalid_profile")
        return
    p.mode = mode
    if mode != "flex":
        if "cycle_days" in data and data["cycle_days"] != 1:
            r.bad(
                "cycle_days",
                f"cycle_days applies to flex only; {mode} runs a 1-day cycle",
                "invalid_profile",
            )
        if "steps" in data:
            r.bad(
                "steps",
                f"mode {mode} takes no steps (use mode flex for a profile)",
                "invalid_profile",
            )
    if mode == "stopped":
        for key in ("dose", "rate"):
            if key in data:
                r.bad(key, f"mode stopped takes no {key}", "invalid_profile")
        return
    if mode == "continuous":
        dose, rate, ok = _dose_or_rate(r, data, "", "dose")
        if ok:
            p.steps = [StepEntry(0, dose, rate, "dose" if dose is not None else "rate")]
        return
    for key in ("dose", "rate"):
        if key in data:
            r.bad(
                key, f"mode flex takes its doses in steps, not a top-level {key}", "invalid_profile"
            )
    cycle = r.integer(data, "cycle_days", "", 1, MAX_CYCLE_DAYS)
    p.cycle_days = cycle if cycle is not None else 1
    raw = data.get("steps")
    if not isinstance(raw, list) or not raw:
        r.bad("steps", "mode flex needs a non-empty list of steps", "invalid_profile")
        return
    for i, item in enumerate(raw):
        fp = f"steps[{i}]"
        obj = r.obj(item, fp)
        if obj is None:
            continue
        r.keys(obj, fp + ".", {"day", "start", "dose", "rate"})
        day = r.integer(obj, "day", fp + ".", 1, MAX_CYCLE_DAYS) if "day" in obj else 1
        start = r.text(obj, "start", fp + ".", required=True)
        if day is None or start is None:
            continue
        m = _HHMM.fullmatch(start)
        if m is None:
            r.bad(
                fp + ".start",
                f"start {start!r} must be a time of day HH:MM from 00:00 to 23:59",
                "invalid_profile",
            )
            continue
        if day > p.cycle_days:
            r.bad(
                fp + ".day", f"day {day} is outside the {p.cycle_days}-day cycle", "invalid_profile"
            )
            continue
        minute = (day - 1) * MINUTES_PER_DAY + int(m.group(1)) * 60 + int(m.group(2))
        dose, rate, ok = _dose_or_rate(r, obj, fp + ".", fp)
        if ok:
            p.steps.append(StepEntry(minute, dose, rate, fp))


def _read_patient_bolus(r: _Reader, data: dict[str, Any], p: Prescription) -> None:
    if "patient_bolus" not in data or data["patient_bolus"] is None:
        return
    obj = r.obj(data["patient_bolus"], "patient_bolus")
    if obj is None:
        return
    path = "patient_bolus."
    r.keys(obj, path, {"dose", "volume", "duration", "lockout", "max_per_day"})
    dose = vol = None
    if ("dose" in obj) == ("volume" in obj):
        r.bad(
            "patient_bolus",
            "give exactly one of dose (like '0.1 mg') and volume (like '10 uL')",
            "invalid_patient_bolus",
        )
    elif "dose" in obj:
        q = r.quantity(obj, "dose", path, Dimension.MASS)
        dose = q.value if q else None
    else:
        q = r.quantity(obj, "volume", path, Dimension.VOLUME)
        vol = q.value if q else None
    duration = r.whole_minutes(
        r.quantity(obj, "duration", path, Dimension.DURATION, required=True), path + "duration"
    )
    lockout = r.whole_minutes(
        r.quantity(obj, "lockout", path, Dimension.DURATION, required=True), path + "lockout"
    )
    per_day = r.integer(obj, "max_per_day", path, 1, 24, required=True)
    if (dose is None and vol is None) or duration is None or lockout is None or per_day is None:
        return
    p.patient_bolus = PatientBolusEntry(dose, vol, duration, lockout, per_day)


def _read_catheter(r: _Reader, data: dict[str, Any], p: Prescription) -> None:
    if "catheter" not in data:
        return
    obj = r.obj(data["catheter"], "catheter")
    if obj is None:
        return
    r.keys(obj, "catheter.", {"length", "volume_per_cm", "volume"})
    if "volume" in obj:
        if "length" in obj or "volume_per_cm" in obj:
            r.bad("catheter", "give either volume, or length and volume_per_cm, not both")
            return
        q = r.quantity(obj, "volume", "catheter.", Dimension.VOLUME)
        p.catheter_volume_nl = round(q.value) if q else None
        return
    length = r.quantity(obj, "length", "catheter.", Dimension.LENGTH, required=True)
    per_cm = r.quantity(obj, "volume_per_cm", "catheter.", Dimension.VOLUME, required=True)
    if length and per_cm:
        # length in mm × (nl per cm) ÷ 10 mm/cm, rounded once to a whole nl
        p.catheter_volume_nl = round(length.value * per_cm.value / 10)


def _read_refill(r: _Reader, data: dict[str, Any], p: Prescription) -> None:
    if "refill" not in data:
        return
    obj = r.obj(data["refill"], "refill")
    if obj is None:
        return
    path = "refill."
    r.keys(obj, path, {"removed", "added", "at", "expected", "last_fill", "first_fill"})
    vols: dict[str, int | None] = {}
    for key in ("removed", "added", "expected", "last_fill"):
        q = r.quantity(obj, key, path, Dimension.VOLUME, required=key in ("removed", "added"))
        vols[key] = r.whole(q, path + key, key)
    at = r.instant(obj, "at", path)
    first_fill = obj.get("first_fill")
    if first_fill is not None and not isinstance(first_fill, bool):
        r.bad(path + "first_fill", "first_fill must be true or false")
        first_fill = None
    removed, added = vols["removed"], vols["added"]
    if removed is None or added is None:
        return
    p.refill = RefillEntry(removed, added, at, vols["expected"], vols["last_fill"], first_fill)


def _read_bolus(r: _Reader, data: dict[str, Any], p: Prescription) -> None:
    if "bolus" not in data or data["bolus"] is None:
        return
    obj = r.obj(data["bolus"], "bolus")
    if obj is None:
        return
    kind = r.text(obj, "kind", "bolus.", required=True)
    if kind is None:
        return
    if kind == "bridge":
        r.keys(obj, "bolus.", {"kind"})
        p.bolus = BolusEntry("bridge")
    elif kind == "priming":
        r.keys(obj, "bolus.", {"kind", "rate", "fluid_path"})
        q = r.quantity(obj, "rate", "bolus.", Dimension.VOLUME_RATE)
        if "rate" in obj and q is None:
            return
        path = r.text(obj, "fluid_path", "bolus.")
        if path is not None and path not in FLUID_PATHS:
            r.bad("bolus.fluid_path",
                  f"fluid_path {path[:40]!r} is not one of {', '.join(FLUID_PATHS)}", "invalid_bolus")  # fmt: skip
            return
        p.bolus = BolusEntry("priming", rate_nl_day=q.value if q else None, fluid_path=path)
    elif kind == "single":
        r.keys(obj, "bolus.", {"kind", "dose", "volume", "duration"})
        if ("dose" in obj) == ("volume" in obj):
            r.bad("bolus", "a single bolus needs exactly one of dose and volume", "invalid_bolus")
            return
        dose = r.quantity(obj, "dose", "bolus.", Dimension.MASS)
        vol = r.quantity(obj, "volume", "bolus.", Dimension.VOLUME)
        dur = r.quantity(obj, "duration", "bolus.", Dimension.DURATION, required=True)
        if (dose is None and vol is None) or dur is None:
            return
        if dur.value <= 0:
            r.bad("bolus.duration", "the duration must be above 0", "invalid_bolus")
            return
        p.bolus = BolusEntry(
            "single",
            dose_ng=dose.value if dose else None,
            volume_nl=vol.value if vol else None,
            duration_min=dur.value,
        )
    else:
        r.bad(
            "bolus.kind",
            f"bolus kind {kind!r} is not one of single, bridge, priming",
            "invalid_bolus",
        )


def _read_previous(r: _Reader, data: dict[str, Any], p: Prescription) -> None:
    if "previous" not in data:
        return
    obj = r.obj(data["previous"], "previous")
    if obj is None:
        return
    r.keys(obj, "previous.", {"drugs", "rate"})
    drugs = _read_drugs(r, obj.get("drugs"), "previous.drugs", required=True)
    q = r.quantity(obj, "rate", "previous.", Dimension.VOLUME_RATE)
    p.previous = PreviousEntry(tuple(drugs), q.value if q else None)


def _read_history(r: _Reader, data: dict[str, Any], p: Prescription) -> None:
    raw = data.get("dose_history")
    if raw is None:
        return
    if not isinstance(raw, list):
        r.bad("dose_history", "dose_history must be a list")
        return
    for i, item in enumerate(raw):
        fp = f"dose_history[{i}]"
        obj = r.obj(item, fp)
        if obj is None:
            continue
        r.keys(obj, fp + ".", {"at", "drug", "daily_dose"})
        at = r.instant(obj, "at", fp + ".")
        name = r.text(obj, "drug", fp + ".", required=True)
        q = r.quantity(obj, "daily_dose", fp + ".", Dimension.DOSE_RATE, required=True)
        if at is None or name is None or q is None:
            if "at" not in obj:
                r.bad(fp + ".at", "at is required")
            continue
        drug = r.library.find(name)
        p.dose_history.append(DoseRecord(at, drug.name if drug else name.lower(), q.value))
