"""kill -9 and a full disk at every step of a send: the next connection decides the
outcome from the pump's own record, and nothing is delivered twice.

The full disk is the store's own failure (SQLITE_FULL, translated as the store does)
injected from a chosen step on; the kill is a real SIGKILL of `itp program`, sent by
the fault proxy the moment the step's frame passes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from programmer.link import MsgType, PumpClient
from programmer.store import StoreError
from programmer.store.errors import translate
from tests.support.faultproxy import Act, Direction, FaultProxy, FrameInfo
from tests.support.hostile_pump import hostile_pump

from .conftest import PASSWORDS, Clinic, Emulator

# reliability/run repeats every step this many times (CI: once).
ROUNDS = int(os.environ.get("ITP_SEND_FAULT_ROUNDS", "1"))
FILL = {
    "pump_model": "ITP-40", "indication": "pain-noncancer",
    "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}], "mode": "continuous",
    "dose": "0.5 mg/day", "catheter": {"volume": "0.15 mL"},
    "refill": {"removed": "39 mL", "added": "20 mL"}, "bolus": {"kind": "priming", "fluid_path": "new-pump"},
}  # fmt: skip


def _last_send_crc(clinic: Clinic) -> int | None:
    rows = clinic.store.query("SELECT program FROM prescriptions_sent ORDER BY id DESC LIMIT 1")
    return int(json.loads(rows[0][0])["crc"]) if rows else None


def _unresolved(clinic: Clinic) -> list[Any]:
    return clinic.store.query(
        "SELECT id FROM prescriptions_sent WHERE outcome IN ('pending', 'uncertain')"
    )


# --- a full disk from a given step on ---------------------------------------------------

STEPS: dict[str, Callable[[list[int]], bool]] = {
    "before STAGE": lambda calls: True,
    "after STAGE": lambda calls: MsgType.STAGE in calls,
    "after COMMIT": lambda calls: MsgType.COMMIT in calls,
    "during read-back": lambda calls: (
        calls.count(MsgType.GET_STATUS) > 0
        and MsgType.COMMIT in calls
        and MsgType.GET_THERAPY in calls[calls.index(MsgType.COMMIT) :]
    ),
}


@contextmanager
def full_disk(clinic: Clinic, when: Callable[[], bool]) -> Iterator[None]:
    """Every write of the store fails as SQLITE_FULL does while `when()` holds."""
    original = clinic.store.write

    @contextmanager
    def write() -> Iterator[sqlite3.Connection]:
        if when():
            raise translate(sqlite3.OperationalError("database or disk is full"), "the database")
        with original() as conn:
            yield conn

    clinic.store.write = write  # type: ignore[method-assign]
    try:
        yield
    finally:
        clinic.store.write = original  # type: ignore[method-assign]


@pytest.mark.parametrize(("step", "round_"), [(s, r) for r in range(ROUNDS) for s in STEPS])
def test_a_full_disk_at_each_step_is_decided_at_the_next_connection(
    clinic: Clinic, step: str, round_: int
) -> None:
    with hostile_pump() as pump:
        s = clinic.session("doc", pump.address)
        s.connect()
        proposal = s.propose(FILL)
        assert proposal.plan.ok, proposal.plan.findings
        pump.calls.clear()
        armed = {"on": True}
        with full_disk(clinic, lambda: armed["on"] and STEPS[step](pump.calls)):
            try:
                result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
                outcome, message = result.outcome, result.message
            except StoreError as exc:  # before anything was sent: the command exits 2
                outcome, message = "store_error", str(exc)
            armed["on"] = False
        s.close()
        committed = MsgType.COMMIT in pump.calls
        assert pump.applied(proposal.expected_crc) == int(committed)
        if committed:
            assert outcome == "uncertain", message
            assert "try again" not in message and "do not send it again" in message
        else:
            assert outcome in ("refused", "not_applied", "store_error"), message
        # The disk has room again: the next connection decides first, then nothing twice.
        nxt = clinic.session("doc", pump.address)
        resolutions = nxt.connect()
        assert not _unresolved(clinic)
        assert [r.applied for r in resolutions if r.applied] == ([True] if committed else [])
        again = nxt.send(nxt.propose(FILL), confirmed=True, password=PASSWORDS["doc"])
        if committed:
            assert again.outcome == "refused" and "APPLIED" in again.message, again.message
        else:
            assert again.outcome == "applied", again.message
        boluses = [e for e in pump.model.events.events if e[2] == "bolus_started"]
        assert len(boluses) == 1, "the priming bolus was delivered exactly once"
        print(f"send faults: full disk {step}: committed={committed}, decided, delivered once")


# --- kill -9 at each step ----------------------------------------------------------------

KILL_AT: dict[str, tuple[Direction, int, Act, bool]] = {
    # step: (direction, message, what the proxy does with that frame, needs COMMIT before)
    "before STAGE": (Direction.TO_PUMP, MsgType.STAGE, Act.CUT_BEFORE, False),
    "after STAGE": (Direction.TO_PROGRAMMER, MsgType.STAGE, Act.CUT_AFTER, False),
    "after COMMIT": (Direction.TO_PUMP, MsgType.COMMIT, Act.CUT_AFTER, False),
    "during read-back": (Direction.TO_PUMP, MsgType.GET_THERAPY, Act.CUT_BEFORE, True),
    "during the audit write": (Direction.TO_PROGRAMMER, MsgType.GET_STATUS, Act.PASS, True),
}


def _pump_applied(emulator: Emulator, crc: int) -> int:
    c: PumpClient = emulator.client()
    try:
        count, seq = 0, 1
        while True:
            page = c.read_events(seq, 1024)
            count += sum(
                1
                for e in page["events"]
                if e["code"] == "changeset_applied" and e["data"]["crc"] == crc
            )
            if not page["events"]:
                return count
            seq = page["next_seq"]
    finally:
        c.close()


@pytest.mark.parametrize(("step", "round_"), [(s, r) for r in range(ROUNDS) for s in KILL_AT])
def test_kill_9_at_each_step_is_decided_at_the_next_connection(
    clinic: Clinic, emulator: Emulator, tmp_path: Path, step: str, round_: int
) -> None:
    direction, msg, act, after_commit = KILL_AT[step]
    rx = tmp_path / "rx.json"
    rx.write_text(json.dumps(FILL))
    env = {**os.environ, "ITP_PASSWORD": PASSWORDS["doc"]}
    seen = {"commit": False, "killed": False}
    with FaultProxy(("127.0.0.1", emulator.port)) as proxy:
        proc = subprocess.Popen(
            [sys.executable, "-m", "programmer.cli", "program", "--pump", proxy.address, str(rx),
             "--user", "doc", "--yes", "--json", "--db", str(clinic.db), "--audit-key", str(clinic.key)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip

        def policy(info: FrameInfo) -> Act:
            if info.msg_type == MsgType.COMMIT and info.direction is Direction.TO_PUMP:
                seen["commit"] = True
            if (
                not seen["killed"]
                and info.direction is direction
                and info.msg_type == msg
                and (seen["commit"] or not after_commit)
            ):
                seen["killed"] = True
                if act is Act.CUT_BEFORE:
                    os.kill(proc.pid, signal.SIGKILL)
                    return act
                # forward first, then kill: the frame is on its way when the program dies
                proxy.blocked = True
                threading_kill(proc.pid)
                return act
            return Act.PASS

        proxy.policy = policy
        proc.communicate(timeout=120)
    assert seen["killed"] and proc.returncode == -signal.SIGKILL, (step, proc.returncode)
    crc = _last_send_crc(clinic)
    committed = seen["commit"]
    nxt = clinic.session("doc", emulator.address)
    resolutions = nxt.connect()
    nxt.close()
    assert not _unresolved(clinic), "every send is decided at the next connection"
    assert crc is not None or not committed
    if crc is not None:
        assert _pump_applied(emulator, crc) == int(committed)
        decided = {r.crc: r.applied for r in resolutions}
        if crc in decided:
            assert decided[crc] is committed
        else:  # killed after the outcome was written: it is recorded as the pump has it
            row = clinic.store.query(
                "SELECT outcome FROM prescriptions_sent ORDER BY id DESC LIMIT 1"
            )
            assert row[0][0] == ("applied" if committed else "not_applied")
    print(f"send faults: kill -9 {step}: committed={committed}, decided, applied at most once")


def threading_kill(pid: int) -> None:
    """SIGKILL `pid` a moment from now, on another thread: the proxy forwards the frame
    first, so the program dies with the answer in hand, mid-work."""
    threading.Timer(0.002, lambda: os.kill(pid, signal.SIGKILL)).start()


def test_a_full_disk_while_deciding_keeps_the_send_unresolved_and_blocking(
    clinic: Clinic,
) -> None:
    from programmer.session.pump_session import UncertainOutstanding

    with hostile_pump() as pump:
        s = clinic.session("doc", pump.address)
        s.connect()
        proposal = s.propose(FILL)
        pump.calls.clear()
        with full_disk(clinic, lambda: MsgType.COMMIT in pump.calls):
            assert (
                s.send(proposal, confirmed=True, password=PASSWORDS["doc"]).outcome == "uncertain"
            )
        s.close()
        nxt = clinic.session("doc", pump.address)
        with full_disk(clinic, lambda: True), pytest.raises(UncertainOutstanding) as caught:
            nxt.connect()
        assert "try again" not in str(caught.value) and "unresolved" in str(caught.value)
        assert _unresolved(clinic), "still unresolved, so still blocking"
        nxt.close()
        [resolution] = clinic.session("doc", pump.address).connect()
        assert resolution.applied and pump.applied(proposal.expected_crc) == 1
