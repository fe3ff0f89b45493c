"""Patients in the store: details (versioned), pumps over time, visits, trials, refills.

Every write checks the actor's role, runs in one transaction with its audit record
(`patient_changed`), and keeps what was there: details get a new version, a pump gets an
explant date, trial entries and results are appended. Reads need a nurse or physician.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from programmer.patients import fields as F
from programmer.patients.access import PatientAction, require
from programmer.patients.records import (
    CfRefill,
    Patient,
    PatientRow,
    Pump,
    Trial,
    TrialEntry,
    TrialResult,
    Visit,
)
from programmer.patients.schema import has_patient_tables
from programmer.store.accounts import Principal
from programmer.store.audit import AuditAction, AuditTrail
from programmer.store.clock import to_utc, utc_seconds, utc_text
from programmer.store.db import Store
from programmer.store.errors import StoreError

VISIT_KINDS = ("implant", "refill", "programming", "replacement", "trial", "follow-up", "explant")
TRIAL_KINDS = ("single-bolus", "repeated-bolus", "continuous")
RESPONSES = ("positive", "negative", "equivocal")
DECISIONS = ("implant", "no-implant", "repeat-trial")
SIDE_EFFECTS = ("respiratory-depression", "sedation", "pruritus", "nausea", "urinary-retention",
                "hypotension", "headache", "other")  # fmt: skip
SCALES = {"pain": 10, "ashworth": 4, "spasm": 4}  # 0..max: NRS pain, Ashworth, Penn spasm
MAX_TRIAL_ENTRIES = 500
MAX_TRIAL_DOSE_NG = 100_000_000  # 100 mg: far above any intrathecal trial dose
MAX_LIST = 20_000


@dataclass(frozen=True)
class PumpSpec:
    """A pump as typed (quantities as strings with units, dates as YYYY-MM-DD)."""

    kind: str
    serial: str
    implanted_on: str | date
    model: str | None = None
    catheter_tip: str | None = None
    catheter_length: str | None = None
    catheter_volume_per_cm: str | None = None
    flow: str | None = None
    capacity: str | None = None


@dataclass(frozen=True)
class PumpOwner:
    patient: Patient
    pump: Pump


class PatientNotFound(F.PatientError):
    pass


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Patients:
    def __init__(self, store: Store, trail: AuditTrail) -> None:
        self.store = store
        self.trail = trail

    # -- helpers -----------------------------------------------------------------------

    def _now(self) -> datetime:
        return to_utc(self.store.clock())

    def _today(self) -> date:
        return self._now().date()

    def _audit(self, actor: Principal, change: str, after: dict[str, Any], *,
               before: Any = None, reason: str | None = None, serial: str | None = None) -> None:  # fmt: skip
        self.trail.append(AuditAction.PATIENT_CHANGED, account=actor.name, role=str(actor.role),
                          pump_serial=serial, before=before, after={"change": change, **after},
                          reason=reason)  # fmt: skip

    def _readable(self, actor: Principal) -> bool:
        require(actor, PatientAction.READ)
        return has_patient_tables(self.store)

    # -- patients ------------------------------------------------------------------------

    def add(self, actor: Principal, *, clinic_id: str, name: str, dob: str | date,
            indication: str | None = None, notes: str = "") -> Patient:  # fmt: skip
        require(actor, PatientAction.WRITE)
        cid = F.clinic_id(clinic_id)
        details = self._details(name, dob, indication, notes)
        now = self._now()
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM patients WHERE clinic_id = ?", (cid,)).fetchone():
                raise F.PatientError("clinic_id", f"a patient {cid} is already recorded")
            name, dob, indication, _ = details
            pid = conn.execute(
                "INSERT INTO patients (clinic_id, version, name, name_key, dob, indication, "
                "created_at, created_by) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
                (cid, name, name.casefold(), dob.isoformat(), indication, utc_text(now), actor.name),
            ).lastrowid  # fmt: skip
            assert pid is not None
            self._insert_version(conn, pid, 1, details, actor, None)
            self._audit(actor, "patient_added", {"patient": cid, **_details_json(details)})
        return self.get(actor, pid)

    def update(self, actor: Principal, patient_id: int, *, reason: str,
               name: str | None = None, dob: str | date | None = None,
               indication: str | None = None, notes: str | None = None) -> Patient:  # fmt: skip
        """A new version of the details; the old one stays readable in `versions`."""
        require(actor, PatientAction.WRITE)
        why = F.text(reason, "reason", F.MAX_TEXT, required=True)
        old = self.get(actor, patient_id)
        details = self._details(
            old.name if name is None else name,
            old.dob if dob is None else dob,
            old.indication if indication is None else indication,
            old.notes if notes is None else notes,
        )
        before = _details_json((old.name, old.dob, old.indication, old.notes))
        if _details_json(details) == before:
            raise F.PatientError("details", "nothing changed")
        with self.store.write() as conn:
            version = old.version + 1
            self._insert_version(conn, patient_id, version, details, actor, why)
            conn.execute(
                "UPDATE patients SET version = ?, name = ?, name_key = ?, dob = ?, indication = ? "
                "WHERE id = ?",
                (version, details[0], details[0].casefold(), details[1].isoformat(), details[2],
                 patient_id),
            )  # fmt: skip
            self._audit(actor, "patient_details_versioned",
                        {"patient": old.clinic_id, "version": version, **_details_json(details)},
                        before=before, reason=why)  # fmt: skip
        return self.get(actor, patient_id)

    def _details(self, name: object, dob: object, indication: object,
                 notes: object) -> tuple[str, date, str | None, str]:  # fmt: skip
        return (
            F.text(name, "name", F.MAX_NAME, required=True),
            F.day(dob, "dob", today=self._today()),
            F.indication(indication),
            F.text(notes, "notes", F.MAX_NOTES, required=False),
        )

    def _insert_version(self, conn: sqlite3.Connection, pid: int, version: int,
                        details: tuple[str, date, str | None, str], actor: Principal,
                        reason: str | None) -> None:  # fmt: skip
        name, dob, indication, notes = details
        conn.execute(
            "INSERT INTO patient_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pid, version, name, name.casefold(), dob.isoformat(), indication, notes,
             utc_text(self._now()), actor.name, reason),
        )  # fmt: skip

    _SELECT = (
        "SELECT p.id, p.clinic_id, p.version, v.name, v.dob, v.indication, v.notes, v.at, v.by, "
        "v.reason FROM patients p JOIN patient_versions v "
        "ON v.patient_id = p.id AND v.version = p.version "
    )

    def get(self, actor: Principal, patient_id: int) -> Patient:
        if not self._readable(actor):
            raise PatientNotFound("patient", f"no patient {patient_id}")
        rows = self.store.query(self._SELECT + "WHERE p.id = ?", (patient_id,))
        if not rows:
            raise PatientNotFound("patient", f"no patient {patient_id}")
        return _patient(rows[0])

    def by_clinic_id(self, actor: Principal, clinic_id: str) -> Patient:
        if not self._readable(actor):
            raise PatientNotFound("patient", f"no patient {clinic_id}")
        rows = self.store.query(self._SELECT + "WHERE p.clinic_id = ?", (clinic_id.strip(),))
        if not rows:
            raise PatientNotFound("patient", f"no patient with clinic identifier {clinic_id!r}")
        return _patient(rows[0])

    def versions(self, actor: Principal, patient_id: int) -> list[Patient]:
        if not self._readable(actor):
            return []
        rows = self.store.query(
            "SELECT p.id, p.clinic_id, v.version, v.name, v.dob, v.indication, v.notes, v.at, "
            "v.by, v.reason FROM patients p JOIN patient_versions v ON v.patient_id = p.id "
            "WHERE p.id = ? ORDER BY v.version", (patient_id,),
        )  # fmt: skip
        return [_patient(r) for r in rows]

    def count(self, actor: Principal) -> int:
        if not self._readable(actor):
            return 0
        return int(self.store.query("SELECT count(*) FROM patients")[0][0])

    def search(
        self, actor: Principal, text: str = "", limit: int = MAX_LIST, offset: int = 0
    ) -> list[PatientRow]:
        """Patients whose name or clinic identifier contains `text` (any case), by name."""
        if not self._readable(actor):
            return []
        needle = F.text(text, "search", 200, required=False).casefold()
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        limit = max(1, min(limit, MAX_LIST))
        columns = ("SELECT id, clinic_id, name, dob, indication, pump_serial, pump_kind, "
                   "last_visit_at FROM patients ")  # fmt: skip
        if needle:
            rows = self.store.query(
                columns + "WHERE name_key LIKE ? ESCAPE '\\' OR clinic_id LIKE ? ESCAPE '\\' "
                "ORDER BY name_key, clinic_id LIMIT ? OFFSET ?", (like, like, limit, max(0, offset)),
            )  # fmt: skip
        else:
            rows = self.store.query(columns + "ORDER BY name_key, clinic_id LIMIT ? OFFSET ?",
                                    (limit, max(0, offset)))  # fmt: skip
        return [PatientRow(*r) for r in rows]

    def constant_flow_patients(
        self, actor: Principal, text: str = "", limit: int = MAX_LIST
    ) -> list[PatientRow]:
        """Patients whose pump now is constant-flow (refilled, never connected), by name."""
        if not self._readable(actor):
            return []
        needle = F.text(text, "search", 200, required=False).casefold()
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.store.query(
            "SELECT id, clinic_id, name, dob, indication, pump_serial, pump_kind, last_visit_at "
            "FROM patients WHERE pump_kind = 'constant-flow' AND (name_key LIKE ? ESCAPE '\\' "
            "OR clinic_id LIKE ? ESCAPE '\\') ORDER BY name_key, clinic_id LIMIT ?",
            (like, like, max(1, min(limit, MAX_LIST))),
        )  # fmt: skip
        return [PatientRow(*r) for r in rows]

    # -- pumps ---------------------------------------------------------------------------

    def pumps(self, actor: Principal, patient_id: int) -> list[Pump]:
        if not self._readable(actor):
            return []
        rows = self.store.query(
            _PUMP_SELECT + "WHERE patient_id = ? ORDER BY implanted_on, id", (patient_id,)
        )
        return [_pump(r) for r in rows]

    def pump_by_serial(self, actor: Principal, serial: str) -> Pump | None:
        if not self._readable(actor):
            return None
        rows = self.store.query(_PUMP_SELECT + "WHERE serial = ?", (serial,))
        return _pump(rows[0]) if rows else None

    def owner_of(self, actor: Principal, serial: str) -> PumpOwner | None:
        """The patient a connected pump belongs to, or None: then ask, never guess."""
        pump = self.pump_by_serial(actor, serial)
        if pump is None:
            return None
        return PumpOwner(self.get(actor, pump.patient_id), pump)

    def add_pump(self, actor: Principal, patient_id: int, spec: PumpSpec) -> Pump:
        """Link a pump to its patient (an implant). Its serial must belong to no one else."""
        require(actor, PatientAction.WRITE)
        patient = self.get(actor, patient_id)
        values = self._pump_values(spec, patient)
        with self.store.write() as conn:
            current = conn.execute(
                "SELECT serial FROM patient_pumps WHERE patient_id = ? AND explanted_on IS NULL",
                (patient_id,),
            ).fetchone()
            if current is not None:
                raise F.PatientError(
                    "serial",
                    f"{patient.clinic_id} has pump {current[0]} implanted: record its "
                    "replacement (or explant) instead",
                )
            pump_id = self._insert_pump(conn, actor, patient, values)
        return self._pump_id(pump_id)

    def link_connected(self, actor: Principal, patient_id: int, serial: str,
                       model: str | None, implanted_on: str | date) -> Pump:  # fmt: skip
        """A connected programmable pump the clinic has not recorded: the user chose whose."""
        owner = self.owner_of(actor, serial)
        if owner is not None:
            if owner.patient.id == patient_id:
                return owner.pump
            raise F.PumpLinkedElsewhere(
                "serial", f"pump {serial} belongs to patient {owner.patient.clinic_id}: stop"
            )
        return self.add_pump(
            actor, patient_id, PumpSpec("programmable", serial, implanted_on, model=model)
        )

    def _pump_values(self, spec: PumpSpec, patient: Patient) -> dict[str, Any]:
        kind = F.pump_kind(spec.kind)
        values: dict[str, Any] = {
            "kind": kind,
            "serial": F.serial(spec.serial),
            "model": F.text(spec.model, "model", 64, required=False) or None,
            "implanted_on": F.day(
                spec.implanted_on, "implanted_on", today=self._today(), earliest=patient.dob
            ),
            "catheter_tip": F.catheter_tip(spec.catheter_tip),
            "catheter_length_mm": F.catheter_length_mm(spec.catheter_length),
            "catheter_nl_per_cm": F.catheter_nl_per_cm(spec.catheter_volume_per_cm),
            "flow_nl_day": F.flow_nl_day(spec.flow),
            "capacity_nl": F.capacity_nl(spec.capacity),
        }
        if kind == "constant-flow" and (
            values["flow_nl_day"] is None or values["capacity_nl"] is None
        ):
            raise F.PatientError("flow", "a constant-flow pump needs its nominal flow and capacity")
        if kind == "programmable" and values["flow_nl_day"] is not None:
            raise F.PatientError("flow", "a programmable pump has no fixed flow")
        if (values["catheter_length_mm"] is None) != (values["catheter_nl_per_cm"] is None):
            raise F.PatientError(
                "catheter_length", "give the catheter length and its volume per cm together"
            )
        return values

    def _insert_pump(self, conn: sqlite3.Connection, actor: Principal, patient: Patient,
                     v: dict[str, Any]) -> int:  # fmt: skip
        owner = conn.execute(
            "SELECT p.clinic_id FROM patient_pumps pp JOIN patients p ON p.id = pp.patient_id "
            "WHERE pp.serial = ?", (v["serial"],),
        ).fetchone()  # fmt: skip
        if owner is not None:
            raise F.PumpLinkedElsewhere(
                "serial", f"pump {v['serial']} is already recorded for patient {owner[0]}: stop"
            )
        pump_id = conn.execute(
            "INSERT INTO patient_pumps (patient_id, kind, model, serial, implanted_on, "
            "catheter_tip, catheter_length_mm, catheter_nl_per_cm, flow_nl_day, capacity_nl, "
            "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (patient.id, v["kind"], v["model"], v["serial"], v["implanted_on"].isoformat(),
             v["catheter_tip"], v["catheter_length_mm"], v["catheter_nl_per_cm"],
             v["flow_nl_day"], v["capacity_nl"], utc_text(self._now()), actor.name),
        ).lastrowid  # fmt: skip
        assert pump_id is not None
        conn.execute("UPDATE patients SET pump_serial = ?, pump_kind = ? WHERE id = ?",
                     (v["serial"], v["kind"], patient.id))  # fmt: skip
        shown = {k: (x.isoformat() if isinstance(x, date) else x) for k, x in v.items()}
        self._audit(actor, "pump_linked", {"patient": patient.clinic_id, **shown},
                    serial=v["serial"])  # fmt: skip
        return pump_id

    def _pump_id(self, pump_id: int) -> Pump:
        return _pump(self.store.query(_PUMP_SELECT + "WHERE id = ?", (pump_id,))[0])

    def explant(self, actor: Principal, pump_id: int, on: str | date, reason: str) -> Pump:
        require(actor, PatientAction.WRITE)
        with self.store.write() as conn:
            self._explant(conn, actor, pump_id, on, reason)
        return self._pump_id(pump_id)

    def _explant(self, conn: sqlite3.Connection, actor: Principal, pump_id: int,
                 on: str | date, reason: str) -> Pump:  # fmt: skip
        rows = conn.execute(_PUMP_SELECT + "WHERE id = ?", (pump_id,)).fetchall()
        if not rows:
            raise PatientNotFound("pump", f"no pump {pump_id}")
        pump = _pump(rows[0])
        if pump.explanted_on is not None:
            raise F.PatientError("pump", f"pump {pump.serial} was explanted on {pump.explanted_on}")
        when = F.day(on, "explanted_on", today=self._today(), earliest=pump.implanted_on)
        why = F.text(reason, "reason", F.MAX_TEXT, required=True)
        conn.execute("UPDATE patient_pumps SET explanted_on = ?, explant_reason = ? WHERE id = ?",
                     (when.isoformat(), why, pump_id))  # fmt: skip
        conn.execute("UPDATE patients SET pump_serial = NULL, pump_kind = NULL WHERE id = ? "
                     "AND pump_serial = ?", (pump.patient_id, pump.serial))  # fmt: skip
        self._audit(actor, "pump_explanted", {"explanted_on": when.isoformat()}, reason=why,
                    serial=pump.serial)  # fmt: skip
        return pump

    def replace_pump(self, actor: Principal, patient_id: int, spec: PumpSpec, *,
                     reason: str, proposed: dict[str, Any] | None) -> tuple[Pump, Visit]:  # fmt: skip
        """Explant the current pump and implant the new one in one step; both stay recorded.

        `proposed` is the new pump's first program (carried over from the old pump's last
        therapy); it is recorded with the replacement visit, not sent anywhere.
        """
        require(actor, PatientAction.WRITE)
        patient = self.get(actor, patient_id)
        values = self._pump_values(spec, patient)
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT id FROM patient_pumps WHERE patient_id = ? AND explanted_on IS NULL",
                (patient_id,),
            ).fetchone()
            if row is None:
                raise F.PatientError(
                    "pump", f"{patient.clinic_id} has no implanted pump to replace"
                )
            old = self._explant(conn, actor, row[0], values["implanted_on"], reason)
            new_id = self._insert_pump(conn, actor, patient, values)
            summary = {"old_serial": old.serial, "old_kind": old.kind, "new_serial": values["serial"],
                       "new_kind": values["kind"], "reason": reason.strip(), "proposed": proposed}  # fmt: skip
            # On the timeline the replacement is when the new pump went in.
            when = datetime.combine(values["implanted_on"], time(12), tzinfo=UTC)
            visit_id = self._insert_visit(conn, actor, patient, new_id, "replacement", summary,
                                          at=min(when, self._now()))  # fmt: skip
        return self._pump_id(new_id), self._visit(visit_id)

    # -- visits --------------------------------------------------------------------------

    def record_visit(self, actor: Principal, patient_id: int, kind: str,
                     summary: dict[str, Any], pump_id: int | None = None) -> Visit:  # fmt: skip
        require(actor, PatientAction.RECORD_REFILL if kind == "refill" else PatientAction.WRITE)
        if kind not in VISIT_KINDS:
            raise F.PatientError("kind", f"must be one of {', '.join(VISIT_KINDS)}, got {kind!r}")
        patient = self.get(actor, patient_id)
        with self.store.write() as conn:
            visit_id = self._insert_visit(conn, actor, patient, pump_id, kind, summary)
        return self._visit(visit_id)

    def _insert_visit(self, conn: sqlite3.Connection, actor: Principal, patient: Patient,
                      pump_id: int | None, kind: str, summary: dict[str, Any],
                      at: datetime | None = None) -> int:  # fmt: skip
        text = _json(summary)
        if len(text) > 200_000:
            raise F.PatientError("summary", "the visit summary is larger than 200 kB")
        now = at if at is not None else self._now()
        visit_id = conn.execute(
            "INSERT INTO patient_visits (patient_id, pump_id, kind, at, at_s, account, summary) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (patient.id, pump_id, kind, utc_text(now), utc_seconds(now), actor.name, text),
        ).lastrowid  # fmt: skip
        assert visit_id is not None
        conn.execute(
            # The latest by (second, exact time): the same on every programmer however
            # synced visits of one second arrive (programmer/clinic/patients_sync.py).
            "UPDATE patients SET last_visit_at = ?, last_visit_s = ? WHERE id = ? "
            "AND (last_visit_s IS NULL OR last_visit_s < ? OR "
            "(last_visit_s = ? AND last_visit_at <= ?))",
            (utc_text(now), utc_seconds(now), patient.id, *(utc_seconds(now),) * 2, utc_text(now)),
        )
        self._audit(actor, "visit_recorded", {"patient": patient.clinic_id, "visit": visit_id,
                                              "kind": kind})  # fmt: skip
        return visit_id

    def _visit(self, visit_id: int) -> Visit:
        rows = self.store.query(_VISIT_SELECT + "WHERE id = ?", (visit_id,))
        return _visit(rows[0])

    def visits(self, actor: Principal, patient_id: int) -> list[Visit]:
        if not self._readable(actor):
            return []
        rows = self.store.query(_VISIT_SELECT + "WHERE patient_id = ? ORDER BY at_s, id",
                                (patient_id,))  # fmt: skip
        return [_visit(r) for r in rows]

    # -- trials --------------------------------------------------------------------------

    def add_trial(self, actor: Principal, patient_id: int, *, drug: str, kind: str,
                  started_at: datetime, concentration: str | None = None,
                  rate: str | None = None) -> Trial:  # fmt: skip
        require(actor, PatientAction.WRITE)
        from programmer.drugs import default_library
        from programmer.quantities import Dimension

        patient = self.get(actor, patient_id)
        found = default_library().find(drug) if isinstance(drug, str) else None
        if found is None or found.is_saline:
            raise F.PatientError("drug", f"{drug!r} is not a drug of the library")
        if kind not in TRIAL_KINDS:
            raise F.PatientError("kind", f"must be one of {', '.join(TRIAL_KINDS)}, got {kind!r}")
        conc = F.quantity(concentration, "concentration", Dimension.CONCENTRATION, Fraction(1),
                          Fraction(100_000_000), "1 ng/mL", "100 mg/mL")  # fmt: skip
        rate_nl = F.quantity(rate, "rate", Dimension.VOLUME_RATE, Fraction(1_000),
                             Fraction(50_000_000), "0.001 mL/day", "50 mL/day")  # fmt: skip
        if kind == "continuous" and rate_nl is None:
            raise F.PatientError("rate", "a continuous catheter trial needs its infusion rate")
        if kind != "continuous" and rate_nl is not None:
            raise F.PatientError("rate", "only a continuous catheter trial has a rate")
        start = self._moment(started_at, "started_at")
        with self.store.write() as conn:
            trial_id = conn.execute(
                "INSERT INTO trials (patient_id, drug, kind, conc_ng_ml, rate_nl_day, started_at, "
                "started_s, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (patient_id, found.name, kind, conc, rate_nl, utc_text(start), utc_seconds(start),
                 utc_text(self._now()), actor.name),
            ).lastrowid  # fmt: skip
            assert trial_id is not None
            self._audit(actor, "trial_started", {"patient": patient.clinic_id, "trial": trial_id,
                        "drug": found.name, "kind": kind, "conc_ng_ml": conc, "rate_nl_day": rate_nl})  # fmt: skip
        return self.trial(actor, trial_id)

    def _moment(self, at: datetime, field: str) -> datetime:
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise F.PatientError(field, "must be a date and time with its UTC offset")
        now = self._now()
        if to_utc(at) > now + _SKEW:
            raise F.PatientError(field, f"{at.isoformat()} is in the future")
        if at.date() < F.EARLIEST_DATE:
            raise F.PatientError(field, f"{at.isoformat()} is before {F.EARLIEST_DATE}")
        return to_utc(at)

    def _trial_row(self, trial_id: int) -> tuple[Trial, str]:
        rows = self.store.query(
            "SELECT t.id, t.patient_id, t.drug, t.kind, t.conc_ng_ml, t.rate_nl_day, t.started_at, "
            "t.started_s, t.created_by, p.clinic_id FROM trials t JOIN patients p "
            "ON p.id = t.patient_id WHERE t.id = ?", (trial_id,),
        )  # fmt: skip
        if not rows:
            raise PatientNotFound("trial", f"no trial {trial_id}")
        r = rows[0]
        return Trial(*r[:9]), r[9]

    def add_trial_dose(self, actor: Principal, trial_id: int, at: datetime, dose: str,
                       note: str = "") -> Trial:  # fmt: skip
        """A bolus given (mass), or a continuous trial's daily dose from this time on."""
        from programmer.quantities import Dimension

        trial, _ = self._trial_row(trial_id)
        per_day = trial.kind == "continuous"
        dim = Dimension.DOSE_RATE if per_day else Dimension.MASS
        hi = "100 mg/day" if per_day else "100 mg"
        amount = F.quantity(dose, "dose", dim, Fraction(1), Fraction(MAX_TRIAL_DOSE_NG),
                            "1 ng", hi)  # fmt: skip
        if amount is None:
            raise F.PatientError("dose", "is required")
        return self._entry(actor, trial_id, "dose", at, note, amount_ng=amount,
                           per_day=int(per_day))  # fmt: skip

    def add_observation(self, actor: Principal, trial_id: int, at: datetime, scale: str,
                        score: int, note: str = "") -> Trial:  # fmt: skip
        if scale not in SCALES:
            raise F.PatientError("scale", f"must be one of {', '.join(SCALES)}, got {scale!r}")
        top = SCALES[scale]
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= top:
            raise F.PatientError(
                "score",
                f"{'an' if scale[0] in 'aeiou' else 'a'} {scale} score is a whole number from 0 to {top}",
            )
        return self._entry(actor, trial_id, "observation", at, note, scale=scale, score=score)

    def add_side_effect(self, actor: Principal, trial_id: int, at: datetime, effect: str,
                        note: str = "") -> Trial:  # fmt: skip
        if effect not in SIDE_EFFECTS:
            raise F.PatientError(
                "effect", f"must be one of {', '.join(SIDE_EFFECTS)}, got {effect!r}"
            )
        if effect == "other" and not note.strip():
            raise F.PatientError("note", "say what the other side effect was")
        return self._entry(actor, trial_id, "side_effect", at, note, effect=effect)

    def _entry(self, actor: Principal, trial_id: int, kind: str, at: datetime, note: str,
               **values: Any) -> Trial:  # fmt: skip
        require(actor, PatientAction.WRITE)
        trial, clinic_id = self._trial_row(trial_id)
        when = self._moment(at, "at")
        if utc_seconds(when) < trial.started_s - 86_400:
            raise F.PatientError("at", "is more than a day before the trial started")
        clean_note = F.text(note, "note", F.MAX_TEXT, required=False)
        with self.store.write() as conn:
            if conn.execute(
                "SELECT 1 FROM trial_results WHERE trial_id = ?", (trial_id,)
            ).fetchone():
                raise F.PatientError("trial", "the trial's result is recorded; it is closed")
            count = conn.execute("SELECT count(*) FROM trial_entries WHERE trial_id = ?",
                                 (trial_id,)).fetchone()[0]  # fmt: skip
            if count >= MAX_TRIAL_ENTRIES:
                raise F.PatientError("trial", f"a trial holds at most {MAX_TRIAL_ENTRIES} entries")
            columns = ["trial_id", "seq", "kind", "at", "at_s", "note", "by", *values]
            row = [trial_id, count + 1, kind, utc_text(when), utc_seconds(when), clean_note,
                   actor.name, *values.values()]  # fmt: skip
            conn.execute(f"INSERT INTO trial_entries ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * len(row))})", row)  # fmt: skip
            self._audit(actor, f"trial_{kind}", {"patient": clinic_id, "trial": trial_id,
                        "at": utc_text(when), "note": clean_note, **values})  # fmt: skip
        return self.trial(actor, trial_id)

    def record_result(self, actor: Principal, trial_id: int, *, response: str, decision: str,
                      rationale: str = "", effective_dose: str | None = None,
                      effect_duration: str | None = None) -> Trial:  # fmt: skip
        """The trial's result and the decision, with who decided. Written once."""
        require(actor, PatientAction.WRITE)
        from programmer.quantities import Dimension

        trial, clinic_id = self._trial_row(trial_id)
        if response not in RESPONSES:
            raise F.PatientError("response", f"must be one of {', '.join(RESPONSES)}")
        if decision not in DECISIONS:
            raise F.PatientError("decision", f"must be one of {', '.join(DECISIONS)}")
        per_day = trial.kind == "continuous"
        dim = Dimension.DOSE_RATE if per_day else Dimension.MASS
        dose = F.quantity(effective_dose, "effective_dose", dim, Fraction(1),
                          Fraction(MAX_TRIAL_DOSE_NG), "1 ng", "100 mg")  # fmt: skip
        if response == "positive" and dose is None:
            raise F.PatientError("effective_dose", "a positive trial names the dose that worked")
        effect = F.quantity(effect_duration, "effect_duration", Dimension.DURATION, Fraction(0),
                            Fraction(7 * 1440), "0 min", "7 days")  # fmt: skip
        why = F.text(rationale, "rationale", F.MAX_NOTES, required=decision == "implant"
                     and response != "positive")  # fmt: skip
        with self.store.write() as conn:
            if conn.execute(
                "SELECT 1 FROM trial_results WHERE trial_id = ?", (trial_id,)
            ).fetchone():
                raise F.PatientError("trial", "the trial's result is already recorded")
            conn.execute("INSERT INTO trial_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (trial_id, response, dose, effect, decision, actor.name,
                          utc_text(self._now()), why))  # fmt: skip
            self._audit(actor, "trial_result", {"patient": clinic_id, "trial": trial_id,
                        "response": response, "effective_dose_ng": dose,
                        "effect_duration_min": effect, "decision": decision}, reason=why or None)  # fmt: skip
        return self.trial(actor, trial_id)

    def trial(self, actor: Principal, trial_id: int) -> Trial:
        require(actor, PatientAction.READ)
        trial, _ = self._trial_row(trial_id)
        entries = tuple(
            TrialEntry(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8], r[9], r[10])
            for r in self.store.query(
                "SELECT seq, kind, at, at_s, amount_ng, per_day, scale, score, effect, note, by "
                "FROM trial_entries WHERE trial_id = ? ORDER BY at_s, seq", (trial_id,),
            )
        )  # fmt: skip
        res = self.store.query(
            "SELECT response, effective_dose_ng, effect_duration_min, decision, decided_by, "
            "decided_at, rationale FROM trial_results WHERE trial_id = ?", (trial_id,),
        )  # fmt: skip
        result = TrialResult(*res[0]) if res else None
        return Trial(**{**trial.__dict__, "entries": entries, "result": result})

    def trials(self, actor: Principal, patient_id: int) -> list[Trial]:
        if not self._readable(actor):
            return []
        ids = self.store.query("SELECT id FROM trials WHERE patient_id = ? ORDER BY started_s, id",
                               (patient_id,))  # fmt: skip
        return [self.trial(actor, r[0]) for r in ids]

    # -- constant-flow refills -------------------------------------------------------------

    def record_cf_refill(self, actor: Principal, pump_id: int, *, at: datetime, removed_nl: int,
                         added_nl: int, drugs: Sequence[dict[str, Any]],
                         measured_flow_nl_day: int | None, plan: dict[str, Any]) -> CfRefill:  # fmt: skip
        require(actor, PatientAction.RECORD_REFILL)
        pump = self._pump_id(pump_id)
        if pump.kind != "constant-flow" or not pump.current:
            raise F.PatientError(
                "pump", f"pump {pump.serial} is not an implanted constant-flow pump"
            )
        for name, v in (("removed", removed_nl), ("added", added_nl)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100_000_000:
                raise F.PatientError(name, "must be whole nL from 0 to 100 mL")
        when = self._moment(at, "at")
        patient = self.get(actor, pump.patient_id)
        with self.store.write() as conn:
            visit_id = self._insert_visit(conn, actor, patient, pump_id, "refill", plan, at=when)
            refill_id = conn.execute(
                "INSERT INTO cf_refills (pump_id, visit_id, at, at_s, removed_nl, added_nl, "
                "measured_flow_nl_day, drugs, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pump_id, visit_id, utc_text(when), utc_seconds(when), removed_nl, added_nl,
                 measured_flow_nl_day, _json(list(drugs)), actor.name),
            ).lastrowid  # fmt: skip
            self._audit(actor, "cf_refill", {"patient": patient.clinic_id, "removed_nl": removed_nl,
                        "added_nl": added_nl, "measured_flow_nl_day": measured_flow_nl_day,
                        "drugs": list(drugs)}, serial=pump.serial)  # fmt: skip
        assert refill_id is not None
        return self.cf_refills(actor, pump_id)[-1]

    def cf_refills(self, actor: Principal, pump_id: int) -> list[CfRefill]:
        if not self._readable(actor):
            return []
        rows = self.store.query(
            "SELECT id, pump_id, at, at_s, removed_nl, added_nl, measured_flow_nl_day, drugs, "
            "account FROM cf_refills WHERE pump_id = ? ORDER BY at_s, id", (pump_id,),
        )  # fmt: skip
        return [
            CfRefill(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8]) for r in rows
        ]


_SKEW = timedelta(minutes=5)  # clock skew between the programmer and a typed time

_PUMP_SELECT = (
    "SELECT id, patient_id, kind, model, serial, implanted_on, explanted_on, explant_reason, "
    "catheter_tip, catheter_length_mm, catheter_nl_per_cm, flow_nl_day, capacity_nl "
    "FROM patient_pumps "
)
_VISIT_SELECT = (
    "SELECT id, patient_id, pump_id, kind, at, at_s, account, summary FROM patient_visits "
)


def _patient(r: Sequence[Any]) -> Patient:
    return Patient(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]), r[5], r[6], r[7], r[8], r[9])


def _pump(r: Sequence[Any]) -> Pump:
    return Pump(r[0], r[1], r[2], r[3], r[4], date.fromisoformat(r[5]),
                date.fromisoformat(r[6]) if r[6] else None, *r[7:])  # fmt: skip


def _visit(r: Sequence[Any]) -> Visit:
    return Visit(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))


def _details_json(d: tuple[str, date, str | None, str]) -> dict[str, Any]:
    return {"name": d[0], "dob": d[1].isoformat(), "indication": d[2], "notes": d[3]}


__all__ = ["PatientNotFound", "Patients", "PumpOwner", "PumpSpec", "StoreError"]
