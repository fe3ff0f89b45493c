"""A made-up pump history for screenshots, the redraw benchmark and tests. Never clinical.

Written through the store's own API (records and audit trail), as a history read and
programs sent from this programmer would leave it, with gaps on purpose: some hours the
pump never reported and a range of events that was never read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from programmer.store import AuditAction, InfusionHour, Principal, PumpEvent, Role
from programmer.store.records import Records

HOUR = 3600
DAY = 86_400
SERIAL = "DEMO-40-0001"
DRUG = "morphine"


def _at(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def fill_demo_history(
    records: Records,
    *,
    end_t: int,
    days: int,
    serial: str = SERIAL,
    hour_gap_days: tuple[int, int] | None = (200, 203),
    event_gap: bool = True,
    refill_every_days: int = 90,
) -> dict[str, Any]:
    """`days` of hourly delivery ending at `end_t`, with refills, programs, PTM and alarms."""
    start = (end_t - days * DAY) // DAY * DAY
    records.upsert_pump(serial, "ITP-40")
    nurse = Principal("nurse.demo", Role.NURSE)
    events: list[PumpEvent] = []
    seq = 0

    def event(t: int, kind: str, **data: Any) -> None:
        nonlocal seq
        seq += 1
        events.append(PumpEvent(seq, _at(t), kind, data))

    conc = 10_000_000  # ng/mL: 10 mg/mL
    rate = 200_000  # nl/day
    crc = 1000
    level = 0
    hours: list[InfusionHour] = []
    gap = hour_gap_days or (-1, -1)
    fill = 36_000_000
    accuracy_ppm = [0, 30_000, -20_000, 60_000, 10_000, 170_000, -40_000, 5_000]
    n_refill = 0
    for day in range(days):
        t_day = start + day * DAY
        if day % refill_every_days == 0:
            t = t_day + 10 * HOUR
            if day and day % (2 * refill_every_days) == 0:
                rate = rate * 21 // 20  # a 5 % dose increase every other refill
            if day == 4 * refill_every_days:
                # a stronger solution at half the volume: the same dose, refills last longer
                conc, rate = 20_000_000, rate // 2
            crc += 1
            drugs = [{"name": DRUG, "conc_ng_ml": conc}]
            changeset = {
                "therapy": {"drugs": drugs, "mode": "continuous", "steps": [[0, rate]]},
                "refill": {"removed_nl": 0, "added_nl": fill, "reservoir_nl": fill},
            }
            records.trail.append(
                AuditAction.PROGRAM_INTENT,
                account="dr.demo",
                role="physician",
                pump_serial=serial,
                after={"changeset": changeset, "crc": crc},
                outcome="intent",
            )
            expected = level
            ppm = accuracy_ppm[n_refill % len(accuracy_ppm)]
            delivered = fill - level if day else 0
            removed = max(0, fill - delivered - delivered * ppm // 1_000_000) if day else 0
            removed = removed // 100_000 * 100_000  # read off a syringe to 0.1 mL
            event(t - 60, "alarm_cleared", code="low_reservoir") if day else None
            event(t, "refill", removed_nl=removed, added_nl=fill, reservoir_nl=fill)
            event(t + 1, "changeset_applied", crc=crc, programmer_id="itp-demo", parts=["therapy", "refill"])  # fmt: skip
            records.record_refill(
                nurse,
                serial,
                removed_nl=removed,
                added_nl=fill,
                at=_at(t),
                expected_nl=expected if day else None,
                last_fill_nl=fill if day else None,
                discrepancy_pct=None,
                finding="refill_discrepancy" if abs(ppm) > 145_000 else None,
                drugs=drugs,
            )
            n_refill += 1
            level = fill
        if day == 150:
            event(t_day + 3 * HOUR, "alarm_raised", code="motor_stall")
            event(t_day + 9 * HOUR, "alarm_cleared", code="motor_stall")
        if event_gap and day == 300:
            seq += 40  # events that were never read: a gap, not filled in
        for k, h in enumerate((8, 9, 13, 17, 21, 22)):
            if (day * 7 + k) % 5 < 2:
                granted = (day + k) % 4 != 0
                event(t_day + h * HOUR + 600, "ptm_request", granted=granted,
                      reason="ok" if granted else ("lockout" if k % 2 else "max_per_day"))  # fmt: skip
        for h in range(24):
            t = t_day + h * HOUR
            if gap[0] <= day < gap[1]:
                continue
            basal = rate // 24
            bolus = 10_000 if h in (9, 18) and day % 3 == 0 else 0
            was = level
            level = max(0, level - basal - bolus)
            if was > 2_000_000 >= level:
                event(t + HOUR - 1, "alarm_raised", code="low_reservoir")
            hours.append(
                InfusionHour(_at(t), basal + bolus, {"basal_nl": basal, "bolus_nl": bolus})
            )
    records.save_events(serial, events)
    records.save_infusion_hours(serial, hours)
    return {"serial": serial, "start": start, "events": len(events), "hours": len(hours)}
