"""The screens build_scripts/screenshots.py does not take: the lock screen, every refill
step and its outcome, Patients, a screening trial and a constant-flow refill. For checking
fit at each size (issue 14); run as screenshots.py is:

    xvfb-run -a -s "-screen 0 1024x768x24" .venv/bin/python build_scripts/screenshots_visit.py \
        --size 1024x768 --out /tmp/shots-1024
    QT_SCALE_FACTOR=2 xvfb-run -a -s "-screen 0 1024x768x24" .venv/bin/python \
        build_scripts/screenshots_visit.py --size 512x384 --out /tmp/shots-scale2
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from argon2 import PasswordHasher
from PySide6.QtWidgets import QApplication, QWidget

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from build_scripts.screenshots import START_T, pump_events
from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.patients.registry import Patients, PumpSpec
from programmer.store import Role
from ui.app_state import AppState
from ui.main_window import MainWindow
from ui.refill.wizard import RefillPage

PW = "physician-pass-1"


def override_and_fill(
    wizard: RefillPage,
    state: AppState,
    password: str,
    wait: Callable[[Callable[[], bool], float], None],
) -> None:
    """On the confirm step, as a person would: tick each override and give its reason."""
    for o in wizard._overrides:
        o.box.setChecked(True)
        o.reason.setText("reviewed with the patient")
    # Then "Check again", as the wizard asks: Send stays disabled until the plan carries them.
    if wizard._overrides:
        wizard.recheck_button.click()
        wait(lambda: wizard._overrides_current() and not state.bridge.busy, 15)
    wizard.password.setText(password)


def send(
    wizard: RefillPage, state: AppState, wait: Callable[[Callable[[], bool], float], None]
) -> None:
    """Click Send and wait for the outcome."""
    wizard.send_button.click()
    wait(lambda: wizard.result is not None and not state.bridge.busy, 30)


def main() -> int:
    args = sys.argv[1:]
    w, h = (args[args.index("--size") + 1] if "--size" in args else "1024x768").split("x")
    size = (int(w), int(h))
    out = Path(args[args.index("--out") + 1] if "--out" in args else "/tmp/shots-visit")
    out.mkdir(parents=True, exist_ok=True)
    QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    inprocess.install(PumpModel("ITP-40", START_T), speed=Fraction(0))
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    state = AppState(tmp / "itp.sqlite3", audit_key=tmp / "audit.key", hasher=fast)
    window = MainWindow(state)
    window.resize(*size)
    window.show()

    def shot(widget: QWidget, name: str) -> None:
        pump_events(lambda: False, 0.3)
        if widget is window:
            window.resize(*size)
            pump_events(lambda: False, 0.2)
        widget.grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png", widget.width(), widget.height())

    state.create_first_admin("admin", "admin-password-1")
    state.accounts.add("dr.lee", Role.PHYSICIAN, PW, actor=state.principal)
    state.sign_out()
    state.sign_in("dr.lee", PW)
    state.connect_pump("emulator:", None)
    pump_events(lambda: state.interrogation is not None)
    from ui.therapy.screens import fill_with_morphine

    fill_with_morphine(state, PW)
    pump_events(lambda: not state.bridge.busy)
    state.lock()
    shot(window, "20-lock")
    state.unlock(PW)
    from ui.refill.wizard import CONFIRM

    wizard = window.page("Refill")
    assert isinstance(wizard, RefillPage)
    window.show_page("Refill")
    i = state.interrogation
    assert i is not None
    shot(window, "21-refill-1-now")
    wizard.go(1)
    wizard.removed.setText(f"{int(i.status['reservoir_nl']) / 1_000_000:.2f}")
    wizard.go(2)
    shot(window, "22-refill-3-drug")
    wizard.go(3)
    wizard.added.setText("20")
    shot(window, "23-refill-4-injected")
    wizard.go(4)
    wizard.cath_volume.setText("0.15")
    wizard.priming.setChecked(True)
    shot(window, "24-refill-5-priming-unsaid")
    wizard.fluid_path.setCurrentIndex(wizard.fluid_path.findData("emptied-and-aspirated"))
    shot(window, "25-refill-5-priming-dose")
    wizard.go(CONFIRM)
    pump_events(lambda: wizard.proposal is not None and not state.bridge.busy)
    override_and_fill(wizard, state, PW, pump_events)
    shot(window, "26-refill-6-confirm-filled")
    send(wizard, state, pump_events)
    shot(window, "27-refill-7-outcome")

    me = state.principal
    assert me is not None
    pts = Patients(state.store, state.trail)
    patient = pts.add(me, clinic_id="MRN-0001", name="Ada Byron", dob="1961-05-04",
                      indication="pain-cancer")  # fmt: skip
    window.show_page("Patients")
    page = window.page("Patients")
    page.refresh()  # type: ignore[attr-defined]
    shot(window, "28-patients")
    from ui.trial.page import TrialDialog

    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10)
    trial = pts.add_trial(me, patient.id, drug="morphine", kind="single-bolus", started_at=t0)
    dialog = TrialDialog(pts, me, trial.id, window)
    dialog.show()
    dialog.dose_at.set_moment(t0)
    dialog.dose.setText("0.2 mg")
    dialog._add_dose()
    shot(dialog, "29-trial")
    dialog.reject()
    from ui.constant_flow.refill import ConstantFlowRefillDialog

    cf_pump = pts.add_pump(me, patient.id, PumpSpec(
        "constant-flow", "CF-0042", "2026-01-05", flow="1 mL/day", capacity="35 mL",
        catheter_tip="T10", catheter_length="60 cm", catheter_volume_per_cm="0.0026 mL"))  # fmt: skip
    cf = ConstantFlowRefillDialog(pts, me, pts.get(me, patient.id), cf_pump, window)
    cf.show()
    cf.removed.setText("0 mL")
    cf.added.setText("35 mL")
    cf.set_drug(0, "morphine", "concentration", "0.5 mg/mL")
    cf.check()
    shot(cf, "30-constant-flow")
    cf.reject()
    state.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
