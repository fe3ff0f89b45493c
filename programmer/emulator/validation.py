"""Checks a STAGE changeset against section 4's rules and the pump's limits (section 5).

Wrong shapes and types (a missing key, a string where an int belongs, an unknown key) are
`bad_request`; well-formed values outside a limit are `invalid`. Both carry `problems` that
name the field, the limit and its unit. The result is the changeset "as the pump understood
it": only known keys, steps as [start_min, rate_nl_day] lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from programmer.emulator import limits as L
from programmer.emulator.errors import Problem, PumpRefusal

THERAPY_KEYS = (
    "drugs",
    "low_alarm_nl",
    "mode",
    "cycle_days",
    "steps",
    "ptm",
    "catheter_volume_nl",
)
PTM_KEYS = ("enabled", "volume_nl", "duration_min", "lockout_min", "max_per_day")
REFILL_KEYS = ("removed_nl", "added_nl", "reservoir_nl")
BOLUS_KEYS = ("kind", "volume_nl", "rate_nl_day")
CHANGESET_KEYS = ("therapy", "refill", "bolus", "cancel_bolus")
MODES = ("continuous", "flex", "stopped")
BOLUS_KINDS = ("single", "bridge", "priming")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Checker:
    """Collects shape problems and limit problems separately."""

    shape: list[Problem] = field(default_factory=list)
    limit: list[Problem] = field(default_factory=list)

    def bad(self, path: str, code: str, message: str) -> None:
        self.shape.append(Problem(path, code, message))

    def out_of_limit(self, path: str, code: str, message: str) -> None:
        self.limit.append(Problem(path, code, message))

    def map_with(self, value: object, path: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
        """Exactly these keys, all present; None (and a problem) otherwise."""
        if not isinstance(value, dict):
            self.bad(path, "wrong_type", f"{path} must be a map")
            return None
        ok = True
        for key in value:
            if key not in keys:
                self.bad(f"{path}.{key}", "unknown_field", f"{path} has no field {key!r}")
                ok = False
        for key in keys:
            if key not in value:
                self.bad(f"{path}.{key}", "missing", f"{path}.{key} is required")
                ok = False
        return value if ok else None

    def integer(self, value: object, path: str) -> int | None:
        if not is_int(value):
            self.bad(path, "wrong_type", f"{path} must be an integer")
            return None
        assert isinstance(value, int)
        return value

    def within(self, value: int, path: str, low: int, high: int | None, unit: str) -> bool:
        if value < low:
            self.out_of_limit(
                path, "below_min", f"{path} is {value} {unit}, below the minimum of {low} {unit}"
            )
            return False
        if high is not None and value > high:
            self.out_of_limit(
                path, "above_max", f"{path} is {value} {unit}, above the maximum of {high} {unit}"
            )
            return False
        return True

    def bounded_int(
        self, value: object, path: str, low: int, high: int | None, unit: str
    ) -> int | None:
        number = self.integer(value, path)
        if number is None:
            return None
        self.within(number, path, low, high, unit)
        return number

    def rate(self, value: object, path: str, allow_zero: bool) -> int | None:
        number = self.integer(value, path)
        if number is None or (allow_zero and number == 0):
            return number
        if not L.MIN_RATE_NL_DAY <= number <= L.MAX_RATE_NL_DAY:
            zero = "0 or " if allow_zero else ""
            self.out_of_limit(
                path,
                "below_min" if number < L.MIN_RATE_NL_DAY else "above_max",
                f"{path} is {number} nl/day; it must be {zero}{L.MIN_RATE_NL_DAY} to "
                f"{L.MAX_RATE_NL_DAY} nl/day",
            )
        return number

    def raise_if_any(self) -> None:
        if self.shape:
            raise PumpRefusal("bad_request", _summary(self.shape), list(self.shape))
        if self.limit:
            raise PumpRefusal("invalid", _summary(self.limit), list(self.limit))


def _summary(problems: list[Problem]) -> str:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return problems[0].message + more


def check_drugs(check: Checker, value: object) -> list[dict[str, Any]]:
    path = "therapy.drugs"
    if not isinstance(value, list):
        check.bad(path, "wrong_type", f"{path} must be a list")
        return []
    if len(value) > L.MAX_DRUGS:
        check.out_of_limit(
            path, "too_many", f"{len(value)} drugs; the pump holds at most {L.MAX_DRUGS}"
        )
    drugs: list[dict[str, Any]] = []
    for index, entry in enumerate(value):
        where = f"{path}[{index}]"
        drug = check.map_with(entry, where, ("name", "conc_ng_ml"))
        if drug is None:
            continue
        name = drug["name"]
        if not isinstance(name, str):
            check.bad(f"{where}.name", "wrong_type", f"{where}.name must be a string")
        elif not 1 <= len(name) <= L.DRUG_NAME_MAX_CHARS:
            check.out_of_limit(
                f"{where}.name",
                "bad_length",
                f"{where}.name has {len(name)} characters; it must have 1 to "
                f"{L.DRUG_NAME_MAX_CHARS}",
            )
        conc = check.bounded_int(drug["conc_ng_ml"], f"{where}.conc_ng_ml", 1, None, "ng/mL")
        drugs.append({"name": name, "conc_ng_ml": conc})
    return drugs


def check_steps(check: Checker, value: object, mode: object, cycle_days: int | None) -> list[Any]:
    path = "therapy.steps"
    if not isinstance(value, list):
        check.bad(path, "wrong_type", f"{path} must be a list")
        return []
    steps: list[list[int]] = []
    for index, entry in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(entry, list | tuple) or len(entry) != 2:
            check.bad(where, "wrong_type", f"{where} must be [start_min, rate_nl_day]")
            continue
        start = check.integer(entry[0], f"{where}.start_min")
        rate = check.rate(entry[1], f"{where}.rate_nl_day", allow_zero=True)
        if start is not None and rate is not None:
            steps.append([start, rate])
    if len(steps) != len(value) or cycle_days is None:
        return steps
    if mode == "stopped" and steps:
        check.out_of_limit(path, "not_allowed", "mode stopped takes no steps")
    elif mode == "continuous" and (len(steps) != 1 or steps[0][0] != 0):
        check.out_of_limit(path, "continuous_one_step", "mode continuous takes exactly [[0, rate]]")
    elif mode == "flex":
        most = L.MAX_STEPS_PER_DAY * cycle_days
        if not 1 <= len(steps) <= most:
            check.out_of_limit(
                path,
                "step_count",
                f"{len(steps)} steps; flex takes 1 to {most} steps "
                f"({L.MAX_STEPS_PER_DAY} per day of a {cycle_days}-day cycle)",
            )
        cycle_min = cycle_days * L.MINUTES_PER_DAY
        for index, (start, _rate) in enumerate(steps):
            where = f"{path}[{index}].start_min"
            if index == 0 and start != 0:
                check.out_of_limit(where, "first_not_zero", f"{where} must be 0 min")
            elif index > 0 and start <= steps[index - 1][0]:
                check.out_of_limit(
                    where, "not_increasing", f"{where} ({start} min) must follow the step before"
                )
            if not 0 <= start < cycle_min:
                check.out_of_limit(
                    where,
                    "outside_cycle",
                    f"{where} is {start} min; it must be 0 to {cycle_min - 1} min "
                    f"in a {cycle_days}-day cycle",
                )
    return steps


def check_ptm(check: Checker, value: object) -> dict[str, Any]:
    path = "therapy.ptm"
    ptm = check.map_with(value, path, PTM_KEYS)
    if ptm is None:
        return {}
    enabled = ptm["enabled"]
    if not isinstance(enabled, bool):
        check.bad(f"{path}.enabled", "wrong_type", f"{path}.enabled must be true or false")
    out: dict[str, Any] = {"enabled": enabled}
    numbers = {key: check.integer(ptm[key], f"{path}.{key}") for key in PTM_KEYS[1:]}
    out.update(numbers)
    if enabled is not True:
        # A disabled PTM is never used; its settings need only be non-negative integers.
        for key, number in numbers.items():
            if number is not None:
                check.within(number, f"{path}.{key}", 0, None, _PTM_UNITS[key])
        return out
    volume, duration = numbers["volume_nl"], numbers["duration_min"]
    lockout, per_day = numbers["lockout_min"], numbers["max_per_day"]
    if volume is not None:
        check.within(volume, f"{path}.volume_nl", L.PTM_VOLUME_MIN_NL, L.PTM_VOLUME_MAX_NL, "nl")
    if duration is not None:
        check.within(
            duration,
            f"{path}.duration_min",
            L.PTM_DURATION_MIN_MIN,
            L.PTM_DURATION_MAX_MIN,
            "min",
        )
    if lockout is not None:
        floor = duration if duration is not None else L.PTM_DURATION_MIN_MIN
        if lockout < floor:
            check.out_of_limit(
                f"{path}.lockout_min",
                "below_min",
                f"{path}.lockout_min is {lockout} min, below the bolus duration of {floor} min",
            )
        else:
            check.within(lockout, f"{path}.lockout_min", 0, L.PTM_LOCKOUT_MAX_MIN, "min")
    if per_day is not None:
        check.within(
            per_day, f"{path}.max_per_day", L.PTM_PER_DAY_MIN, L.PTM_PER_DAY_MAX, "per 24 h"
        )
    return out


_PTM_UNITS = {"volume_nl": "nl", "duration_min": "min", "lockout_min": "min", "max_per_day": ""}


def check_therapy(check: Checker, value: object) -> dict[str, Any]:
    therapy = check.map_with(value, "therapy", THERAPY_KEYS)
    if therapy is None:
        return {}
    mode = therapy["mode"]
    if not isinstance(mode, str):
        check.bad("therapy.mode", "wrong_type", "therapy.mode must be a string")
    elif mode not in MODES:
        check.out_of_limit(
            "therapy.mode", "unknown_mode", f"therapy.mode {mode!r} is not one of {list(MODES)}"
        )
    cycle_days = check.integer(therapy["cycle_days"], "therapy.cycle_days")
    if cycle_days is not None and check.within(
        cycle_days, "therapy.cycle_days", L.CYCLE_DAYS_MIN, L.CYCLE_DAYS_MAX, "days"
    ):
        if mode != "flex" and cycle_days != 1:
            check.out_of_limit(
                "therapy.cycle_days", "must_be_one", f"cycle_days must be 1 in mode {mode}"
            )
    else:
        cycle_days = None
    low = check.bounded_int(
        therapy["low_alarm_nl"],
        "therapy.low_alarm_nl",
        L.LOW_ALARM_MIN_NL,
        L.LOW_ALARM_MAX_NL,
        "nl",
    )
    catheter = check.bounded_int(
        therapy["catheter_volume_nl"], "therapy.catheter_volume_nl", 0, None, "nl"
    )
    return {
        "drugs": check_drugs(check, therapy["drugs"]),
        "low_alarm_nl": low,
        "mode": mode,
        "cycle_days": cycle_days,
        "steps": check_steps(check, therapy["steps"], mode, cycle_days),
        "ptm": check_ptm(check, therapy["ptm"]),
        "catheter_volume_nl": catheter,
    }


def check_refill(check: Checker, value: object, capacity_nl: int) -> dict[str, Any]:
    refill = check.map_with(value, "refill", REFILL_KEYS)
    if refill is None:
        return {}
    return {
        key: check.bounded_int(refill[key], f"refill.{key}", 0, capacity_nl, "nl")
        for key in REFILL_KEYS
    }


def check_bolus(check: Checker, value: object) -> dict[str, Any]:
    """Shape and rate only: the volume is checked against the reservoir by the model."""
    bolus = check.map_with(value, "bolus", BOLUS_KEYS)
    if bolus is None:
        return {}
    kind = bolus["kind"]
    if not isinstance(kind, str):
        check.bad("bolus.kind", "wrong_type", "bolus.kind must be a string")
    elif kind not in BOLUS_KINDS:
        check.out_of_limit(
            "bolus.kind", "unknown_kind", f"bolus.kind {kind!r} is not one of {list(BOLUS_KINDS)}"
        )
    return {
        "kind": kind,
        "volume_nl": check.integer(bolus["volume_nl"], "bolus.volume_nl"),
        "rate_nl_day": check.rate(bolus["rate_nl_day"], "bolus.rate_nl_day", allow_zero=False),
    }


def check_changeset(value: object, capacity_nl: int) -> tuple[Checker, dict[str, Any]]:
    """Returns the checker (not raised yet: the model adds its own problems) and the result."""
    check = Checker()
    if not isinstance(value, dict):
        check.bad("changeset", "wrong_type", "changeset must be a map")
        return check, {}
    for key in value:
        if key not in CHANGESET_KEYS:
            check.bad(f"changeset.{key}", "unknown_field", f"changeset has no field {key!r}")
    if not any(key in value for key in CHANGESET_KEYS):
        check.bad(
            "changeset", "empty", "changeset needs at least one of " + ", ".join(CHANGESET_KEYS)
        )
    understood: dict[str, Any] = {}
    if "therapy" in value:
        understood["therapy"] = check_therapy(check, value["therapy"])
    if "refill" in value:
        understood["refill"] = check_refill(check, value["refill"], capacity_nl)
    if "bolus" in value:
        understood["bolus"] = check_bolus(check, value["bolus"])
    if "cancel_bolus" in value:
        if value["cancel_bolus"] is not True:
            check.bad("changeset.cancel_bolus", "must_be_true", "cancel_bolus must be true")
        understood["cancel_bolus"] = True
    return check, understood
