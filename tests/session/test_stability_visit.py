"""Issue 12, class 10: a reprogramming visit (no refill) checks the stability of the fill in the pump."""

from __future__ import annotations

from .conftest import Clinic, Emulator
from .test_session_e2e import _fill, _observe, _rx


def test_reprogramming_a_fill_past_its_stability_is_flagged(
    clinic: Clinic, emulator: Emulator
) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    _fill(s)  # morphine: 90 days (MDT_SYNCHROMED; INFUMORPH)
    young = s.propose(_rx(dose="1.1 mg/day"))
    assert "stability_expired" not in {f.code for f in young.plan.findings}
    assert young.plan.refill_due_reason in ("drug_stability", "low_reservoir_alarm")
    assert young.plan.stability_until is not None
    _observe(emulator, s, lambda c: c.sim_advance(100 * 86400))
    s.reconnect()
    old = s.propose(_rx(dose="1.1 mg/day"))
    codes = {f.code for f in old.plan.findings}
    assert "stability_expired" in codes, old.plan.findings
    assert not old.plan.ok
