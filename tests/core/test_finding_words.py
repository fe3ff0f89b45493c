"""Every finding code the core can emit has a title and a remedy a clinician reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import programmer
from programmer.finding_words import TITLES, finding_line, finding_words, severity_words
from programmer.findings import KINDS, Severity, finding

CONTRACT = Path("/work/shared/cli-and-prescription.md")
# The contract's codes (its table and its Additions), as of 2026-12: kept here too, so the
# test still holds where the contract file is not beside the repository.
CONTRACT_CODES = {
    "invalid_quantity", "unknown_drug", "below_min_rate", "above_max_rate", "invalid_profile",
    "over_max_concentration", "over_max_daily_dose", "over_hard_max_daily_dose",
    "dose_change_too_large", "titration_too_frequent", "unit_suspect", "admixture",
    "bridge_bolus_needed", "over_capacity", "refill_over_infusion", "refill_under_infusion",
    "pump_serial_mismatch", "pump_clock_offset", "invalid_for_pump", "flow_deviation",
    "start_dose_above_trial",
}  # fmt: skip


def _contract_codes() -> set[str]:
    codes = set(CONTRACT_CODES)
    if CONTRACT.exists():
        text = CONTRACT.read_text(encoding="utf-8")
        codes |= set(re.findall(r"^\| `([a-z_0-9]+)` \| (?:hard|soft|info)", text, re.M))
        codes |= set(re.findall(r"(?:hard|soft) (?:finding )?`([a-z_0-9]+)`", text))
        codes |= set(re.findall(r"finding\s+`([a-z_0-9]+)`", text))
    return codes


def _emitted_codes() -> set[str]:
    """Codes named where the core builds a finding: finding("code", ...) and FindingKind("code"."""
    root = Path(programmer.__file__).parent
    pattern = re.compile(r"(?:finding|FindingKind)\(\s*\"([a-z_0-9]+)\"")
    return {c for p in root.rglob("*.py") for c in pattern.findall(p.read_text(encoding="utf-8"))}


def test_the_collection_finds_codes() -> None:
    assert {"unit_suspect", "flow_deviation", "over_starting_dose"} <= _emitted_codes()
    assert {"unit_suspect", "start_dose_above_trial"} <= _contract_codes()


@pytest.mark.parametrize("source", ["contract", "emitted", "declared"])
def test_every_code_has_a_title(source: str) -> None:
    codes = (
        _contract_codes()
        if source == "contract"
        else _emitted_codes()
        if source == "emitted"
        else set(KINDS)
    )
    missing = sorted(codes - set(TITLES))
    assert not missing, f"no title for {missing}"


def test_titles_are_words_with_a_remedy() -> None:
    for code, title in TITLES.items():
        assert code in KINDS, f"title for a code the core does not declare: {code}"
        assert "_" not in title and title[0].isupper() and len(title) <= 45, title
        assert finding_words(code).remedy, code


def test_the_titles_a_clinician_reads() -> None:
    assert finding_words("over_starting_dose").title == "Above the starting dose"
    assert finding_words("unit_suspect").title == "Unit slip suspected"


def test_severity_in_words_never_a_code() -> None:
    assert severity_words(Severity.HARD) == "Must be fixed"
    assert severity_words("soft") == "Needs a reason"
    assert severity_words(Severity.INFO) == "For information"
    f = finding("over_starting_dose", "drugs[0].dose", "morphine: 2 mg/day above 0.5 mg/day")
    line = finding_line(f, f.message)
    assert line == "Needs a reason: Above the starting dose: morphine: 2 mg/day above 0.5 mg/day"
    assert "SOFT" not in line and "over_starting_dose" not in line


def test_json_keeps_the_contract_fields() -> None:
    f = finding("unit_suspect", "drugs[0].concentration", "m", "25 mcg/mL")
    out = f.to_json()
    assert out["code"] == "unit_suspect" and out["message"] == "m" and "title" not in out
