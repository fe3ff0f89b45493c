"""Helpers for the therapy editor and confirm tests: accounts, the in-process emulator, a fill."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from pytestqt.qtbot import QtBot

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.session.pump_session import ProgramResult, Proposal
from programmer.store import Role
from ui.app_state import AppState

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
DOC_PW = "doc-pass-123456"
START_T = 1_767_225_600  # 2026-01-01T00:00:00Z

MORPHINE = [{"name": "morphine", "concentration": "10 mg/mL"}]
FILL: dict[str, Any] = {
    "pump_model": "ITP-40",
    "indication": "pain-noncancer",
    "drugs": MORPHINE,
    "mode": "continuous",
    "dose": "1 mg/day",
    "catheter": {"volume": "0.15 mL"},
    "refill": {"removed": "39 mL", "added": "20 mL"},
    "bolus": {"kind": "priming", "fluid_path": "new-pump"},
}


# 1 mg/day is above PACC 2017's opioid-naive start (0.1-0.5 mg/day): a first fill says why.
TOLERANT = {"over_starting_dose": "opioid tolerant, converted from oral morphine"}


def flex_rx(*steps: tuple[str, str], **extra: Any) -> dict[str, Any]:
    """A one-day flex morphine prescription from (start, dose) pairs."""
    rx: dict[str, Any] = {
        "pump_model": "ITP-40",
        "indication": "pain-noncancer",
        "drugs": [dict(d) for d in MORPHINE],
        "mode": "flex",
        "cycle_days": 1,
        "steps": [{"start": s, "dose": d} for s, d in steps],
        "low_reservoir_alarm": "2 mL",
    }
    rx.update(extra)
    return rx


def make_state(tmp_path: Path) -> AppState:
    state = AppState(tmp_path / "db.sqlite3", audit_key=tmp_path / "k", hasher=FAST)
    state.create_first_admin("admin", "admin-pass-1234")
    state.accounts.add("doc", Role.PHYSICIAN, DOC_PW, actor=state.principal)
    state.sign_out()
    state.sign_in("doc", DOC_PW)
    return state


def connect(qtbot: QtBot, state: AppState) -> None:
    """A fresh in-process ITP-40 (saline, clock stopped), connected and interrogated."""
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: state.interrogation is not None, timeout=15_000)


def propose(qtbot: QtBot, state: AppState, rx: dict[str, Any],
            overrides: dict[str, str] | None = None) -> Proposal:  # fmt: skip
    got: dict[str, Any] = {}
    state.propose(
        rx, overrides, lambda p: got.__setitem__("p", p), lambda e: got.__setitem__("e", e)
    )
    qtbot.waitUntil(lambda: bool(got), timeout=15_000)
    assert "p" in got, got.get("e")
    proposal: Proposal = got["p"]
    return proposal


def send(qtbot: QtBot, state: AppState, proposal: Proposal) -> ProgramResult:
    got: dict[str, Any] = {}
    state.send(
        proposal, DOC_PW, lambda r: got.__setitem__("r", r), lambda e: got.__setitem__("e", e)
    )
    qtbot.waitUntil(lambda: bool(got), timeout=15_000)
    assert "r" in got, got.get("e")
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    result: ProgramResult = got["r"]
    return result


def fill_with_morphine(qtbot: QtBot, state: AppState) -> None:
    """Morphine 10 mg/mL at 1 mg/day on the emulator's pump (a refill with a priming bolus)."""
    proposal = propose(qtbot, state, FILL, TOLERANT)
    assert proposal.plan.ok, [f.to_json() for f in proposal.plan.findings]
    assert send(qtbot, state, proposal).outcome == "applied"
    qtbot.waitUntil(
        lambda: state.interrogation is not None and bool(state.interrogation.therapy.drugs),
        timeout=15_000,
    )


def read_pump_therapy(qtbot: QtBot, state: AppState) -> dict[str, Any]:
    """What the pump holds, read through the session on the device worker."""
    session = state.session
    assert session is not None
    got: dict[str, Any] = {}

    def work() -> dict[str, Any]:
        assert session.client is not None
        therapy: dict[str, Any] = session.client.get_therapy()["therapy"]
        return therapy

    state.bridge.run(
        "read", work, lambda t: got.__setitem__("t", t), lambda e: got.__setitem__("e", e)
    )
    qtbot.waitUntil(lambda: bool(got), timeout=15_000)
    assert "t" in got, got.get("e")
    held: dict[str, Any] = {k: v for k, v in got["t"].items() if k != "cycle_anchor_t"}
    return held
