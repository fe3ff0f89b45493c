"""Finding the last refill at interrogation without reading the whole event log each visit.

The pump's status does not say when it was last refilled; the session scans the log
newest first. A pump with no refill in a long log would be read whole at every visit,
so the scan stops at what the local store holds and stores what it read when it
found nothing (those events extend the stored log with no gap).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.link import PumpClient
from programmer.session.pump_session import SessionError
from programmer.store.audit import AuditAction

from .conftest import Clinic

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def pump() -> Iterator[PumpModel]:
    model = PumpModel("ITP-40", T0)
    inprocess.install(model, speed=Fraction(0))
    yield model
    inprocess.reset()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(from_seq, events returned) of every READ_EVENTS the programmer sends."""
    seen: list[tuple[int, int]] = []
    original = PumpClient.read_events

    def counting(self: PumpClient, from_seq: int, most: int) -> dict[str, Any]:
        page = original(self, from_seq, most)
        seen.append((from_seq, len(page["events"])))
        return page

    monkeypatch.setattr(PumpClient, "read_events", counting)
    return seen


def _noise(pump: PumpModel, n: int) -> None:
    for _ in range(n):
        pump.press_ptm()  # disabled: one ptm_request event each


def _interrogate(clinic: Clinic) -> tuple[int | None, int | None]:
    s = clinic.session("doc", "emulator:")
    try:
        s.connect()
        i = s.interrogate()
        return i.last_fill_nl, i.last_refill_t
    finally:
        s.close()


def test_a_log_without_refill_is_read_once_then_only_what_is_new(
    clinic: Clinic, pump: PumpModel, reads: list[tuple[int, int]]
) -> None:
    _noise(pump, 3000)
    assert _interrogate(clinic) == (None, None)
    first_visit = sum(n for _, n in reads)
    assert first_visit >= 3000  # the whole log, once
    serial = pump.identity()[1]
    assert clinic.records.missing_event_ranges(serial, 1, pump.events.last_seq) == []
    reads.clear()
    _noise(pump, 10)
    assert _interrogate(clinic) == (None, None)
    # the 10 presses, the previous session's and this one's own HELLO/AUTH events
    assert 10 <= sum(n for _, n in reads) < 40, reads
    assert min(seq for seq, _ in reads) > 3000


def test_a_refill_read_at_an_earlier_visit_is_found_in_the_store(
    clinic: Clinic, pump: PumpModel, reads: list[tuple[int, int]]
) -> None:
    _noise(pump, 100)
    pump.log(
        "refill", {"removed_nl": 1_000_000, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}
    )
    refill_t = pump.clock_t
    _noise(pump, 2000)
    assert _interrogate(clinic) == (20_000_000, refill_t)
    pump.advance(86_400)
    _noise(pump, 2000)
    reads.clear()
    assert _interrogate(clinic) == (20_000_000, refill_t)
    assert min(seq for seq, _ in reads) > 2100, "the stored part of the log was read again"


def test_a_newer_refill_on_the_pump_wins_over_the_stored_one(
    clinic: Clinic, pump: PumpModel
) -> None:
    _noise(pump, 2000)
    pump.log("refill", {"removed_nl": 0, "added_nl": 20_000_000, "reservoir_nl": 20_000_000})
    _noise(pump, 2000)
    assert _interrogate(clinic)[0] == 20_000_000
    pump.advance(3600)
    pump.log("refill", {"removed_nl": 5, "added_nl": 10_000_000, "reservoir_nl": 12_000_000})
    assert _interrogate(clinic) == (12_000_000, pump.clock_t)


def test_a_pump_whose_log_ends_before_the_store_is_not_trusted_to_it(
    clinic: Clinic, pump: PumpModel
) -> None:
    _noise(pump, 1500)
    pump.log("refill", {"removed_nl": 0, "added_nl": 20_000_000, "reservoir_nl": 20_000_000})
    _noise(pump, 1500)
    assert _interrogate(clinic)[0] == 20_000_000
    # The same serial with a short log (reset, or a replacement given the old serial):
    # the stored refill belongs to another life of the pump.
    fresh = PumpModel("ITP-40", T0 + 86_400)
    assert fresh.identity()[1] == pump.identity()[1]
    inprocess.install(fresh, speed=Fraction(0))
    assert _interrogate(clinic) == (None, None)


def _refilled_then_replaced(clinic: Clinic, pump: PumpModel) -> PumpModel:
    """A pump refilled and read whole, then a new pump under its serial with a longer log."""
    _noise(pump, 100)
    pump.log("refill", {"removed_nl": 0, "added_nl": 20_000_000, "reservoir_nl": 20_000_000})
    _noise(pump, 100)
    s = clinic.session("doc", "emulator:")
    s.connect()
    assert s.interrogate().last_fill_nl == 20_000_000
    assert s.read_history().complete
    s.close()
    fresh = PumpModel("ITP-40", T0 + 86_400)
    _noise(fresh, 600)  # its log runs past everything stored: only its content differs
    inprocess.install(fresh, speed=Fraction(0))
    return fresh


def test_a_new_life_of_a_serial_with_a_longer_log_does_not_inherit_its_refill(
    clinic: Clinic, pump: PumpModel
) -> None:
    fresh = _refilled_then_replaced(clinic, pump)
    assert fresh.events.last_seq > clinic.records.last_event_seq(pump.identity()[1])  # type: ignore[operator]
    assert _interrogate(clinic) == (None, None)


def test_the_history_of_a_new_life_of_a_serial_is_refused_not_mixed(
    clinic: Clinic, pump: PumpModel
) -> None:
    _refilled_then_replaced(clinic, pump)
    serial = pump.identity()[1]
    before = [(e.seq, e.at, e.kind, dict(e.data)) for e in clinic.records.events(serial)]
    s = clinic.session("doc", "emulator:")
    s.connect()
    with pytest.raises(SessionError, match=f"does not continue the one stored.*{serial}"):
        s.read_history()
    s.close()
    assert [(e.seq, e.at, e.kind, dict(e.data)) for e in clinic.records.events(serial)] == before
    last = clinic.trail.query(pump=serial, action=AuditAction.HISTORY_READ)[-1]
    assert last.outcome == "refused" and "reset" in (last.reason or "")


def test_the_same_pump_is_checked_with_one_event_and_read_on(
    clinic: Clinic, pump: PumpModel, reads: list[tuple[int, int]]
) -> None:
    _noise(pump, 300)
    s = clinic.session("doc", "emulator:")
    s.connect()
    s.read_history()
    s.close()
    stored_last = clinic.records.last_event_seq(pump.identity()[1])
    _noise(pump, 50)
    reads.clear()
    s = clinic.session("doc", "emulator:")
    s.connect()
    result = s.read_history()
    s.close()
    assert result.complete and result.events_added >= 50
    assert reads[0] == (stored_last, 1), reads  # the identity check: the newest stored event
    assert all(seq > stored_last for seq, _ in reads[1:]), reads


def test_each_new_built_in_pump_has_a_serial_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    serials = []
    for now in (1_767_225_600, 1_767_225_601):
        monkeypatch.setattr(inprocess.time, "time", lambda now=now: float(now))
        inprocess.reset()
        serials.append(inprocess.current().model.identity()[1])
    inprocess.reset()
    assert serials == ["ITP40-225600", "ITP40-225601"]


def test_a_history_read_fills_what_the_refill_scan_left_unread(
    clinic: Clinic, pump: PumpModel
) -> None:
    _noise(pump, 100)
    pump.log("refill", {"removed_nl": 0, "added_nl": 20_000_000, "reservoir_nl": 20_000_000})
    _noise(pump, 3000)
    s = clinic.session("doc", "emulator:")
    s.connect()
    s.interrogate()
    serial = s.serial
    stored_after_scan = clinic.records.missing_event_ranges(serial, 1, pump.events.last_seq)
    assert stored_after_scan and stored_after_scan[0][0] == 1  # only the newest pages were read
    result = s.read_history()
    s.close()
    last = pump.events.last_seq
    assert result.gaps == [] and result.complete
    assert clinic.records.missing_event_ranges(serial, 1, last) == []
    assert [e.seq for e in clinic.records.events(serial)] == list(range(1, last + 1))


def test_a_flooded_log_uses_the_stored_refill_and_is_itself_a_finding(
    clinic: Clinic, pump: PumpModel
) -> None:
    pump.log("refill", {"removed_nl": 0, "added_nl": 20_000_000, "reservoir_nl": 20_000_000})
    refill_t = pump.clock_t
    _noise(pump, 10)
    assert _interrogate(clinic) == (20_000_000, refill_t)  # read once, so stored
    _noise(pump, 72_000)  # pushes the refill, and more, out of the pump's log unread
    assert pump.events.first_seq > 100
    s = clinic.session("doc", "emulator:")
    s.connect()
    i = s.interrogate()
    # The refill check still has its refill; the lost events are a finding of their own.
    assert (i.last_fill_nl, i.last_refill_t) == (20_000_000, refill_t)
    assert [f.code for f in i.log_findings] == ["pump_log_flooded"]
    rx = {"pump_model": "ITP-40", "drugs": [], "mode": "continuous", "rate": "0.2 mL/day"}
    plan = s.propose(rx).plan
    assert "pump_log_flooded" in [f.code for f in plan.unresolved_soft]
    s.close()
