"""Screenshots of every screen, for docs/screenshots/. Run under a real X server:

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python build_scripts/screenshots.py

Other sizes (each screen must work at 1024x768 and at scale 2), into another folder:

    xvfb-run -a -s "-screen 0 1024x768x24" .venv/bin/python build_scripts/screenshots.py \
        --size 1024x768 --out /tmp/shots-1024
    QT_SCALE_FACTOR=2 xvfb-run -a -s "-screen 0 2048x1536x24" .venv/bin/python \
        build_scripts/screenshots.py --size 1024x768 --out /tmp/shots-scale2

A throwaway database and the built-in emulator; the window is driven as a person would.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from argon2 import PasswordHasher
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.store import Role
from ui.app_state import AppState
from ui.main_window import MainWindow

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZE = (1366, 768)
START_T = 1_767_225_600  # 2026-01-01T00:00:00Z


def pump_events(until: Callable[[], bool], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        QCoreApplication.processEvents()
        time.sleep(0.01)
    QCoreApplication.processEvents()


def shot(window: MainWindow, name: str) -> None:
    pump_events(lambda: False, 0.3)
    window.resize(*SIZE)
    window.grab().save(str(OUT / f"{name}.png"))
    print("saved", OUT / f"{name}.png")


def main() -> int:
    global OUT, SIZE
    args = sys.argv[1:]
    if "--size" in args:
        w, h = args[args.index("--size") + 1].split("x")
        SIZE = (int(w), int(h))
    if "--out" in args:
        OUT = Path(args[args.index("--out") + 1])
    OUT.mkdir(parents=True, exist_ok=True)
    QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    state = AppState(tmp / "itp.sqlite3", audit_key=tmp / "audit.key", hasher=fast)
    window = MainWindow(state)
    window.resize(*SIZE)
    window.show()
    shot(window, "01-first-run")
    state.create_first_admin("admin", "admin-password-1")
    state.accounts.add("dr.lee", Role.PHYSICIAN, "physician-pass-1", actor=state.principal)
    state.sign_out()
    page = window.signin
    page.name.setText("dr.lee")
    page.password.setText("physician-pass-1")
    shot(window, "02-sign-in")
    page.submit()
    shot(window, "03-connect")
    window.pages["Connect"].connect_pump()  # type: ignore[attr-defined]
    pump_events(lambda: state.interrogation is not None)
    shot(window, "04-overview")
    from ui.overview.clock_dialog import ClockDialog

    clock = ClockDialog(state, window)
    clock.show()
    pump_events(lambda: False, 0.3)
    clock.grab().save(str(OUT / "16-set-clock.png"))
    print("saved", OUT / "16-set-clock.png")
    clock.reject()
    window.show_page("Emulator")
    shot(window, "05-emulator")
    state.emulator().fault("motor_stall")
    state.refresh()
    pump_events(lambda: bool(state.interrogation and state.interrogation.critical))
    window.show_page("Pump overview")
    shot(window, "06-overview-critical-alarm")
    state.emulator().fault("clear")
    state.refresh()
    pump_events(lambda: bool(state.interrogation and not state.interrogation.critical))
    from ui.therapy.screens import take_screenshots as therapy_screens

    therapy_screens(window, state, OUT, size=SIZE)  # 07-09: editor, confirm, applied
    window.show_page("Pump overview")
    shot(window, "17-overview-outcome-since")  # the outcome kept, since the last visit
    refill_screens(window, state)  # 14-15
    from ui.history.screens import take_screenshots as history_screens

    history_screens(window, state, OUT, SIZE)  # 10-13: history, audit, accounts, offline review
    state.shutdown()
    return 0


def refill_screens(window: MainWindow, state: AppState) -> None:
    from ui.refill.wizard import RefillPage

    state.emulator().advance(30 * 86400)
    state.refresh()
    pump_events(lambda: False, 1.0)
    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    window.show_page("Refill")
    window.resize(*SIZE)
    wizard.go(1)
    i = state.interrogation
    assert i is not None
    wizard.removed.setText(
        f"{(int(i.status['reservoir_nl']) - 400_000) / 1_000_000:.2f}"
    )  # a little short
    shot(window, "14-refill-drawn-out")
    wizard.go(2)
    wizard.conc.setText("20 mg/mL")
    wizard.go(3)
    wizard.added.setText("20")
    wizard.go(4)
    wizard.bridge.setChecked(True)
    shot(window, "15-refill-bridge")
    wizard.go(5)
    pump_events(lambda: wizard.proposal is not None and not state.bridge.busy)
    shot(window, "18-refill-confirm")
    wizard.go(2)
    wizard.conc.setText("20 mcg/mL")  # a unit slip: red, the unit meant, typed again
    shot(window, "19-refill-unit-slip")
    wizard.conc.setText("20 mg/mL")


if __name__ == "__main__":
    sys.exit(main())
