"""Issue 14: a dropped link is said on every screen with pump data; reconnecting works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from programmer.link.errors import LinkError
from tests.ui.conftest_therapy import connect, make_state
from ui.app_state import AppState
from ui.main_window import MainWindow

pytestmark = pytest.mark.gui


@pytest.fixture
def state(tmp_path: Path, qtbot: QtBot) -> Iterator[AppState]:
    s = make_state(tmp_path)
    connect(qtbot, s)
    yield s
    s.shutdown()


def _drop(state: AppState) -> None:
    """The link goes dead under the session (the pump does not notice)."""
    session = state.session
    assert session is not None and session.client is not None
    transport = session.client._transport

    def dead(*_: object) -> None:
        raise LinkError("the link is down (test)")

    transport.send = dead  # type: ignore[method-assign]
    transport.recv = dead  # type: ignore[method-assign]


def test_a_dropped_link_is_a_banner_with_times_and_reconnecting_works(
    state: AppState, qtbot: QtBot
) -> None:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    _drop(state)
    state.refresh()
    qtbot.waitUntil(lambda: state.link_lost_at is not None, timeout=15_000)
    names = [n for _, _, n in state.banners()]
    assert "banner_link_lost" in names
    text = next(t for t, _, n in state.banners() if n == "banner_link_lost")
    assert text.startswith("CONNECTION LOST at ") and "values shown are from " in text
    shown = [window.banner_box.itemAt(i).widget().objectName()
             for i in range(window.banner_box.count())]  # fmt: skip
    assert "banner_link_lost" in shown
    # the same pump again: its stale session must not answer "busy"
    errors: list[str] = []
    state.sig_message.connect(lambda level, t: errors.append(t) if level == "error" else None)
    before = state.interrogation
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: state.interrogation is not before or bool(errors), timeout=15_000)
    assert not errors, errors
    assert state.link_lost_at is None
    assert "banner_link_lost" not in [n for _, _, n in state.banners()]


def test_dates_past_and_a_clock_off_are_banners_with_their_remedy(
    state: AppState, qtbot: QtBot
) -> None:
    from tests.ui.conftest_therapy import fill_with_morphine

    fill_with_morphine(qtbot, state)  # 20 mL of morphine: 90 days' stability
    state.emulator().advance(100 * 86_400)
    state.refresh()
    qtbot.waitUntil(
        lambda: (
            state.interrogation is not None
            and int(state.interrogation.status["clock_t"]) > 1_767_225_600 + 99 * 86_400
        ),
        timeout=15_000,
    )
    banners = {n: t for t, _, n in state.banners()}
    assert "banner_stability_past" in banners
    assert "refill" in banners["banner_stability_past"]
    assert "banner_clock_off" in banners, "the emulator's clock is not this computer's"
    assert "set the pump's clock" in banners["banner_clock_off"]
    assert not re.search(r"\d{4}-\d\d-\d\dT", banners["banner_stability_past"]), "no ISO dates"


@pytest.mark.parametrize(
    "address", ["tcp://10.1.2.3:7000", "serial:///dev/ttyUSB3?baud=57600", "emulator:"]
)
def test_itp_gui_pump_address_is_where_connect_starts(
    tmp_path: Path, qtbot: QtBot, address: str
) -> None:
    from tests.ui.conftest_therapy import FAST
    from ui.connect.page import ConnectPage

    s = AppState(tmp_path / "db.sqlite3", address, audit_key=tmp_path / "k", hasher=FAST)
    try:
        page = ConnectPage(s)
        qtbot.addWidget(page)
        assert page.address() == address
    finally:
        s.shutdown()


def test_the_window_fits_the_screen_it_opens_on(state: AppState, qtbot: QtBot) -> None:
    window = MainWindow(state)
    qtbot.addWidget(window)
    room = window.screen().availableGeometry()
    assert window.width() <= room.width() and window.height() <= room.height()


def test_focus_lands_in_the_lock_screens_password(state: AppState, qtbot: QtBot) -> None:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    state.lock()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.signin, timeout=5_000)
    assert window.signin.password.hasFocus() or window.focusWidget() is window.signin.password
