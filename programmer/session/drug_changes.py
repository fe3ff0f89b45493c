"""The change of each drug's daily dose: what a % means to a clinician.

The headline change was the volume's: saline -> morphine read 0 %, morphine ->
ziconotide +17 %. Each drug is compared with itself, in dose; a drug that appears
or goes is said in words, where a percentage means nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from programmer.formatting import dose_per_day_text
from programmer.session.changes import _unit
from programmer.therapy import Therapy, dose_ng

NEW_DRUG = "new drug"
DRUG_REMOVED = "drug removed"


@dataclass(frozen=True)
class DrugChange:
    drug: str
    unit: str  # the drug's mass unit (mg, mcg)
    before_ng: Fraction | None  # the heaviest day's dose now on the pump; None: not in it
    after_ng: Fraction | None  # the heaviest day's dose of the new therapy; None: not in it
    change: Fraction | None  # (after - before) / before; None for a new, removed or from-0 drug

    @property
    def status(self) -> str:
        if self.before_ng is None:
            return NEW_DRUG
        if self.after_ng is None:
            return DRUG_REMOVED
        return "changed" if self.after_ng != self.before_ng else "unchanged"

    def text(self, which: Fraction | None) -> str:
        return "—" if which is None else dose_per_day_text(which, self.unit)


def _doses(t: Therapy | None) -> dict[str, tuple[Fraction, str]]:
    if t is None:
        return {}
    day = t.max_day_volume_nl()
    return {d.name: (dose_ng(day, d.conc_ng_ml), _unit(d)) for d in t.drugs}


def drug_changes(old: Therapy | None, new: Therapy | None) -> list[DrugChange]:
    """Every drug of either therapy, the new therapy's order first, then those removed."""
    before, after = _doses(old), _doses(new)
    out: list[DrugChange] = []
    for name in [*after, *(n for n in before if n not in after)]:
        b = before.get(name)
        a = after.get(name)
        unit = (a or b or (Fraction(0), "mg"))[1]
        b_ng = b[0] if b is not None else None
        a_ng = a[0] if a is not None else None
        change = None
        if b_ng is not None and a_ng is not None and b_ng > 0:
            change = (a_ng - b_ng) / b_ng
        out.append(DrugChange(name, unit, b_ng, a_ng, change))
    return out


@dataclass(frozen=True)
class ProfileRow:
    """One step of the whole profile before and after: each drug's dose per day at it."""

    start: str  # "07:00", or "day 2 07:00" in a multi-day cycle
    before: dict[str, Fraction] | None  # drug -> ng/day; None: the pump's therapy unknown
    after: dict[str, Fraction]
    before_rate_nl_day: int | None
    after_rate_nl_day: int
    units: dict[str, str]

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.before_rate_nl_day != self.after_rate_nl_day

    def change(self, drug: str) -> Fraction | None:
        """This step's change of `drug` (a fraction); None when new, removed or from 0."""
        if self.before is None:
            return None
        b, a = self.before.get(drug), self.after.get(drug)
        if b is None or a is None or b == 0:
            return None
        return (a - b) / b


def _step_doses(t: Therapy, rate_nl_day: int) -> dict[str, Fraction]:
    return {d.name: dose_ng(rate_nl_day, d.conc_ng_ml) for d in t.drugs}


def profile_rows(old: Therapy | None, new: Therapy) -> list[ProfileRow]:
    """Every step start of either therapy, in cycle order, with what runs there before and
    after (a shorter cycle repeats): the whole profile, not only the steps that changed."""
    days = max(new.cycle_days, old.cycle_days if old else 1)
    starts = {s.start_min for s in new.steps}
    if old is not None:
        for s in old.steps:
            for repeat in range(0, days * 1440, old.cycle_min):
                starts.add(s.start_min + repeat)
    if new.cycle_min < days * 1440:
        starts |= {s.start_min + r for s in new.steps for r in range(0, days * 1440, new.cycle_min)}
    units = {d.name: _unit(d) for d in (*(old.drugs if old else ()), *new.drugs)}
    rows = []
    for start in sorted(starts):
        after_rate = new.rate_at(start % new.cycle_min)
        before_rate = old.rate_at(start % old.cycle_min) if old is not None else None
        rows.append(
            ProfileRow(
                start=_clock(start, days),
                before=_step_doses(old, before_rate)
                if old is not None and before_rate is not None
                else None,
                after=_step_doses(new, after_rate),
                before_rate_nl_day=before_rate,
                after_rate_nl_day=after_rate,
                units=units,
            )
        )
    return rows


def _clock(minute: int, days: int) -> str:
    day, m = divmod(minute, 1440)
    hhmm = f"{m // 60:02d}:{m % 60:02d}"
    return f"day {day + 1} {hhmm}" if days > 1 else hhmm


def bolus_doses(volume_nl: int, t: Therapy | None) -> dict[str, Fraction]:
    """A bolus volume as the dose of each drug it carries (ng)."""
    return {} if t is None else {d.name: dose_ng(volume_nl, d.conc_ng_ml) for d in t.drugs}
