"""`itp plan` as installed: a real process, the contract's exit codes, no traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ITP = [sys.executable, "-m", "programmer.cli"]
EXAMPLE = {
    "patient": "MRN-0001",
    "pump_model": "ITP-40",
    "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
    "mode": "flex",
    "steps": [{"start": "00:00", "dose": "0.05 mg/h"}, {"start": "07:00", "dose": "0.12 mg/h"}],
    "refill": {"removed": "4.6 mL", "added": "18 mL", "at": "2025-03-01T09:00:00-06:00"},
    # the fill in the pump now: without it a refill needs a bridge decision (issue 12 class 8)
    "previous": {"drugs": [{"name": "morphine", "concentration": "10 mg/mL"}]},
}


def _itp(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run([*ITP, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize(
    ("rx", "code"),
    [
        (EXAMPLE, 0),
        ({**EXAMPLE, "drugs": [{"name": "morphine", "concentration": "7 mg/mL"}]}, 4),
        ({**EXAMPLE, "mode": "sometimes"}, 3),
    ],
)
def test_exit_codes_and_json(tmp_path: Path, rx, code):
    path = tmp_path / "rx.json"
    path.write_text(json.dumps(rx))
    result = _itp("plan", str(path), "--json")
    assert result.returncode == code, result.stderr
    out = json.loads(result.stdout)
    assert out["ok"] is (code == 0)
    assert "Traceback" not in result.stderr


def test_human_output_names_doses_and_dates(tmp_path: Path):
    path = tmp_path / "rx.json"
    path.write_text(json.dumps(EXAMPLE))
    result = _itp("plan", str(path))
    assert result.returncode == 0
    assert "Daily dose morphine: 2.39 mg/day" in result.stdout
    assert "Refill due:" in result.stdout and "(low_reservoir_alarm)" in result.stdout


def test_usage_errors_exit_2_without_traceback(tmp_path: Path):
    for args in (
        ["plan"],
        ["plan", str(tmp_path / "missing.json")],
        ["frobnicate"],
        ["plan", "--bogus", "x"],
    ):
        result = _itp(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert result.stderr.strip()


SLIP = {
    **{k: v for k, v in EXAMPLE.items() if k != "steps"},
    "drugs": [{"name": "morphine", "concentration": "10 mcg/mL"}],
    "previous": {"drugs": [{"name": "morphine", "concentration": "10 mcg/mL"}]},
    "mode": "continuous",
    "rate": "0.5 mL/day",
}
CONFIRM = ["--confirm-value", "drugs[0].concentration=10 mcg/mL"]
REASON = ["--override", "unit_suspect", "--reason", "compounded this weak on purpose"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ([], 3),
        (REASON, 3),  # a reason alone never clears a unit slip
        (CONFIRM, 4),  # retyped: now soft, and it needs its own reason
        ([*CONFIRM, *REASON], 0),
        (["--confirm-value", "drugs[0].concentration=10 mg/mL", *REASON], 3),
        (["--confirm-value", "nonsense"], 2),
        (["--override", "unit_suspect", "dose_rounded", "--reason", "one for both codes"], 2),
        (["--override", "no_such_code", "--reason", "a reason of words"], 2),
        (["--reason", "unit_suspect=a reason without its override"], 2),
    ],
)
def test_confirm_value_and_reasons_on_itp_plan(tmp_path: Path, extra: list[str], code: int):
    path = tmp_path / "rx.json"
    path.write_text(json.dumps(SLIP))
    result = _itp("plan", str(path), "--json", *extra)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if code == 0:
        assert json.loads(result.stdout)["confirmed_values"] == [
            {"field": "drugs[0].concentration", "value": "10 mcg/mL"}
        ]


def test_human_output_says_how_to_retype(tmp_path: Path):
    path = tmp_path / "rx.json"
    path.write_text(json.dumps(SLIP))
    result = _itp("plan", str(path))
    assert "--confirm-value 'drugs[0].concentration=VALUE'" in result.stdout
    assert "concentration=10 mcg/mL" not in result.stdout  # never a line to copy and paste
