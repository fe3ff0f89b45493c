"""The patient screens say what the store's codes mean: no "repeated-bolus",
"spasticity-spinal", "no-implant" or "urinary-retention" in any text a person reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGraphicsTextItem,
    QGraphicsView,
    QGroupBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QTableWidget,
    QWidget,
)

from programmer.drugs import INDICATIONS
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
from programmer.store.records import PRESCRIPTION_OUTCOMES
from ui.app_state import AppState
from ui.constant_flow.refill import ConstantFlowRefillDialog
from ui.patients.forms import NewPatientDialog, NewPumpDialog
from ui.patients.page import PatientsPage
from ui.trial.page import NewTrialDialog, TrialDialog

from .conftest import sign_in_physician

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
        *PRESCRIPTION_OUTCOMES,
    }
    if "-" in c or "_" in c
)
FLOW_SOURCES = ("(nominal)", "(measured)")  # the refill plan's flow_source as it is


def screen_text(root: QWidget) -> list[str]:
    """Every text of a widget and its children a person can read, tooltips included."""
    out = [root.windowTitle(), root.toolTip()]
    for w in [root, *root.findChildren(QWidget)]:
        out.append(w.toolTip())
        if isinstance(w, QLabel):
            out.append(re.sub(r"<[^>]*>", " ", w.text()))
        elif isinstance(w, QAbstractButton):
            out.append(w.text())
        elif isinstance(w, QGroupBox):
            out.append(w.title())
        elif isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
        elif isinstance(w, QPlainTextEdit):
            out.append(w.toPlainText())
        elif isinstance(w, QListWidget):
            for i in range(w.count()):
                out += [w.item(i).text(), w.item(i).toolTip()]
        elif isinstance(w, QTableWidget):
            for r in range(w.rowCount()):
                for c in range(w.columnCount()):
                    item = w.item(r, c)
                    if item is not None:
                        out += [item.text(), item.toolTip()]
        elif isinstance(w, QGraphicsView) and w.scene() is not None:
            out += [i.toPlainText() for i in w.scene().items() if isinstance(i, QGraphicsTextItem)]
    model = getattr(root, "model", None)
    if model is not None and hasattr(model, "rowCount"):
        out += [str(model.data(model.index(r, c)) or "")
                for r in range(model.rowCount()) for c in range(model.columnCount())]  # fmt: skip
    return [t for t in out if t]


def codes_in(texts: list[str]) -> list[tuple[str, str]]:
    """(code, text) for each stored code a text shows as it is ("constant-flow pump" is
    English; "constant-flow" alone is the code)."""
    return [
        (c, t)
        for t in texts
        for c in RAW
        if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-]| pump)", t)
    ] + [(c, t) for t in texts for c in FLOW_SOURCES if c in t]


def _patient(state: AppState) -> tuple[Patients, int]:
    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    pid = pts.add(me, clinic_id="MRN-0001", name="Ada Byron", dob="1961-05-04",
                  indication="spasticity-spinal").id  # fmt: skip
    pts.add_pump(me, pid, PumpSpec("programmable", "ITP40-000123", "2019-05-01"))
    pts.replace_pump(me, pid, PumpSpec("constant-flow", "CF-0042", "2026-01-05", flow="1 mL/day",
                                       capacity="35 mL"),
                     reason="battery at ERI", proposed=None)  # fmt: skip
    t0 = datetime(2019, 3, 4, 8, 0, tzinfo=UTC)
    t = pts.add_trial(me, pid, drug="baclofen", kind="repeated-bolus", started_at=t0)
    pts.add_trial_dose(me, t.id, t0, "50 mcg")
    pts.add_observation(me, t.id, t0 + timedelta(hours=2), "ashworth", 2)
    pts.add_side_effect(me, t.id, t0 + timedelta(hours=3), "urinary-retention")
    pts.add_side_effect(me, t.id, t0 + timedelta(hours=4), "respiratory-depression")
    pts.record_result(me, t.id, response="positive", decision="no-implant", effective_dose="50 mcg")
    t2 = pts.add_trial(me, pid, drug="baclofen", kind="single-bolus",
                       started_at=t0 + timedelta(days=2))  # fmt: skip
    pts.record_result(me, t2.id, response="equivocal", decision="repeat-trial")
    return pts, pid


def test_the_patient_screens_show_no_stored_code(qtbot: Any, app_state: AppState) -> None:
    sign_in_physician(app_state)
    pts, pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    page = PatientsPage(app_state)
    qtbot.addWidget(page)
    page.refresh()
    page.show_patient(pid)
    texts = screen_text(page)
    assert any("spasticity of spinal origin" in t for t in texts)
    assert any("repeated boluses" in t for t in texts)
    patient = pts.get(me, pid)
    for dialog in (NewPatientDialog(pts, me), NewPumpDialog(pts, me, patient),
                   NewTrialDialog(pts, me, patient)):  # fmt: skip
        qtbot.addWidget(dialog)
        texts += screen_text(dialog)
    for trial in pts.trials(me, pid):
        dialog = TrialDialog(pts, me, trial.id)
        qtbot.addWidget(dialog)
        dialog.forms.setVisible(True)  # the closed trial's forms, with their choices
        texts += screen_text(dialog)
    assert any("urinary retention" in t for t in texts)
    assert any("no implant" in t for t in texts)
    assert codes_in(texts) == []


def test_the_trial_forms_store_the_code_of_the_words_chosen(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    me = app_state.principal
    assert me is not None
    pts = Patients(app_state.store, app_state.trail)
    pid = pts.add(me, clinic_id="MRN-0002", name="Bo Li", dob="1970-01-02").id
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    new = NewTrialDialog(pts, me, pts.get(me, pid))
    qtbot.addWidget(new)
    new.drug.setText("baclofen")
    new.kind.setCurrentIndex(new.kind.findText("repeated boluses"))
    new.started.set_moment(t0)
    new._save()
    assert new.created is not None and new.created.kind == "repeated-bolus"
    dialog = TrialDialog(pts, me, new.created.id)
    qtbot.addWidget(dialog)
    dialog.side_at.set_moment(t0 + timedelta(hours=1))
    dialog.effect.setCurrentIndex(dialog.effect.findText("urinary retention"))
    dialog._add_side_effect()
    dialog.obs_at.set_moment(t0 + timedelta(hours=2))
    dialog.scale.setCurrentIndex(dialog.scale.findText("Ashworth (0 to 4)"))
    assert dialog.score.maximum() == 4
    dialog.score.setValue(3)
    dialog._add_score()
    dialog.response.setCurrentIndex(dialog.response.findText("negative"))
    dialog.decision.setCurrentIndex(dialog.decision.findText("no implant"))
    dialog._record_result()
    assert dialog.error.text() == ""
    t = pts.trial(me, new.created.id)
    assert [e.effect for e in t.side_effects] == ["urinary-retention"]
    assert [e.scale for e in t.observations] == ["ashworth"]
    assert t.result is not None and t.result.decision == "no-implant"


def test_the_constant_flow_refill_says_where_its_flow_came_from_in_words(
    qtbot: Any, app_state: AppState
) -> None:
    sign_in_physician(app_state)
    pts, pid = _patient(app_state)
    me = app_state.principal
    assert me is not None
    pump = next(p for p in pts.pumps(me, pid) if p.current)
    dialog = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
    qtbot.addWidget(dialog)
    dialog.removed.setText("0 mL")
    dialog.added.setText("35 mL")
    dialog.at.set_moment(datetime.now(UTC).replace(microsecond=0))
    dialog.set_drug(0, "baclofen", "concentration", "0.5 mg/mL")
    dialog.check()
    texts = screen_text(dialog)
    assert any("Flow used" in t for t in texts)
    assert codes_in(texts) == []
