"""Issue 14, numbers: what a person reads is rounded as a clinician writes it (three
significant figures), the exact stored value one hover away."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import connect, fill_with_morphine, make_state
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


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    connect(qtbot, s)
    fill_with_morphine(qtbot, s)
    yield s
    s.shutdown()


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
