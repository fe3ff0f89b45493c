"""The app's state as an evented model: who is signed in, which pump, what it said.

Screens read it and listen to its signals; every pump operation goes through the
device bridge to the core's worker. Tested without any window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from programmer.store import (
    IDLE_LOCK,
    Accounts,
    Action,
    AuditAction,
    AuditTrail,
    NotAllowed,
    Principal,
    Records,
    Role,
    Store,
    StoreError,
    allowed,
    open_store,
)
from ui.device import DeviceBridge
from ui.pump_text import pump_text

if TYPE_CHECKING:  # the session layer is imported on first connection: a faster first window
    from argon2 import PasswordHasher

    from programmer.session.forecast import Forecast
    from programmer.session.pump_session import (
        EmulatorControls,
        Interrogation,
        ProgramResult,
        Proposal,
        PumpSession,
    )

from ui.style import CRITICAL, INFO, OFFLINE, WARNING

DEMO_KEY = b"\x42" * 32  # as programmer.link.messages.DEMO_KEY (checked in tests/ui/test_app.py)

EMULATOR = "emulator:"


def _open(db_path: Path | None, offline: bool) -> Store:
    """Offline review opens a copy immutable (nothing written beside it, not even -wal or
    -shm): a reviewed copy is evidence, never changed. ReviewRefused (a file of another
    version, not a database, missing) carries the words for a window."""
    if offline:
        from programmer.store.review import open_for_review

        if db_path is None:
            return open_store(db_path, create=False, read_only=True)
        return open_for_review(db_path)
    return open_store(db_path, create=True)


def _trail(store: Store, audit_key: Path | None, offline: bool) -> AuditTrail:
    """Offline review reads without the audit key when this computer does not hold it
    (a copy from elsewhere): only verifying needs it, and a banner says so. It never
    makes a key."""
    if offline:
        from programmer.store.review import open_review_trail

        return open_review_trail(store, audit_key)
    return AuditTrail.open(store, audit_key)


def unverified_text(trail: AuditTrail) -> str | None:
    """What a reviewer must know about a trail read without its key, or None."""
    if trail.verifiable:
        return None
    reason = trail.unverified_reason or "this computer does not hold the audit key of this record"
    return (
        f"Not verified: {reason}; the entries are shown as stored. Verifying them needs "
        "that key: open the copy on the computer that holds it, or with --audit-key FILE."
    )


LOW_RESERVOIR_WARN_S = 14 * 86_400  # the alarm expected within two weeks: a banner
BATTERY_WARN_S = 180 * 86_400  # the replacement indicator within six months


def due_banners(i: Interrogation, f: Forecast) -> list[tuple[str, str, str]]:
    """Dates and states that need doing something, each with its remedy."""
    from programmer.session.clock_check import DRIFT_WARN_S, span_text
    from ui.numbers import clinical_volume
    from ui.timefmt import local_date, local_text

    now = int(i.status["clock_t"])
    off = int(i.status["utc_offset_min"])
    out: list[tuple[str, str, str]] = []
    reservoir, low = int(i.status["reservoir_nl"]), int(i.status["low_alarm_nl"])
    if reservoir <= low or (
        f.low_alarm_t is not None and f.low_alarm_t - now <= LOW_RESERVOIR_WARN_S
    ):
        when = ("reached" if reservoir <= low else
                f"expected {local_text(f.low_alarm_t, off)}" if f.low_alarm_t else "")  # fmt: skip
        out.append((f"LOW RESERVOIR: about {clinical_volume(reservoir)} left (estimate); the "
                    f"{clinical_volume(low)} alarm {when}. Refill before then.", CRITICAL,
                    "banner_low_reservoir"))  # fmt: skip
    if f.stability_t is not None and f.stability_t <= now:
        out.append((f"DRUG PAST ITS STABILITY DATE ({local_date(f.stability_t, off)}): "
                    "empty the reservoir and refill with fresh drug today.", CRITICAL,
                    "banner_stability_past"))  # fmt: skip
    elif f.refill_due_t is not None and f.refill_due_t <= now:
        out.append((f"REFILL OVERDUE since {local_text(f.refill_due_t, off)}: refill today.",
                    CRITICAL, "banner_refill_overdue"))  # fmt: skip
    if f.eri_t - now <= BATTERY_WARN_S:
        when = "passed" if f.eri_t <= now else "is near"
        out.append((f"BATTERY: the replacement date ({local_date(f.eri_t, off)}) {when}: "
                    "plan the pump's replacement with the implanting team.", WARNING,
                    "banner_battery"))  # fmt: skip
    if abs(i.clock_drift_s) >= DRIFT_WARN_S:
        way = "ahead of" if i.clock_drift_s > 0 else "behind"
        out.append((f"PUMP CLOCK OFF: {span_text(i.clock_drift_s)} {way} this computer. Check "
                    "this computer's time, then set the pump's clock (Pump overview).", WARNING,
                    "banner_clock_off"))  # fmt: skip
    return out


class AppState(QObject):
    sig_user_changed = Signal()
    sig_pump_changed = Signal()
    sig_message = Signal(str, str)  # level (info, warning, error), text
    sig_locked = Signal(bool)
    sig_outcome = Signal()  # the last send's outcome was recorded or dismissed
    sig_log_read = Signal()  # the pump's log was read into the store (since the last visit)

    def __init__(self, db_path: Path | None, address: str = EMULATOR, *, audit_key: Path | None = None,
                 offline: bool = False, hasher: PasswordHasher | None = None,
                 idle_lock_s: float | None = None, read_log_on_connect: bool = False,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.store: Store = _open(db_path, offline)
        self.read_only = offline
        self.trail = _trail(self.store, audit_key, offline)
        self.accounts = Accounts(self.store, self.trail, hasher)
        self.records = Records(self.store, self.trail)
        self.bridge = DeviceBridge(parent=self)
        self.offline = offline
        self.address = address
        self.key: bytes = DEMO_KEY
        self.principal: Principal | None = None
        self.session: PumpSession | None = None
        self.interrogation: Interrogation | None = None
        self.forecast: Forecast | None = None
        # (word, text, colour) of the last send, shown on the overview until dismissed
        self.last_outcome: tuple[str, str, str] | None = None
        # When the link dropped, and when the values on screen were read (local time).
        self.link_lost_at: datetime | None = None
        self.read_log_on_connect = read_log_on_connect
        # The therapy editor's new program, when it differs from the pump's (the refill
        # wizard may send it with the refill, in one transaction); set by the editor.
        self.editor_prescription: Callable[[], dict[str, Any] | None] | None = None
        self.read_at: datetime | None = None
        self.locked = False
        self._shut_down = False
        self._last_activity = time.monotonic()
        self.idle_lock_s = idle_lock_s if idle_lock_s is not None else IDLE_LOCK.total_seconds()
        self._idle = QTimer(self)
        self._idle.setInterval(1000)
        self._idle.timeout.connect(self._check_idle)
        self._idle.start()

    # --- accounts -------------------------------------------------------------------

    def needs_first_admin(self) -> bool:
        return self.accounts.is_empty()

    def create_first_admin(self, name: str, password: str) -> None:
        self.accounts.add(name, Role.ADMIN, password, actor=None)
        self.sign_in(name, password)

    def sign_in(self, name: str, password: str) -> None:
        if self.read_only:
            self.principal = self.accounts.sign_in_read_only(name, password)
        else:
            self.principal = self.accounts.sign_in(name, password)
        self.locked = False
        self.touch()
        self.sig_user_changed.emit()

    def sign_out(self) -> None:
        if self.read_only:
            self.principal = None
            self.sig_user_changed.emit()
            return
        if self.session is not None:
            session = self.session
            self.bridge.run("close", session.close, lambda _: None, lambda _: None)
        if self.principal is not None:
            self.accounts.sign_out(self.principal)
            self.write_routine_checkpoint()
        self.principal = None
        self.session = None
        self.interrogation = None
        self.last_outcome = None  # patient data: nothing left for the next user
        self.sig_outcome.emit()
        self.sig_pump_changed.emit()
        self.sig_user_changed.emit()

    def touch(self) -> None:
        """Any user activity: restarts the idle-lock countdown."""
        self._last_activity = time.monotonic()

    def _check_idle(self) -> None:
        if (
            self.principal is not None
            and not self.locked
            and time.monotonic() - self._last_activity >= self.idle_lock_s
        ):
            self.lock()

    def write_routine_checkpoint(self) -> None:
        """After each session: the audit trail's head to the folder the user named (the
        `audit_checkpoint_folder` setting or ITP_CHECKPOINT_DIR), said when not written."""
        from programmer.cli_support import checkpoint_folder
        from programmer.store.checkpoints import write_after_session

        try:
            folder = checkpoint_folder(self.store, self.trail, None)
            if folder is None:
                return
            result = write_after_session(self.trail, folder)
        except (StoreError, OSError) as exc:
            self.sig_message.emit("warning", f"No audit checkpoint written: {exc}")
            return
        self.sig_message.emit("info" if result.written else "warning", result.message)

    def lock(self) -> None:
        if self.principal is None or self.locked:
            return
        if not self.read_only:
            self.accounts.lock(self.principal)
        self.locked = True
        self.sig_locked.emit(True)

    def unlock(self, password: str) -> None:
        assert self.principal is not None
        if self.read_only:
            self.accounts.sign_in_read_only(self.principal.name, password)
        else:
            self.accounts.unlock(self.principal, password)
        self.locked = False
        self.touch()
        self.sig_locked.emit(False)

    # --- the pump -------------------------------------------------------------------

    @property
    def demo_key(self) -> bool:
        return bool(self.key == DEMO_KEY)

    @property
    def on_emulator(self) -> bool:
        i = self.interrogation
        return self.address == EMULATOR or (i is not None and i.firmware.startswith("emu"))

    def connect_pump(
        self, address: str, key_file: Path | None, on_done: Callable[[Any], None] | None = None
    ) -> None:
        assert self.principal is not None, "sign in first"
        from programmer.cli_support import read_key_file
        from programmer.session.pump_session import PumpSession

        self.key = read_key_file(key_file)
        self.address = address
        old = self.session
        if old is not None:
            # Closed first, on the worker, before the new HELLO: a stale session of ours
            # (a dropped link the pump has not noticed) must not answer "busy".
            self.bridge.run("close", old.close, lambda _: None, lambda _: None)
            self.session = None
        session = PumpSession(address=address, accounts=self.accounts, records=self.records, trail=self.trail,
                              principal=self.principal, key=self.key)  # fmt: skip

        def work() -> tuple[list[Any], Interrogation]:
            resolutions = session.connect()
            return resolutions, session.interrogate()

        def ok(result: tuple[list[Any], Interrogation]) -> None:
            if self.session is not None and self.session is not session:
                stale = self.session
                self.bridge.run("close", stale.close, lambda _: None, lambda _: None)
            self.session = session
            self.link_lost_at = None
            resolutions, interrogation = result
            for note in session.clock_notes:
                self.sig_message.emit(
                    "warning", f"{note[0].upper()}{note[1:]} (from the pump's own log)."
                )
            for r in resolutions:
                verdict = "APPLIED" if r.applied else "NOT applied"
                self.sig_message.emit(
                    "warning",
                    f"An earlier program left uncertain was {verdict} (from the pump's own record).",
                )
            self._set_interrogation(interrogation)
            if self.read_log_on_connect:
                self.read_log()
            if on_done:
                on_done(result)

        def failed(error: BaseException) -> None:
            # A session that did not come up is closed, its link with it (no socket left
            # open, no session the pump still counts as ours).
            self.bridge.run("close", session.close, lambda _: None, lambda _: None)
            self._failed(error)

        self.bridge.run("connect", work, ok, failed)

    def read_log(self) -> None:
        """Read the pump's log into the store (only what is new), for "since the last visit"."""
        session = self.session
        if session is None:
            return
        self.bridge.run("read the pump's log", session.read_history,
                        lambda _: self.sig_log_read.emit(), self._failed, deadline_s=300.0)  # fmt: skip

    def refresh(self, on_done: Callable[[Any], None] | None = None) -> None:
        session = self.session
        if session is None:
            return

        def ok(i: Interrogation) -> None:
            self._set_interrogation(i)
            if on_done:
                on_done(i)

        self.bridge.run("interrogate", session.interrogate, ok, self._failed)

    def _set_interrogation(self, i: Interrogation) -> None:
        from programmer.session.forecast import forecast

        if self.interrogation is not None and i.serial != self.interrogation.serial:
            self.last_outcome = None  # another pump: nothing of the last patient is left
            self.sig_outcome.emit()
        self.interrogation = i
        self.read_at = datetime.now().astimezone()
        self.link_lost_at = None
        self.forecast = forecast(i)
        self.sig_pump_changed.emit()

    def propose(self, prescription: dict[str, Any], overrides: dict[str, str] | None,
                on_ok: Callable[[Proposal], None], on_error: Callable[[BaseException], None] | None = None,
                confirmations: dict[str, str] | None = None) -> None:  # fmt: skip
        """Plan against the pump as it is now (a fresh interrogation); nothing is sent.
        `confirmations`: {finding field: the value typed again} for retype-to-confirm findings."""
        session = self.session
        if session is None:
            raise RuntimeError("no pump connected")
        self.bridge.run(
            "plan",
            lambda: session.propose(prescription, overrides, confirmations or None),
            on_ok,
            on_error or self._failed,
        )

    def send(self, proposal: Proposal, password: str, on_ok: Callable[[ProgramResult], None],
             on_error: Callable[[BaseException], None] | None = None) -> None:  # fmt: skip
        """Stage, verify, commit, read back; progress arrives on bridge.sig_progress."""
        session = self.session
        if session is None:
            raise RuntimeError("no pump connected")
        progress = self.bridge.progress()

        def ok(result: ProgramResult) -> None:
            on_ok(result)
            self.refresh()  # show what the pump holds now, and any uncertainty banner

        def failed(error: BaseException) -> None:
            self._audit_refusal(error, session.serial)
            (on_error or self._failed)(error)

        self.bridge.run("send", lambda: session.send(proposal, confirmed=True, password=password, progress=progress),
                        ok, failed)  # fmt: skip

    def may(self, action: Action) -> bool:
        """Whether the signed-in role allows `action` (screens say so from the start)."""
        return self.principal is not None and allowed(self.principal.role, action)

    def _audit_refusal(self, error: BaseException, serial: str | None) -> None:
        """A send the role refused is recorded: who tried what, on which pump."""
        if not isinstance(error, NotAllowed) or self.principal is None:
            return
        try:
            self.trail.append(AuditAction.PROGRAM_OUTCOME, account=self.principal.name,
                              role=str(self.principal.role), pump_serial=serial,
                              after={"outcome": "refused", "action": str(error.action)},
                              reason=str(error), outcome="refused")  # fmt: skip
        except StoreError as exc:
            self.sig_message.emit("error", f"The refusal could not be recorded: {exc}")

    def set_clock_to_this_computer(self, on_done: Callable[[str], None] | None = None) -> None:
        """Send this computer's time and offset to the pump (the dialog has shown the
        change); the core reads the pump's log back. Then the pump is read again."""
        session = self.session
        if session is None:
            raise RuntimeError("no pump connected")

        def ok(text: str) -> None:
            self.sig_message.emit("info", f"The pump's clock was set and read back: {text}.")
            self.refresh()
            if on_done:
                on_done(text)

        def failed(error: BaseException) -> None:
            self._failed(error)
            self.refresh()  # show the clock the pump really keeps

        self.bridge.run(
            "set clock", lambda: session.set_clock_to_this_computer(confirmed=True), ok, failed
        )

    def record_outcome(self, word: str, text: str, colour: str) -> None:
        """What the last send did, repeated on the overview until someone dismisses it."""
        stamp = datetime.now().astimezone().strftime("%H:%M")
        self.last_outcome = (word, f"{word} at {stamp}: {text.removeprefix(word + ': ')}", colour)
        self.sig_outcome.emit()

    def dismiss_outcome(self) -> None:
        self.last_outcome = None
        self.sig_outcome.emit()

    def emulator(self) -> EmulatorControls:
        from programmer.session.pump_session import EmulatorControls

        assert self.session is not None
        return EmulatorControls(self.session)

    def _failed(self, error: BaseException) -> None:
        self.note_link_error(error)
        from ui.error_words import error_text

        self.sig_message.emit("error", error_text(error))

    def note_link_error(self, error: BaseException) -> None:
        """A link failure: every screen with pump data says so, with the values' age."""
        from programmer.link.errors import LinkError

        if isinstance(error, LinkError) and self.interrogation is not None:
            if self.link_lost_at is None:
                self.link_lost_at = datetime.now().astimezone()
            self.sig_pump_changed.emit()

    # --- what must not be missed --------------------------------------------------------

    def banners(self) -> list[tuple[str, str, str]]:
        """(text, colour, object name) for every condition that must be seen at a glance."""
        out: list[tuple[str, str, str]] = []
        if self.offline:
            out.append(
                (
                    "OFFLINE REVIEW: no pump connected; nothing can be sent",
                    OFFLINE,
                    "banner_offline",
                )
            )
        if self.trail.key_notice:  # the key in a file others of this user can read
            out.append((f"AUDIT KEY IN A FILE: {self.trail.key_notice}", WARNING,
                        "banner_key_notice"))  # fmt: skip
        for notice in self.store.notices:  # a setting of the database fixed on opening
            out.append((f"DATABASE: {notice}", INFO, "banner_store_notice"))
        unverified = unverified_text(self.trail)
        if unverified is not None:
            out.append((unverified.replace("Not verified", "NOT VERIFIED", 1), WARNING,
                        "banner_unverified"))  # fmt: skip
        for warning in self.store.review_warnings:
            out.append((f"{str(warning.title).upper()}: {warning.message}", WARNING,
                        f"banner_review_{warning.kind}"))  # fmt: skip
        s = self.session
        if s is not None and s.uncertain:
            out.append(
                (
                    "OUTCOME UNCERTAIN: the last program may or may not be on the pump. Reconnect before anything else.",
                    CRITICAL,
                    "banner_uncertain",
                )
            )
        i = self.interrogation
        if self.link_lost_at is not None:
            read = f"{self.read_at:%H:%M}" if self.read_at else "unknown"
            out.append((f"CONNECTION LOST at {self.link_lost_at:%H:%M}: the values shown are from "
                        f"{read}. Reconnect (Connect) before relying on them.",
                        CRITICAL, "banner_link_lost"))  # fmt: skip
        if i is not None:
            if i.stopped:
                out.append(
                    ("PUMP STOPPED: the patient is getting no drug", CRITICAL, "banner_stopped")
                )
            for a in i.critical:
                out.append(
                    (
                        f"CRITICAL ALARM: {pump_text(a.advice.title)}. {a.advice.remedy}",
                        CRITICAL,
                        f"banner_alarm_{a.code}",
                    )
                )
        if i is not None and self.forecast is not None:
            out += due_banners(i, self.forecast)
        if self.session is not None and self.demo_key:
            out.append(("DEMO KEY in use: not for clinical use", WARNING, "banner_demo"))
        if not out and i is not None:
            out.append((f"Connected to {pump_text(i.model)} {pump_text(i.serial)}", INFO,
                        "banner_connected"))  # fmt: skip
        return out

    def shutdown(self) -> None:
        """Close the pump link on the worker, stop it, close the store. Safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self._idle.stop()
        if self.session is not None:
            self.bridge.worker.submit("close", self.session.close)  # queued before the stop
        self.bridge.shutdown()  # finishes what is queued
        self.store.close()
