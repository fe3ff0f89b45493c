"""The therapy editor's model: the prescription being edited, as the file has it.

Every edit replaces the prescription dict through the undo stack, then the core's
`plan()` is run on it (pure and fast) for the totals, the findings and the profile.
Quantities stay strings with their units; nothing here computes a dose: the only
arithmetic is moving a step's start (minutes) and scaling a number the user typed
when a step is dragged on the chart, after which the core plans again.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from programmer.findings import Finding, Severity
from programmer.formatting import (
    concentration_text,
    decimal_text,
    dose_per_day_text,
    volume_rate_text,
)
from programmer.planner import Plan, PumpContext, plan
from programmer.prescription import PrescriptionFileError, load_prescription_file
from programmer.quantities import MASS_UNITS, NL_PER_ML, Dimension, QuantityError, parse_quantity
from programmer.session.changes import _unit as drug_unit
from programmer.session.changes import daily_change
from programmer.therapy import Therapy, dose_ng

SNAP_MIN = 15
MINUTES_PER_DAY = 1440
STEP_UNITS = ["mg/day", "mg/h", "mcg/day", "mcg/h", "mL/day", "uL/h"]
RATE_UNITS = {"mL/day", "mL/h", "uL/h", "uL/day", "µL/h", "µL/day", "ul/h", "ml/day", "nL/day"}
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_NUMBER = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")

Rx = dict[str, Any]


def new_prescription() -> Rx:
    """What a fresh editor holds: saline, continuous, nothing assumed about a drug."""
    return {
        "drugs": [],
        "mode": "continuous",
        "rate": "0.1 mL/day",
        "low_reservoir_alarm": "2 mL",
    }


@dataclass(frozen=True)
class StepRow:
    """One row of the step table, as text: day (1-based), start HH:MM, amount with unit."""

    day: int
    start: str
    amount: str


@dataclass(frozen=True)
class Segment:
    """A span of the cycle at one level, for drawing (levels in `ChartUnit.label`)."""

    start_min: int
    end_min: int
    level: Fraction


@dataclass(frozen=True)
class ChartUnit:
    """What the chart's y axis shows: the first drug's dose per day, or mL/day for saline."""

    label: str
    drug: str | None
    unit: str  # mass unit, or "mL" for a volume


def split_quantity(text: str) -> tuple[str, str]:
    """'0.05 mg/h' -> ('0.05', 'mg/h'); anything else -> (text, '')."""
    parts = text.split(" ")
    if len(parts) == 2:
        return parts[0], parts[1]
    return text, ""


def is_rate_unit(unit: str) -> bool:
    try:
        return parse_quantity(f"1 {unit}").dimension is Dimension.VOLUME_RATE
    except QuantityError:
        return unit in RATE_UNITS


def _plain(value: Fraction, significant: int = 3) -> str:
    """A plain decimal (digit before any point, no exponent) to `significant` figures."""
    if value <= 0:
        return "0"
    places = 0
    while value * 10**places < 10 ** (significant - 1) and places < 9:
        places += 1
    scaled = round(value * 10**places)
    digits = str(scaled).rjust(places + 1, "0")
    if places == 0:
        return digits
    whole, frac = digits[:-places], digits[-places:].rstrip("0")
    return whole + ("." + frac if frac else "")


def minute_of(day: int, start: str) -> int | None:
    m = _HHMM.fullmatch(start)
    if m is None:
        return None
    return (day - 1) * MINUTES_PER_DAY + int(m.group(1)) * 60 + int(m.group(2))


def check_editable(data: Any) -> list[str]:
    """Why a loaded prescription cannot be shown in the editor; [] when it can."""
    if not isinstance(data, dict):
        return ["the prescription must be a JSON object {...}"]
    out: list[str] = []
    if not isinstance(data.get("mode", ""), str):
        out.append("mode must be text")
    drugs = data.get("drugs", [])
    if not isinstance(drugs, list) or not all(isinstance(d, dict) for d in drugs):
        out.append("drugs must be a list of {name, concentration}")
    else:
        for i, d in enumerate(drugs):
            for key in ("name", "concentration"):
                if key in d and not isinstance(d[key], str):
                    out.append(f"drugs[{i}].{key} must be text (a quantity with its unit)")
    steps = data.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        out.append("steps must be a list of {day, start, dose or rate}")
    else:
        for i, s in enumerate(steps):
            for key in ("start", "dose", "rate"):
                if key in s and not isinstance(s[key], str):
                    out.append(f"steps[{i}].{key} must be text with its unit, not {s[key]!r}")
            if "day" in s and (isinstance(s["day"], bool) or not isinstance(s["day"], int)):
                out.append(f"steps[{i}].day must be a whole number")
    for key in ("dose", "rate", "low_reservoir_alarm"):
        if key in data and not isinstance(data[key], str):
            out.append(f"{key} must be text with its unit, not the bare {data[key]!r}")
    cycle = data.get("cycle_days", 1)
    if isinstance(cycle, bool) or not isinstance(cycle, int):
        out.append("cycle_days must be a whole number")
    pb = data.get("patient_bolus")
    if pb is not None:
        if not isinstance(pb, dict):
            out.append("patient_bolus must be an object")
        else:
            for key in ("dose", "volume", "duration", "lockout"):
                if key in pb and not isinstance(pb[key], str):
                    out.append(f"patient_bolus.{key} must be text with its unit")
            per_day = pb.get("max_per_day", 1)
            if isinstance(per_day, bool) or not isinstance(per_day, int):
                out.append("patient_bolus.max_per_day must be a whole number")
    return out


class TherapyModel(QObject):
    """The prescription being edited, its plan, and the undo stack."""

    sig_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The stack keeps the history and its index; the prescriptions themselves are kept
        # here, one per index. Commands are plain QUndoCommands: in PySide 6.12, a Python
        # override of QUndoCommand.undo() corrupts reference counts (a crash at exit).
        self.undo_stack = QUndoStack(self)
        self._data: Rx = new_prescription()
        self._states: list[Rx] = [copy.deepcopy(self._data)]
        self.undo_stack.indexChanged.connect(self._at_index)
        self._plan: Plan | None = None
        self.pump: PumpContext | None = None
        self.pump_therapy: Therapy | None = None
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    # --- the data -------------------------------------------------------------------

    @property
    def data(self) -> Rx:
        """A copy of the prescription as it would be saved."""
        return copy.deepcopy(self._data)

    def _set(self, data: Rx) -> None:
        self._data = copy.deepcopy(data)
        self._plan = None
        self.sig_changed.emit()

    def _at_index(self, index: int) -> None:
        if 0 <= index < len(self._states) and self._states[index] != self._data:
            self._set(self._states[index])

    def edit(self, change: Callable[[Rx], None], text: str) -> bool:
        """Apply `change` to a copy; push it as one undoable step if anything differs."""
        after = copy.deepcopy(self._data)
        change(after)
        if after == self._data:
            return False
        del self._states[self.undo_stack.index() + 1 :]
        self._states.append(after)
        self.undo_stack.push(QUndoCommand(text))  # index + 1: _at_index shows `after`
        return True

    def replace(self, data: Rx, text: str = "load prescription") -> None:
        problems = check_editable(data)
        if problems:
            raise PrescriptionFileError("; ".join(problems))

        def change(d: Rx) -> None:
            d.clear()
            d.update(copy.deepcopy(data))

        self.edit(change, text)

    def reset(self) -> None:
        """Forget the prescription and its history (on sign-out: nothing left for the next user)."""
        self._states = [new_prescription()]
        self.undo_stack.clear()
        self._set(new_prescription())

    def set_pump(self, pump: PumpContext | None, now: datetime | None = None) -> None:
        """The pump as last read: the plan is made against it, and its therapy drawn in grey."""
        self.pump = pump
        self.pump_therapy = pump.therapy if pump else None
        if now is not None:
            fixed = now
            self.now = lambda: fixed
        self._plan = None
        self.sig_changed.emit()

    # --- files ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self._data, indent=2, ensure_ascii=False) + "\n", "utf-8")

    def load(self, path: Path) -> None:
        """Replace the prescription with the file's; PrescriptionFileError and no change if bad."""
        data = load_prescription_file(path)
        problems = check_editable(data)
        if problems:
            raise PrescriptionFileError(f"{path}: " + "; ".join(problems))
        self.replace(data, f"open {path.name}")

    # --- the plan ---------------------------------------------------------------------

    def plan(self) -> Plan:
        if self._plan is None:
            self._plan = plan(self._data, now=self.now(), pump=self.pump)
        return self._plan

    def preview(self, change: Callable[[Rx], None]) -> Plan:
        """The plan of an edit not yet made (while typing); nothing is changed."""
        data = copy.deepcopy(self._data)
        change(data)
        return plan(data, now=self.now(), pump=self.pump)

    def daily_change(self, p: Plan | None = None) -> Fraction | None:
        p = p or self.plan()
        if p.therapy is None:
            return None
        return daily_change(self.pump_therapy, p.therapy)

    def findings_at(self, prefix: str, p: Plan | None = None) -> list[Finding]:
        """Findings whose field is `prefix` or inside it (`steps[1]` matches `steps[1].dose`)."""
        p = p or self.plan()
        return [
            f
            for f in p.findings
            if f.field == prefix
            or f.field.startswith(prefix + ".")
            or f.field.startswith(prefix + "[")
        ]

    def step_findings(self, p: Plan | None = None) -> dict[int, list[Finding]]:
        """Findings per table row (steps[i], or the top-level dose/rate of continuous)."""
        p = p or self.plan()
        out: dict[int, list[Finding]] = {}
        for f in p.findings:
            m = re.match(r"steps\[(\d+)\]", f.field)
            if m:
                out.setdefault(int(m.group(1)), []).append(f)
            elif f.field in ("dose", "rate") or f.field.startswith(("dose.", "rate.")):
                out.setdefault(0, []).append(f)
        return out

    def verdict(self, p: Plan | None = None) -> tuple[str, str]:
        """(level, text): level is ok, soft or hard."""
        p = p or self.plan()
        if p.hard:
            n = len(p.hard)
            return "hard", f"Cannot be sent: {n} finding{'s' if n != 1 else ''} must be corrected"
        if p.unresolved_soft:
            n = len(p.unresolved_soft)
            return "soft", (
                f"Needs review: {n} finding{'s' if n != 1 else ''} to override with a reason "
                "before sending"
            )
        if p.therapy is None:
            return "hard", "Cannot be sent: no therapy could be built"
        return "ok", "Checks passed: ready to review and send"

    # --- steps as table rows ----------------------------------------------------------

    @property
    def mode(self) -> str:
        return str(self._data.get("mode", "continuous"))

    @property
    def cycle_days(self) -> int:
        c = self._data.get("cycle_days", 1)
        return c if isinstance(c, int) and c >= 1 else 1

    def rows(self) -> list[StepRow]:
        mode = self.mode
        if mode == "continuous":
            amount = self._data.get("dose", self._data.get("rate", ""))
            return [StepRow(1, "00:00", str(amount))]
        if mode != "flex":
            return []
        out = []
        for s in self._data.get("steps", []):
            amount = s.get("dose", s.get("rate", ""))
            out.append(StepRow(int(s.get("day", 1)), str(s.get("start", "")), str(amount)))
        return out

    def set_step(self, row: int, day: int, start: str, amount: str) -> bool:
        key = "rate" if is_rate_unit(split_quantity(amount)[1]) else "dose"

        def change(d: Rx) -> None:
            if d.get("mode") == "continuous":
                d.pop("dose", None)
                d.pop("rate", None)
                d[key] = amount
                return
            steps = d.setdefault("steps", [])
            step: dict[str, Any] = {"start": start, key: amount}
            if day != 1:
                step = {"day": day, **step}
            steps[row] = step

        return self.edit(change, f"edit step {row + 1}")

    def add_step(self) -> bool:
        """A new step after the last one (+1 h), at the same amount, in flex mode."""
        if self.mode != "flex":
            return False
        rows = self.rows()
        last = rows[-1] if rows else StepRow(1, "00:00", "0 mg/day")
        at = minute_of(last.day, last.start)
        at = 0 if at is None else min(at + 60, self.cycle_days * MINUTES_PER_DAY - SNAP_MIN)
        day, minute = divmod(at, MINUTES_PER_DAY)
        start = f"{minute // 60:02d}:{minute % 60:02d}"
        amount = last.amount
        key = "rate" if is_rate_unit(split_quantity(amount)[1]) else "dose"

        def change(d: Rx) -> None:
            step: dict[str, Any] = {"start": start, key: amount}
            if day:
                step = {"day": day + 1, **step}
            d.setdefault("steps", []).append(step)

        return self.edit(change, "add step")

    def remove_step(self, row: int) -> bool:
        if self.mode != "flex" or not 0 <= row < len(self.rows()) or len(self.rows()) <= 1:
            return False
        return self.edit(lambda d: d["steps"].pop(row), f"remove step {row + 1}")

    def set_mode(self, mode: str) -> bool:
        def change(d: Rx) -> None:
            old = d.get("mode")
            if old == mode:
                return
            rows = self.rows()
            first = rows[0].amount if rows else ""
            for key in ("dose", "rate", "steps", "cycle_days"):
                d.pop(key, None)
            d["mode"] = mode
            key = "rate" if is_rate_unit(split_quantity(first)[1]) else "dose"
            if mode == "continuous" and first:
                d[key] = first
            elif mode == "flex":
                d["cycle_days"] = 1
                d["steps"] = [{"start": "00:00", key: first}] if first else []

        return self.edit(change, f"mode {mode}")

    def set_cycle_days(self, days: int) -> bool:
        if self.mode != "flex":
            return False
        return self.edit(lambda d: d.__setitem__("cycle_days", days), "cycle days")

    # --- other fields -------------------------------------------------------------------

    def set_field(self, key: str, value: Any, text: str | None = None) -> bool:
        """A top-level field (low_reservoir_alarm, patient ...); None or '' removes it."""

        def change(d: Rx) -> None:
            if value is None or value == "":
                d.pop(key, None)
            else:
                d[key] = value

        return self.edit(change, text or f"edit {key}")

    def set_continuous_dose(self, dose: str) -> bool:
        """A continuous program's one dose (the trial's starting dose), replacing a rate."""

        def change(d: Rx) -> None:
            d.pop("rate", None)
            d["dose"] = dose

        return self.edit(change, "use the trial's starting dose")

    def drugs(self) -> list[tuple[str, str]]:
        return [
            (str(d.get("name", "")), str(d.get("concentration", "")))
            for d in self._data.get("drugs", [])
        ]

    def set_drug(self, index: int, name: str, concentration: str) -> bool:
        def change(d: Rx) -> None:
            drug: dict[str, Any] = {"name": name}
            if concentration:
                drug["concentration"] = concentration
            d.setdefault("drugs", [])[index] = drug

        return self.edit(change, f"edit drug {index + 1}")

    def add_drug(self) -> bool:
        return self.edit(
            lambda d: d.setdefault("drugs", []).append({"name": "", "concentration": ""}),
            "add drug",
        )

    def remove_drug(self, index: int) -> bool:
        return self.edit(lambda d: d["drugs"].pop(index), f"remove drug {index + 1}")

    def patient_bolus(self) -> dict[str, Any] | None:
        pb = self._data.get("patient_bolus")
        return dict(pb) if isinstance(pb, dict) else None

    def set_patient_bolus(self, pb: dict[str, Any] | None) -> bool:
        return self.set_field("patient_bolus", pb, "patient bolus")

    # --- the picture ----------------------------------------------------------------------

    def chart_unit(self, p: Plan | None = None) -> ChartUnit:
        p = p or self.plan()
        if p.therapy is not None and p.therapy.drugs and p.daily_doses:
            first = p.daily_doses[0]
            return ChartUnit(f"{first.drug}, {first.unit}/day", first.drug, first.unit)
        return ChartUnit("volume, mL/day", None, "mL")

    def segments(self, therapy: Therapy | None, unit: ChartUnit) -> list[Segment]:
        """The therapy's steps as levels in the chart's unit (the core's dose arithmetic)."""
        if therapy is None:
            return []
        conc = None
        if unit.drug is not None:
            conc = next((d.conc_ng_ml for d in therapy.drugs if d.name == unit.drug), 0)
        out = []
        for step, minutes in therapy.step_spans():
            if conc is None:
                level = Fraction(step.rate_nl_day, NL_PER_ML)
            else:
                level = dose_ng(step.rate_nl_day, conc) / MASS_UNITS[unit.unit]
            out.append(Segment(step.start_min, step.start_min + minutes, level))
        return out

    def new_segments(self) -> list[Segment]:
        p = self.plan()
        return self.segments(p.therapy, self.chart_unit(p))

    def old_segments(self) -> list[Segment]:
        return self.segments(self.pump_therapy, self.chart_unit())

    def row_results(self, p: Plan | None = None) -> list[tuple[str, str]]:
        """What the pump will run for each table row: (per day, per day and volume rate)."""
        p = p or self.plan()
        t = p.therapy
        if t is None:
            return []
        first = t.drugs[0] if t.drugs else None
        unit = p.daily_doses[0].unit if p.daily_doses else None
        out = []
        for s in t.steps:
            rate = volume_rate_text(s.rate_nl_day, exact=True)  # the exact figure, for a hover
            if first is not None and unit is not None:
                dose = dose_per_day_text(dose_ng(s.rate_nl_day, first.conc_ng_ml), unit)
                out.append((dose, f"{dose} · {rate}"))
            else:
                out.append((rate.split(" (")[0], rate))
        return out

    # --- chart gestures ---------------------------------------------------------------------

    def drag_level(self, row: int, level: Fraction) -> bool:
        """A step's level dragged to `level` (chart units): its own number, scaled, same unit."""
        segs = self.new_segments()
        rows = self.rows()
        if not 0 <= row < min(len(segs), len(rows)):
            return False
        level = max(level, Fraction(0))
        old = segs[row].level
        number, unit = split_quantity(rows[row].amount)
        if old > 0 and _NUMBER.fullmatch(number) and unit:
            new_amount = f"{_plain(Fraction(number) * level / old)} {unit}"
        else:
            cu = self.chart_unit()
            new_amount = f"{_plain(level)} {cu.unit}/day"
        r = rows[row]
        return self.set_step(row, r.day, r.start, new_amount)

    def drag_edge(self, row: int, minute: float) -> bool:
        """Step `row`'s start dragged to `minute` of the cycle: snapped to 15 min, kept in order."""
        if self.mode != "flex" or row <= 0:
            return False
        rows = self.rows()
        if row >= len(rows):
            return False
        starts = [minute_of(r.day, r.start) for r in rows]
        prev = starts[row - 1]
        if prev is None:
            return False
        nxt = starts[row + 1] if row + 1 < len(rows) else self.cycle_days * MINUTES_PER_DAY
        if nxt is None:
            return False
        snapped = round(Fraction(minute) / SNAP_MIN) * SNAP_MIN
        snapped = max(prev + SNAP_MIN, min(nxt - SNAP_MIN, snapped))
        if snapped <= prev or snapped >= nxt:
            return False
        day, m = divmod(snapped, MINUTES_PER_DAY)
        return self.set_step(row, day + 1, f"{m // 60:02d}:{m % 60:02d}", rows[row].amount)

    # --- from the pump ----------------------------------------------------------------------

    def from_pump(self, therapy: Therapy, serial: str, model: str) -> Rx:
        """The pump's therapy as a prescription to edit from: every step and bolus as a dose
        of the first drug (the read-back converted back, exactly), never a volume rate that a
        dose figure typed into it would multiply; mL/day only for saline."""
        rx: Rx = {
            "pump_serial": serial,
            "pump_model": model,
            "drugs": [
                {"name": d.name, "concentration": concentration_text(d.conc_ng_ml, drug_unit(d))}
                for d in therapy.drugs
            ],
            "mode": therapy.mode,
            "low_reservoir_alarm": f"{decimal_text(Fraction(therapy.low_alarm_nl, NL_PER_ML))} mL",
        }

        first = therapy.drugs[0] if therapy.drugs else None
        key = "dose" if first is not None else "rate"

        def rate(nl: int) -> str:
            if first is not None:  # exact: nL x ng/mL / 10^6 has a finite decimal expansion
                unit = drug_unit(first)
                mass = dose_ng(nl, first.conc_ng_ml) / MASS_UNITS[unit]
                return f"{decimal_text(mass)} {unit}/day"
            return f"{decimal_text(Fraction(nl, NL_PER_ML))} mL/day"

        if therapy.mode == "continuous" and therapy.steps:
            rx[key] = rate(therapy.steps[0].rate_nl_day)
        elif therapy.mode == "flex":
            rx["cycle_days"] = therapy.cycle_days
            steps = []
            for s in therapy.steps:
                day, m = divmod(s.start_min, MINUTES_PER_DAY)
                step: dict[str, Any] = {
                    "start": f"{m // 60:02d}:{m % 60:02d}",
                    key: rate(s.rate_nl_day),
                }
                if day:
                    step = {"day": day + 1, **step}
                steps.append(step)
            rx["steps"] = steps
        if therapy.ptm.enabled:
            p = therapy.ptm
            if first is not None:
                unit = drug_unit(first)
                mass = dose_ng(p.volume_nl, first.conc_ng_ml) / MASS_UNITS[unit]
                size = {"dose": f"{decimal_text(mass)} {unit}"}
            else:
                size = {"volume": f"{decimal_text(Fraction(p.volume_nl, 1000))} uL"}
            rx["patient_bolus"] = {
                **size,
                "duration": f"{p.duration_min} min",
                "lockout": f"{p.lockout_min} min",
                "max_per_day": p.max_per_day,
            }
        if therapy.catheter_volume_nl:
            rx["catheter"] = {
                "volume": f"{decimal_text(Fraction(therapy.catheter_volume_nl, NL_PER_ML))} mL"
            }
        return rx


def severity_rank(findings: list[Finding]) -> str | None:
    """The worst severity among `findings`: hard, soft, info, or None."""
    for s in (Severity.HARD, Severity.SOFT, Severity.INFO):
        if any(f.severity is s for f in findings):
            return str(s)
    return None
