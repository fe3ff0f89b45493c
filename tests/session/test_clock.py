"""Setting the pump's clock: only when confirmed, read back from the pump's own log, every
step audited, and a lost answer decided from the log at the next connection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.link import LinkClosed, PumpClient
from programmer.session.clock_check import DRIFT_WARN_S, drift_advice, drift_text
from programmer.session.pump_session import PumpSession, SessionError
from programmer.store import AuditAction

from .conftest import Clinic

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: the pump's clock
HERE_T = 1_795_305_600  # 2026-11-22T00:00:00Z: this computer's


@pytest.fixture
def pump() -> Iterator[PumpModel]:
    model = PumpModel("ITP-40", T0)
    inprocess.install(model, speed=Fraction(0))
    yield model
    inprocess.reset()


def _session(clinic: Clinic, offset_min: int = 60) -> PumpSession:
    s = clinic.session("doc", "emulator:")
    s.now = lambda: datetime.fromtimestamp(HERE_T, UTC)
    s.local_offset_at = lambda _t: offset_min
    return s


def _outcomes(clinic: Clinic, serial: str) -> list[str]:
    return [r.outcome for r in clinic.trail.query(pump=serial, action=AuditAction.CLOCK_SET)]


def test_drift_is_told_in_words_and_advised_on_beyond_five_minutes() -> None:
    assert drift_text(-28_108_800) == "-325 d 8 h (pump behind)"
    assert drift_text(90) == "+90 s" and drift_text(-5_400) == "-1 h 30 min (pump behind)"
    assert drift_advice(DRIFT_WARN_S - 1) is None and drift_advice(-(DRIFT_WARN_S - 1)) is None
    advice = drift_advice(-28_108_800)
    assert advice is not None and "325 d 8 h behind" in advice and "set the pump's clock" in advice


def test_setting_the_clock_to_this_computer_is_read_back_and_audited(
    clinic: Clinic, pump: PumpModel
) -> None:
    s = _session(clinic)
    s.connect()
    i = s.interrogate()
    assert i.clock_drift_s == T0 - HERE_T
    with pytest.raises(SessionError, match="not changed"):
        s.set_clock_to_this_computer(confirmed=False)
    assert pump.clock_t == T0 and _outcomes(clinic, s.serial) == []
    text = s.set_clock_to_this_computer(confirmed=True)
    assert "60 min earlier in UTC" in text
    assert (pump.clock_t, pump.utc_offset_min) == (HERE_T, 60)
    assert _outcomes(clinic, s.serial) == ["intent", "applied"]
    intent = clinic.trail.query(pump=s.serial, action=AuditAction.CLOCK_SET)[0]
    assert intent.before_value()["clock_t"] == T0
    assert intent.after_value() == {"clock_t": HERE_T, "utc_offset_min": 60}
    assert s.interrogate().clock_drift_s == 0


def test_a_pump_that_answers_but_keeps_its_clock_is_a_mismatch(
    clinic: Clinic, pump: PumpModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _session(clinic)
    s.connect()
    s.interrogate()
    monkeypatch.setattr(PumpClient, "set_clock", lambda self, t, o: {})  # says yes, does nothing
    with pytest.raises(SessionError, match="read-back does not show the new clock"):
        s.set_clock_to_this_computer(confirmed=True)
    assert _outcomes(clinic, s.serial) == ["intent", "mismatch"]


@pytest.mark.parametrize("arrived", [True, False])
def test_a_lost_answer_is_decided_from_the_pumps_log_at_the_next_connection(
    clinic: Clinic, pump: PumpModel, monkeypatch: pytest.MonkeyPatch, arrived: bool
) -> None:
    s = _session(clinic)
    s.connect()
    s.interrogate()
    original = PumpClient.set_clock

    def lost(self: PumpClient, t: int, o: int) -> dict[str, Any]:
        if arrived:
            original(self, t, o)
        raise LinkClosed("the peer closed the connection")

    monkeypatch.setattr(PumpClient, "set_clock", lost)
    with pytest.raises(LinkClosed):
        s.set_clock_to_this_computer(confirmed=True)
    assert _outcomes(clinic, s.serial) == ["intent", "uncertain"]
    monkeypatch.setattr(PumpClient, "set_clock", original)
    s.close()
    again = _session(clinic)
    again.connect()
    verdict = "APPLIED" if arrived else "NOT applied"
    assert again.clock_notes == [f"an earlier clock change was {verdict}"]
    last = clinic.trail.query(pump=s.serial, action=AuditAction.CLOCK_SET)[-1]
    assert last.outcome == "uncertain_resolved" and last.after_value()["applied"] is arrived
    assert (pump.clock_t == HERE_T) is arrived
    # decided once: a third connection has nothing left to say
    third = _session(clinic)
    third.connect()
    assert third.clock_notes == []
