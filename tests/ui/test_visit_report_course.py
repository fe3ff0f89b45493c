"""The visit report of a pump that replaced another: the patient named, the earlier pump
and the replacement listed; a pump of no patient reports as before."""

from __future__ import annotations

from datetime import date

import pytest
from pytestqt.qtbot import QtBot

from programmer.patients.registry import Patients, PumpSpec
from ui.app_state import AppState
from ui.refill.wizard import CONFIRM, RefillPage

pytestmark = pytest.mark.gui


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def _report(qtbot: QtBot, state: AppState) -> str:
    w = RefillPage(state)
    qtbot.addWidget(w)
    w.go(1)
    w.removed.setText("20")
    w.go(2)
    w.go(3)
    w.added.setText("20")
    w.go(4)
    w.go(CONFIRM)
    qtbot.waitUntil(lambda: w.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    html = w.report_html()
    assert html is not None
    return html


def test_the_report_names_the_patient_and_lists_the_earlier_pump(
    qtbot: QtBot, state: AppState
) -> None:
    me, i = state.principal, state.interrogation
    assert me is not None and i is not None
    pts = Patients(state.store, state.trail)
    pid = pts.add(me, clinic_id="MRN-0031", name="Ada Byron", dob="1961-05-04").id
    pts.add_pump(me, pid, PumpSpec("programmable", "ITP40-000777", date(2019, 5, 1),
                                   model="ITP-40"))  # fmt: skip
    pts.replace_pump(me, pid, PumpSpec("programmable", i.serial, date(2025, 12, 30),
                                       model="ITP-40"),
                     reason="battery at end of service", proposed=None)  # fmt: skip
    html = _report(qtbot, state)
    assert "MRN-0031, Ada Byron, born 4 May 1961" in html
    assert "The patient&#x27;s pumps" in html or "The patient's pumps" in html
    assert "ITP-40 ITP40-000777" in html and "1 May 2019" in html
    assert "30 Dec 2025 (battery at end of service)" in html
    assert f"ITP-40 {i.serial} (this visit)" in html
    assert f"pump replaced: ITP40-000777 → {i.serial}" in html


def test_a_pump_of_no_patient_reports_as_before(qtbot: QtBot, state: AppState) -> None:
    html = _report(qtbot, state)
    assert "The patient" not in html and "this visit)" not in html
