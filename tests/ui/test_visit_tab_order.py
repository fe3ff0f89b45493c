"""Issue 14, focus: Tab follows each form as it is drawn (sign-in, the confirm, the refill
wizard's steps, the therapy editor); focus lands in the password field of the lock screen
and of the confirm. (Enter in the confirm's password never sends: test_visit_outcome.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest_therapy import flex_rx, make_state
from ui.app_state import AppState
from ui.confirm.dialog import ConfirmDialog
from ui.main_window import MainWindow
from ui.refill.wizard import RefillPage
from ui.signin.page import SignInPage
from ui.therapy.page import TherapyPage

pytestmark = pytest.mark.gui


@pytest.fixture
def state(filled_state: AppState) -> AppState:
    return filled_state


def _focused() -> QWidget | None:
    w = QApplication.focusWidget()
    return w


def tab_walk(qtbot: QtBot, start: QWidget, steps: int) -> list[QWidget]:
    """Focus `start`, press Tab `steps` times; the widgets focus went through, in order."""
    start.window().activateWindow()
    qtbot.waitUntil(lambda: start.window().isActiveWindow())
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: _focused() is start)
    seen: list[QWidget] = []
    for _ in range(steps):
        here = _focused()
        assert here is not None
        seen.append(here)
        QTest.keyClick(here, Qt.Key.Key_Tab)
    return seen


def in_order(seen: list[QWidget], expected: list[QWidget]) -> list[str]:
    """The expected widgets where Tab met them: each one after the one before, none missed,
    nothing in between but non-field widgets of the same form (labels are never focused)."""
    names = [w.objectName() or w.accessibleName() or type(w).__name__ for w in seen]
    first = seen.index(expected[0])
    got = seen[first : first + len(expected)]
    assert got == expected, f"Tab went {names[first : first + len(expected)]}"
    return names


def test_sign_in_tabs_name_password_button_and_lock_lands_in_password(
    tmp_path: Path, qtbot: QtBot
) -> None:
    state = make_state(tmp_path)
    try:
        window = MainWindow(state)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        state.sign_out()
        page = window.signin
        assert isinstance(page, SignInPage)
        qtbot.waitUntil(lambda: page.name.hasFocus())
        in_order(tab_walk(qtbot, page.name, 3), [page.name, page.password, page.button])
        page.name.setText("doc")
        page.password.setText("doc-pass-123456")
        page.submit()
        assert state.principal is not None
        state.lock()
        qtbot.waitUntil(lambda: window.stack.currentWidget() is page)
        qtbot.waitUntil(lambda: page.password.hasFocus())
    finally:
        state.shutdown()


def test_the_first_account_form_tabs_through_both_passwords(tmp_path: Path, qtbot: QtBot) -> None:
    from tests.ui.conftest_therapy import FAST

    state = AppState(tmp_path / "new.sqlite3", audit_key=tmp_path / "k", hasher=FAST)
    try:
        page = SignInPage(state)
        qtbot.addWidget(page)
        page.show()
        page.activateWindow()
        seen = tab_walk(qtbot, page.name, 4)
        in_order(seen, [page.name, page.password, page.repeat, page.button])
    finally:
        state.shutdown()


def test_the_confirm_tabs_overrides_then_recheck_password_send_cancel(
    state: AppState, qtbot: QtBot
) -> None:
    rx = flex_rx(("00:00", "1 mg/day"), ("08:00", "1.7 mg/day"), ("20:00", "1 mg/day"))
    dialog = ConfirmDialog(state, rx)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: dialog.proposal is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not state.bridge.busy, timeout=15_000)
    assert dialog._overrides, "this change needs an override (+35 % against +30 %)"
    qtbot.waitUntil(lambda: dialog.password.hasFocus())  # focus lands in the password
    first = dialog._overrides[0]
    first.box.setChecked(True)
    qtbot.waitUntil(lambda: first.reason.isVisible())  # rows added to a shown dialog show next
    expected: list[QWidget] = []
    for o in dialog._overrides:
        expected += [o.box, o.reason] if o.reason.isEnabled() else [o.box]
    expected += [dialog.recheck, dialog.password, dialog.close_button]  # Send is disabled
    in_order(tab_walk(qtbot, first.box, len(expected) + 1), expected)


def test_each_refill_step_tabs_through_its_fields_then_back_and_next(
    state: AppState, qtbot: QtBot
) -> None:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    window.show_page("Refill")
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    wizard.go(1)
    in_order(tab_walk(qtbot, wizard.removed, 3), [wizard.removed, wizard.back])
    wizard.removed.setText("15")
    wizard.go(2)
    conc = wizard.conc
    in_order(tab_walk(qtbot, wizard.drug, 6), [wizard.drug, *conc_parts(conc), wizard.back])
    wizard.go(3)
    wizard.added.setText("20")
    in_order(tab_walk(qtbot, wizard.added, 3), [wizard.added, wizard.back, wizard.next])
    wizard.go(4)
    expected = [wizard.cath_length, wizard.cath_per_cm, wizard.cath_volume, wizard.no_bolus,
                wizard.back, wizard.next]  # fmt: skip
    in_order(tab_walk(qtbot, wizard.cath_length, 7), expected)


def conc_parts(conc: QWidget) -> list[QWidget]:
    """The concentration field's own controls, as Tab meets them (strength, number, unit)."""
    parts = [getattr(conc, n) for n in ("strength", "number", "unit") if hasattr(conc, n)]
    return [p for p in parts if isinstance(p, QWidget) and p.isVisible() and p.isEnabled()]


def test_the_editor_tabs_patient_labels_indication_as_drawn(state: AppState, qtbot: QtBot) -> None:
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    window.show_page("Therapy editor")
    page = window.page("Therapy editor")
    assert isinstance(page, TherapyPage)
    seen = tab_walk(qtbot, page.patient, 4)
    in_order(seen, [page.patient, page.jurisdiction, page.indication])
    row = page._drug_rows[0]
    in_order(tab_walk(qtbot, page.indication, 3), [page.indication, row.name])
    page.model.set_mode("flex")  # the cycle length is shown for flex only
    seen = tab_walk(qtbot, page.mode, 4)
    in_order(seen, [page.mode, page.cycle, page.rates_box, page.table])
    page.model.set_patient_bolus({"dose": "0.1 mg", "duration": "10 min", "lockout": "3 h",
                                  "max_per_day": 3})  # fmt: skip
    seen = tab_walk(qtbot, page.ptm_enabled, 6)
    in_order(seen, [page.ptm_enabled, page.ptm_dose.number, page.ptm_dose.unit,
                    page.ptm_duration.number, page.ptm_duration.unit, page.ptm_lockout.number])  # fmt: skip
    # The form's last field, then the chart and the findings beside it, then Send.
    seen = tab_walk(qtbot, page.low_alarm.number, 6)
    assert page.send_button.isEnabled() and page.send_button in seen, [
        w.objectName() or type(w).__name__ for w in seen
    ]
    beside = (page.low_alarm, page.chart, page.findings)
    for w in seen[: seen.index(page.send_button)]:
        assert any(b is w or b.isAncestorOf(w) for b in beside), w


def test_enter_in_the_refill_password_never_sends(state: AppState, qtbot: QtBot) -> None:
    """As in the therapy confirm (test_visit_outcome): only a click on Send sends."""
    wizard = RefillPage(state)
    qtbot.addWidget(wizard)
    wizard.show()
    i = state.interrogation
    assert i is not None
    wizard.go(1)
    wizard.removed.setText(f"{int(i.status['reservoir_nl']) / 1_000_000:.2f}")
    wizard.go(2)
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(5)
    qtbot.waitUntil(lambda: wizard.proposal is not None and not state.bridge.busy, timeout=15_000)
    for o in wizard._overrides:
        o.box.setChecked(True)
        o.reason.setText("reviewed with the patient")
    wizard._recheck_overrides()
    qtbot.waitUntil(lambda: wizard._overrides_current() and not state.bridge.busy, timeout=15_000)
    wizard.password.setText("doc-pass-123456")
    assert wizard.send_button.isEnabled(), "ready to send: only Enter is tested"
    assert wizard.stack.currentIndex() == 5
    QTest.keyClick(wizard.password, Qt.Key.Key_Return)
    QTest.keyClick(wizard.password, Qt.Key.Key_Enter)
    qtbot.wait(100)
    assert wizard.result is None and not wizard._sending and not state.bridge.busy
    assert wizard.stack.currentIndex() == 5


def test_a_drug_row_tabs_name_remove_then_its_concentration_as_drawn(
    state: AppState, qtbot: QtBot
) -> None:
    """Remove is drawn right of the name, the concentration on the line below: Tab goes
    name → Remove → strength → number → unit, then the next row's name."""
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    window.show_page("Therapy editor")
    page = window.page("Therapy editor")
    assert isinstance(page, TherapyPage)
    page.model.add_drug()
    qtbot.waitUntil(lambda: len(page._drug_rows) == 2)
    first, second = page._drug_rows
    name = first.name.focusProxy() or first.name
    seen = tab_walk(qtbot, name, 6)
    c = first.conc
    in_order(seen, [name, first.remove, c.strength, c.number, c.unit,
                    second.name.focusProxy() or second.name])  # fmt: skip
