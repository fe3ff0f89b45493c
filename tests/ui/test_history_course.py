"""The history screen across a patient's pump replacement: one timeline, each pump marked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from programmer.patients.registry import Patients, PumpSpec
from programmer.store import InfusionHour, Principal, Role
from ui.app_state import AppState
from ui.history.page import HistoryPage

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DOCTOR = Principal("dr.lee", Role.PHYSICIAN)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    s = AppState(tmp_path / "db.sqlite3", audit_key=tmp_path / "k", hasher=FAST)
    s.create_first_admin("admin", "admin-pass-1234")
    s.accounts.add("nurse.kim", Role.NURSE, "nurse-pass-1234", actor=s.principal)
    s.sign_out()
    s.sign_in("nurse.kim", "nurse-pass-1234")
    yield s
    s.shutdown()


def _hours(state: AppState, serial: str, first_h: int, count: int, nl: int) -> None:
    state.records.upsert_pump(serial, "ITP-20")
    state.records.save_infusion_hours(serial, [
        InfusionHour(datetime.fromtimestamp(T0 + (first_h + i) * 3600, UTC), nl,
                     {"basal_nl": nl, "bolus_nl": 0})
        for i in range(count)
    ])  # fmt: skip


def _replaced_patient(state: AppState) -> None:
    """Pump P-OLD from June 2025, replaced by P-NEW on 4 Jan 2026 (battery at its end)."""
    pts = Patients(state.store, state.trail)
    pid = pts.add(DOCTOR, clinic_id="MRN-0007", name="Ada Byron", dob="1961-05-04").id
    pts.add_pump(DOCTOR, pid, PumpSpec("programmable", "P-OLD", date(2025, 6, 1), model="ITP-20"))
    pts.replace_pump(DOCTOR, pid, PumpSpec("programmable", "P-NEW", date(2026, 1, 4),
                                           model="ITP-20"),
                     reason="battery at end of service", proposed=None)  # fmt: skip


def test_a_replaced_pump_shows_one_timeline_across_both_pumps(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    _hours(state, "P-OLD", 0, 72, 10_000)  # 1 to 3 Jan
    _hours(state, "P-NEW", 96, 72, 20_000)  # 5 to 7 Jan
    _replaced_patient(state)
    page = HistoryPage(state)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sig_history_loaded, timeout=10_000):
        page.reload("P-NEW")
    assert page.course is not None and page.course.serials == ["P-OLD", "P-NEW"]
    text = page.course_label.text()
    assert not page.course_label.isHidden()
    assert "MRN-0007" in text and "P-OLD" in text and "P-NEW" in text
    assert "implanted 1 Jun 2025, explanted 4 Jan 2026" in text
    assert "pump replaced: P-OLD → P-NEW" in text
    # Both pumps' hours on one axis, the day between them a gap, never joined across.
    ys = page.charts.hourly_curve.yData
    assert len(ys) == 168
    assert ys[0] == pytest.approx(0.01) and ys[100] == pytest.approx(0.02)
    assert np.isnan(ys[80])
    assert page.charts.course_labels == ["ITP-20 P-OLD", "ITP-20 P-NEW"]
    assert page.charts.replacement_lines == 1
    assert "144 hours reported" in page.summary.text()


def test_a_pump_of_no_patient_shows_its_own_history(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    _hours(state, "P-OLD", 0, 72, 10_000)
    _hours(state, "P-LONE", 96, 24, 20_000)
    _replaced_patient(state)
    page = HistoryPage(state)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sig_history_loaded, timeout=10_000):
        page.reload("P-LONE")
    assert page.course is None and page.course_label.isHidden()
    assert len(page.charts.hourly_curve.yData) == 24
    assert page.charts.course_labels == [] and page.charts.replacement_lines == 0
