"""Screenshots of the therapy editor and the confirm dialog, driven as a person would.

`take_screenshots(window, state, out_dir)` expects a signed-in physician connected to the
built-in emulator (build_scripts/screenshots.py sets that up). It fills the emulator's
saline pump with morphine first, so the editor has a real therapy to draw in grey.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMainWindow

from ui.app_state import AppState

FILL: dict[str, Any] = {
    "pump_model": "ITP-40",
    "indication": "pain-noncancer",
    "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
    "mode": "continuous",
    "dose": "1 mg/day",
    "catheter": {"volume": "0.15 mL"},
    "refill": {"removed": "39 mL", "added": "20 mL"},
    "bolus": {"kind": "priming", "fluid_path": "new-pump"},
}
NEW_STEPS: list[dict[str, Any]] = [
    {"start": "00:00", "dose": "1 mg/day"},
    {"start": "08:00", "dose": "1.7 mg/day"},
    {"start": "20:00", "dose": "1 mg/day"},
]


def _wait(until: Callable[[], bool], seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        QCoreApplication.processEvents()
        time.sleep(0.01)
    QCoreApplication.processEvents()
    return until()


def fill_with_morphine(state: AppState, password: str) -> str:
    """Put morphine in the emulator's pump (a refill with a priming bolus); returns the outcome."""
    got: dict[str, Any] = {}
    tolerant = {"over_starting_dose": "opioid tolerant, converted from oral morphine"}
    state.propose(FILL, tolerant, lambda p: got.__setitem__("proposal", p),
                  lambda e: got.__setitem__("error", e))  # fmt: skip
    _wait(lambda: bool(got))
    if "proposal" not in got:
        return f"error: {got.get('error')}"
    state.send(got["proposal"], password, lambda r: got.__setitem__("result", r),
               lambda e: got.__setitem__("error", e))  # fmt: skip
    _wait(lambda: "result" in got or "error" in got)
    _wait(lambda: not state.bridge.busy)
    result = got.get("result")
    return str(result.outcome) if result is not None else f"error: {got.get('error')}"


def take_screenshots(window: QMainWindow, state: AppState, out_dir: Path, *,
                     password: str = "physician-pass-1",
                     size: tuple[int, int] = (1366, 768)) -> list[Path]:  # fmt: skip
    """Save 07-therapy-editor.png, 08-confirm.png and 09-confirm-applied.png in `out_dir`."""
    from ui.confirm.dialog import ConfirmDialog
    from ui.therapy.page import TherapyPage

    out_dir.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def shot(widget: Any, name: str) -> None:
        if widget is window:
            window.resize(*size)  # the target screen; an earlier banner may have grown it
        _wait(lambda: False, 0.3)
        path = out_dir / name
        widget.grab().save(str(path))
        saved.append(path)

    fill_with_morphine(state, password)
    _wait(lambda: state.interrogation is not None and bool(state.interrogation.therapy.drugs))
    pages: dict[str, Any] = getattr(window, "pages", {})
    page = pages.get("Therapy editor")
    if not isinstance(page, TherapyPage):
        raise RuntimeError("the main window has no therapy editor page")
    show = getattr(window, "show_page", None)
    if show is not None:
        show("Therapy editor")
    page.start_from_pump()
    page.model.set_field("indication", "pain-noncancer", "indication")
    page.model.set_field("patient", "MRN-0001", "patient")
    page.model.set_mode("flex")
    page.model.set_field("steps", NEW_STEPS, "profile")
    page.model.set_patient_bolus({"dose": "0.1 mg", "duration": "10 min", "lockout": "3 h", "max_per_day": 3})  # fmt: skip
    shot(window, "07-therapy-editor.png")

    page.review_and_send()
    dialog = page.confirm
    assert isinstance(dialog, ConfirmDialog)
    dialog.resize(min(1340, window.width()), min(740, window.height()))
    dialog.password.setFocus()
    _wait(lambda: dialog.proposal is not None)
    shot(dialog, "08-confirm.png")

    for o in dialog._overrides:
        o.box.setChecked(True)
        o.reason.setText(f"{o.finding.message[:30]}: reviewed with the patient")
    if dialog._overrides:
        dialog.recheck_overrides()
        _wait(lambda: dialog._overrides_current() and not state.bridge.busy)
    dialog.password.setText(password)
    dialog.send()
    _wait(lambda: dialog.program_result is not None, 30)
    _wait(lambda: not state.bridge.busy)
    shot(dialog, "09-confirm-applied.png")
    dialog.accept()
    return saved
