"""Issue 14, numbers: what a person reads is rounded as a clinician writes it (three
significant figures), the exact stored value one hover away."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import make_state
from ui.app_state import AppState
from ui.numbers import rounded_text
from ui.refill.wizard import CONFIRM, RefillPage

LONG = re.compile(r"\d*\.\d{4,}|\d{2,}\.\d{2,}")  # more figures than a clinician writes


def test_rounded_text_rounds_only_long_decimals() -> None:
    assert rounded_text("15.661209 mL") == "15.7 mL"
    assert rounded_text("50 mL/day (≈2083.33333 µL/h)") == "50 mL/day (≈2083 µL/h)"
    assert rounded_text("0.0675 mL/day") == "0.0675 mL/day"
    assert rounded_text("1.35 mg/day from 08:00") == "1.35 mg/day from 08:00"
    assert rounded_text("0.000123456 mg") == "0.000123 mg"
    assert rounded_text("on 2026-01-01, v1.2.3") == "on 2026-01-01, v1.2.3"
    assert rounded_text("is ≈-23.3333 % from") == "is ≈-23.3 % from"
    assert rounded_text("0.1-0.5 mg") == "0.1-0.5 mg"


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


@pytest.mark.gui
def test_the_refill_confirm_rounds_every_figure_and_keeps_the_exact_on_hover(
    state: AppState, qtbot: QtBot
) -> None:
    state.emulator().advance(3 * 86400)  # some delivery: the reservoir estimate is not round
    state.refresh()
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    wizard = RefillPage(state)
    qtbot.addWidget(wizard)
    wizard.resize(1000, 700)
    wizard.show()
    i = state.interrogation
    assert i is not None
    wizard.go(1)
    wizard.removed.setText("19.9")
    wizard.go(2)
    wizard.conc.setText("20 mg/mL")
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(CONFIRM)
    qtbot.waitUntil(lambda: wizard.proposal is not None and not state.bridge.busy, timeout=15_000)
    table = wizard.view.table
    exact_seen = False
    for r in range(table.rowCount()):
        for c in range(1, 3):
            item = table.item(r, c)
            assert item is not None
            label = table.item(r, 0)
            assert not LONG.search(item.text()), (label.text() if label else r, item.text())
            exact_seen |= bool(LONG.search(item.toolTip()))
    assert exact_seen, "the exact figures are on hover"


@pytest.mark.gui
def test_the_constant_flow_refill_reads_as_written(qtbot: QtBot, tmp_path: Path) -> None:
    """Rounded figures, the due date in local time, no codes or field names in its text."""
    from datetime import UTC, datetime, timedelta

    from programmer.patients.registry import Patients, PumpSpec
    from ui.constant_flow.refill import ConstantFlowRefillDialog

    state = make_state(tmp_path)
    try:
        me = state.principal
        assert me is not None
        pts = Patients(state.store, state.trail)
        pid = pts.add(me, clinic_id="MRN-0001", name="Ada Byron", dob="1961-05-04",
                      indication="pain-cancer").id  # fmt: skip
        pump = pts.add_pump(me, pid, PumpSpec(
            "constant-flow", "CF-0042", "2026-01-05", flow="1 mL/day", capacity="35 mL",
            catheter_tip="T10", catheter_length="60 cm", catheter_volume_per_cm="0.0026 mL"))  # fmt: skip
        now = datetime.now(UTC).replace(microsecond=0)
        first = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
        qtbot.addWidget(first)
        first.removed.setText("0 mL")
        first.added.setText("35 mL")
        first.at.set_moment(now - timedelta(days=30))
        first.set_drug(0, "morphine", "concentration", "0.5 mg/mL")
        assert first.check().ok
        first._record()
        second = ConstantFlowRefillDialog(pts, me, pts.get(me, pid), pump)
        qtbot.addWidget(second)
        second.removed.setText("12 mL")  # flows slow: a finding to accept
        second.added.setText("35 mL")
        second.at.set_moment(now)
        second.set_drug(0, "morphine", "daily dose", "0.5 mg/day")
        result = second.check()
        assert "flow_deviation" in [f.code for f in result.findings]
        said = second.summary.text()
        assert not LONG.search(said), said
        assert "UTC" not in said and "usable_volume" not in said and "T" not in said.split(
            "Refill due", 1)[1][:14], said  # fmt: skip
        labels = [w.text() for w in second.findings_box.findChildren(QLabel)]
        assert labels
        for text in labels:
            assert "flow_deviation" not in text and "[soft]" not in text, text
            assert not LONG.search(text), text
    finally:
        state.shutdown()
