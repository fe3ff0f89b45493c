"""Issue 12 class 13: numbers with thousands of digits are refused in words, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from programmer.prescription import PrescriptionFileError, parse_prescription_json
from programmer.quantities import MAX_NUMBER_DIGITS, QuantityError, parse_quantity

ITP = [sys.executable, "-m", "programmer.cli"]
BIG = "9" * 5000


def _rx(**changes: object) -> dict[str, object]:
    rx: dict[str, object] = {
        "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
        "mode": "continuous",
        "dose": "0.5 mg/day",
    }
    rx.update(changes)
    return rx


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(_rx(drugs=[{"name": "morphine", "concentration": BIG + " mg/mL"}])),
        json.dumps(_rx(dose="0." + BIG + " mg/day")),
        json.dumps(_rx(dose="1" + "0" * 1200 + " mg/day")),
        json.dumps(_rx(mode="flex", steps=[{"start": "00:00", "dose": "1 mg/day"}]))[:-1]
        + ', "cycle_days": '
        + BIG
        + "}",
        '{"mode": "continuous", "dose": "1 mg/day", "drugs": [], "low_reservoir_alarm": 1.'
        + BIG
        + "}",
    ],
)
def test_the_cli_exits_2_with_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rx.json"
    path.write_text(text)
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    r = subprocess.run(
        [*ITP, "plan", str(path), "--json"], capture_output=True, text=True, timeout=60, env=env
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "digits" in r.stderr


def test_the_reader_names_the_field() -> None:
    with pytest.raises(PrescriptionFileError, match=r"drugs\[0\]\.concentration.*5000 digits"):
        parse_prescription_json(
            json.dumps(_rx(drugs=[{"name": "morphine", "concentration": BIG + " mg/mL"}]))
        )


def test_a_quantity_longer_than_the_bound_is_refused_with_the_limit() -> None:
    ok = "1" * MAX_NUMBER_DIGITS + " nL"
    assert parse_quantity(ok).value == int("1" * MAX_NUMBER_DIGITS)
    with pytest.raises(QuantityError, match=f"at most {MAX_NUMBER_DIGITS} digits"):
        parse_quantity("1" * (MAX_NUMBER_DIGITS + 1) + " nL")
    with pytest.raises(QuantityError, match="digits"):
        parse_quantity("0." + "0" * MAX_NUMBER_DIGITS + "1 mg")
