"""The app says what the command line says about the audit key (issue 14): kept in a
file for want of an OS keyring, readable by any program of this user, with the remedy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ui.app_state import AppState
from ui.main_window import MainWindow
from ui.widgets import Banner

from .conftest import FAST


def test_the_key_in_a_file_is_a_banner_from_the_sign_in_page_on(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)  # no Secret Service
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    state = AppState(tmp_path / "itp.sqlite3", hasher=FAST)  # the default key location
    try:
        notice = state.trail.key_notice
        assert notice is not None and "no OS keyring" in notice
        window = MainWindow(state)
        qtbot.addWidget(window)
        window.show()
        assert window.current_page() is window.signin  # seen before anyone signs in
        banners = {b.objectName(): b for b in window.findChildren(Banner)}
        assert "banner_key_notice" in banners
        text = banners["banner_key_notice"].text()
        assert str(tmp_path / "config" / "itp" / "audit.key") in text
        assert "checkpoint" in text  # the remedy
        state.create_first_admin("admin", "admin-password-1")
        assert "banner_key_notice" in [n for _, _, n in state.banners()]
    finally:
        state.shutdown()


def test_no_notice_when_the_key_file_was_named(qtbot: Any, tmp_path: Path) -> None:
    state = AppState(tmp_path / "itp.sqlite3", audit_key=tmp_path / "k", hasher=FAST)
    try:
        assert "banner_key_notice" not in [n for _, _, n in state.banners()]
    finally:
        state.shutdown()
