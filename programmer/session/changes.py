"""The change shown side by side before anything is sent: every field that differs."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from programmer.drugs import default_library
from programmer.formatting import (
    clock_text,
    concentration_text,
    dose_per_day_text,
    minutes_text,
    percent_text,
    volume_rate_text,
    volume_text,
)
from programmer.therapy import DrugFill, Therapy, dose_ng


@dataclass(frozen=True)
class ChangeRow:
    field: str
    old: str
    new: str


def _unit(fill: DrugFill) -> str:
    drug = default_library().find(fill.name)
    if drug is not None and drug.dose_unit:
        return drug.dose_unit
    return "mg" if fill.conc_ng_ml >= 1_000_000 else "mcg"


def _drugs(t: Therapy | None) -> str:
    if t is None:
        return "unknown"
    return (
        ", ".join(f"{d.name} {concentration_text(d.conc_ng_ml, _unit(d))}" for d in t.drugs)
        or "saline"
    )


def _steps(t: Therapy | None) -> dict[int, int]:
    return {} if t is None else {s.start_min: s.rate_nl_day for s in t.steps}


def step_text(rate_nl_day: int, t: Therapy) -> str:
    """A step's rate as the physician prescribes it (each drug's dose per day at that
    rate) and as the pump stores it (the volume rate)."""
    doses = ", ".join(
        f"{d.name} {dose_per_day_text(dose_ng(rate_nl_day, d.conc_ng_ml), _unit(d))}"
        for d in t.drugs
    )
    rate = volume_rate_text(rate_nl_day, exact=True)  # the exact text; the app rounds it on screen
    return f"{doses} = {rate}" if doses else rate


def daily_doses(t: Therapy | None) -> dict[str, str]:
    if t is None:
        return {}
    day = t.max_day_volume_nl()
    return {d.name: dose_per_day_text(dose_ng(day, d.conc_ng_ml), _unit(d)) for d in t.drugs}


def daily_change(old: Therapy | None, new: Therapy) -> Fraction | None:
    """The heaviest day's volume change, as a fraction (0.3 = +30 %); None if unknown or from 0."""
    if old is None:
        return None
    before = old.max_day_volume_nl()
    if before == 0:
        return None
    return (new.max_day_volume_nl() - before) / before


def therapy_changes(old: Therapy | None, new: Therapy) -> list[ChangeRow]:
    rows: list[ChangeRow] = []

    def add(field: str, a: str, b: str) -> None:
        if a != b:
            rows.append(ChangeRow(field, a, b))

    add("drugs", _drugs(old), _drugs(new))
    add("mode", old.mode if old else "unknown", new.mode)
    add("cycle", f"{old.cycle_days} day(s)" if old else "unknown", f"{new.cycle_days} day(s)")
    olds, news = _steps(old), _steps(new)
    cycle_days = max(new.cycle_days, old.cycle_days if old else 1)
    for start in sorted(set(olds) | set(news)):
        a = step_text(olds[start], old) if old is not None and start in olds else "—"
        b = step_text(news[start], new) if start in news else "—"
        add(f"step {clock_text(start, cycle_days)}", a, b)
    od, nd = daily_doses(old), daily_doses(new)
    for name in sorted(set(od) | set(nd)):
        add(f"daily dose {name}", od.get(name, "—"), nd.get(name, "—"))
    if old is None or old.max_day_volume_nl() != new.max_day_volume_nl():
        add("daily volume", volume_text(old.max_day_volume_nl()) + "/day" if old else "unknown",
            volume_text(new.max_day_volume_nl()) + "/day")  # fmt: skip
    add("patient bolus", _ptm(old), _ptm(new))
    add(
        "low-reservoir alarm",
        volume_text(old.low_alarm_nl) if old else "unknown",
        volume_text(new.low_alarm_nl),
    )
    add(
        "catheter volume",
        volume_text(old.catheter_volume_nl) if old else "unknown",
        volume_text(new.catheter_volume_nl),
    )
    return rows


def one_time_rows(changeset: dict[str, Any], reservoir_nl: int) -> list[ChangeRow]:
    """The parts of a changeset that are not the therapy: a refill and a one-time bolus."""
    rows: list[ChangeRow] = []
    refill = changeset.get("refill")
    if refill:
        rows.append(
            ChangeRow(
                "reservoir (estimate)",
                volume_text(reservoir_nl),
                volume_text(refill["reservoir_nl"]),
            )
        )
        rows.append(
            ChangeRow(
                "refill",
                "—",
                f"{volume_text(refill['removed_nl'])} drawn out, {volume_text(refill['added_nl'])} injected",
            )
        )
    bolus = changeset.get("bolus")
    if bolus:
        rows.append(ChangeRow("one-time bolus", "none",
                              f"{bolus['kind']}: {volume_text(bolus['volume_nl'])} at {volume_rate_text(bolus['rate_nl_day'])}, "
                              "replacing the basal rate until given"))  # fmt: skip
    return rows


def _ptm(t: Therapy | None) -> str:
    if t is None:
        return "unknown"
    p = t.ptm
    if not p.enabled:
        return "off"
    return (f"{volume_text(p.volume_nl)} over {minutes_text(p.duration_min)}, lockout "
            f"{minutes_text(p.lockout_min)}, at most {p.max_per_day}/day")  # fmt: skip


def change_text(rows: list[ChangeRow], change: Fraction | None) -> str:
    width = max((len(r.field) for r in rows), default=5)
    lines = [f"{'':{width}}  {'now on the pump':<34}  will be"]
    for r in rows:
        lines.append(f"{r.field:{width}}  {r.old:<34}  {r.new}")
    if change is not None:
        lines.append(f"Daily total: {percent_text(change * 100)}")
    return "\n".join(lines)
