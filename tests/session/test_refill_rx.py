from datetime import UTC, datetime

from programmer.planner import PumpContext, plan
from programmer.session.refill_rx import prescription_from_therapy, with_refill
from programmer.therapy import DrugFill, PatientBolus, Step, Therapy

NOW = datetime(2026, 3, 1, tzinfo=UTC)
FLEX = Therapy(
    drugs=(DrugFill("morphine", 7_000_000),),
    mode="flex",
    cycle_days=2,
    steps=(Step(0, 171_429), Step(450, 300_001), Step(1440 + 60, 96_000)),
    ptm=PatientBolus(True, 10_001, 10, 120, 4),
    low_alarm_nl=2_500_000,
    catheter_volume_nl=156_000,
)


def _pump(t: Therapy) -> PumpContext:
    return PumpContext("ITP-40", "S", t, 10_000_000, 0)


def test_the_pump_therapy_round_trips_exactly_by_rate_and_by_dose():
    for keep in ("rate", "dose"):
        rx = prescription_from_therapy(FLEX, keep=keep)
        p = plan(rx, now=NOW, local_offset_at=lambda t: 0, pump=_pump(FLEX))
        assert p.therapy == FLEX, (keep, p.findings)


def test_a_new_concentration_keeps_the_daily_dose():
    rx = with_refill(prescription_from_therapy(FLEX, keep="dose"), removed="5 mL", added="20 mL",
                     drugs=[{"name": "morphine", "concentration": "14 mg/mL"}], bridge=True)  # fmt: skip
    p = plan(rx, now=NOW, local_offset_at=lambda t: 0, pump=_pump(FLEX))
    assert p.therapy is not None and p.bolus is not None and p.bolus.kind == "bridge"
    old = [s.rate_nl_day for s in FLEX.steps]
    new = [s.rate_nl_day for s in p.therapy.steps]
    assert new == [round(r / 2) for r in old]  # twice as strong: half the volume, same dose
    assert p.therapy.ptm.volume_nl == round(10_001 / 2)
