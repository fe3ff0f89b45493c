"""Bad input on every pump command: a clear message, the contract's exit code, nothing sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PASSWORDS, Clinic, Emulator, start_emulator

GOOD = {"pump_model": "ITP-40", "drugs": [], "mode": "continuous", "rate": "0.2 mL/day"}


def _itp(
    args: list[str], clinic: Clinic, password: str = PASSWORDS["doc"]
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ITP_PASSWORD": password, "PYTHONWARNINGS": "error"}
    return subprocess.run([sys.executable, "-m", "programmer.cli", *args, "--db", str(clinic.db), "--audit-key", str(clinic.key)],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)  # fmt: skip


def _therapy_changes(emulator: Emulator) -> int:
    c = emulator.client()
    try:
        events, seq = [], 1
        while True:
            page = c.read_events(seq, 1024)
            events += page["events"]
            if not page["events"] or page["next_seq"] > page["last_seq"]:
                return sum(e["code"] == "changeset_applied" for e in events)
            seq = page["next_seq"]
    finally:
        c.close()


@pytest.fixture
def rx_file(tmp_path: Path) -> Path:
    p = tmp_path / "rx.json"
    p.write_text(json.dumps(GOOD))
    return p


def _cases(emulator: Emulator, rx: Path, tmp: Path) -> list[tuple[str, list[str], str, int, str]]:
    bad_json = tmp / "bad.json"
    bad_json.write_text('{"mode": ')
    short_key = tmp / "short.key"
    short_key.write_bytes(b"\x01" * 31)
    wrong_key = tmp / "wrong.key"
    wrong_key.write_bytes(b"\x07" * 32)
    pump = ["--pump", emulator.address]
    return [
        (
            "missing prescription",
            ["program", *pump, str(tmp / "nope.json"), "--user", "doc", "--yes"],
            "doc",
            2,
            "no such file",
        ),
        (
            "malformed JSON",
            ["program", *pump, str(bad_json), "--user", "doc", "--yes"],
            "doc",
            2,
            "not valid JSON",
        ),
        (
            "unknown option",
            ["program", *pump, str(rx), "--user", "doc", "--yess"],
            "doc",
            2,
            "unrecognized",
        ),
        ("no --pump", ["interrogate", "--user", "doc"], "doc", 2, "--pump"),
        ("no --user", ["interrogate", *pump], "doc", 2, "--user"),
        (
            "wrong address scheme",
            ["interrogate", "--pump", "http://x", "--user", "doc"],
            "doc",
            2,
            "address",
        ),
        (
            "nothing listening",
            ["interrogate", "--pump", "tcp://127.0.0.1:1", "--user", "doc"],
            "doc",
            2,
            "could not",
        ),
        (
            "key file too short",
            ["interrogate", *pump, "--user", "doc", "--key-file", str(short_key)],
            "doc",
            2,
            "32",
        ),
        (
            "wrong key",
            ["program", *pump, str(rx), "--user", "doc", "--yes", "--key-file", str(wrong_key)],
            "doc",
            7,
            "key",
        ),
        (
            "wrong password",
            ["program", *pump, str(rx), "--user", "doc", "--yes"],
            "wrong-password",
            7,
            "",
        ),
        (
            "unknown user",
            ["program", *pump, str(rx), "--user", "ghost", "--yes"],
            "whatever-123",
            7,
            "",
        ),
        (
            "nurse programs",
            ["program", *pump, str(rx), "--user", "nurse", "--yes"],
            "nurse",
            7,
            "may not program",
        ),
        (
            "override without reason",
            ["program", *pump, str(rx), "--user", "doc", "--yes", "--override", "unit_suspect"],
            "doc",
            2,
            "--reason",
        ),
        (
            "no terminal and no --yes",
            ["program", *pump, str(rx), "--user", "doc"],
            "doc",
            2,
            "--yes",
        ),
        (
            "history bad format",
            ["history", *pump, "--user", "doc", "--format", "xml"],
            "doc",
            2,
            "invalid choice",
        ),
    ]


def test_every_bad_input_gets_its_exit_code_and_nothing_is_sent(
    clinic: Clinic, emulator: Emulator, rx_file: Path, tmp_path: Path
) -> None:
    before = _therapy_changes(emulator)
    for name, args, who, code, text in _cases(emulator, rx_file, tmp_path):
        password = PASSWORDS.get(who, who)
        r = _itp(args, clinic, password)
        assert r.returncode == code, (name, r.returncode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr, (name, r.stderr)
        assert r.stderr.strip(), name
        assert text.lower() in r.stderr.lower(), (name, r.stderr)
    assert _therapy_changes(emulator) == before


def test_a_soft_finding_needs_override_and_reason(
    clinic: Clinic, emulator: Emulator, tmp_path: Path
) -> None:
    rx = tmp_path / "stop.json"
    rx.write_text(json.dumps({"pump_model": "ITP-40", "drugs": [], "mode": "stopped"}))
    args = ["program", "--pump", emulator.address, str(rx), "--user", "doc", "--yes", "--json"]
    r = _itp(args, clinic)
    assert r.returncode == 4 and json.loads(r.stdout)["outcome"] == "refused"
    r = _itp([*args, "--override", "therapy_stopped", "--reason", "explant"], clinic)
    assert r.returncode == 3 and json.loads(r.stdout)["outcome"] == "refused"  # a reason of words
    r = _itp(
        [*args, "--override", "therapy_stopped", "--reason", "explant planned tomorrow"], clinic
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["outcome"] == "applied" and out["overrides"] == [
        {"code": "therapy_stopped", "reason": "explant planned tomorrow"}
    ]


def test_history_json_and_csv(clinic: Clinic, emulator: Emulator) -> None:
    r = _itp(["history", "--pump", emulator.address, "--user", "doc", "--format", "json"], clinic)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["events"] and out["events"][0]["seq"] == 1
    r = _itp(["history", "--pump", emulator.address, "--user", "doc", "--format", "csv"], clinic)
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("record,key,time")


def test_history_from_a_restarted_emulator_is_refused_not_mixed(
    clinic: Clinic, tmp_path: Path
) -> None:
    """Two `itp emulator` runs with no shared state are two pumps under one serial."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_emulator(tmp_path / "a")
    try:
        c = first.client()
        for _ in range(20):
            c.sim_ptm()  # (patient bolus disabled: one event each)
        c.close()
        r = _itp(["history", "--pump", first.address, "--user", "doc", "--format", "json"], clinic)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
    finally:
        first.process.kill()
        first.process.wait()
    second = start_emulator(tmp_path / "b")  # a fresh log, shorter than the stored one
    try:
        r = _itp(["history", "--pump", second.address, "--user", "doc", "--format", "json"], clinic)
    finally:
        second.process.kill()
        second.process.wait()
    assert r.returncode == 2 and r.stdout == "", r
    assert "does not continue the one stored" in r.stderr and "Traceback" not in r.stderr
    kept = clinic.records.events(out["serial"])
    assert [(e.seq, e.kind) for e in kept] == [(e["seq"], e["code"]) for e in out["events"]]


def test_several_overrides_after_one_flag(
    clinic: Clinic, emulator: Emulator, tmp_path: Path
) -> None:
    rx = tmp_path / "stop.json"
    rx.write_text(json.dumps({"pump_model": "ITP-40", "drugs": [], "mode": "stopped"}))
    args = ["program", "--pump", emulator.address, str(rx), "--user", "doc", "--yes", "--json",
            "--override", "therapy_stopped", "unit_suspect"]  # fmt: skip
    r = _itp([*args, "--reason", "explant planned tomorrow"], clinic)
    assert r.returncode == 2 and "its own reason" in r.stderr  # one reason for two findings
    r = _itp([*args, "--reason", "therapy_stopped=explant planned tomorrow",
              "--reason", "unit_suspect=no unit slip here at all"], clinic)  # fmt: skip
    assert r.returncode == 0, r.stderr
    codes = {o["code"] for o in json.loads(r.stdout)["overrides"]}
    assert codes == {"therapy_stopped"}  # no unit_suspect in this plan: nothing to record
