"""The app's state model, the main window, the refill wizard end to end, the visit report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from programmer.emulator.handler import EmulatorHandler
from programmer.store import AuditAction, AuthenticationFailed
from ui.app_state import AppState
from ui.main_window import MainWindow

from .conftest import DOC_PW, sign_in_physician


def _connect(qtbot: Any, state: AppState) -> None:
    state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: state.interrogation is not None, timeout=10_000)


def test_first_run_creates_the_admin_and_admins_cannot_connect(
    qtbot: Any, app_state: AppState
) -> None:
    assert app_state.needs_first_admin()
    app_state.create_first_admin("admin", "admin-password-1")
    assert app_state.principal is not None and str(app_state.principal.role) == "admin"
    errors: list[str] = []
    app_state.sig_message.connect(lambda level, text: errors.append(text))
    app_state.connect_pump("emulator:", None)
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert app_state.session is None
    assert errors[0].startswith("Your role does not allow this") and "NotAllowed" not in errors[0]


def test_banners_for_demo_key_stopped_pump_and_critical_alarm(
    qtbot: Any, app_state: AppState, pump: EmulatorHandler
) -> None:
    sign_in_physician(app_state)
    _connect(qtbot, app_state)
    names = [n for _, _, n in app_state.banners()]
    # the emulator's clock starts on 1 Jan 2026, not this computer's time
    assert names == ["banner_clock_off", "banner_demo"]
    app_state.emulator().fault("motor_stall")
    app_state.refresh()
    qtbot.waitUntil(
        lambda: app_state.interrogation is not None and bool(app_state.interrogation.critical),
        timeout=10_000,
    )
    names = [n for _, _, n in app_state.banners()]
    assert names[:2] == ["banner_stopped", "banner_alarm_motor_stall"] and "banner_demo" in names


def test_idle_lock_and_unlock(qtbot: Any, app_state: AppState) -> None:
    sign_in_physician(app_state)
    app_state.idle_lock_s = 0.2
    qtbot.waitUntil(lambda: app_state.locked, timeout=5_000)
    assert [r.action for r in app_state.trail.query(action=AuditAction.LOCK)]
    with pytest.raises(AuthenticationFailed):
        app_state.unlock("wrong")
    assert app_state.locked
    app_state.unlock(DOC_PW)
    assert not app_state.locked


def test_main_window_shows_who_and_switches_to_the_overview(
    qtbot: Any, app_state: AppState
) -> None:
    window = MainWindow(app_state)
    qtbot.addWidget(window)
    window.show()
    assert window.stack.currentWidget() is window.signin
    sign_in_physician(app_state)
    assert "dr.lee (physician)" in window.user_label.text()
    assert window.current_page() is window.pages["Connect"]
    _connect(qtbot, app_state)
    qtbot.waitUntil(lambda: window.current_page() is window.pages["Pump overview"], timeout=5_000)
    assert "ITP40-000001" in window.pump_label.text()
    banners = [
        window.banner_box.itemAt(i).widget().objectName() for i in range(window.banner_box.count())
    ]
    assert banners == ["banner_clock_off", "banner_demo"]


def test_every_screen_opens_against_the_emulator(qtbot: Any, app_state: AppState) -> None:
    window = MainWindow(app_state)
    qtbot.addWidget(window)
    window.show()
    sign_in_physician(app_state)
    _connect(qtbot, app_state)
    for title, *_ in window.specs:
        window.show_page(title)
        assert window.current_page() is window.pages[title], title
        assert window.pages[title].isVisible(), title


def test_refill_wizard_end_to_end(
    qtbot: Any, app_state: AppState, pump: EmulatorHandler, tmp_path: Path
) -> None:
    """Sign in → connect → refill with a new concentration and a bridge → the pump holds it."""
    from ui.refill.wizard import RefillPage

    window = MainWindow(app_state)
    qtbot.addWidget(window)
    window.show()
    sign_in_physician(app_state)
    _connect(qtbot, app_state)
    # First fill of the saline pump with morphine 10 mg/mL at 1 mg/day: through the core.
    session = app_state.session
    assert session is not None
    rx = {"pump_model": "ITP-40", "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}], "mode": "continuous",
          "dose": "1 mg/day", "catheter": {"volume": "0.15 mL"}, "refill": {"removed": "40 mL", "added": "20 mL"},
          "bolus": {"kind": "priming", "fluid_path": "new-pump"}}  # fmt: skip
    done: list[Any] = []
    tolerant = {"over_starting_dose": "opioid tolerant, converted from oral morphine"}
    app_state.propose(rx, tolerant, lambda p: app_state.send(p, DOC_PW, done.append))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert done[0].outcome == "applied"
    app_state.emulator().advance(20 * 86400)
    app_state.refresh()
    qtbot.waitUntil(
        lambda: (
            app_state.interrogation is not None
            and app_state.interrogation.status["clock_t"] > 1_767_225_600 + 86400
        ),
        timeout=10_000,
    )
    expected = int(app_state.interrogation.status["reservoir_nl"])  # type: ignore[union-attr]
    wizard = window.pages["Refill"]
    assert isinstance(wizard, RefillPage)
    window.show_page("Refill")
    wizard.go(1)
    wizard.removed.setText(f"{expected / 1_000_000:.6f}".rstrip("0").rstrip("."))
    assert "Within the pump's ±14.5 %" in wizard.removed_check.text()
    wizard.go(2)
    assert wizard.drug.text() == "morphine" and wizard.conc.text() == "10 mg/mL"
    wizard.conc.setText("20 mg/mL")
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(4)
    assert wizard.cath_volume.text() == "0.15", "the catheter the pump keeps"
    wizard.bridge.setChecked(True)
    assert "Bridge bolus: morphine 2.9 mg (0.29 mL of the old fill) at 0.1 mL/day" in (
        wizard.bridge_text.text()
    )  # each drug's dose first, its volume beside (issue 14)
    wizard.go(5)
    qtbot.waitUntil(lambda: wizard.proposal is not None, timeout=10_000)
    wizard.password.setText(DOC_PW)
    assert wizard.send_button.isEnabled(), wizard.findings.text()
    rows = {r[0]: r for r in wizard.view.rows()}
    assert rows["Drugs"][2] == "morphine 20 mg/mL"
    assert rows["One-time bridge bolus"][2].startswith("morphine ")
    wizard.send_button.click()
    qtbot.waitUntil(lambda: wizard.result is not None, timeout=10_000)
    assert wizard.result is not None and wizard.result.outcome == "applied", wizard.result.message
    assert "Next refill" in wizard.summary.text()
    # The pump holds it: read back by the protocol alone.
    model = pump.model
    assert model.therapy["drugs"] == [{"name": "morphine", "conc_ng_ml": 20_000_000}]
    assert model.therapy["steps"] == [[0, 50_000]]  # the same 1 mg/day at twice the strength
    pdf = wizard.save_report(tmp_path / "visit.pdf")
    assert pdf is not None and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2_000


def test_the_store_is_shared_safely_between_threads(qtbot: Any, app_state: AppState) -> None:
    sign_in_physician(app_state)
    _connect(qtbot, app_state)
    stop = time.monotonic() + 1.0
    while time.monotonic() < stop:
        app_state.refresh()  # the worker writes audit records...
        app_state.trail.query(action=AuditAction.INTERROGATED)  # ...while the GUI thread reads
        qtbot.wait(5)
    qtbot.waitUntil(lambda: not app_state.bridge.busy, timeout=10_000)
    assert app_state.trail.verify().ok


def test_the_app_states_demo_key_is_the_links() -> None:
    from programmer.link import DEMO_KEY
    from ui import app_state

    assert app_state.DEMO_KEY == DEMO_KEY


def test_keyboard_opens_screens_and_locks(qtbot: Any, app_state: AppState) -> None:
    from PySide6.QtCore import Qt

    window = MainWindow(app_state)
    qtbot.addWidget(window)
    window.show()
    sign_in_physician(app_state)
    _connect(qtbot, app_state)
    audit_row = [t for t, *_ in window.specs].index("Audit")
    qtbot.keyClick(window, Qt.Key.Key_1 + audit_row, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() is window.page("Audit")
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert app_state.locked and window.stack.currentWidget() is window.signin
