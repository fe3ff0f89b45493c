"""The first fill of a patient's pump starts from their screening trial, in the editor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from programmer.emulator.model import PumpModel
from programmer.patients.registry import Patients, PumpSpec
from tests.ui.conftest_therapy import START_T, connect, make_state
from ui.app_state import AppState
from ui.therapy.page import CHECK_WORD, COL_CHECK, TherapyPage

pytestmark = pytest.mark.gui


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    yield s
    s.shutdown()


def _patient_with_baclofen_trial(state: AppState, serial: str) -> None:
    """A 50 mcg screening bolus that worked for 6 h; the decision was to implant."""
    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    pid = pts.add(me, clinic_id="MRN-0042", name="Ada Byron", dob="1961-05-04",
                  indication="spasticity-spinal").id  # fmt: skip
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    trial = pts.add_trial(me, pid, drug="baclofen", kind="single-bolus", started_at=t0)
    pts.add_trial_dose(me, trial.id, t0, "50 mcg")
    pts.record_result(me, trial.id, response="positive", decision="implant",
                      effective_dose="50 mcg", effect_duration="6 h")  # fmt: skip
    pts.add_pump(me, pid, PumpSpec("programmable", serial, t0.date() + timedelta(days=10),
                                   model="ITP-40"))  # fmt: skip


def test_first_fill_proposes_the_trial_start_and_flags_a_dose_above_it(
    qtbot: QtBot, state: AppState
) -> None:
    """Lioresal Intrathecal: "the screening dose that gave a positive effect should be
    doubled and administered over a 24-hour period, unless the efficacy of the bolus dose
    was maintained for more than 8 hours": a 50 mcg bolus that lasted 6 h starts at
    100 mcg/day, and the editor shows that figure with the label as its source."""
    _patient_with_baclofen_trial(state, PumpModel("ITP-40", START_T).serial)
    page = TherapyPage(state)
    qtbot.addWidget(page)
    connect(qtbot, state)  # a fresh pump holding saline: its first fill
    qtbot.waitUntil(lambda: "trial" in page.model.data, timeout=5_000)
    assert page.model.data["patient"] == "MRN-0042"
    assert page.model.drugs() == []  # the new pump holds saline
    page.model.add_drug()
    page.model.set_drug(0, "baclofen", "500 mcg/mL")
    page.model.set_mode("continuous")
    note = page.start_dose
    assert not note.isHidden()
    assert "100 mcg/day" in note.text.text()
    assert "Lioresal" in note.text.text() or "LIORESAL" in note.text.text()
    assert "doubled" in note.text.toolTip()
    note.use_button.click()
    assert page.model.data["dose"] == "100 mcg/day"
    item = page.table.item(0, COL_CHECK)
    assert item is not None and item.text() == "ok"
    page.model.set_continuous_dose("150 mcg/day")
    item = page.table.item(0, COL_CHECK)
    assert item is not None and item.text() == CHECK_WORD["soft"]
    assert "start_dose_above_trial" in {f.code for f in page.model.plan().findings}
    assert "above the starting dose 100 mcg/day" in item.toolTip()


def test_a_pump_of_a_patient_without_a_trial_carries_no_trial(
    qtbot: QtBot, state: AppState
) -> None:
    page = TherapyPage(state)
    qtbot.addWidget(page)
    connect(qtbot, state)
    qtbot.waitUntil(lambda: state.interrogation is not None, timeout=5_000)
    assert "trial" not in page.model.data and page.start_dose.isHidden()


def test_a_pump_linked_to_its_patient_after_connecting_takes_the_trial_on(
    qtbot: QtBot, state: AppState
) -> None:
    """Connect a new pump nobody has recorded, then say whose it is: the first fill
    proposes that patient's trial dose without reconnecting."""
    from ui.patients.link import PumpOwnerDialog

    me = state.principal
    assert me is not None
    _patient_with_baclofen_trial(state, "ITP40-999999")  # the trial's patient, another pump
    pts = Patients(state.store, state.trail)
    other = pts.add(me, clinic_id="MRN-0043", name="Alan Turing", dob="1972-06-23",
                    indication="spasticity-cerebral").id  # fmt: skip
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
    trial = pts.add_trial(me, other, drug="baclofen", kind="single-bolus", started_at=t0)
    pts.add_trial_dose(me, trial.id, t0, "40 mcg")
    pts.record_result(me, trial.id, response="positive", decision="implant",
                      effective_dose="40 mcg", effect_duration="10 h")  # fmt: skip
    page = TherapyPage(state)
    qtbot.addWidget(page)
    connect(qtbot, state)
    assert "trial" not in page.model.data  # nobody's pump yet: no trial
    i = state.interrogation
    assert i is not None
    dialog = PumpOwnerDialog(state, i.serial, i.model)
    qtbot.addWidget(dialog)
    dialog.search.setText("turing")
    dialog.list.setCurrentRow(0)
    dialog.confirm()
    assert page.model.data.get("trial", {}).get("dose") == "40000 ng"
    assert page.model.data["patient"] == "MRN-0043"
    assert not page.start_dose.isHidden() and "40 mcg/day" in page.start_dose.text.text()
    assert "more than 8 h" in page.start_dose.text.text()
    page.model.undo_stack.undo()
    assert "trial" not in page.model.data
    state.sig_pump_changed.emit()  # read again: the trial taken back stays out
    assert "trial" not in page.model.data
