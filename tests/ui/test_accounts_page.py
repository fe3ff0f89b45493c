"""Accounts page offscreen: an admin adds a nurse, a nurse cannot, disable/enable, offline."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from programmer.store import AccountDisabled, Principal, Role
from ui.accounts.page import AccountsPage
from ui.app_state import AppState

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    s = AppState(tmp_path / "db.sqlite3", audit_key=tmp_path / "k", hasher=FAST)
    s.create_first_admin("admin", "admin-pass-1234")
    yield s
    s.shutdown()


def names(page: AccountsPage) -> list[str]:
    return [a.name for a in page.accounts]


def test_admin_adds_a_nurse(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    page = AccountsPage(state)
    qtbot.addWidget(page)
    page.show()
    assert page.add_box.isVisible() and page.table.isVisible()
    page.name.setText("nurse.kim")
    page.role.setCurrentIndex(page.role.findData("nurse"))
    page.password.setText("nurse-pass-1234")
    page.password2.setText("nurse-pass-1234")
    with qtbot.waitSignal(page.sig_changed):
        page.add_button.click()
    assert names(page) == ["admin", "nurse.kim"]
    assert page.table.rowCount() == 2
    assert "Added nurse.kim" in page.message.text()
    assert page.password.text() == "" and page.password2.text() == ""  # never left on screen
    state.sign_out()
    state.sign_in("nurse.kim", "nurse-pass-1234")
    assert state.principal == Principal("nurse.kim", Role.NURSE)


def test_passwords_must_match_and_the_core_rules_are_shown(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    page = AccountsPage(state)
    qtbot.addWidget(page)
    page.name.setText("nurse.kim")
    page.password.setText("nurse-pass-1234")
    page.password2.setText("nurse-pass-1235")
    assert not page.add_account()
    assert "differ" in page.message.text()
    page.password.setText("short")
    page.password2.setText("short")
    assert not page.add_account()
    assert "Not added: a password needs 8" in page.message.text()
    assert names(page) == ["admin"]


def test_a_nurse_sees_a_read_only_note_and_cannot_add(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    state.accounts.add("nurse.kim", Role.NURSE, "nurse-pass-1234", actor=state.principal)
    state.sign_out()
    state.sign_in("nurse.kim", "nurse-pass-1234")
    page = AccountsPage(state)
    qtbot.addWidget(page)
    page.show()
    assert not page.add_box.isVisible() and not page.table.isVisible()
    assert "Only an admin" in page.note.text()
    # Even if the form were reached, the core refuses and the page says so.
    page.name.setText("nurse.two")
    page.password.setText("nurse-pass-1234")
    page.password2.setText("nurse-pass-1234")
    assert not page.add_account()
    assert "Not added: a nurse account may not manage accounts" in page.message.text()
    assert state.store.query("SELECT count(*) FROM accounts")[0][0] == 2


def test_disable_and_enable(qtbot, state: AppState) -> None:  # type: ignore[no-untyped-def]
    state.accounts.add("nurse.kim", Role.NURSE, "nurse-pass-1234", actor=state.principal)
    page = AccountsPage(state)
    qtbot.addWidget(page)
    page.table.selectRow(names(page).index("nurse.kim"))
    page.reason.setText("left the clinic")
    assert page.set_enabled(False)
    row = names(page).index("nurse.kim")
    assert page.table.item(row, 2).text() == "DISABLED"  # type: ignore[union-attr]
    with pytest.raises(AccountDisabled):
        state.accounts.sign_in("nurse.kim", "nurse-pass-1234")
    changed = state.trail.query(action="account_changed")[-1]
    assert changed.reason == "left the clinic" and changed.outcome == "disabled"
    page.table.selectRow(row)
    assert page.set_enabled(True)
    # The last admin cannot be disabled: the core refuses and the page shows it.
    page.table.selectRow(names(page).index("admin"))
    assert not page.set_enabled(False)
    assert "last enabled admin" in page.message.text()


def test_offline_shows_accounts_but_no_changes(qtbot, state: AppState, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy"
    copy.mkdir()
    src = sqlite3.connect(tmp_path / "db.sqlite3")
    dst = sqlite3.connect(copy / "db.sqlite3")
    src.backup(dst)
    src.close()
    dst.close()
    shutil.copy(tmp_path / "k", copy / "k")
    offline = AppState(copy / "db.sqlite3", audit_key=copy / "k", hasher=FAST, offline=True)
    try:
        offline.principal = Principal(
            "admin", Role.ADMIN
        )  # a read-only copy cannot record a sign-in
        page = AccountsPage(offline)
        qtbot.addWidget(page)
        page.show()
        assert page.table.isVisible() and names(page) == ["admin"]
        assert not page.add_box.isVisible() and not page.manage_row.isVisible()
        assert "OFFLINE" in page.note.text()
    finally:
        offline.shutdown()
