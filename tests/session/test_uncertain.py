"""A link lost at COMMIT: the outcome is uncertain, nothing else is sent, the next connection resolves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from programmer.link import MsgType
from programmer.store import AuditAction
from tests.support.faultproxy import Act, Direction, FaultProxy, FrameInfo

from .conftest import PASSWORDS, Clinic, Emulator

SALINE = {"pump_model": "ITP-40", "drugs": [], "mode": "continuous", "rate": "0.2 mL/day"}


def _lose_commit(forward: bool, proxy: FaultProxy):  # type: ignore[no-untyped-def]
    """Cut at COMMIT (after or before it reaches the pump) and keep the link down."""

    def policy(info: FrameInfo) -> Act:
        if info.direction is Direction.TO_PUMP and info.msg_type == MsgType.COMMIT:
            proxy.blocked = True
            return Act.CUT_AFTER if forward else Act.CUT_BEFORE
        return Act.PASS

    return policy


@pytest.mark.parametrize("reached_pump", [True, False])
def test_uncertain_then_resolved_at_next_connection(
    clinic: Clinic, emulator: Emulator, reached_pump: bool
) -> None:
    with FaultProxy(("127.0.0.1", emulator.port)) as proxy:
        proxy.policy = _lose_commit(reached_pump, proxy)
        s = clinic.session("doc", proxy.address, timeout=0.1, retries=2)
        s.connect()
        proposal = s.propose(SALINE)
        result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
        assert result.outcome == "uncertain", result.message
        assert s.uncertain, "the session knows it must not send anything"
        assert clinic.records.uncertain_prescriptions(s.serial)
        s.close()
    nxt = clinic.session("doc", emulator.address)
    resolutions = nxt.connect()
    assert len(resolutions) == 1 and resolutions[0].applied is reached_pump
    assert not clinic.records.uncertain_prescriptions(nxt.serial)
    resolved = [
        r
        for r in clinic.trail.query(pump=nxt.serial, action=AuditAction.PROGRAM_OUTCOME)
        if r.outcome == "uncertain_resolved"
    ]
    assert len(resolved) == 1 and resolved[0].after_value()["outcome"] == (
        "applied" if reached_pump else "not_applied"
    )


def _itp(
    args: list[str], clinic: Clinic, password: str = PASSWORDS["doc"]
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ITP_PASSWORD": password}
    return subprocess.run([sys.executable, "-m", "programmer.cli", *args, "--db", str(clinic.db), "--audit-key", str(clinic.key)],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)  # fmt: skip


def test_cli_exit_6_then_the_next_command_resolves(
    clinic: Clinic, emulator: Emulator, tmp_path: Path
) -> None:
    rx = tmp_path / "rx.json"
    rx.write_text(json.dumps(SALINE))
    with FaultProxy(("127.0.0.1", emulator.port)) as proxy:
        proxy.policy = _lose_commit(True, proxy)
        r = _itp(
            ["program", "--pump", proxy.address, str(rx), "--user", "doc", "--yes", "--json"],
            clinic,
        )
        assert r.returncode == 6, r.stderr
        assert json.loads(r.stdout)["outcome"] == "uncertain"
    r = _itp(["interrogate", "--pump", emulator.address, "--user", "doc", "--json"], clinic)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [x["applied"] for x in out["resolved"]] == [True]
    assert "DEMO" in r.stderr
