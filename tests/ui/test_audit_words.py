"""The audit screen in words: local times (UTC one hover away), each record as a sentence
(its stored JSON one hover away), actions and outcomes as words, never internal codes."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from programmer.store import AuditAction
from ui.app_state import AppState
from ui.audit.page import ACTION, DETAILS, OUTCOME, AuditPage, local_date_format
from ui.audit.words import describe
from ui.timefmt import computer_text

from .test_audit_page import make_state

SERIAL = "ITP40-000123"
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # history_read, program_outcome, not_applied...
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    s = make_state(tmp_path / "live")
    s.create_first_admin("admin", "admin-pass-1234")
    t = s.trail
    who = {"account": "dr.lee", "role": "physician", "pump_serial": SERIAL}
    t.append(AuditAction.HISTORY_READ, after={"events_added": 3, "hours_added": 24, "gaps": [], "complete": True}, outcome="complete", **who)  # fmt: skip
    for seq, ng in ((1, 500_000), (2, 600_000)):
        t.append(AuditAction.PROGRAM_INTENT, before={"steps": [[0, 50_000]]}, after={"changeset": {"therapy": {"steps": [[0, 60_000]]}}, "crc": 7, "prescription_id": seq}, outcome="intent", **who)  # fmt: skip
        t.append(AuditAction.PROGRAM_OUTCOME, after={"outcome": "applied", "prescription_id": seq, "daily_doses_ng": {"morphine": ng}}, reason="applied, and the pump's read-back matches", outcome="applied", **who)  # fmt: skip
    t.append(AuditAction.REFILL_RECORDED, after={"added_nl": 20_000_000, "removed_nl": 39_000_000, "at": "2026-01-01T00:00:00Z", "discrepancy_pct": None}, outcome="refill_check_skipped", **who)  # fmt: skip
    yield s
    s.shutdown()


def page_for(qtbot, state: AppState) -> AuditPage:  # type: ignore[no-untyped-def]
    page = AuditPage(state)
    qtbot.addWidget(page)
    page.refresh_choices()
    return page


def row_of(page: AuditPage, action: str, nth: int = 0) -> int:
    rows = [i for i, r in enumerate(page.model.records) if r.action == action]
    return rows[nth]


def test_times_are_local_with_the_utc_stamp_on_hover(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    page = page_for(qtbot, state)
    for row, r in enumerate(page.model.records):
        shown = page.model.data(page.model.index(row, 0))
        assert shown == computer_text(r.ts_s)  # before: "2026-12-02 15:16:52" (UTC, ISO)
        tip = page.model.data(page.model.index(row, 0), Qt.ItemDataRole.ToolTipRole)
        assert r.ts in tip and "UTC" in tip
    assert "UTC" not in page.model.headerData(0, Qt.Orientation.Horizontal)


def test_each_record_reads_as_a_sentence_with_its_json_on_hover(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    page = page_for(qtbot, state)
    details = DETAILS
    newest_outcome = row_of(page, "program_outcome", 0)
    first_outcome = row_of(page, "program_outcome", 1)
    assert page.model.cell(newest_outcome, details) == (
        f"Program sent to {SERIAL}: morphine 0.5 → 0.6 mg/day; outcome applied"
    )
    assert page.model.cell(first_outcome, details) == (
        f"Program sent to {SERIAL}: morphine 0.5 mg/day; outcome applied"
    )
    history = page.model.cell(row_of(page, "history_read"), details)
    assert history == f"Log of {SERIAL} read: 3 new events, 24 new hours"
    refill = page.model.cell(row_of(page, "refill_recorded"), details)
    assert refill == f"Refill of {SERIAL}: removed 39 mL, added 20 mL"
    # A kind of a newer version: its fields as "field: value" pairs.
    newer = replace(page.model.records[0], action="calibration_done", before=None,
                    after='{"at_t":1767225600,"ok_now":true,"sensor_level":3,"vials":["a_b","c"]}')  # fmt: skip
    assert describe(newer) == (
        f"at t: {computer_text(1_767_225_600)}; ok now: yes; sensor level: 3; vials: a b, c"
    )
    for row in range(page.model.rowCount()):
        text = page.model.cell(row, DETAILS)
        assert not set(text) & set('{}[]"'), text
        assert not CODE.search(text) and not ISO.search(text), text
    tip = page.model.data(page.model.index(newest_outcome, details), Qt.ItemDataRole.ToolTipRole)
    assert '"daily_doses_ng"' in tip  # the record as stored, one hover away
    page.table.selectRow(newest_outcome)
    pane = page.detail.toPlainText()
    assert "morphine 0.5 → 0.6 mg/day" in pane and '"daily_doses_ng"' in pane


def test_actions_and_outcomes_are_words(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    page = page_for(qtbot, state)
    action, outcome = ACTION, OUTCOME
    assert page.model.cell(row_of(page, "history_read"), action) == "Pump log read"
    assert page.model.cell(row_of(page, "refill_recorded"), outcome) == "refill check skipped"
    for row in range(page.model.rowCount()):
        for col in (action, outcome):
            assert "_" not in page.model.cell(row, col)
    items = [page.action_filter.itemText(i) for i in range(page.action_filter.count())]
    assert "Pump log read" in items and not any("_" in i for i in items)
    page.action_filter.setCurrentIndex(page.action_filter.findData("history_read"))
    assert page.model.rowCount() == 1
    # The filter's dates as this computer's locale writes them (before: always yyyy-MM-dd).
    assert page.since_edit.displayFormat() == local_date_format()
