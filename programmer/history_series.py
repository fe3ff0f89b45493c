"""Series for the history screen, computed from what the store holds for one pump.

Qt-free and exact: volumes are whole nanolitres, doses `Fraction`s of a nanogram. The
screen converts to float only to plot. Nothing here is ever filled in:

- an hour the pump never reported is `None` in every hourly series, and a day with
  any such hour has no daily total (`None`), so the chart shows a gap;
- a missing range of event sequence numbers is an `EventGap`; a program change could
  hide in it, so the drug in effect is unknown from the gap until the next known
  change, and an alarm raised or cleared in it has an unknown start or end;
- the reservoir estimate restarts only at a refill the pump logged, and stops at the
  first unreported hour after it.

Which drug (and concentration) was in the reservoir, from these sources only:

1. `changeset_applied` events whose `crc` matches a `program_intent` record of the
   audit trail for the same pump (this programmer sent it): the changeset's
   `therapy.drugs`, from the event's time. A `changeset_applied` with a `therapy` part
   that matches no audit record (another programmer, or another clinic's database)
   makes the drug UNKNOWN from then on. Refill-only and bolus-only changesets leave
   the therapy, and so the drug, as it was.
2. The store's `refills` table: a refill recorded with a non-empty `drugs` list sets
   the drug from that refill's time (it is recorded by the same send as 1).
3. Nothing else. Before the first known source the drug is unknown, and a dose is
   never computed from an unknown drug: the volume is still shown.

Doses are what left the reservoir. After a change of concentration the catheter still
holds the old drug (see the bridge bolus): this module does not model the catheter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Protocol

from programmer.quantities import NL_PER_ML
from programmer.store.audit import AuditAction
from programmer.store.records import InfusionHour, PumpEvent, Refill
from programmer.therapy import DrugFill

HOUR = 3600
DAY = 86_400
DOSE_SCALE = NL_PER_ML  # nl × ng/mL ÷ DOSE_SCALE = ng

Drugs = tuple[DrugFill, ...]
HourRow = tuple[int, int, int | None]  # (hour start UTC s, volume nl, of which bolus nl)


def _hour_row(h: InfusionHour) -> HourRow:
    b = h.data.get("bolus_nl")
    return int(h.hour.timestamp()), int(h.volume_nl), None if b is None else int(b)


@dataclass(frozen=True)
class DrugPeriod:
    """From `start_s` (inclusive) to `end_s` (exclusive, None: to the end of the record)."""

    start_s: int
    end_s: int | None
    drugs: Drugs | None  # None: unknown; () means saline or empty
    source: str  # how it is known, or why it is not


@dataclass(frozen=True)
class ProgramMarker:
    t_s: int
    seq: int
    crc: int | None
    parts: tuple[str, ...]
    known: bool  # matched to a program this programmer sent (audit trail)
    drugs: Drugs | None


@dataclass(frozen=True)
class RefillMarker:
    t_s: int
    seq: int
    removed_nl: int | None
    added_nl: int | None
    reservoir_nl: int | None


@dataclass(frozen=True)
class EventGap:
    first_seq: int
    last_seq: int
    after_s: int | None  # time of the last stored event before the gap
    before_s: int | None  # time of the first stored event after it


@dataclass(frozen=True)
class AlarmInterval:
    code: str
    start_s: int | None  # None: raised before the stored record or inside a gap
    end_s: int | None  # None: not cleared in the stored record (active, or cleared in a gap)
    start_bound_s: int  # where to draw from when start_s is None
    end_bound_s: int  # where to draw to when end_s is None


@dataclass(frozen=True)
class PtmHour:
    hour: int  # 0..23, pump local time
    granted: int
    denied: int
    denied_reasons: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DaySummary:
    start_s: int  # local midnight, as UTC seconds
    label: str  # YYYY-MM-DD, pump local
    hours_reported: int  # of 24
    volume_nl: int | None  # None unless all 24 hours were reported
    bolus_nl: int | None
    dose_ng: Mapping[str, Fraction | None]  # per drug name; None when not known
    note: str | None  # why a dose is missing


@dataclass(frozen=True)
class AccuracyPoint:
    """One refill's check of the pump: what was drawn out against what was expected."""

    refill_id: int
    at: str
    removed_nl: int
    expected_nl: int | None
    last_fill_nl: int | None
    # (actual - programmed) / programmed delivery, exact, when both volumes are known.
    deviation: Fraction | None
    recorded_pct: float | None  # as stored with the refill (display only)
    finding: str | None


@dataclass(frozen=True)
class ProgramRecord:
    """A program this programmer sent, from its audit `program_intent` record."""

    audit_seq: int
    crc: int
    drugs: Drugs | None  # None: the changeset held no therapy part


@dataclass(frozen=True)
class RefillDrugs:
    refill_id: int
    t_s: int
    drugs: Drugs


@dataclass
class History:
    serial: str
    utc_offset_min: int
    hour_starts: list[int]  # every hour from the first to the last reported, UTC seconds
    hour_volume_nl: list[int | None]
    hour_bolus_nl: list[int | None]
    # Per drug name: nl × ng/mL of each hour, an exact integer; ÷ DOSE_SCALE gives ng.
    hour_dose_scaled: dict[str, list[int | None]]
    hour_gaps: list[tuple[int, int]]  # (first, last) unreported hour starts
    days: list[DaySummary]
    drug_names: list[str]
    drug_periods: list[DrugPeriod]
    program_markers: list[ProgramMarker]
    refill_markers: list[RefillMarker]
    reservoir_t: list[int]
    reservoir_nl: list[int | None]
    ptm_by_hour: list[PtmHour]
    alarms: list[AlarmInterval]
    event_gaps: list[EventGap]
    accuracy: list[AccuracyPoint]
    events_stored: int

    @property
    def empty(self) -> bool:
        return not self.hour_starts and not self.events_stored

    def day_series(self, drug: str | None) -> tuple[list[int], list[Fraction | None]]:
        """(day start, total) for volume in nl (drug None) or dose in ng of `drug`."""
        xs = [d.start_s for d in self.days]
        if drug is None:
            return xs, [None if d.volume_nl is None else Fraction(d.volume_nl) for d in self.days]
        return xs, [d.dose_ng.get(drug) for d in self.days]

    def hour_series(self, drug: str | None) -> tuple[list[int], list[Fraction | None]]:
        """(hour start, nl delivered) or (hour start, ng of `drug`), exact."""
        xs, values, scale = self.hour_scaled(drug)
        return xs, [None if v is None else Fraction(v, scale) for v in values]

    def hour_scaled(self, drug: str | None) -> tuple[list[int], list[int | None], int]:
        """The same as integers and their divisor (1 for nl, DOSE_SCALE for ng): fast to plot."""
        if drug is None:
            return self.hour_starts, self.hour_volume_nl, 1
        none: list[int | None] = [None] * len(self.hour_starts)
        return self.hour_starts, self.hour_dose_scaled.get(drug, none), DOSE_SCALE

    def hour_dose_ng(self, drug: str) -> list[Fraction | None]:
        return self.hour_series(drug)[1]

    def unknown_drug_days(self) -> int:
        return sum(1 for d in self.days if d.volume_nl is not None and d.note == "drug unknown")


# --- building blocks (each tested on its own) -----------------------------------------


def _ts(at: datetime) -> int:
    return int(at.timestamp())


def event_gaps(events: Sequence[PumpEvent], missing: Iterable[tuple[int, int]]) -> list[EventGap]:
    """Missing seq ranges with the times of the stored events either side."""
    by_seq = {e.seq: _ts(e.at) for e in events}
    seqs = sorted(by_seq)
    out: list[EventGap] = []
    for a, b in missing:
        after = max((s for s in seqs if s < a), default=None)
        before = min((s for s in seqs if s > b), default=None)
        out.append(
            EventGap(
                a,
                b,
                None if after is None else by_seq[after],
                None if before is None else by_seq[before],
            )
        )
    return out


def _drugs_of(raw: Any) -> Drugs:
    return tuple(DrugFill(str(d["name"]), int(d["conc_ng_ml"])) for d in raw)


def program_markers(
    events: Sequence[PumpEvent], programs: Mapping[int, ProgramRecord]
) -> list[ProgramMarker]:
    out: list[ProgramMarker] = []
    for e in events:
        if e.kind != "changeset_applied":
            continue
        crc = e.data.get("crc")
        parts = tuple(str(p) for p in e.data.get("parts", ()))
        prog = programs.get(int(crc)) if crc is not None else None
        out.append(
            ProgramMarker(
                _ts(e.at),
                e.seq,
                None if crc is None else int(crc),
                parts,
                prog is not None,
                prog.drugs if prog is not None else None,
            )
        )
    return out


def drug_periods(
    markers: Sequence[ProgramMarker],
    refill_drugs: Sequence[RefillDrugs],
    gaps: Sequence[EventGap],
) -> list[DrugPeriod]:
    """What was in the reservoir and since when; see the module docstring for the rules."""
    changes: list[tuple[int, int, Drugs | None, str]] = []  # (t, order, drugs, source)
    for m in markers:
        if "therapy" not in m.parts:
            continue
        if m.known and m.drugs is not None:
            changes.append((m.t_s, 1, m.drugs, f"program sent by this programmer (event {m.seq})"))
        else:
            changes.append(
                (
                    m.t_s,
                    1,
                    None,
                    f"program not sent from this database (event {m.seq}): drug unknown",
                )
            )
    for r in refill_drugs:
        changes.append((r.t_s, 2, r.drugs, f"refill record {r.refill_id}"))
    for g in gaps:
        start = g.after_s if g.after_s is not None else g.before_s
        if start is not None:
            changes.append(
                (start, 3, None, f"events {g.first_seq}–{g.last_seq} missing: drug unknown")
            )
    changes.sort(key=lambda c: (c[0], c[1]))
    periods: list[DrugPeriod] = []
    for t, _, drugs, source in changes:
        if periods and periods[-1].start_s == t:
            periods[-1] = DrugPeriod(t, None, drugs, source)  # a later source the same second
            continue
        if periods:
            last = periods[-1]
            if last.drugs == drugs:
                continue
            periods[-1] = DrugPeriod(last.start_s, t, last.drugs, last.source)
        periods.append(DrugPeriod(t, None, drugs, source))
    return periods


def drugs_for_hour(periods: Sequence[DrugPeriod], start_s: int) -> tuple[Drugs | None, str | None]:
    """The drugs for a whole hour, or None with why (unknown, or changed within the hour)."""
    end_s = start_s + HOUR
    found: list[Drugs | None] = []
    for p in periods:
        if p.start_s >= end_s:
            break
        if p.end_s is not None and p.end_s <= start_s:
            continue
        found.append(p.drugs)
    if not found or (periods and periods[0].start_s > start_s):
        return None, "drug unknown"
    if any(f is None for f in found):
        return None, "drug unknown"
    first = found[0]
    if any(_concs(f) != _concs(first) for f in found[1:]):
        return None, "drug changed within an hour"
    return first, None


def _concs(drugs: Drugs | None) -> dict[str, int]:
    return {} if drugs is None else {d.name: d.conc_ng_ml for d in drugs}


def dose_ng(volume_nl: int, conc_ng_ml: int) -> Fraction:
    return Fraction(volume_nl * conc_ng_ml, NL_PER_ML)


def ptm_by_hour(events: Iterable[PumpEvent], utc_offset_min: int) -> list[PtmHour]:
    granted = [0] * 24
    denied = [0] * 24
    reasons: list[dict[str, int]] = [{} for _ in range(24)]
    for e in events:
        if e.kind != "ptm_request":
            continue
        local = _ts(e.at) + utc_offset_min * 60
        h = (local % DAY) // HOUR
        if e.data.get("granted"):
            granted[h] += 1
        else:
            denied[h] += 1
            why = str(e.data.get("reason", "unknown"))
            reasons[h][why] = reasons[h].get(why, 0) + 1
    return [PtmHour(h, granted[h], denied[h], reasons[h]) for h in range(24)]


def alarm_intervals(
    events: Sequence[PumpEvent], gaps: Sequence[EventGap], end_s: int
) -> list[AlarmInterval]:
    """alarm_raised/alarm_cleared pairs per code; a missing end is None, not guessed."""
    start_of_record = _ts(events[0].at) if events else end_s
    open_: dict[str, tuple[int | None, int, int]] = {}  # code -> (start, bound, seq)
    out: list[AlarmInterval] = []
    gap_seqs = [(g.first_seq, g.last_seq, g) for g in gaps]

    def gap_between(seq_a: int, seq_b: int) -> EventGap | None:
        for a, b, g in gap_seqs:
            if seq_a < a and b < seq_b:
                return g
        return None

    for e in events:
        if e.kind not in ("alarm_raised", "alarm_cleared"):
            continue
        code = str(e.data.get("code", "?"))
        t = _ts(e.at)
        if e.kind == "alarm_raised":
            if code in open_:  # raised twice: the clear between must be in a gap
                start, bound, seq = open_.pop(code)
                g = gap_between(seq, e.seq)
                cleared_by = g.before_s if g is not None and g.before_s is not None else t
                out.append(AlarmInterval(code, start, None, bound, cleared_by))
            open_[code] = (t, t, e.seq)
        else:
            if code in open_:
                start, bound, _ = open_.pop(code)
                out.append(AlarmInterval(code, start, t, bound, t))
            else:
                earlier = [g for g in gaps if g.last_seq < e.seq]
                bound = max(
                    (g.after_s or start_of_record for g in earlier), default=start_of_record
                )
                out.append(AlarmInterval(code, None, t, bound, t))
    for code, (start, bound, _) in open_.items():
        out.append(AlarmInterval(code, start, None, bound, max(end_s, bound)))
    out.sort(key=lambda a: (a.start_bound_s, a.code))
    return out


def reservoir_estimate(
    refills: Sequence[RefillMarker], hour_starts: Sequence[int], volumes: Sequence[int | None]
) -> tuple[list[int], list[int | None]]:
    """The reservoir between refills: the fill minus the volume delivered since.

    Starts at each refill the pump logged with its `reservoir_nl`. The hour holding the
    refill counts as delivered after it, so the estimate errs low by at most one hour's
    volume. It stops (None) at the first unreported hour and restarts at the next refill;
    it never goes below 0 (the pump's own estimate stops there too). An estimate: the
    pump never measures its reservoir; only a refill shows what was really left.
    """
    index = {h: i for i, h in enumerate(hour_starts)}
    xs: list[int] = []
    ys: list[int | None] = []
    fills = [r for r in refills if r.reservoir_nl is not None]
    for n, r in enumerate(fills):
        assert r.reservoir_nl is not None
        until = fills[n + 1].t_s if n + 1 < len(fills) else None
        level = r.reservoir_nl
        if xs:
            xs.append(r.t_s)
            ys.append(None)  # no line from the previous segment into a refill
        xs.append(r.t_s)
        ys.append(level)
        h = r.t_s - r.t_s % HOUR
        i = index.get(h)
        while True:
            if until is not None and h + HOUR > until:
                break
            if i is None or i >= len(hour_starts) or hour_starts[i] != h:
                break
            v = volumes[i]
            if v is None:
                xs.append(h)
                ys.append(None)
                break
            level = max(0, level - v)
            xs.append(h + HOUR)
            ys.append(level)
            h += HOUR
            i += 1
    return xs, ys


def accuracy(refills: Sequence[Refill]) -> list[AccuracyPoint]:
    out: list[AccuracyPoint] = []
    for r in refills:
        dev: Fraction | None = None
        if r.expected_nl is not None and r.last_fill_nl is not None:
            programmed = r.last_fill_nl - r.expected_nl
            actual = r.last_fill_nl - r.removed_nl
            if programmed > 0:
                dev = Fraction(actual - programmed, programmed)
        out.append(
            AccuracyPoint(
                r.id,
                r.at,
                r.removed_nl,
                r.expected_nl,
                r.last_fill_nl,
                dev,
                r.discrepancy_pct,
                r.finding,
            )
        )
    return out


# --- the whole history ------------------------------------------------------------------


def build_history(
    serial: str,
    events: Sequence[PumpEvent],
    hours: Sequence[InfusionHour | HourRow],
    *,
    programs: Mapping[int, ProgramRecord] = {},
    refill_drugs: Sequence[RefillDrugs] = (),
    refills: Sequence[Refill] = (),
    missing_events: Sequence[tuple[int, int]] = (),
    utc_offset_min: int = 0,
    now_s: int | None = None,
) -> History:
    """Every series of the history screen; pure, so it is tested without a database."""
    events = sorted(events, key=lambda e: e.seq)
    gaps = event_gaps(events, missing_events)
    markers = program_markers(events, programs)
    periods = drug_periods(markers, refill_drugs, gaps)
    by_hour: dict[int, HourRow] = {}
    for h in hours:
        row = h if isinstance(h, tuple) else _hour_row(h)
        by_hour[row[0]] = row
    if by_hour:
        first, last = min(by_hour), max(by_hour)
        starts = list(range(first, last + HOUR, HOUR))
    else:
        starts = []
    volume: list[int | None] = []
    bolus: list[int | None] = []
    last_drugs: Drugs | None = None
    concs: dict[str, int] = {}
    hour_notes: list[str | None] = []
    names: list[str] = []
    for p in periods:
        for d in p.drugs or ():
            if d.name not in names:
                names.append(d.name)
    doses: dict[str, list[int | None]] = {n: [] for n in names}
    gaps_h: list[tuple[int, int]] = []
    period_i = 0
    for s in starts:
        got = by_hour.get(s)
        if got is None:
            volume.append(None)
            bolus.append(None)
            hour_notes.append("hour not reported")
            for n in names:
                doses[n].append(None)
            if gaps_h and gaps_h[-1][1] == s - HOUR:
                gaps_h[-1] = (gaps_h[-1][0], s)
            else:
                gaps_h.append((s, s))
            continue
        v = got[1]
        volume.append(v)
        bolus.append(got[2])
        while period_i + 1 < len(periods) and periods[period_i + 1].start_s <= s:
            period_i += 1  # skip periods long over, keeps the lookup short
        drugs: Drugs | None = None
        note: str | None = "drug unknown"
        if periods:
            p = periods[period_i]
            if p.start_s <= s and (p.end_s is None or p.end_s >= s + HOUR):
                drugs, note = p.drugs, (None if p.drugs is not None else "drug unknown")
            else:
                drugs, note = drugs_for_hour(periods[period_i:], s)
        hour_notes.append(note)
        if drugs is not last_drugs:
            last_drugs, concs = drugs, _concs(drugs)
        for n in names:
            if drugs is None:
                doses[n].append(None)
            else:
                doses[n].append(v * concs.get(n, 0))
    days = _days(starts, volume, bolus, doses, hour_notes, names, utc_offset_min)
    refill_marks = [
        RefillMarker(
            _ts(e.at),
            e.seq,
            _int_or_none(e.data.get("removed_nl")),
            _int_or_none(e.data.get("added_nl")),
            _int_or_none(e.data.get("reservoir_nl")),
        )
        for e in events
        if e.kind == "refill"
    ]
    res_t, res_v = reservoir_estimate(refill_marks, starts, volume)
    ends = ([starts[-1] + HOUR] if starts else []) + ([_ts(events[-1].at)] if events else [])
    end = now_s if now_s is not None else max(ends, default=0)
    return History(
        serial=serial,
        utc_offset_min=utc_offset_min,
        hour_starts=starts,
        hour_volume_nl=volume,
        hour_bolus_nl=bolus,
        hour_dose_scaled=doses,
        hour_gaps=gaps_h,
        days=days,
        drug_names=names,
        drug_periods=periods,
        program_markers=markers,
        refill_markers=refill_marks,
        reservoir_t=res_t,
        reservoir_nl=res_v,
        ptm_by_hour=ptm_by_hour(events, utc_offset_min),
        alarms=alarm_intervals(events, gaps, end),
        event_gaps=gaps,
        accuracy=accuracy(refills),
        events_stored=len(events),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _days(
    starts: Sequence[int],
    volume: Sequence[int | None],
    bolus: Sequence[int | None],
    doses: Mapping[str, Sequence[int | None]],
    notes: Sequence[str | None],
    names: Sequence[str],
    utc_offset_min: int,
) -> list[DaySummary]:
    """Local days (the pump's fixed offset); a total only when all 24 hours were reported."""
    off = utc_offset_min * 60
    out: list[DaySummary] = []
    i = 0
    n = len(starts)
    while i < n:
        local = starts[i] + off
        day_start = local - local % DAY - off
        j = i
        while j < n and starts[j] < day_start + DAY:
            j += 1
        reported = sum(1 for k in range(i, j) if volume[k] is not None)
        complete = reported == 24 and j - i == 24
        vol: int | None = None
        bol: int | None = None
        dose: dict[str, Fraction | None] = {}
        note: str | None = None
        if complete:
            vol = sum(v for v in volume[i:j] if v is not None)
            bs = bolus[i:j]
            bol = None if any(b is None for b in bs) else sum(b for b in bs if b is not None)
            bad = [notes[k] for k in range(i, j) if notes[k] is not None]
            if bad:
                note = bad[0]
            for name in names:
                parts = doses[name][i:j]
                dose[name] = (
                    None
                    if None in parts
                    else Fraction(sum(p for p in parts if p is not None), DOSE_SCALE)
                )
        else:
            note = f"{24 - reported} of 24 hours not reported"
            dose = dict.fromkeys(names)
        label = datetime.fromtimestamp(day_start + off, UTC).strftime("%Y-%m-%d")
        out.append(DaySummary(day_start, label, reported, vol, bol, dose, note))
        i = j
    return out


# --- loading from the store ---------------------------------------------------------------


class _Records(Protocol):
    @property
    def store(self) -> Any: ...
    @property
    def trail(self) -> Any: ...
    def events(
        self, serial: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[PumpEvent]: ...
    def missing_event_ranges(
        self, serial: str, first: int | None = None, last: int | None = None
    ) -> list[tuple[int, int]]: ...
    def refills(self, serial: str) -> list[Refill]: ...


def programs_from_trail(trail: Any, serial: str) -> dict[int, ProgramRecord]:
    """crc -> the program this programmer meant, from program_intent audit records."""
    out: dict[int, ProgramRecord] = {}
    for rec in trail.query(pump=serial, action=AuditAction.PROGRAM_INTENT):
        after = rec.after_value() or {}
        crc = after.get("crc")
        changeset = after.get("changeset") or {}
        if crc is None:
            continue
        therapy = changeset.get("therapy")
        drugs = _drugs_of(therapy.get("drugs", ())) if isinstance(therapy, dict) else None
        out[int(crc)] = ProgramRecord(int(rec.seq), int(crc), drugs)
    return out


def refill_drugs_from_store(store: Any, serial: str) -> list[RefillDrugs]:
    rows = store.query(
        "SELECT id, at_s, drugs FROM refills WHERE pump_serial = ? ORDER BY at_s, id", (serial,)
    )
    out: list[RefillDrugs] = []
    for rid, at_s, text in rows:
        drugs = _drugs_of(json.loads(text)) if text else ()
        if drugs:
            out.append(RefillDrugs(int(rid), int(at_s), drugs))
    return out


def pumps_with_history(store: Any) -> list[tuple[str, str | None]]:
    """(serial, model) of every pump in the store, most recently seen first."""
    rows = store.query("SELECT serial, model FROM pumps ORDER BY last_seen_s DESC, serial")
    return [(str(s), None if m is None else str(m)) for s, m in rows]


def load_history(records: _Records, serial: str, utc_offset_min: int = 0) -> History:
    """Everything the store holds for one pump, as series. Read only: works offline."""
    # The same rows as Records.infusion_hours, read as plain numbers: five years of
    # hours load in a fraction of the time it takes to build 43,800 objects.
    rows = records.store.query(
        "SELECT hour_s, volume_nl, json_extract(data, '$.bolus_nl') FROM infusion_hours"
        " WHERE pump_serial = ? ORDER BY hour_s",
        (serial,),
    )
    hours: list[HourRow] = [(int(t), int(v), None if b is None else int(b)) for t, v, b in rows]
    return build_history(
        serial,
        records.events(serial),
        hours,
        programs=programs_from_trail(records.trail, serial),
        refill_drugs=refill_drugs_from_store(records.store, serial),
        refills=records.refills(serial),
        missing_events=records.missing_event_ranges(serial),
        utc_offset_min=utc_offset_min,
    )
