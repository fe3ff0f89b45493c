"""The drug library: limits, titration rules and stability, each with its source.

Loaded once from resources/drug_library.json; `version` and `content_hash`
(SHA-256 of the file's bytes) identify exactly which limits a plan used.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from programmer.quantities import Dimension, parse_quantity
from programmer.resources import resource_path

DEFAULT_INDICATION = "default"
INDICATIONS = ("spasticity-spinal", "spasticity-cerebral", "pain-cancer", "pain-noncancer")
JURISDICTIONS = ("US", "EU")


@dataclass(frozen=True)
class Sourced:
    value: Any
    source: str


@dataclass(frozen=True)
class DoseRange:
    min_ng: Fraction
    max_ng: Fraction
    source: str


@dataclass(frozen=True)
class DailyMax:
    soft_ng: Fraction | None
    hard_ng: Fraction | None
    source: str


@dataclass(frozen=True)
class Titration:
    max_increase_percent: dict[str, int] = field(default_factory=dict)
    max_decrease_percent: dict[str, int] = field(default_factory=dict)
    max_increase_per_change_ng: Fraction | None = None
    min_hours_between_increases: int | None = None
    max_increases: tuple[int, int] | None = None  # (count, days)
    source: str = ""
    confirmed: bool = True  # False: from a secondary source, to be confirmed by the clinic

    def percent_for(self, table: dict[str, int], indication: str | None) -> int | None:
        if not table:
            return None
        if indication is not None and indication in table:
            return table[indication]
        return table.get(DEFAULT_INDICATION, min(table.values()))


@dataclass(frozen=True)
class Stability:
    days: int | None
    first_fill_days: int | None
    diluted_days: int | None
    undiluted_days: int | None
    undiluted_conc_ng_ml: int | None
    source: str
    clinic_default: bool = False  # no sourced limit: a conservative clinic default, said so


@dataclass(frozen=True)
class BolusRange:
    """Lower and upper soft limits of one bolus (ng); None with a reason when none applies."""

    min_ng: Fraction | None
    max_ng: Fraction | None
    source: str


@dataclass(frozen=True)
class BolusLimits:
    clinician: BolusRange
    patient: BolusRange
    min_lockout_min: int
    min_lockout_source: str
    max_patient_per_day: int
    max_patient_per_day_source: str


@dataclass(frozen=True)
class StandardConcentration:
    conc_ng_ml: int
    kind: str  # "marketed" or "compounded"
    source: str


@dataclass(frozen=True)
class StartingDose:
    """A first fill's daily dose: above `max_ng` is soft, above `limit_ng` must be typed again."""

    min_ng: Fraction
    max_ng: Fraction
    source: str
    limit_ng: Fraction
    limit_source: str


@dataclass(frozen=True)
class Drug:
    name: str
    aliases: tuple[str, ...]
    dose_unit: str | None
    approved: bool
    standard_concs: tuple[StandardConcentration, ...]
    usual_conc: DoseRange | None  # ng/mL
    max_conc: Sourced | None  # value: ng/mL as int
    usual_daily: DoseRange | None  # ng/day
    daily_max: dict[str, DailyMax]
    titration: dict[str, Titration]
    stability: Stability
    patient_bolus_allowed: Sourced
    mix_with_others: Sourced
    min_conc: Sourced | None = None  # value: ng/mL as int
    drug_class: str | None = None  # "opioid", ...
    starting: StartingDose | None = None
    withdrawal: Sourced = Sourced(None, "")  # value: the label's warning text, or None
    bolus_limits: BolusLimits | None = None

    @property
    def is_saline(self) -> bool:
        return self.dose_unit is None

    @property
    def marketed_strengths_ng_ml(self) -> tuple[int, ...]:
        return tuple(s.conc_ng_ml for s in self.standard_concs if s.kind == "marketed")

    @cached_property
    def standard_ng_ml(self) -> frozenset[int]:
        return frozenset(s.conc_ng_ml for s in self.standard_concs)

    def titration_for(self, jurisdiction: str) -> Titration | None:
        return self.titration.get(jurisdiction) or self.titration.get("any")

    def daily_max_for(self, jurisdiction: str) -> DailyMax | None:
        return self.daily_max.get(jurisdiction)


@dataclass(frozen=True)
class DrugLibrary:
    version: str
    content_hash: str
    drugs: dict[str, Drug]
    aliases: dict[str, str]
    default_titration: Titration
    unit_suspect_factor: int
    sources: dict[str, str]
    slip_factors: tuple[int, ...] = (10, 1000)
    change_slip_factor: int = 8
    over_max_suspect_factor: int = 2
    min_refill_interval_days: int = 14

    def source_title(self, key: str) -> str:
        """A source as a clinician names it: "PACC 2017", "Classen et al. 2004",
        "Infumorph prescribing information"; the key itself if the library has no such source."""
        citation = self.sources.get(key)
        if citation is None:
            return key
        year = re.search(r"\b(19|20)\d\d\b", citation)
        authors = re.match(r"([A-Z][a-zA-Z'-]+) [A-Z]{1,3}(?: et al\.|,)", citation)
        if authors and year:
            acronym = re.search(r"\(([A-Z]{3,})\)", citation)
            if acronym:
                return f"{acronym.group(1)} {year.group(0)}"
            return f"{authors.group(1)} et al. {year.group(0)}"
        title = re.split(r" \(|[:;,]| cited ", citation, maxsplit=1)[0].strip()
        if "prescribing information" in citation and "prescribing information" not in title:
            title += " prescribing information"
        return title

    def readable(self, text: str) -> str:
        """`text` with every source key ("TITRATION_SECONDARY") replaced by its title."""
        if not self.sources:
            return text
        keys = "|".join(sorted(map(re.escape, self.sources), key=len, reverse=True))
        return re.sub(rf"\b({keys})\b", lambda m: self.source_title(m.group(1)), text)

    def find(self, name: str) -> Drug | None:
        key = name.strip().lower()
        canonical = self.aliases.get(key)
        return self.drugs[canonical] if canonical else None


def _mass(text: str) -> Fraction:
    return parse_quantity(text, Dimension.MASS).value


def _conc(text: str) -> int:
    return parse_quantity(text, Dimension.CONCENTRATION).whole("a library concentration")


def _range(raw: dict[str, Any] | None, conc: bool) -> DoseRange | None:
    if raw is None:
        return None
    read = (lambda t: Fraction(_conc(t))) if conc else _mass
    return DoseRange(read(raw["min"]), read(raw["max"]), raw["source"])


def _titration(raw: dict[str, Any]) -> Titration:
    per_change = raw.get("max_increase_per_change")
    increases = raw.get("max_increases")
    return Titration(
        max_increase_percent=dict(raw.get("max_increase_percent", {})),
        max_decrease_percent=dict(raw.get("max_decrease_percent", {})),
        max_increase_per_change_ng=_mass(per_change) if per_change else None,
        min_hours_between_increases=raw.get("min_hours_between_increases"),
        max_increases=(increases["count"], increases["days"]) if increases else None,
        source=raw.get("source", ""),
        confirmed=bool(raw.get("confirmed", True)),
    )


def _bolus_range(raw: dict[str, Any]) -> BolusRange:
    low, high = raw.get("min"), raw.get("max")
    out = BolusRange(_mass(low) if low else None, _mass(high) if high else None, raw["source"])
    if out.min_ng is not None and out.max_ng is not None and not 0 < out.min_ng <= out.max_ng:
        raise ValueError(f"drug library: bolus range {raw!r} is not 0 < min <= max")
    return out


def _bolus_limits(raw: dict[str, Any] | None) -> BolusLimits | None:
    if raw is None:
        return None
    lockout = parse_quantity(raw["min_lockout"]["value"], Dimension.DURATION).value
    return BolusLimits(
        clinician=_bolus_range(raw["clinician_bolus"]),
        patient=_bolus_range(raw["patient_bolus"]),
        min_lockout_min=int(lockout),
        min_lockout_source=raw["min_lockout"]["source"],
        max_patient_per_day=int(raw["max_patient_boluses_per_day"]["value"]),
        max_patient_per_day_source=raw["max_patient_boluses_per_day"]["source"],
    )


def _starting(raw: dict[str, Any] | None) -> StartingDose | None:
    if raw is None:
        return None
    start = StartingDose(
        _mass(raw["min"]),
        _mass(raw["max"]),
        raw["source"],
        _mass(raw["limit"]),
        raw["limit_source"],
    )
    if not 0 < start.min_ng <= start.max_ng <= start.limit_ng:
        raise ValueError(f"drug library: starting dose {raw!r} is not min <= max <= limit")
    return start


def _drug(raw: dict[str, Any]) -> Drug:
    stab = raw["stability_days"]
    undiluted = stab.get("undiluted_concentration")
    max_conc = raw["max_concentration"]
    min_conc = raw.get("min_concentration")
    standard = raw["standard_concentrations"]["values"]
    return Drug(
        name=raw["name"],
        aliases=tuple(raw["aliases"]),
        dose_unit=raw["dose_unit"],
        approved=bool(raw["approved"]["value"]),
        standard_concs=tuple(
            StandardConcentration(_conc(s["value"]), s["kind"], s["source"]) for s in standard
        ),
        min_conc=Sourced(_conc(min_conc["value"]), min_conc["source"]) if min_conc else None,
        drug_class=raw["class"]["value"],
        starting=_starting(raw.get("starting_daily_dose")),
        withdrawal=Sourced(raw["withdrawal_warning"]["value"], raw["withdrawal_warning"]["source"]),
        usual_conc=_range(raw["usual_concentration"], conc=True),
        max_conc=Sourced(_conc(max_conc["value"]), max_conc["source"]) if max_conc else None,
        usual_daily=_range(raw["usual_daily_dose"], conc=False),
        daily_max={
            j: DailyMax(
                _mass(m["soft"]) if m["soft"] else None,
                _mass(m["hard"]) if m["hard"] else None,
                m["source"],
            )
            for j, m in raw["max_daily_dose"].items()
        },
        titration={j: _titration(t) for j, t in raw["titration"].items()},
        stability=Stability(
            days=stab.get("value"),
            first_fill_days=stab.get("first_fill"),
            diluted_days=stab.get("diluted"),
            undiluted_days=stab.get("undiluted"),
            undiluted_conc_ng_ml=_conc(undiluted) if undiluted else None,
            source=stab["source"],
            clinic_default=bool(stab.get("clinic_default", False)),
        ),
        bolus_limits=_bolus_limits(raw.get("bolus_limits")),
        patient_bolus_allowed=Sourced(
            raw["patient_bolus_allowed"]["value"], raw["patient_bolus_allowed"]["source"]
        ),
        mix_with_others=Sourced(raw["mix_with_others"]["value"], raw["mix_with_others"]["source"]),
    )


def load_library(path: Path) -> DrugLibrary:
    data = path.read_bytes()
    raw = json.loads(data)
    drugs = {d["name"]: _drug(d) for d in raw["drugs"]}
    aliases: dict[str, str] = {}
    for drug in drugs.values():
        for alias in (drug.name, *drug.aliases):
            key = alias.lower()
            if key in aliases and aliases[key] != drug.name:
                raise ValueError(f"drug library: alias {alias!r} names two drugs")
            aliases[key] = drug.name
    return DrugLibrary(
        version=raw["version"],
        content_hash=hashlib.sha256(data).hexdigest(),
        drugs=drugs,
        aliases=aliases,
        default_titration=_titration(raw["default_titration"]),
        unit_suspect_factor=int(raw["unit_suspect_factor"]["value"]),
        sources=dict(raw["sources"]),
        slip_factors=tuple(int(f) for f in raw["slip_factors"]["values"]),
        change_slip_factor=int(raw["change_slip_factor"]["value"]),
        over_max_suspect_factor=int(raw["over_max_concentration_suspect_factor"]["value"]),
        min_refill_interval_days=int(raw["min_refill_interval_days"]["value"]),
    )


@cache
def default_library() -> DrugLibrary:
    return load_library(resource_path("drug_library.json"))
