"""Programming through a link that corrupts, drops, delays and cuts frames.

After every session the pump is read directly (not through the faults) and:
- it holds a whole therapy: the one before the session or the one sent, never a mix;
- an outcome reported `applied` is what the pump holds; `not_applied` left it unchanged;
- an `uncertain` outcome is resolved at the next connection, and correctly;
At the end, no changeset was applied twice, and the audit trail's applied outcomes
are exactly the changesets the pump's event log says it applied.
"""

from __future__ import annotations

import json
import os
import random
import re
from typing import Any

import pytest

from programmer.link import LinkError, ProtocolError
from programmer.store import AuditAction
from tests.support.faultproxy import Act, Direction, FaultProxy, FrameInfo, random_policy

from .conftest import PASSWORDS, Clinic, Emulator

SESSIONS = int(os.environ.get("ITP_CHAOS_SESSIONS", "300"))
SEED = int(os.environ.get("ITP_CHAOS_SEED", "20261122"))


def _saline(rate_nl_day: int) -> dict[str, Any]:
    return {
        "pump_model": "ITP-40",
        "drugs": [],
        "mode": "continuous",
        "rate": f"{rate_nl_day} nL/day",
    }


def _held_rate(emulator: Emulator) -> int:
    c = emulator.client()
    try:
        therapy = c.get_therapy()["therapy"]
        assert therapy["mode"] == "continuous" and len(therapy["steps"]) == 1, therapy
        return int(therapy["steps"][0][1])
    finally:
        c.close()


def _cut_at(step: int) -> Any:
    """Cut the link at the n-th frame of a connection, alternating directions."""
    direction = Direction.TO_PUMP if step % 2 == 0 else Direction.TO_PROGRAMMER
    index = step // 2

    def policy(info: FrameInfo) -> Act:
        if info.direction is direction and info.index == index:
            return Act.CUT_AFTER if step % 4 < 2 else Act.CUT_BEFORE
        return Act.PASS

    return policy


@pytest.mark.slow
def test_chaos_programming_sessions(clinic: Clinic, emulator: Emulator) -> None:
    rng = random.Random(SEED)
    proxy = FaultProxy(("127.0.0.1", emulator.port), delay_s=0.12, rng=rng)
    try:
        _run(clinic, emulator, proxy, rng)
    finally:
        proxy.close()


def _run(clinic: Clinic, emulator: Emulator, proxy: FaultProxy, rng: random.Random) -> None:
    rate = _held_rate(emulator)
    sent: dict[int, int] = {}  # crc -> rate
    pending: dict[int, tuple[int, bool]] = {}  # prescription id -> (rate, truly applied)
    counts = {"applied": 0, "not_applied": 0, "uncertain": 0, "refused": 0, "no_link": 0, "resolved": 0,
              "resolved_in_send": 0}  # fmt: skip
    errors: dict[str, int] = {}  # why the link failed -> how often, for the failure message
    for i in range(SESSIONS):
        if i % 3 == 0:
            proxy.policy = _cut_at((i // 3) % 40)
        else:
            proxy.policy = random_policy(rng, p_corrupt=0.03, p_drop=0.03, p_cut=0.02, p_delay=0.02)
        new_rate = 100_000 + 1_000 * (i + 1)
        before = rate
        s = clinic.session("doc", proxy.address, timeout=0.05, retries=3)
        result = None
        try:
            resolutions = s.connect()
            for r in resolutions:
                assert r.prescription_id in pending, "resolved something never left uncertain"
                _, truly = pending.pop(r.prescription_id)
                assert r.applied == truly, "an uncertain outcome was resolved wrongly"
                counts["resolved"] += 1
            proposal = s.propose(_saline(new_rate))
            assert proposal.plan.ok, proposal.plan.findings
            sent[proposal.expected_crc] = new_rate
            result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
        except (LinkError, ProtocolError, OSError) as e:
            counts["no_link"] += 1
            why = type(e).__name__ + ": " + re.sub(r"\d+", "N", str(e))[:70]
            errors[why] = errors.get(why, 0) + 1
            if i >= SESSIONS - 3:
                print(f"session {i}: {why}")
        finally:
            s.close()
        rate = _held_rate(emulator)
        assert rate in (before, new_rate), "the pump holds neither the old nor the new therapy"
        if result is None:
            # the link failed before a result: if COMMIT got through, it is pending as uncertain
            for pid in clinic.records.uncertain_prescriptions(s.serial) if s.identity else []:
                pending.setdefault(pid, (new_rate, rate == new_rate))
            if rate != before:
                assert clinic.records.uncertain_prescriptions(s.serial), (
                    "applied, but not even uncertain"
                )
            continue
        counts[result.outcome] += 1
        counts["resolved_in_send"] += result.resolved_after_link_loss
        if result.outcome == "applied":
            assert rate == new_rate, "reported applied, but the pump does not hold it"
        elif result.outcome == "not_applied":
            assert rate == before, "reported not applied, but the pump changed"
        elif result.outcome == "uncertain":
            for pid in clinic.records.uncertain_prescriptions(s.serial):
                pending.setdefault(pid, (new_rate, rate == new_rate))
    # a last clean connection resolves whatever is left
    proxy.policy = lambda info: Act.PASS
    s = clinic.session("doc", proxy.address)
    for r in s.connect():
        _, truly = pending.pop(r.prescription_id)
        assert r.applied == truly
        counts["resolved"] += 1
    serial = s.serial
    s.close()
    assert not pending, f"uncertain outcomes never resolved: {pending}"
    assert not clinic.records.uncertain_prescriptions(serial)
    _check_logs(clinic, emulator, serial, sent)
    print(f"chaos: {SESSIONS} sessions, seed {SEED}: {json.dumps(counts)}, link cuts {proxy.cuts}")
    top = sorted(errors.items(), key=lambda kv: -kv[1])[:8]
    # the faults must not hide the happy path
    assert counts["applied"] > SESSIONS // 4, (counts, top)
    hard_path = counts["uncertain"] + counts["resolved"] + counts["resolved_in_send"]
    assert hard_path > 0, counts  # and the lost-COMMIT path was exercised


def _check_logs(clinic: Clinic, emulator: Emulator, serial: str, sent: dict[int, int]) -> None:
    c = emulator.client()
    applied_by_pump: list[int] = []
    seq = 1
    try:
        while True:
            page = c.read_events(seq, 1024)
            for ev in page["events"]:
                if ev["code"] == "changeset_applied" and ev["data"]["crc"] in sent:
                    applied_by_pump.append(int(ev["data"]["crc"]))
            if not page["events"] or page["next_seq"] > page["last_seq"]:
                break
            seq = page["next_seq"]
    finally:
        c.close()
    assert len(applied_by_pump) == len(set(applied_by_pump)), "a changeset was applied twice"
    audited: set[int] = set()
    for rec in clinic.trail.query(pump=serial, action=AuditAction.PROGRAM_OUTCOME):
        after = rec.after_value()
        if after.get("outcome") == "applied" and after.get("crc") is not None:
            audited.add(int(after["crc"]))
        if rec.outcome == "uncertain_resolved" and after.get("outcome") == "applied":
            audited.add(int(rec.before_value()["crc"]))
    assert audited == set(applied_by_pump), "the audit trail disagrees with the pump's event log"
    assert clinic.trail.verify().ok
