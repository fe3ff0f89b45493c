"""A patient's course across pump replacements, for the history screen and the visit report.

The session's history is per pump serial (programmer.history_series). When that pump
belongs to a patient who had other pumps, the screen shows one timeline: every pump's
history joined on one time axis, each pump's stretch (implant to explant) and each
replacement. Joining adds nothing: each hour keeps what its own pump reported, and the
hours between two pumps are gaps, as any hour no pump reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from programmer.history_series import HOUR, History, PtmHour, _days
from programmer.patients.access import PatientAction, may
from programmer.patients.records import Patient, Pump
from programmer.patients.registry import Patients
from programmer.patients.timeline import Entry, Stretch, build, stretches
from programmer.store.accounts import Principal

MAX_PUMPS = 20  # a patient's pumps over a lifetime; more is a data error, not a course

_HourValue = tuple[int | None, int | None, dict[str, int | None], str | None]


@dataclass(frozen=True)
class PumpCourse:
    """One patient's pumps over time, and their histories joined."""

    patient: Patient
    pumps: list[Pump]
    stretches: list[Stretch]
    replacements: list[Entry]
    history: History

    @property
    def serials(self) -> list[str]:
        return [p.serial for p in self.pumps]

    def earlier(self, serial: str) -> list[Pump]:
        """The pumps the patient had before `serial` (implant order)."""
        ids = [p.serial for p in self.pumps]
        return self.pumps[: ids.index(serial)] if serial in ids else []


def owner_course(
    patients: Patients, actor: Principal | None, serial: str
) -> tuple[Patient, list[Pump]] | None:
    """The patient of `serial` and all their pumps, when that patient had more than one.

    None for a pump of no patient, a single-pump patient, or an account that may not read
    patients: the history then stays the pump's own, as before.
    """
    if actor is None or not may(actor, PatientAction.READ):
        return None
    owner = patients.owner_of(actor, serial)
    if owner is None:
        return None
    pumps = patients.pumps(actor, owner.patient.id)[:MAX_PUMPS]
    if len(pumps) < 2:
        return None
    return owner.patient, pumps


def load_course(
    patients: Patients,
    actor: Principal | None,
    serial: str,
    load: Callable[[str], History],
) -> PumpCourse | None:
    """The joined history of `serial`'s patient (None: the pump's own history applies).

    `load` reads one pump's history (history_series.load_history with the records).
    """
    found = owner_course(patients, actor, serial)
    if found is None or actor is None:
        return None
    patient, pumps = found
    histories = [load(p.serial) for p in pumps]
    tl = build(patients, actor, patient.id)
    return PumpCourse(patient, pumps, stretches(pumps), tl.replacements(), join(histories, serial))


def _hour_values(h: History) -> dict[int, _HourValue]:
    """Each reported hour of one pump: (volume, bolus, scaled dose per drug, note)."""
    out: dict[int, _HourValue] = {}
    no_drugs_known = not h.drug_periods
    for i, s in enumerate(h.hour_starts):
        v = h.hour_volume_nl[i]
        if v is None:
            continue
        doses = {n: h.hour_dose_scaled[n][i] for n in h.drug_names}
        unknown = no_drugs_known or any(d is None for d in doses.values())
        out[s] = (v, h.hour_bolus_nl[i], doses, "drug unknown" if unknown else None)
    return out


def _ptm(histories: Sequence[History]) -> list[PtmHour]:
    out = []
    for hour in range(24):
        granted = denied = 0
        reasons: dict[str, int] = {}
        for h in histories:
            for p in h.ptm_by_hour:
                if p.hour == hour:
                    granted += p.granted
                    denied += p.denied
                    for k, n in p.denied_reasons.items():
                        reasons[k] = reasons.get(k, 0) + n
        out.append(PtmHour(hour, granted, denied, reasons))
    return out


def join(histories: Sequence[History], serial: str) -> History:
    """Several pumps' histories on one axis (implant order); an hour two pumps both
    reported keeps the later pump's figures (the pump implanted then)."""
    if len(histories) == 1:
        return histories[0]
    offset = histories[-1].utc_offset_min
    hours: dict[int, _HourValue] = {}
    names: list[str] = []
    for h in histories:
        hours.update(_hour_values(h))
        names += [n for n in h.drug_names if n not in names]
    starts = list(range(min(hours), max(hours) + HOUR, HOUR)) if hours else []
    volume: list[int | None] = []
    bolus: list[int | None] = []
    notes: list[str | None] = []
    doses: dict[str, list[int | None]] = {n: [] for n in names}
    gaps: list[tuple[int, int]] = []
    for s in starts:
        got = hours.get(s)
        if got is None:
            volume.append(None)
            bolus.append(None)
            notes.append("hour not reported")
            for n in names:
                doses[n].append(None)
            if gaps and gaps[-1][1] == s - HOUR:
                gaps[-1] = (gaps[-1][0], s)
            else:
                gaps.append((s, s))
            continue
        v, b, d, note = got
        volume.append(v)
        bolus.append(b)
        notes.append(note)
        for n in names:
            # A drug that pump never held: none of it given, when that hour's drugs are known.
            doses[n].append(d.get(n, None if note else 0))
    reservoir_t: list[int] = []
    reservoir_nl: list[int | None] = []
    for h in histories:
        if reservoir_t and h.reservoir_t:
            reservoir_t.append(h.reservoir_t[0])
            reservoir_nl.append(None)  # a break between two pumps' reservoirs
        reservoir_t += h.reservoir_t
        reservoir_nl += h.reservoir_nl

    def joined(pick: Callable[[History], list]) -> list:  # type: ignore[type-arg]
        return [x for h in histories for x in pick(h)]

    return History(
        serial=serial,
        utc_offset_min=offset,
        hour_starts=starts,
        hour_volume_nl=volume,
        hour_bolus_nl=bolus,
        hour_dose_scaled=doses,
        hour_gaps=gaps,
        days=_days(starts, volume, bolus, doses, notes, names, offset),
        drug_names=names,
        drug_periods=joined(lambda h: h.drug_periods),
        program_markers=joined(lambda h: h.program_markers),
        refill_markers=joined(lambda h: h.refill_markers),
        reservoir_t=reservoir_t,
        reservoir_nl=reservoir_nl,
        ptm_by_hour=_ptm(histories),
        alarms=joined(lambda h: h.alarms),
        event_gaps=joined(lambda h: h.event_gaps),
        accuracy=joined(lambda h: h.accuracy),
        events_stored=sum(h.events_stored for h in histories),
    )


@dataclass(frozen=True)
class PumpsOfPatient:
    """For a visit report: whose pump this is, the pumps before it, and each replacement."""

    patient: Patient
    pumps: list[Pump]
    replacements: list[Entry]
    serial: str  # the pump of the visit

    @property
    def earlier(self) -> list[Pump]:
        ids = [p.serial for p in self.pumps]
        return self.pumps[: ids.index(self.serial)] if self.serial in ids else []


def pumps_of_patient(
    patients: Patients, actor: Principal | None, serial: str
) -> PumpsOfPatient | None:
    """The patient a pump belongs to, with all their pumps; None for a pump of no patient
    (or an account that may not read patients)."""
    if actor is None or not may(actor, PatientAction.READ):
        return None
    owner = patients.owner_of(actor, serial)
    if owner is None:
        return None
    pumps = patients.pumps(actor, owner.patient.id)[:MAX_PUMPS]
    replaced = build(patients, actor, owner.patient.id).replacements()
    return PumpsOfPatient(owner.patient, pumps, replaced, serial)
