"""The pump session against an emulator in another process, read back with the protocol alone."""

from __future__ import annotations

from typing import Any

import pytest

from programmer.session.pump_session import PumpSession, SessionError, UncertainOutstanding
from programmer.store import AuditAction, AuthenticationFailed, NotAllowed, StoreError
from programmer.therapy import Therapy

from .conftest import PASSWORDS, Clinic, Emulator

MORPHINE = [{"name": "morphine", "concentration": "10 mg/mL"}]
FIRST_FILL = {"removed": "39 mL", "added": "20 mL"}
# 1 mg/day is above PACC 2017's opioid-naive start (0.1-0.5 mg/day): a first fill says why.
TOLERANT = {"over_starting_dose": "opioid tolerant, converted from oral morphine"}


def _rx(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"pump_model": "ITP-40", "indication": "pain-noncancer", "drugs": MORPHINE,
                            "mode": "continuous", "dose": "1 mg/day", "catheter": {"volume": "0.15 mL"}}  # fmt: skip
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def _fill(session: PumpSession, fill: dict[str, str] = FIRST_FILL) -> None:
    """Put morphine in the emulator's saline pump (a first fill, primed)."""
    proposal = session.propose(
        _rx(refill=fill, bolus={"kind": "priming", "fluid_path": "new-pump"}), TOLERANT
    )
    assert proposal.plan.ok, proposal.plan.findings
    result = session.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "applied", result.message


def _observe(emulator: Emulator, session: PumpSession | None, fn: Any) -> Any:
    """Run fn on a direct connection of its own (the pump serves one programmer at a time)."""
    if session is not None:
        session.close()
    c = emulator.client()
    try:
        return fn(c)
    finally:
        c.close()


def _held(emulator: Emulator, session: PumpSession | None = None) -> dict[str, Any]:
    therapy = _observe(emulator, session, lambda c: c.get_therapy()["therapy"])
    return {k: v for k, v in therapy.items() if k != "cycle_anchor_t"}


PROGRAMS = {
    "continuous": _rx(dose="1.3 mg/day"),
    "flex 1 day": _rx(
        mode="flex",
        dose=None,
        steps=[
            {"start": "00:00", "dose": "0.04 mg/h"},
            {"start": "07:30", "dose": "0.06 mg/h"},
            {"start": "22:00", "rate": "4 uL/h"},
        ],
    ),
    "flex 3 days": _rx(
        mode="flex",
        dose=None,
        cycle_days=3,
        steps=[
            {"start": "00:00", "dose": "1 mg/day"},
            {"day": 2, "start": "00:00", "dose": "1.2 mg/day"},
            {"day": 3, "start": "12:00", "dose": "1.1 mg/day"},
        ],
    ),
    "patient bolus": _rx(
        # 4 x 0.05 mg on 1 mg/day: the possible dose rises 20 %, within the 30 % step (issue 12)
        patient_bolus={"dose": "0.05 mg", "duration": "10 min", "lockout": "3 h", "max_per_day": 4}
    ),
    "single bolus": _rx(bolus={"kind": "single", "dose": "0.2 mg", "duration": "30 min"}),
    "low alarm 4 mL": _rx(low_reservoir_alarm="4 mL"),
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_each_kind_of_program_is_applied_and_held_whole(
    name: str, clinic: Clinic, emulator: Emulator
) -> None:
    s = clinic.session("doc", emulator.address)
    assert s.connect() == []
    _fill(s)
    proposal = s.propose(PROGRAMS[name])
    assert proposal.plan.ok, proposal.plan.findings
    assert proposal.changes, "the change is shown before sending"
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "applied", result.message
    assert result.steps == ["staged", "verified", "committed", "read back"]
    assert proposal.plan.therapy is not None
    assert _held(emulator, s) == proposal.plan.therapy.to_wire()
    records = clinic.trail.query(pump=s.serial, action=AuditAction.PROGRAM_OUTCOME)
    # Each send: "uncertain" written before COMMIT leaves, then the outcome read back.
    assert [r.outcome for r in records] == ["uncertain", "applied"] * 2
    outcomes = [r for r in records if r.outcome != "uncertain"]
    intents = [r for r in clinic.trail.query(pump=s.serial, action=AuditAction.PROGRAM_INTENT)]
    assert len(intents) == len(outcomes) == 2
    assert all(i.seq < o.seq for i, o in zip(intents, outcomes, strict=True)), (
        "intent is written first"
    )


def test_refill_with_concentration_change_and_bridge_bolus(
    clinic: Clinic, emulator: Emulator
) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    _fill(s)
    expected = _observe(
        emulator, s, lambda c: (c.sim_advance(10 * 86400), c.get_status()["reservoir_nl"])[1]
    )
    s.reconnect()
    rx = _rx(drugs=[{"name": "morphine", "concentration": "20 mg/mL"}],
             refill={"removed": f"{expected} nL", "added": "20 mL"}, bolus={"kind": "bridge"})  # fmt: skip
    proposal = s.propose(rx)
    p = proposal.plan
    assert p.ok, p.findings
    assert p.refill_check is not None and p.refill_check.programmed_nl == 20_000_000 - expected
    assert p.bolus is not None and p.bolus.volume_nl == 140_000 + 150_000
    assert p.bolus.rate_nl_day == 100_000  # the old rate: 1 mg/day at 10 mg/mL
    assert set(proposal.changeset) == {"therapy", "refill", "bolus"}
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "applied", result.message
    after = _observe(emulator, s, lambda c: c.get_status())
    assert after["reservoir_nl"] == 20_000_000
    assert after["delivering"] == "clinician_bolus" and after["bolus_remaining_nl"] == 290_000
    assert _held(emulator)["drugs"] == [{"name": "morphine", "conc_ng_ml": 20_000_000}]
    refills = clinic.records.refills(s.serial)
    assert [(r.removed_nl, r.added_nl) for r in refills][-1] == (expected, 20_000_000)
    assert refills[-1].last_fill_nl == 20_000_000 and refills[-1].expected_nl == expected


def test_over_infusion_shows_at_refill(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    _fill(s, {"removed": "40 mL", "added": "20 mL"})  # emptied: the pump holds exactly the new fill

    def fast_pump(c: Any) -> tuple[int, int]:
        c.sim_set(300_000)  # the pump really delivers 30 % more than programmed
        c.sim_advance(40 * 86400)
        return c.get_status()["reservoir_nl"], c.sim_truth()["true_reservoir_nl"]

    estimate, truth = _observe(emulator, s, fast_pump)
    assert truth < estimate
    s.reconnect()
    proposal = s.propose(_rx(refill={"removed": f"{truth} nL", "added": "20 mL"}))
    assert "refill_over_infusion" in {f.code for f in proposal.plan.findings}
    assert not proposal.plan.ok


def test_a_concentration_change_without_bridge_is_refused_and_nothing_sent(
    clinic: Clinic, emulator: Emulator
) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    _fill(s)
    proposal = s.propose(
        _rx(
            drugs=[{"name": "morphine", "concentration": "20 mg/mL"}],
            refill={"removed": "18 mL", "added": "20 mL"},
        )
    )
    assert "bridge_bolus_needed" in {f.code for f in proposal.plan.findings}
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "refused"
    assert _held(emulator, s)["drugs"] == [{"name": "morphine", "conc_ng_ml": 10_000_000}]


def test_titration_refused_across_two_sessions_hours_apart(
    clinic: Clinic, emulator: Emulator
) -> None:
    baclofen = {"pump_model": "ITP-40", "indication": "spasticity-spinal",
                "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}], "mode": "continuous",
                "catheter": {"volume": "0.15 mL"}}  # fmt: skip
    s = clinic.session("doc", emulator.address)
    s.connect()
    first = s.propose(
        baclofen
        | {
            "dose": "300 mcg/day",
            "refill": FIRST_FILL,
            "bolus": {"kind": "priming", "fluid_path": "new-pump"},
        },
        {"over_starting_dose": "screening bolus of 150 mcg worked"},  # above 200 mcg/day
    )
    assert s.send(first, confirmed=True, password=PASSWORDS["doc"]).outcome == "applied"
    _observe(emulator, s, lambda c: c.sim_advance(30 * 3600))
    s2 = clinic.session("doc", emulator.address)
    s2.connect()
    up = s2.propose(baclofen | {"dose": "390 mcg/day"})  # +30 %: allowed, a day later
    assert up.plan.ok, up.plan.findings
    assert s2.send(up, confirmed=True, password=PASSWORDS["doc"]).outcome == "applied"
    _observe(emulator, s2, lambda c: c.sim_advance(3 * 3600))
    s3 = clinic.session("doc", emulator.address)
    s3.connect()
    again = s3.propose(baclofen | {"dose": "420 mcg/day"})
    codes = {f.code for f in again.plan.findings}
    assert "titration_too_frequent" in codes, again.plan.findings
    assert s3.send(again, confirmed=True, password=PASSWORDS["doc"]).outcome == "refused"


def test_history_read_twice_is_stored_once(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    _fill(s)

    def live(c: Any) -> None:
        c.sim_advance(3 * 86400)
        for _ in range(5):
            c.sim_ptm()

    _observe(emulator, s, live)
    s.reconnect()
    # the interrogation before the fill stored the events its refill scan read
    before = clinic.store.query("SELECT count(*) FROM pump_events")[0][0]
    first = s.read_history()
    assert first.events_added > 0 and first.hours_added >= 72
    second = s.read_history()
    assert second.events_added == 0 and second.hours_added == 0
    n_events = clinic.store.query("SELECT count(*) FROM pump_events")[0][0]
    assert n_events == before + first.events_added
    status = _observe(emulator, s, lambda c: c.get_status())
    # every event up to our read is stored (our own session events come after it)
    assert n_events >= 10 and first.gaps == [] and second.complete
    assert n_events <= status["event_last_seq"] - status["event_first_seq"] + 1


def test_nurse_cannot_program_but_can_interrogate(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("nurse", emulator.address)
    s.connect()
    s.interrogate()
    proposal = s.propose(
        _rx(refill=FIRST_FILL, bolus={"kind": "priming", "fluid_path": "new-pump"}), TOLERANT
    )
    with pytest.raises(NotAllowed):
        s.send(proposal, confirmed=True, password=PASSWORDS["nurse"])
    assert _held(emulator, s)["drugs"] == []


def test_wrong_password_at_send_sends_nothing(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    proposal = s.propose(
        _rx(refill=FIRST_FILL, bolus={"kind": "priming", "fluid_path": "new-pump"}), TOLERANT
    )
    with pytest.raises(AuthenticationFailed):
        s.send(proposal, confirmed=True, password="not-the-password")
    assert _held(emulator, s)["drugs"] == []
    assert clinic.trail.query(pump=s.serial, action=AuditAction.PROGRAM_INTENT) == []


def test_unconfirmed_changes_are_not_sent(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    proposal = s.propose(
        _rx(refill=FIRST_FILL, bolus={"kind": "priming", "fluid_path": "new-pump"}), TOLERANT
    )
    assert s.send(proposal, confirmed=False, password=PASSWORDS["doc"]).outcome == "refused"
    assert _held(emulator, s)["drugs"] == []


def test_no_audit_intent_means_nothing_is_sent(
    clinic: Clinic, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    proposal = s.propose(
        _rx(refill=FIRST_FILL, bolus={"kind": "priming", "fluid_path": "new-pump"}), TOLERANT
    )
    real = clinic.trail.append

    def failing(action: Any, **kw: Any) -> Any:
        if action == AuditAction.PROGRAM_INTENT:
            raise StoreError("disk full (simulated)")
        return real(action, **kw)

    monkeypatch.setattr(clinic.trail, "append", failing)
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "refused" and "audit intent" in result.message
    assert _held(emulator, s)["drugs"] == []


def test_the_pump_changing_after_the_plan_refuses_the_send(
    clinic: Clinic, emulator: Emulator
) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    _fill(s)
    proposal = s.propose(_rx(dose="1.2 mg/day"))
    s.close()
    other = clinic.session("doc", emulator.address, programmer_id="other-programmer")
    other.connect()
    assert (
        other.send(
            other.propose(_rx(dose="1.1 mg/day")), confirmed=True, password=PASSWORDS["doc"]
        ).outcome
        == "applied"
    )
    other.close()
    s.reconnect()
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "refused" and "changed since the plan" in result.message


def test_nothing_is_sent_while_an_outcome_is_uncertain(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    proposal = s.propose(
        _rx(refill=FIRST_FILL, bolus={"kind": "priming", "fluid_path": "new-pump"}), TOLERANT
    )
    s.uncertain = [123]
    with pytest.raises(UncertainOutstanding):
        s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    with pytest.raises(UncertainOutstanding):
        s.set_clock(1767225600, 60, confirmed=True)


def test_end_of_session_refuses_quietly_leaving_a_stopped_pump(
    clinic: Clinic, emulator: Emulator
) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    stop = s.propose(
        {"drugs": [], "mode": "stopped"},
        overrides={"therapy_stopped": "pump to be explanted tomorrow"},
    )
    assert stop.plan.ok
    assert s.send(stop, confirmed=True, password=PASSWORDS["doc"]).outcome == "applied"
    end = s.end()
    assert not end.ended and any("STOPPED" in w for w in end.warnings)
    overridden = clinic.trail.query(pump=s.serial, action=AuditAction.FINDING_OVERRIDDEN)
    assert [r.reason for r in overridden] == ["pump to be explanted tomorrow"]
    done = s.end(acknowledge="explant scheduled; patient informed")
    assert done.ended


def test_clock_is_set_only_on_explicit_confirmation(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    s.interrogate()
    text = s.clock_change_text(1767225600, 60)
    assert "60 min earlier in UTC" in text
    with pytest.raises(SessionError, match="not changed"):
        s.set_clock(1767225600, 60, confirmed=False)
    s.set_clock(1767225600, 60, confirmed=True)
    assert _observe(emulator, s, lambda c: c.get_status())["utc_offset_min"] == 60


def test_interrogation_in_clinician_units(clinic: Clinic, emulator: Emulator) -> None:
    s = clinic.session("doc", emulator.address)
    s.connect()
    _fill(s)
    i = s.interrogate()
    assert isinstance(i.therapy, Therapy)
    assert i.last_fill_nl == 20_000_000
    assert i.demo_key is True
    assert i.clock_findings == [] or i.clock_findings[0].code == "pump_clock_offset"
    _observe(emulator, s, lambda c: c.sim_fault("motor_stall"))
    s.reconnect()
    i = s.interrogate()
    assert [a.code for a in i.critical] == ["motor_stall"]
    assert "not delivering" in i.critical[0].advice.remedy


def test_a_nurse_records_a_refill_without_changing_the_therapy(
    clinic: Clinic, emulator: Emulator
) -> None:
    doc = clinic.session("doc", emulator.address)
    doc.connect()
    _fill(doc)
    before = _held(emulator, doc)
    # ten days at 0.1 mL/day: a refill right after the fill could not be checked against what
    # came out (refill_check_impossible, which a nurse may not override; issue 12 class 10)
    left = _observe(
        emulator, doc, lambda c: (c.sim_advance(10 * 86400), c.get_status()["reservoir_nl"])[1]
    )
    nurse = clinic.session("nurse", emulator.address)
    nurse.connect()
    from programmer.session.refill_rx import prescription_from_therapy, with_refill

    base = nurse.interrogate()
    rx = with_refill(
        prescription_from_therapy(base.therapy, keep="dose"),
        removed=f"{left} nL",  # what the syringe draws out is what the pump says is left
        added="20 mL",
        drugs=None,
        bridge=False,
    )
    proposal = nurse.propose(rx)
    assert set(proposal.changeset) == {"refill"}, proposal.changeset
    result = nurse.send(proposal, confirmed=True, password=PASSWORDS["nurse"])
    assert result.outcome == "applied", result.message
    assert _held(emulator, nurse) == before
    assert clinic.records.refills(nurse.serial)[-1].removed_nl == left
    # but the same nurse cannot change the therapy
    left = _observe(
        emulator, nurse, lambda c: (c.sim_advance(10 * 86400), c.get_status()["reservoir_nl"])[1]
    )
    nurse.reconnect()
    change = nurse.propose(with_refill(prescription_from_therapy(base.therapy, keep="dose"), removed=f"{left} nL", added="20 mL",
                                       drugs=[{"name": "morphine", "concentration": "20 mg/mL"}], bridge=True))  # fmt: skip
    assert "therapy" in change.changeset
    with pytest.raises(NotAllowed):
        nurse.send(change, confirmed=True, password=PASSWORDS["nurse"])
