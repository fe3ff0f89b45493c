"""A corpus of bad prescriptions: each gets its finding code (or exit 2), never a traceback."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from programmer.findings import KINDS, Severity
from programmer.plan_cli import main

GOOD: dict[str, Any] = {
    "pump_model": "ITP-40",
    "indication": "pain-noncancer",
    "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
    "mode": "flex",
    "steps": [{"start": "00:00", "dose": "0.05 mg/h"}, {"start": "07:00", "rate": "8 uL/h"}],
    "patient_bolus": {"dose": "0.1 mg", "duration": "10 min", "lockout": "2 h", "max_per_day": 4},
    "low_reservoir_alarm": "2 mL",
    "catheter": {"length": "60 cm", "volume_per_cm": "0.0026 mL"},
    "refill": {"removed": "4.6 mL", "added": "18 mL", "at": "2025-03-01T09:00:00-06:00",
               "expected": "4.5 mL", "last_fill": "20 mL"},
}  # fmt: skip

QUANTITY_FIELDS = [
    ("drugs", 0, "concentration"),
    ("steps", 0, "dose"),
    ("steps", 1, "rate"),
    ("patient_bolus", "dose"),
    ("patient_bolus", "duration"),
    ("patient_bolus", "lockout"),
    ("low_reservoir_alarm",),
    ("refill", "removed"),
    ("refill", "added"),
    ("catheter", "length"),
    ("catheter", "volume_per_cm"),
]
BAD_NUMBERS = [".5 mg", "5. mg", "1,5 mg", "1e3 mg", "\u0665 mg", "5", 5, 0.5, "5 furlongs", "5 MG"]


def _set(rx: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    obj: Any = rx
    for k in path[:-1]:
        obj = obj[k]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DELETE = object()


def _bad(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    rx = copy.deepcopy(GOOD)
    _set(rx, path, value)
    return rx


CASES: list[tuple[str, dict[str, Any], str]] = []
for fpath in QUANTITY_FIELDS:
    for bad in BAD_NUMBERS:
        CASES.append((f"{'.'.join(map(str, fpath))}={bad!r}", _bad(fpath, bad), "invalid_quantity"))

STRUCTURAL: list[tuple[str, Any, Any, str]] = [
    ("mode missing", ("mode",), _DELETE, "invalid_prescription"),
    ("mode unknown", ("mode",), "pulsed", "invalid_profile"),
    ("steps not starting at 0", ("steps", 0, "start"), "01:00", "invalid_profile"),
    ("steps out of order", ("steps", 1, "start"), "00:00", "invalid_profile"),
    ("step start 24:00", ("steps", 1, "start"), "24:00", "invalid_profile"),
    ("step start 7:00", ("steps", 1, "start"), "7:00", "invalid_profile"),
    ("step start 07:60", ("steps", 1, "start"), "07:60", "invalid_profile"),
    ("step day 2 in a 1-day cycle", ("steps", 1, "day"), 2, "invalid_profile"),
    ("step day 0", ("steps", 1, "day"), 0, "invalid_prescription"),
    ("step day as text", ("steps", 1, "day"), "1", "invalid_prescription"),
    ("step with dose and rate", ("steps", 1, "dose"), "0.1 mg/h", "invalid_profile"),
    ("step with neither", ("steps", 1, "rate"), _DELETE, "invalid_profile"),
    ("step dose in mass only", ("steps", 0, "dose"), "0.05 mg", "invalid_quantity"),
    ("step rate as dose unit", ("steps", 1, "rate"), "8 mg/h", "invalid_quantity"),
    ("steps empty", ("steps",), [], "invalid_profile"),
    ("steps not a list", ("steps",), "00:00", "invalid_profile"),
    ("cycle_days 8", ("cycle_days",), 8, "invalid_prescription"),
    ("cycle_days 0", ("cycle_days",), 0, "invalid_prescription"),
    ("cycle_days text", ("cycle_days",), "2", "invalid_prescription"),
    ("cycle_days true", ("cycle_days",), True, "invalid_prescription"),
    ("unknown top-level key", ("dosee",), "1 mg/day", "invalid_prescription"),
    ("unknown step key", ("steps", 0, "strat"), "00:00", "invalid_prescription"),
    ("unknown drug", ("drugs", 0, "name"), "aspirin", "unknown_drug"),
    ("near-miss drug name", ("drugs", 0, "name"), "morphene", "drug_name_near_miss"),
    ("drug name empty", ("drugs", 0, "name"), "", "invalid_prescription"),
    ("drug without concentration", ("drugs", 0, "concentration"), _DELETE, "invalid_prescription"),
    ("zero concentration", ("drugs", 0, "concentration"), "0 mg/mL", "invalid_quantity"),
    ("drugs not a list", ("drugs",), {"name": "morphine"}, "invalid_prescription"),
    (
        "five drugs",
        ("drugs",),
        [
            {"name": n, "concentration": "1 mg/mL"}
            for n in ("morphine", "hydromorphone", "bupivacaine", "fentanyl", "sufentanil")
        ],
        "invalid_prescription",
    ),
    (
        "duplicate drug",
        ("drugs",),
        [
            {"name": "morphine", "concentration": "10 mg/mL"},
            {"name": "Infumorph", "concentration": "10 mg/mL"},
        ],
        "invalid_prescription",
    ),
    ("over capacity", ("refill", "added"), "41 mL", "over_capacity"),
    ("pump model unknown", ("pump_model",), "ITP-80", "invalid_prescription"),
    ("jurisdiction unknown", ("jurisdiction",), "UK", "invalid_prescription"),
    ("indication unknown", ("indication",), "pain", "invalid_prescription"),
    ("ptm max 25", ("patient_bolus", "max_per_day"), 25, "invalid_prescription"),
    ("ptm max as text", ("patient_bolus", "max_per_day"), "4", "invalid_prescription"),
    ("ptm duration 61 min", ("patient_bolus", "duration"), "61 min", "invalid_patient_bolus"),
    ("ptm lockout under duration", ("patient_bolus", "lockout"), "5 min", "invalid_patient_bolus"),
    ("ptm lockout 25 h", ("patient_bolus", "lockout"), "25 h", "invalid_patient_bolus"),
    ("ptm volume too big", ("patient_bolus", "dose"), "11 mg", "invalid_patient_bolus"),
    ("ptm fractional minutes", ("patient_bolus", "duration"), "10.5 min", "invalid_quantity"),
    ("low alarm too small", ("low_reservoir_alarm",), "0.4 mL", "invalid_low_reservoir_alarm"),
    ("low alarm too big", ("low_reservoir_alarm",), "11 mL", "invalid_low_reservoir_alarm"),
    ("refill without removed", ("refill", "removed"), _DELETE, "invalid_prescription"),
    ("refill time without offset", ("refill", "at"), "2025-03-01T09:00:00", "invalid_prescription"),
    ("refill time garbage", ("refill", "at"), "yesterday", "invalid_prescription"),
    ("bolus kind unknown", ("bolus",), {"kind": "loading"}, "invalid_bolus"),
    ("bridge without previous", ("bolus",), {"kind": "bridge"}, "invalid_bolus"),
    (
        "single bolus without duration",
        ("bolus",),
        {"kind": "single", "dose": "1 mg"},
        "invalid_prescription",
    ),
    ("rate above pump max", ("steps", 1, "rate"), "1.1 mL/h", "above_max_rate"),
    ("rate below pump min", ("steps", 1, "rate"), "1 uL/h", "below_min_rate"),
    ("catheter both ways", ("catheter", "volume"), "0.1 mL", "invalid_prescription"),
    ("patient_bolus not an object", ("patient_bolus",), "0.1 mg", "invalid_prescription"),
]
for name, path, value, code in STRUCTURAL:
    CASES.append((name, _bad(path, value), code))

CASES.append(("ziconotide over hard max", {"drugs": [{"name": "ziconotide", "concentration": "100 mcg/mL"}],
              "mode": "continuous", "dose": "1 mcg/h"}, "over_hard_max_daily_dose"))  # fmt: skip
CASES.append(
    ("stopped with a dose", {"drugs": [], "mode": "stopped", "dose": "1 mg/day"}, "invalid_profile")
)
CASES.append(("continuous with steps", {"drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
              "mode": "continuous", "dose": "1 mg/day", "steps": []}, "invalid_profile"))  # fmt: skip
CASES.append(
    (
        "saline with a dose",
        {"drugs": [{"name": "saline"}], "mode": "continuous", "dose": "1 mg/day"},
        "invalid_profile",
    )
)
CASES.append(("baclofen mixed", {"drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"},
              {"name": "clonidine", "concentration": "100 mcg/mL"}], "mode": "continuous", "rate": "0.5 mL/day"},
              "mixing_not_allowed"))  # fmt: skip
CASES.append(("14 steps in a day", {"drugs": [{"name": "morphine", "concentration": "10 mg/mL"}], "mode": "flex",
              "steps": [{"start": f"{h:02d}:00", "rate": "0.1 mL/day"} for h in range(14)]}, "invalid_profile"))  # fmt: skip


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 100


@pytest.mark.parametrize(("name", "rx", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_prescription_gets_its_finding(name, rx, code, tmp_path, capsys):
    path = tmp_path / "rx.json"
    path.write_text(json.dumps(rx))
    rc = main([str(path), "--json"])
    out = json.loads(capsys.readouterr().out)
    found = {f["code"] for f in out["findings"]}
    assert code in found, (name, out["findings"])
    severities = {KINDS[c].severity for c in found}
    assert rc == (3 if Severity.HARD in severities else 4)
    assert out["ok"] is False
    for f in out["findings"]:
        assert f["field"] or f["code"] in ("admixture",)
        assert f["message"]


UNREADABLE = [
    ("not json", b'{"mode": "flex"'),
    ("a list", b"[]"),
    ("a string", b'"hello"'),
    ("empty file", b""),
    ("duplicate key", b'{"mode": "flex", "mode": "continuous"}'),
    ("NaN", b'{"cycle_days": NaN}'),
    ("Infinity", b'{"cycle_days": Infinity}'),
    ("latin-1 bytes", b'{"patient": "Jos\xe9"}'),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
]


@pytest.mark.parametrize(("name", "content"), UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_unreadable_files_exit_2_with_a_reason(name, content, tmp_path, capsys):
    path = tmp_path / "rx.json"
    path.write_bytes(content)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("itp plan: ") and str(path) in err


def test_missing_file_and_folder_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err


def test_unknown_option_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--jsn", "x.json"])
    assert info.value.code == 2
