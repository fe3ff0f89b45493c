"""Failures reach a person in words with their remedy, never as an exception's class name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.store import AuditAction
from programmer.store.errors import StoreFull
from ui.app_state import AppState
from ui.connect.page import ConnectPage

from .conftest_therapy import START_T, make_state

CLASS_NAME = re.compile(r"\b\w*(Error|Exception|Refused|Full|Closed|Timeout)\b")


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    yield s
    s.shutdown()


def messages(state: AppState) -> list[tuple[str, str]]:
    said: list[tuple[str, str]] = []
    state.sig_message.connect(lambda level, text: said.append((level, text)))
    return said


def test_a_failed_connect_says_what_happened_and_what_to_do(state: AppState, qtbot: QtBot) -> None:
    said = messages(state)
    page = ConnectPage(state)
    qtbot.addWidget(page)
    page.use_address("tcp://127.0.0.1:9")  # nothing listens there
    page.connect_pump()
    qtbot.waitUntil(lambda: any(level == "error" for level, _ in said), timeout=15_000)
    text = next(t for level, t in said if level == "error")
    assert not CLASS_NAME.search(text), text  # before: "LinkError: cannot connect to ..."
    assert text.startswith("The pump could not be reached: cannot connect to tcp://127.0.0.1:9")
    assert "connect again" in text
    assert page.status.text() == text


def test_a_failed_store_write_says_the_disk_is_full_and_what_to_do(
    state: AppState, qtbot: QtBot
) -> None:
    said = messages(state)
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    # A real write that fails: the database may not grow, and its last page is filled.
    pages = state.store.query("PRAGMA page_count")[0][0]
    state.store.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreFull):
        for _ in range(1_000):
            state.trail.append(
                AuditAction.EXPORT, account="doc", role="physician", reason="x" * 200
            )
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: any(level == "error" for level, _ in said), timeout=15_000)
    state.store.conn.execute("PRAGMA max_page_count = 1073741823")
    text = next(t for level, t in said if level == "error")
    assert not CLASS_NAME.search(text), text  # before: "StoreFull: the disk holding ..."
    assert text.startswith("This computer's disk is full")
    assert text.endswith("Free some space, then do it again; what was saved before is intact.")


def test_an_iso_stamp_in_a_core_message_reads_in_local_time() -> None:
    from programmer.store.accounts import AccountLocked
    from ui.error_words import error_text
    from ui.timefmt import computer_text

    text = error_text(AccountLocked("the account 'kim' is locked until 2026-01-01T00:15:00Z"))
    assert "2026-01-01T" not in text
    assert computer_text(1_767_226_500) in text
    assert not CLASS_NAME.search(text)


def test_a_pump_refusal_is_in_words_without_its_code() -> None:
    from programmer.link.messages import ProtocolError
    from ui.error_words import error_text

    text = error_text(ProtocolError("busy", "another session is open"))
    assert text.startswith("The pump is busy with another session: another session is open.")
    assert "busy:" not in text and not CLASS_NAME.search(text)
    os_text = error_text(PermissionError(13, "Permission denied", "/x/report.pdf"))
    assert os_text.startswith(
        "A file or folder cannot be written or read: Permission denied (/x/report.pdf)"
    )
    assert "Errno" not in os_text
