"""Issue 14: through the app's Connect screen, on `itp emulator` over TCP: `itp gui --pump
ADDRESS` starts there and connects there; after the link died under the session (the pump
did not notice: its socket is still open), connecting again to the same pump works at once,
never "busy" from the app's own stale session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from programmer.link.errors import LinkError
from programmer.store import Role
from tests.emulator.conftest import EmulatorProcess
from tests.emulator.helpers import T0
from tests.ui.conftest_therapy import DOC_PW, FAST
from ui.app_state import AppState
from ui.connect.page import ConnectPage

pytestmark = pytest.mark.gui


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path, "--speed", "0", "--clock", str(T0),
                              "--serial", "TCP-000123").start()  # fmt: skip
    yield process
    process.stop()


def _state(tmp_path: Path, address: str) -> AppState:
    s = AppState(tmp_path / "db.sqlite3", address, audit_key=tmp_path / "k", hasher=FAST)
    s.create_first_admin("admin", "admin-pass-1234")
    s.accounts.add("doc", Role.PHYSICIAN, DOC_PW, actor=s.principal)
    s.sign_out()
    s.sign_in("doc", DOC_PW)
    return s


def _connect(qtbot: QtBot, page: ConnectPage, state: AppState, errors: list[str]) -> None:
    before = state.interrogation
    page.button.click()
    qtbot.waitUntil(lambda: state.interrogation is not before or bool(errors), timeout=20_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=20_000)


def test_the_same_pump_after_a_dead_link_through_the_connect_screen(
    emulator: EmulatorProcess, tmp_path: Path, qtbot: QtBot
) -> None:
    state = _state(tmp_path, emulator.address)  # as `itp gui --pump tcp://...` makes it
    errors: list[str] = []
    state.sig_message.connect(lambda level, text: errors.append(text) if level == "error" else None)
    try:
        page = ConnectPage(state)
        qtbot.addWidget(page)
        assert page.address() == emulator.address
        _connect(qtbot, page, state, errors)
        assert not errors, errors
        assert state.interrogation is not None and state.interrogation.serial == "TCP-000123"
        # The link dies under the session; the pump's end of it stays open.
        session = state.session
        assert session is not None and session.client is not None
        transport = session.client._transport

        def dead(*_: object) -> None:
            raise LinkError("the link is down (test)")

        transport.send = dead  # type: ignore[method-assign, assignment]
        transport.recv = dead  # type: ignore[method-assign, assignment]
        state.refresh()
        qtbot.waitUntil(lambda: state.link_lost_at is not None, timeout=20_000)
        errors.clear()
        _connect(qtbot, page, state, errors)  # the same pump, at once
        assert not errors, errors
        assert state.link_lost_at is None and state.session is not session
        assert state.interrogation.serial == "TCP-000123"
    finally:
        state.shutdown()


def test_itp_gui_pump_address_reaches_the_connect_screen(
    emulator: EmulatorProcess, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`itp gui --pump ADDRESS`: the window it opens connects to ADDRESS."""
    from PySide6.QtWidgets import QApplication

    import ui.main_window
    from ui import launcher

    made: list[ui.main_window.MainWindow] = []

    class Recording(ui.main_window.MainWindow):
        def __init__(self, state: AppState) -> None:
            super().__init__(state)
            made.append(self)

    monkeypatch.setattr(ui.main_window, "MainWindow", Recording)
    # The window is built and shown; its event loop is not run (this one is the test's).
    monkeypatch.setattr(QApplication, "exec", lambda *_: 0)
    db = tmp_path / "gui.sqlite3"
    args = ["--pump", emulator.address, "--db", str(db), "--audit-key", str(tmp_path / "gk")]
    assert launcher.main(args) == 0
    (window,) = made
    qtbot.addWidget(window)
    assert window.state.address == emulator.address
    connect = window.page("Connect")
    assert isinstance(connect, ConnectPage) and connect.address() == emulator.address
