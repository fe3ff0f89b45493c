"""`--protocol 1|2` on interrogate, program and history; a session on a version-1 pump."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import PASSWORDS, Clinic, Emulator, start_emulator


def _itp(args: list[str], clinic: Clinic) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ITP_PASSWORD": PASSWORDS["doc"], "PYTHONWARNINGS": "error"}
    return subprocess.run([sys.executable, "-m", "programmer.cli", *args, "--db", str(clinic.db),
                           "--audit-key", str(clinic.key)], capture_output=True, text=True,
                          timeout=60, env=env, stdin=subprocess.DEVNULL)  # fmt: skip


def _press(emulator: Emulator, times: int) -> None:
    c = emulator.client()
    try:
        for _ in range(times):
            c.sim_ptm()
    finally:
        c.close()


def test_history_reads_the_same_through_either_version(clinic: Clinic, tmp_path: Path) -> None:
    outputs = {}
    for version in ("1", "2"):
        (tmp_path / version).mkdir()
        emulator = start_emulator(tmp_path / version, "--serial", f"ITP40-00000{version}")
        try:
            _press(emulator, 40)
            r = _itp(["history", "--pump", emulator.address, "--user", "doc",
                      "--protocol", version, "--format", "json"], clinic)  # fmt: skip
            assert r.returncode == 0, r.stderr
            outputs[version] = json.loads(r.stdout)
        finally:
            emulator.process.kill()
            emulator.process.wait(5)
    one, two = outputs["1"], outputs["2"]
    assert len(one["events"]) == len(two["events"]) >= 41
    strip = ("pump_serial", "serial")
    for a, b in zip(one["events"], two["events"], strict=True):
        assert {k: v for k, v in a.items() if k not in strip} == {
            k: v for k, v in b.items() if k not in strip
        }


def test_a_version_1_pump_is_read_by_default_and_refused_when_2_is_asked(
    clinic: Clinic, tmp_path: Path
) -> None:
    emulator = start_emulator(tmp_path, "--protocol", "1")
    try:
        pump = ["--pump", emulator.address, "--user", "doc"]
        r = _itp(["interrogate", *pump, "--json"], clinic)
        assert r.returncode == 0, r.stderr
        r = _itp(["history", *pump, "--format", "json"], clinic)
        assert r.returncode == 0, r.stderr
        r = _itp(["interrogate", *pump, "--protocol", "2"], clinic)
        assert r.returncode == 2 and "does not speak protocol version 2" in r.stderr
        r = _itp(["interrogate", *pump, "--protocol", "3"], clinic)
        assert r.returncode == 2 and "--protocol" in r.stderr
    finally:
        emulator.process.kill()
        emulator.process.wait(5)


def test_the_session_shows_the_negotiated_version(clinic: Clinic, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = start_emulator(tmp_path / "old", "--protocol", "1", "--serial", "ITP40-000011")
    new = start_emulator(tmp_path / "new", "--serial", "ITP40-000012")
    try:
        for emulator, version in ((old, 1), (new, 2)):
            session = clinic.session("doc", emulator.address)
            before = session.link_protocol
            session.connect()
            assert (before, session.link_protocol) == (None, version)
            assert session.read_history().complete
            session.close()
    finally:
        for emulator in (old, new):
            emulator.process.kill()
            emulator.process.wait(5)


def test_a_plan_made_before_midnight_is_sent_after_it(clinic: Clinic, emulator: Emulator) -> None:
    """therapy_crc is fixed between COMMITs (the cycle anchor no longer moves), so the
    pump has not "changed since the plan was made" because a day began."""
    morphine = [{"name": "morphine", "concentration": "2 mg/mL"}]
    rx = {"pump_model": "ITP-40", "indication": "pain-noncancer", "drugs": morphine,
          "mode": "flex", "steps": [{"start": "00:00", "dose": "0.4 mg/day"},
                                    {"start": "08:00", "dose": "0.45 mg/day"}],
          "catheter": {"volume": "0.15 mL"}}  # fmt: skip
    s = clinic.session("doc", emulator.address)
    s.connect()
    first = s.propose({**rx, "refill": {"removed": "39 mL", "added": "20 mL"}})
    assert s.send(first, confirmed=True, password=PASSWORDS["doc"]).outcome == "applied"
    proposal = s.propose({**rx, "steps": [{"start": "00:00", "dose": "0.4 mg/day"},
                                          {"start": "09:00", "dose": "0.45 mg/day"}]})  # fmt: skip
    assert proposal.plan.ok, proposal.plan.findings
    s.close()
    c = emulator.client()
    c.sim_advance(36 * 3600)  # past midnight, and past a year would be the same
    c.close()
    s.reconnect()
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "applied", result.message
