"""`itp program --confirm-value FIELD=VALUE`: a unit slip reaches the pump only when retyped."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Clinic, Emulator
from .test_cli_bad_input import _itp

SLIP = {
    "pump_model": "ITP-40",
    "indication": "pain-noncancer",
    "drugs": [{"name": "morphine", "concentration": "10 mcg/mL"}],
    "mode": "continuous",
    "rate": "0.5 mL/day",
    "catheter": {"volume": "0.15 mL"},
    "refill": {"removed": "39 mL", "added": "20 mL"},
    "bolus": {"kind": "priming", "fluid_path": "new-pump"},
}
REASONS = [
    "--override", "unit_suspect", "below_starting_dose",
    "--reason", "unit_suspect=very low dose trial by the pharmacy",
    "--reason", "below_starting_dose=very low dose trial by the pharmacy, on purpose",
]  # fmt: skip


def test_a_unit_slip_is_sent_only_when_the_value_is_typed_again(
    clinic: Clinic, emulator: Emulator, tmp_path: Path
) -> None:
    rx = tmp_path / "slip.json"
    rx.write_text(json.dumps(SLIP))
    args = ["program", "--pump", emulator.address, str(rx), "--user", "doc", "--yes", "--json"]
    r = _itp([*args, *REASONS], clinic)
    assert r.returncode == 3, r.stderr  # reasons alone: still hard
    out = json.loads(r.stdout)
    assert out["outcome"] == "refused"
    slip = next(f for f in out["findings"] if f["code"] == "unit_suspect")
    assert slip["field"] == "drugs[0].concentration"
    assert slip["retype"] == {"value": "10 mcg/mL", "confirmed": False}
    r = _itp([*args, *REASONS, "--confirm-value", "drugs[0].concentration=10 mg/mL"], clinic)
    assert r.returncode == 3 and "confirm_value_mismatch" in r.stdout
    r = _itp([*args, *REASONS, "--confirm-value", "drugs[0].concentration"], clinic)
    assert r.returncode == 2 and "FIELD=VALUE" in r.stderr
    r = _itp([*args, *REASONS, "--confirm-value", "drugs[0].concentration=10 mcg/mL"], clinic)
    assert r.returncode == 0, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["outcome"] == "applied"
    assert out["confirmed_values"] == [{"field": "drugs[0].concentration", "value": "10 mcg/mL"}]
