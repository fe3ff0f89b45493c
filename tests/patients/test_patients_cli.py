"""`itp patients` and `itp trial` as a script runs them: exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from programmer.cli import main
from programmer.store import Accounts, AuditTrail, open_store

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("ITP_PASSWORD", "pass-word-123")
    # Sign-in costs the default Argon2 profile on every command; the profile is tested apart.
    monkeypatch.setattr("programmer.patients.cli.Accounts",
                        lambda store, trail: Accounts(store, trail, hasher=FAST))  # fmt: skip
    db, key = tmp_path / "itp.sqlite3", tmp_path / "audit.key"
    with open_store(db) as store:
        accounts = Accounts(store, AuditTrail.open(store, key), hasher=FAST)
        accounts.add("root", "admin", "pass-word-123", actor=None)
        root = accounts.sign_in("root", "pass-word-123")
        accounts.add("dr", "physician", "pass-word-123", actor=root)
        accounts.add("nu", "nurse", "pass-word-123", actor=root)
    return ["--db", str(db), "--audit-key", str(key)]


def itp(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_patients_pumps_and_the_hard_stop_from_the_command_line(env, capsys, tmp_path):
    dr, nu = [*env, "--user", "dr"], [*env, "--user", "nu"]
    assert itp(capsys, "patients", "add", "MRN-1", "--name", "Ada Byron", "--dob", "1961-05-04",
               "--indication", "spasticity-spinal", *dr)[0] == 0  # fmt: skip
    assert (
        itp(capsys, "patients", "add", "MRN-2", "--name", "Bob", "--dob", "1970-01-01", *dr)[0] == 0
    )
    code, _, err = itp(
        capsys, "patients", "add", "MRN-3", "--name", "C", "--dob", "1970-01-01", *nu
    )
    assert code == 7 and "nurse" in err
    code, _, err = itp(capsys, "patients", "add", "MRN-3", "--name", "C", "--dob", "70-01-01", *dr)
    assert code == 2 and "dob" in err and "YYYY-MM-DD" in err
    assert itp(capsys, "patients", "find-pump", "ITP40-1", *nu)[0] == 1  # nobody's: ask
    assert itp(capsys, "patients", "link-pump", "MRN-1", "--serial", "ITP40-1", "--model", "ITP-40",
               "--implanted-on", "2020-01-01", *dr)[0] == 0  # fmt: skip
    code, out, _ = itp(capsys, "patients", "find-pump", "ITP40-1", "--json", *nu)
    assert code == 0 and json.loads(out)["patient"] == "MRN-1"
    code, _, err = itp(capsys, "patients", "link-pump", "MRN-2", "--serial", "ITP40-1",
                       "--implanted-on", "2021-01-01", *dr)  # fmt: skip
    assert code == 3 and "MRN-1" in err
    code, out, _ = itp(capsys, "patients", "list", "--search", "ada", "--json", *nu)
    assert [r["clinic_id"] for r in json.loads(out)] == ["MRN-1"]
    code, out, _ = itp(capsys, "patients", "replace-pump", "MRN-1", "--serial", "ITP20-2",
                       "--model", "ITP-20", "--implanted-on", "2026-10-01", "--reason", "battery",
                       "--json", *dr)  # fmt: skip
    assert code == 0 and json.loads(out)["proposed"] is None  # no recorded therapy: no guess
    code, out, _ = itp(capsys, "patients", "show", "MRN-1", "--json", *nu)
    shown = json.loads(out)
    assert [p["serial"] for p in shown["pumps"]] == ["ITP40-1", "ITP20-2"]
    assert any(e["kind"] == "replacement" for e in shown["entries"])
    report = tmp_path / "r.html"
    assert itp(capsys, "patients", "report", "MRN-1", "--out", str(report), *nu)[0] == 0
    assert "ITP40-1" in report.read_text() and "ITP20-2" in report.read_text()


def test_a_trial_from_first_dose_to_the_first_fills_start_dose(env, capsys, tmp_path):
    dr = [*env, "--user", "dr"]
    itp(capsys, "patients", "add", "MRN-1", "--name", "Ada", "--dob", "1961-05-04", *dr)
    code, out, _ = itp(capsys, "trial", "add", "MRN-1", "--drug", "baclofen", "--kind",
                       "single-bolus", "--started-at", "2026-10-01T08:00:00Z", "--json", *dr)  # fmt: skip
    tid = str(json.loads(out)["trial"])
    assert (
        itp(capsys, "trial", "dose", tid, "--at", "2026-10-01T08:00:00Z", "--dose", "50 mcg", *dr)[
            0
        ]
        == 0
    )
    assert itp(capsys, "trial", "observe", tid, "--at", "2026-10-01T12:00:00Z", "--scale",
               "ashworth", "--score", "1", *dr)[0] == 0  # fmt: skip
    code, _, err = itp(capsys, "trial", "observe", tid, "--at", "2026-10-01T12:00:00Z", "--scale",
                       "pain", "--score", "12", *dr)  # fmt: skip
    assert code == 2 and "score" in err and "10" in err
    code, _, err = itp(
        capsys, "trial", "dose", tid, "--at", "2026-10-01T08:00", "--dose", "50 mcg", *dr
    )
    assert code == 2 and "UTC offset" in err
    assert itp(capsys, "trial", "result", tid, "--response", "positive", "--decision", "implant",
               "--effective-dose", "50 mcg", "--effect-duration", "6 h", *dr)[0] == 0  # fmt: skip
    code, out, _ = itp(capsys, "trial", "prescription", tid, "--json", *dr)
    trial = json.loads(out)
    assert trial == {"drug": "baclofen", "kind": "bolus", "response": "positive",
                     "dose": "50000 ng", "effect_duration": "360 min"}  # fmt: skip
    rx = {"pump_model": "ITP-20", "indication": "spasticity-spinal",
          "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}],
          "mode": "continuous", "dose": "100 mcg/day", "trial": trial}  # fmt: skip
    path = tmp_path / "rx.json"
    path.write_text(json.dumps(rx))
    code, out, _ = itp(capsys, "plan", str(path), "--json")
    assert code == 0 and json.loads(out)["start_dose"]["amount_ng"] == 100_000


def test_constant_flow_refills_record_the_measured_flow_and_refuse_without_override(
    env, capsys, tmp_path
):
    dr, nu = [*env, "--user", "dr"], [*env, "--user", "nu"]
    itp(capsys, "patients", "add", "MRN-1", "--name", "Ada", "--dob", "1961-05-04", *dr)
    assert itp(capsys, "patients", "add-pump", "MRN-1", "--kind", "constant-flow", "--serial", "CF-1",
               "--implanted-on", "2026-01-05", "--flow", "1 mL/day", "--capacity", "35 mL", *dr)[0] == 0  # fmt: skip
    pump = {"kind": "constant-flow", "flow": "1 mL/day", "capacity": "35 mL", "serial": "CF-1"}
    first = {"pump": pump, "indication": "pain-cancer", "drugs": [{"name": "morphine", "dose": "2 mg/day"}],
             "refill": {"removed": "0 mL", "added": "35 mL", "at": "2026-10-01T09:00:00Z", "first_fill": False}}  # fmt: skip
    second = {
        **first,
        "refill": {"removed": "12 mL", "added": "35 mL", "at": "2026-10-31T09:00:00Z"},
    }
    (tmp_path / "a.json").write_text(json.dumps(first))
    (tmp_path / "b.json").write_text(json.dumps(second))
    assert itp(capsys, "patients", "refill", "MRN-1", str(tmp_path / "a.json"), *nu)[0] == 0
    code, out, _ = itp(
        capsys, "patients", "refill", "MRN-1", str(tmp_path / "b.json"), "--json", *nu
    )
    body = json.loads(out)
    assert code == 4 and body["outcome"] == "refused" and body["flow_source"] == "measured"
    assert "flow_deviation" in [f["code"] for f in body["findings"]]
    code, out, _ = itp(capsys, "patients", "refill", "MRN-1", str(tmp_path / "b.json"), "--override",
                       "flow_deviation", "non_standard_concentration",
                       "--reason", "flow_deviation=dye study booked for Friday",
                       "--reason", "non_standard_concentration=pharmacy compounds it for the measured flow",
                       "--json", *nu)  # fmt: skip
    assert code == 0 and json.loads(out)["outcome"] == "recorded"
    code, out, _ = itp(capsys, "patients", "show", "MRN-1", *nu)
    assert "0.766667 mL/day" in out
    wrong = {**second, "pump": {**pump, "serial": "CF-9"}}
    (tmp_path / "c.json").write_text(json.dumps(wrong))
    assert itp(capsys, "patients", "refill", "MRN-1", str(tmp_path / "c.json"), *nu)[0] == 3


def test_the_command_lines_text_reads_in_words_and_local_dates(env, capsys):
    """What the command line prints for a person (not --json): codes as words, no ISO."""
    dr = [*env, "--user", "dr"]
    itp(capsys, "patients", "add", "MRN-1", "--name", "Ada", "--dob", "1961-05-04",
        "--indication", "spasticity-spinal", *dr)  # fmt: skip
    code, out, _ = itp(capsys, "trial", "add", "MRN-1", "--drug", "baclofen", "--kind",
                       "repeated-bolus", "--started-at", "2026-10-01T08:00:00Z", "--json", *dr)  # fmt: skip
    tid = str(json.loads(out)["trial"])
    itp(capsys, "trial", "side-effect", tid, "--at", "2026-10-01T09:00:00Z", "--effect",
        "urinary-retention", *dr)  # fmt: skip
    code, out, _ = itp(capsys, "trial", "result", tid, "--response", "negative", "--decision",
                       "no-implant", *dr)  # fmt: skip
    assert code == 0
    _, shown, _ = itp(capsys, "patients", "show", "MRN-1", *dr)
    text = out + shown
    for raw in ("repeated-bolus", "urinary-retention", "no-implant", "spasticity-spinal",
                "2026-10-01", "1961-05-04"):  # fmt: skip
        assert raw not in text, raw
    assert "repeated boluses" in text and "no implant" in text and "4 May 1961" in text
