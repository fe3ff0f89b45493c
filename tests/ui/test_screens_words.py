"""Accounts and sign-in in the clinic's words: dates in local time (exact stamp on hover)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import Qt

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from programmer.store import AuthError, Role
from ui.accounts.page import AccountsPage
from ui.app_state import AppState
from ui.signin.page import SignInPage
from ui.timefmt import computer_text

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    s = AppState(tmp_path / "db.sqlite3", audit_key=tmp_path / "k", hasher=FAST)
    s.create_first_admin("admin", "admin-pass-1234")
    s.accounts.add("nurse.kim", Role.NURSE, "nurse-pass-1234", actor=s.principal)
    yield s
    s.shutdown()


def lock_out(state: AppState) -> None:
    for _ in range(5):
        with contextlib.suppress(AuthError):
            state.accounts.sign_in("nurse.kim", "wrong-password-1")


def test_accounts_show_dates_in_local_time(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    lock_out(state)
    page = AccountsPage(state)
    qtbot.addWidget(page)
    page.show()
    page.refresh()
    model = page.table.model()
    header = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert header and not any("UTC" in str(h) for h in header)
    kim = [a.name for a in page.accounts].index("nurse.kim")
    status_item, created = page.table.item(kim, 2), page.table.item(kim, 3)
    assert status_item is not None and created is not None
    status = status_item.text()
    assert not ISO.search(status) and not ISO.search(created.text()), (status, created.text())
    info = page.accounts[kim]
    made = datetime.fromisoformat(info.created_at.replace("Z", "+00:00"))
    assert created.text() == computer_text(int(made.timestamp()))
    assert info.created_at in created.data(Qt.ItemDataRole.ToolTipRole)
    assert "locked until " in status


def test_a_locked_account_is_told_when_in_local_time(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    state.sign_out()
    lock_out(state)
    page = SignInPage(state)
    qtbot.addWidget(page)
    page.show()
    page.name.setText("nurse.kim")
    page.password.setText("nurse-pass-1234")
    page.submit()
    said = page.error.text()
    assert "locked until" in said and not ISO.search(said), said


def test_connecting_names_the_emulator_in_words(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    from ui.connect.page import ConnectPage

    page = ConnectPage(state)
    qtbot.addWidget(page)
    page.use_address("emulator:")
    page.connect_pump()  # the answer comes later, on the GUI thread: this is what shows now
    assert page.status.text() == "Connecting to the built-in emulator…"  # before: "emulator:…"
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=10_000)
    assert "emulator:" not in page.status.text()
