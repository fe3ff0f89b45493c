"""What the patients tables hold, as typed records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Patient:
    id: int
    clinic_id: str
    version: int
    name: str
    dob: date
    indication: str | None
    notes: str
    updated_at: str
    updated_by: str
    reason: str | None = None


@dataclass(frozen=True)
class PatientRow:
    """One line of the patient list."""

    id: int
    clinic_id: str
    name: str
    dob: str
    indication: str | None
    pump_serial: str | None  # the pump implanted now
    pump_kind: str | None
    last_visit_at: str | None


@dataclass(frozen=True)
class Pump:
    id: int
    patient_id: int
    kind: str
    model: str | None
    serial: str
    implanted_on: date
    explanted_on: date | None
    explant_reason: str | None
    catheter_tip: str | None
    catheter_length_mm: int | None
    catheter_nl_per_cm: int | None
    flow_nl_day: int | None  # constant-flow: the nominal flow on the label
    capacity_nl: int | None

    @property
    def current(self) -> bool:
        return self.explanted_on is None

    @property
    def catheter_volume_nl(self) -> int | None:
        """length (mm) × volume per cm ÷ 10, rounded once (as the prescription does)."""
        if self.catheter_length_mm is None or self.catheter_nl_per_cm is None:
            return None
        return round(self.catheter_length_mm * self.catheter_nl_per_cm / 10)

    def catheter_json(self) -> dict[str, str] | None:
        if self.catheter_length_mm is None or self.catheter_nl_per_cm is None:
            return None
        return {
            "length": f"{self.catheter_length_mm} mm",
            "volume_per_cm": f"{self.catheter_nl_per_cm} nL",
        }


@dataclass(frozen=True)
class Visit:
    id: int
    patient_id: int
    pump_id: int | None
    kind: str
    at: str
    at_s: int
    account: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class TrialEntry:
    seq: int
    kind: str  # dose, observation, side_effect
    at: str
    at_s: int
    amount_ng: int | None = None
    per_day: bool = False
    scale: str | None = None
    score: int | None = None
    effect: str | None = None
    note: str = ""
    by: str = ""


@dataclass(frozen=True)
class TrialResult:
    response: str
    effective_dose_ng: int | None
    effect_duration_min: int | None
    decision: str
    decided_by: str
    decided_at: str
    rationale: str


@dataclass(frozen=True)
class Trial:
    id: int
    patient_id: int
    drug: str
    kind: str
    conc_ng_ml: int | None
    rate_nl_day: int | None
    started_at: str
    started_s: int
    created_by: str
    entries: tuple[TrialEntry, ...] = ()
    result: TrialResult | None = None

    @property
    def doses(self) -> list[TrialEntry]:
        return [e for e in self.entries if e.kind == "dose"]

    @property
    def observations(self) -> list[TrialEntry]:
        return [e for e in self.entries if e.kind == "observation"]

    @property
    def side_effects(self) -> list[TrialEntry]:
        return [e for e in self.entries if e.kind == "side_effect"]


@dataclass(frozen=True)
class CfRefill:
    id: int
    pump_id: int
    at: str
    at_s: int
    removed_nl: int
    added_nl: int
    measured_flow_nl_day: int | None
    drugs: list[dict[str, Any]] = field(default_factory=list)
    account: str = ""
