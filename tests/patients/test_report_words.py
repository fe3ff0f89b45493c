"""The patient report reads as a clinician writes: dates in the clinic's local time (the
exact UTC stamp one hover away, in a title), stored codes as words, never as they are kept."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from programmer.drugs import INDICATIONS
from programmer.patients import report
from programmer.patients.fields import PUMP_KINDS
from programmer.patients.registry import (
    DECISIONS,
    RESPONSES,
    SIDE_EFFECTS,
    TRIAL_KINDS,
    VISIT_KINDS,
    Patients,
    PumpSpec,
)
from programmer.store import Principal

# Every stored code that does not read as words by itself (a hyphen joins its parts).
RAW = sorted(
    c
    for c in {
        *INDICATIONS,
        *PUMP_KINDS,
        *TRIAL_KINDS,
        *RESPONSES,
        *DECISIONS,
        *SIDE_EFFECTS,
        *VISIT_KINDS,
    }
    if "-" in c
)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}|\bUTC\b")


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The clinic is in Berlin (UTC+1 in winter): local times differ from UTC."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def visible(html: str) -> str:
    """What a reader sees: the text between the tags (a title shows only on hover)."""
    return re.sub(r"<[^>]*>", " ", html)


def _patient_with_everything(patients: Patients, doctor: Principal) -> int:
    p = patients.add(doctor, clinic_id="MRN-0001", name="Ada Byron", dob="1961-05-04",
                     indication="spasticity-spinal")  # fmt: skip
    patients.add_pump(doctor, p.id, PumpSpec("programmable", "ITP40-000123", "2019-05-01",
                      model="ITP-40"))  # fmt: skip
    new, _ = patients.replace_pump(
        doctor, p.id,
        PumpSpec("constant-flow", "CF-0042", "2026-10-30", flow="0.5 mL/day", capacity="35 mL"),
        reason="battery at ERI", proposed=None,
    )  # fmt: skip
    patients.record_cf_refill(doctor, new.id, at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
                              removed_nl=4_000_000, added_nl=30_000_000, drugs=[],
                              measured_flow_nl_day=480_000, plan={})  # fmt: skip
    t0 = datetime(2019, 3, 4, 7, 0, tzinfo=UTC)
    t = patients.add_trial(doctor, p.id, drug="baclofen", kind="repeated-bolus", started_at=t0)
    patients.add_trial_dose(doctor, t.id, t0, "50 mcg")
    patients.add_observation(doctor, t.id, t0 + timedelta(hours=2), "ashworth", 2)
    patients.add_side_effect(doctor, t.id, t0 + timedelta(hours=3), "urinary-retention")
    patients.add_side_effect(doctor, t.id, t0 + timedelta(hours=4), "respiratory-depression")
    patients.record_result(doctor, t.id, response="positive", decision="no-implant",
                           effective_dose="50 mcg", effect_duration="10 h", rationale="prefers oral")  # fmt: skip
    t2 = patients.add_trial(doctor, p.id, drug="baclofen", kind="single-bolus",
                            started_at=t0 + timedelta(days=2))  # fmt: skip
    patients.record_result(doctor, t2.id, response="equivocal", decision="repeat-trial")
    patients.add_trial(doctor, p.id, drug="baclofen", kind="continuous",
                       started_at=t0 + timedelta(days=5), rate="0.5 mL/day",
                       concentration="50 mcg/mL")  # fmt: skip
    return p.id


def test_the_patient_report_shows_no_stored_code(patients, doctor, berlin) -> None:
    pid = _patient_with_everything(patients, doctor)
    text = visible(
        report.html(patients, doctor, pid, created=datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    )
    shown = [c for c in RAW if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
    assert shown == [], f"codes shown as they are stored: {shown}"
    assert "effect lasted 10 h" in text  # as written, not "600 min"
    for words in ("spasticity of spinal origin", "constant flow", "repeated boluses",
                  "urinary retention", "respiratory depression", "no implant",
                  "repeat the trial", "single bolus"):  # fmt: skip
        assert words in text, words


def test_the_patient_report_dates_are_local_with_the_exact_utc_stamp_on_hover(
    patients, doctor, berlin
) -> None:
    pid = _patient_with_everything(patients, doctor)
    html = report.html(patients, doctor, pid, created=datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    text = visible(html)
    iso = ISO.findall(text)
    assert iso == [], f"ISO or UTC text shown: {iso}"
    assert "Prepared Sun 1 Nov 2026, 10:00" in " ".join(text.split())  # 09:00 UTC in Berlin
    assert "4 May 1961" in text and "1 May 2019" in text
    # The trial's start, 07:00 UTC, is 08:00 in Berlin; its exact stamp in a title.
    assert "Mon 4 Mar 2019, 08:00" in text
    assert "title='2019-03-04 07:00:00 UTC'" in html
    # The refill late on 31 Oct UTC is 1 Nov in Berlin.
    assert re.search(r"Sun 1 Nov 2026, 00:30", text)
