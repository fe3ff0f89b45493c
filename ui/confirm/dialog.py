"""Review and send: the change side by side, the daily total's % change, the findings with
overrides and reasons, the password again, then stage → verify → commit → read back.

The core decides everything: `state.propose` plans against the pump as it is now (and
again with the overrides given), `state.send` sends only a proposal whose plan is ok.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from programmer.finding_words import finding_title, severity_words
from programmer.findings import Finding, Severity, readable_message
from programmer.session.pump_session import ProgramResult, Proposal
from ui.app_state import AppState
from ui.confirm.change_view import ChangeView
from ui.fields import field_text
from ui.inputs import guard_inputs
from ui.numbers import rounded_text
from ui.pump_text import pump_text
from ui.refill.findings_area import FindingsArea
from ui.style import CRITICAL, OK, STYLE, WARNING
from ui.widgets import FillsItsArea, chain_tabs, fit_to_screen

STEPS = [("stage", "Stage"), ("verify", "Verify"), ("commit", "Commit"), ("read back", "Read back")]
OUTCOME = {
    "applied": ("APPLIED", OK),
    "not_applied": ("NOT APPLIED", WARNING),
    "uncertain": ("OUTCOME UNCERTAIN", CRITICAL),
    "refused": ("REFUSED: nothing was sent", WARNING),
}
NBSP = "\u00a0"
NARROW_HEADING_PX = 760  # below this the pump line goes under the title
UNCERTAIN_NOTE = "Nothing else will be sent until the pump is read again."
# What a person needs to know after each outcome: was the pump changed?
CHANGED = {
    "applied": "The pump holds the new therapy: read back and compared.",
    "not_applied": "Nothing on the pump was changed: it runs the therapy it had.",
    "uncertain": "The program may or may not be on the pump.",
    "refused": "Nothing was sent: the pump was not changed.",
}


def keep_quantities_whole(text: str) -> str:
    """A step's dose and its volume rate on two lines, and non-breaking spaces inside
    quantities ("0.17 mL/day", "(≈7.08333 µL/h)"): a column never splits a number
    from its unit."""
    text = text.replace(" = ", "\n= ")
    text = re.sub(r"\(([^)]*)\)", lambda m: "(" + m.group(1).replace(" ", NBSP) + ")", text)
    text = text.replace(" (", NBSP + "(")
    return re.sub(r"(\d) (?=[a-zA-Zµ%])", "\\1" + NBSP, text)


def error_text(error: BaseException) -> str:
    """An error as a person reads it: what happened, never a class name."""
    from programmer.store import AuthenticationFailed

    if isinstance(error, AuthenticationFailed):
        return "the password was not accepted"
    return str(error) or "the operation failed"


class OverrideRow(QWidget):
    """One soft finding: an override checkbox and the reason it requires."""

    def __init__(self, f: Finding, index: int) -> None:
        super().__init__()
        self.finding = f
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 2)
        said = readable_message(f)
        text = QLabel(
            f"<b>{severity_words(f.severity)}: {finding_title(f.code)}</b> ({field_text(f.field)}): "
            f"{rounded_text(said)}<br><i>{f.remedy}</i>"
        )
        text.setToolTip(said)  # the exact figures
        text.setWordWrap(True)
        text.setStyleSheet(f"color: {WARNING};")
        self.box = QCheckBox("Override")
        self.box.setObjectName(f"override_{f.code}")
        self.box.setAccessibleName(f"override: {finding_title(f.code)}: {readable_message(f)}")
        self.reason = QLineEdit()
        self.reason.setObjectName(f"reason_{f.code}")
        self.reason.setAccessibleName(f"reason for overriding: {finding_title(f.code)}")
        self.reason.setPlaceholderText("clinical reason (required to override)")
        self.reason.setEnabled(False)
        self.box.toggled.connect(self.reason.setEnabled)
        grid.addWidget(text, 0, 0, 1, 2)
        grid.addWidget(self.box, 1, 0)
        grid.addWidget(self.reason, 1, 1)
        grid.setColumnStretch(1, 1)


class ConfirmDialog(QDialog):
    def __init__(self, state: AppState, prescription: dict[str, Any], parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.setObjectName("confirm_dialog")
        guard_inputs()  # no wheel or arrow key changes a drop-down unseen
        self.setWindowTitle("Review and send")
        self.setStyleSheet(STYLE)
        self.setModal(True)
        fit_to_screen(self, 1100, 720)
        self.state = state
        self.prescription = prescription
        self.proposal: Proposal | None = None
        self.program_result: ProgramResult | None = None
        self.progress: list[str] = []
        self._overrides: list[OverrideRow] = []
        self._sending = False

        outer = QVBoxLayout(self)
        heading = QLabel("Review the change, then send")
        heading.setObjectName("confirm_title")
        heading.setProperty("role", "title")
        i = state.interrogation
        who = QLabel(
            (f"Pump {pump_text(i.model)} {pump_text(i.serial)}" if i else "No pump")
            + (f" · signed in: {state.principal.name}" if state.principal else "")
        )
        who.setObjectName("confirm_who")
        who.setProperty("role", "muted")
        who.setWordWrap(True)
        head_row = QHBoxLayout()
        head_row.addWidget(heading)
        head_row.addSpacing(16)
        head_row.addWidget(who, 1)
        self._head_row = head_row
        outer.addLayout(head_row)
        self.status = QLabel("Planning against the pump as it is now…")
        self.status.setObjectName("confirm_status")
        self.status.setWordWrap(True)

        # The before/after view and the findings scroll when the screen is small (scale 2
        # on 1024x768); the headline change, the password, Send and the progress stay in view.
        self.body_area = QScrollArea()
        self.body_area.setObjectName("confirm_body")
        self.body_area.setWidgetResizable(True)
        self.body_area.setFrameShape(QFrame.Shape.NoFrame)
        self.body_area.setMinimumHeight(40)
        self.body_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to its fields
        body = FillsItsArea()
        body_box = QVBoxLayout(body)
        body_box.setContentsMargins(0, 0, 0, 0)
        self.body_area.setWidget(body)
        outer.addWidget(self.body_area, 1)
        body_box.addWidget(self.status)  # wraps: in the scroll area, never clipped

        self.view = ChangeView()
        self.changes = self.view.table
        self.change = self.view.take_change()  # beside Send, outside the scroll area
        self.change.setWordWrap(False)  # one line per drug: a wrapped label can be clipped
        # The table as tall as its rows, the findings as tall as what they say: neither
        # scrolls inside itself; the body scrolls as one where both do not fit (scale 2).
        self.changes.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.changes.horizontalHeader().sectionResized.connect(lambda *_: self.view.fit_rows())
        body_box.addWidget(self.view)

        self.findings_widget = QWidget()
        self.findings_box = QVBoxLayout(self.findings_widget)
        self.findings_box.setContentsMargins(0, 0, 0, 0)
        self.findings_area = FindingsArea(self.findings_widget)
        self.findings_area.setObjectName("confirm_findings")
        body_box.addWidget(self.findings_area)
        over_row = QHBoxLayout()
        self.recheck = QPushButton("Check again with these overrides")
        self.recheck.setObjectName("recheck")
        self.recheck.clicked.connect(self.recheck_overrides)
        self.override_error = QLabel()
        self.override_error.setObjectName("override_error")
        self.override_error.setWordWrap(True)
        self.override_error.setStyleSheet(f"color: {CRITICAL}; font-weight: 600;")
        over_row.addWidget(self.recheck)
        over_row.addWidget(self.override_error, 1)
        body_box.addLayout(over_row)
        body_box.addStretch(1)  # room left over goes below, never into empty table rows
        outer.addWidget(self.change)

        send_row = QHBoxLayout()
        self.password = QLineEdit()
        self.password.setObjectName("confirm_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("your password, again, to send")
        self.password.setPlaceholderText("your password, again")
        self.password.textChanged.connect(lambda _: self._update_buttons())
        # Enter never sends: the outcome would be missed (the send button is clicked)
        self.send_button = QPushButton("Send to the pump")
        self.send_button.setObjectName("send")
        self.send_button.setProperty("role", "primary")
        self.send_button.setStyleSheet(
            "QPushButton:disabled { background: #c8ccd0; color: #5f6368; }"
        )
        self.send_button.clicked.connect(self.send)
        self.close_button = QPushButton("Cancel")
        self.close_button.setObjectName("confirm_close")
        self.close_button.clicked.connect(self.reject)
        for b in (self.recheck, self.send_button, self.close_button):
            b.setAutoDefault(False)  # Enter presses no button of this dialog
            b.setDefault(False)
        send_row.addWidget(QLabel("Password"))
        send_row.addWidget(self.password, 1)
        send_row.addWidget(self.send_button)
        send_row.addWidget(self.close_button)
        outer.addLayout(send_row)

        prog = QHBoxLayout()
        self.step_labels: dict[str, QLabel] = {}
        for key, title in STEPS:
            label = QLabel(f"○ {title}")
            label.setObjectName(f"progress_{key.replace(' ', '_')}")
            label.setProperty("role", "muted")
            self.step_labels[key] = label
            prog.addWidget(label)
        prog.addStretch(1)
        outer.addLayout(prog)
        self.outcome = QLabel()
        self.outcome.setObjectName("confirm_outcome")
        self.outcome.setWordWrap(True)
        self.outcome.setVisible(False)
        outer.addWidget(self.outcome)

        state.bridge.sig_progress.connect(self._progress)
        self.finished.connect(self._disconnect)
        self._update_buttons()
        self._propose({})

    # --- planning ---------------------------------------------------------------------------

    def _propose(self, overrides: dict[str, str]) -> None:
        self.status.setText("Planning against the pump as it is now…")
        self.recheck.setEnabled(False)
        self.send_button.setEnabled(False)
        try:
            self.state.propose(self.prescription, overrides or None, self._proposed, self._failed,
                               self.confirmations())  # fmt: skip
        except RuntimeError as exc:
            self._failed(exc)

    def _proposed(self, proposal: Proposal) -> None:
        self.proposal = proposal
        self._show_changes(proposal)
        self._show_findings(proposal)
        p = proposal.plan
        if p.hard:
            self.status.setText(
                "This cannot be sent: the findings in red must be corrected in the editor."
            )
            self.status.setStyleSheet(f"color: {CRITICAL}; font-weight: 700;")
        elif p.unresolved_soft:
            self.status.setText(
                "Review the findings below: override each with a reason, then check again."
            )
            self.status.setStyleSheet(f"color: {WARNING}; font-weight: 700;")
        elif not proposal.changes:
            self.status.setText(
                "No change: the pump already holds this therapy. Sending it again changes nothing."
            )
            self.status.setStyleSheet(f"color: {WARNING}; font-weight: 700;")
        else:
            self.status.setText(
                "Checked against the pump. Read every row, then give your password to send."
            )
            self.status.setStyleSheet(f"color: {OK}; font-weight: 700;")
        self._update_buttons()

    def _failed(self, error: BaseException) -> None:
        was_sending = self._sending
        self._sending = False
        # The core raises only before anything reaches the pump (role, password, link
        # down before STAGE); once sending has begun it returns an outcome instead.
        said = error_text(error)
        text = f"Not sent: {said}. " + CHANGED["refused"] if was_sending else said
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {CRITICAL}; font-weight: 700;")
        self._update_buttons()

    def _show_changes(self, proposal: Proposal) -> None:
        self.view.show_proposal(proposal)
        self.view.fit_rows()

    def _show_findings(self, proposal: Proposal) -> None:
        old = {o.finding.code: (o.box.isChecked(), o.reason.text()) for o in self._overrides}
        while self.findings_box.count():
            item = self.findings_box.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        typed = self.confirmations()
        self._overrides = []
        self._retypes: dict[str, QLineEdit] = {}
        p = proposal.plan
        if not p.findings:
            self.findings_box.addWidget(QLabel("No findings."))
        seen: set[str] = set()
        for f in sorted(p.findings, key=lambda f: ["hard", "soft", "info"].index(str(f.severity))):
            if f.retype and not f.confirmed:
                self.findings_box.addWidget(self._retype_row(f, typed.get(f.field, "")))
                continue
            if f.severity is Severity.SOFT:
                if f.code in seen:  # an override is per code; show its other messages together
                    extra = QLabel(f"      also: {readable_message(f)}")
                    extra.setWordWrap(True)
                    extra.setStyleSheet(f"color: {WARNING};")
                    self.findings_box.addWidget(extra)
                    continue
                seen.add(f.code)
                o = OverrideRow(f, len(self._overrides))
                checked, reason = old.get(
                    f.code, (f.code in proposal.overrides, proposal.overrides.get(f.code, ""))
                )
                o.box.setChecked(checked)
                o.reason.setText(reason)
                o.box.toggled.connect(lambda _: self._update_buttons())
                o.reason.textChanged.connect(lambda _: self._update_buttons())
                self.findings_box.addWidget(o)
                self._overrides.append(o)
            else:
                colour = CRITICAL if f.severity is Severity.HARD else "#5f6368"
                word = severity_words(f.severity) + (
                    " (blocks sending)" if f.severity is Severity.HARD else ""
                )
                said = readable_message(f)
                label = QLabel(f"<b>{word}: {finding_title(f.code)}</b> "
                               f"({field_text(f.field)}): {rounded_text(said)}")  # fmt: skip
                label.setToolTip(said)  # the exact figures
                label.setObjectName(f"finding_{f.code}")
                label.setWordWrap(True)
                label.setStyleSheet(f"color: {colour};")
                self.findings_box.addWidget(label)
        self.findings_area.fit(True)  # at least "No findings."
        # Tab as drawn: each finding's fields, then Check again, the password, Send, Cancel.
        fields: list[QWidget] = [*self._retypes.values()]
        for o in self._overrides:
            fields += [o.box, o.reason]
        chain_tabs(*fields, self.recheck, self.password, self.send_button, self.close_button)

    def _retype_row(self, f: Finding, typed: str) -> QWidget:
        """A suspected slip: the value must be typed again (a reason alone never clears it)."""
        row = QWidget()
        grid = QGridLayout(row)
        grid.setContentsMargins(0, 2, 0, 2)
        text = QLabel(
            f"<b>Must be typed again: {finding_title(f.code)}</b> ({field_text(f.field)}): "
            f"{readable_message(f)}"
        )
        text.setWordWrap(True)
        text.setStyleSheet(f"color: {CRITICAL};")
        edit = QLineEdit(typed)
        edit.setObjectName(f"retype_{f.field}")
        edit.setAccessibleName(f"type {field_text(f.field)} again to confirm it")
        edit.setPlaceholderText(
            f"type the value again, e.g. {f.value}" if f.value else "type it again"
        )
        edit.textChanged.connect(lambda _: self._update_buttons())
        grid.addWidget(text, 0, 0, 1, 2)
        grid.addWidget(QLabel("Typed again"), 1, 0)
        grid.addWidget(edit, 1, 1)
        grid.setColumnStretch(1, 1)
        self._retypes[f.field] = edit
        return row

    def confirmations(self) -> dict[str, str]:
        retypes: dict[str, QLineEdit] = getattr(self, "_retypes", {})
        return {k: " ".join(e.text().split()) for k, e in retypes.items() if e.text().strip()}

    def overrides(self) -> dict[str, str]:
        return {
            o.finding.code: o.reason.text().strip() for o in self._overrides if o.box.isChecked()
        }

    def recheck_overrides(self) -> bool:
        """Plan again with the overrides ticked; refused while any lacks a reason."""
        missing = [o for o in self._overrides if o.box.isChecked() and not o.reason.text().strip()]
        if missing:
            self.override_error.setText(
                f"Give a reason for every override ({len(missing)} without one, marked)"
            )
            for o in missing:
                o.reason.setStyleSheet(f"border: 2px solid {CRITICAL};")
            return False
        self.override_error.clear()
        self._propose(self.overrides())
        return True

    def _overrides_current(self) -> bool:
        return self.proposal is not None and self.overrides() == self.proposal.overrides

    def _update_buttons(self) -> None:
        p = self.proposal
        done = self.program_result is not None
        plan_ok = p is not None and p.plan.ok and self._overrides_current()
        self.send_button.setEnabled(
            plan_ok and bool(self.password.text()) and not self._sending and not done
        )
        only_retype = p is not None and all(f.retype for f in p.plan.hard)
        self.recheck.setEnabled(p is not None and only_retype and bool(self._overrides or self.confirmations())
                                and not done and not self._sending)  # fmt: skip
        self.password.setEnabled(not done and not self._sending)
        for o in self._overrides:
            o.box.setEnabled(not done and not self._sending)
            o.reason.setEnabled(o.box.isChecked() and not done and not self._sending)
        if p is not None and p.plan.unresolved_soft and not self._overrides_current():
            self.send_button.setToolTip("Check again with the overrides first")
        else:
            self.send_button.setToolTip("")

    # --- sending --------------------------------------------------------------------------------

    def send(self) -> bool:
        p = self.proposal
        if p is None or self._sending or self.program_result is not None:
            return False
        if any(not r for r in self.overrides().values()):
            self.override_error.setText("Give a reason for every override before sending.")
            return False
        if not (p.plan.ok and self._overrides_current()):
            self.override_error.setText(
                "The findings must be overridden (and checked again) first."
            )
            return False
        if not self.password.text():
            self.override_error.setText("Give your password again to send.")
            return False
        self._sending = True
        self.progress = []
        for key, title in STEPS:
            self.step_labels[key].setText(f"○ {title}")
        self.status.setText("Sending… do not move the telemetry head.")
        password = self.password.text()
        self.password.clear()
        self._update_buttons()
        try:
            self.state.send(p, password, self._sent, self._failed)
        except RuntimeError as exc:
            self._failed(exc)
            return False
        return True

    def _progress(self, step: str) -> None:
        if not self._sending:
            return
        self.progress.append(step)
        seen = set(self.progress)
        for key, title in STEPS:
            if key == step:
                self.step_labels[key].setText(f"▶ {title}…")
                self.step_labels[key].setStyleSheet("font-weight: 700;")
            elif key in seen:
                self.step_labels[key].setText(f"✓ {title}")

    def _sent(self, result: ProgramResult) -> None:
        self._sending = False
        self.program_result = result
        done = {
            "staged": "stage",
            "verified": "verify",
            "committed": "commit",
            "read back": "read back",
        }
        finished = {done[s] for s in result.steps if s in done}
        for key, title in STEPS:
            mark = "✓" if key in finished else ("✗" if key in self.progress else "○")
            self.step_labels[key].setText(f"{mark} {title}")
            self.step_labels[key].setStyleSheet(
                f"font-weight: 700; color: {OK};"
                if key in finished
                else (f"font-weight: 700; color: {CRITICAL};" if key in self.progress else "")
            )
        word, colour = OUTCOME.get(result.outcome, (result.outcome.upper(), CRITICAL))
        text = f"{word}: {result.message}\n{CHANGED.get(result.outcome, CHANGED['uncertain'])}"
        if result.outcome == "uncertain":
            text += " " + UNCERTAIN_NOTE
        self.state.record_outcome(word, text, colour)
        self.outcome.setText(text)
        self.outcome.setStyleSheet(
            f"background: {colour}; color: white; font-size: 14pt; font-weight: 700; padding: 10px; border-radius: 4px;"
        )
        self.outcome.setVisible(True)
        self.status.setText("Finished: the pump is read again to show what it holds now.")
        self.close_button.setText("Close")
        self._update_buttons()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter does nothing here; Escape cancels only before anything was sent."""
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            return
        if key == Qt.Key.Key_Escape and (self._sending or self.program_result is not None):
            event.accept()  # the outcome stays until Close is clicked
            return
        super().keyPressEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)

    def resizeEvent(self, event: QResizeEvent) -> None:
        # Narrow (scale 2): the pump and who is signed in under the title, where they take
        # a line or two, not beside it, where they wrapped onto four.
        narrow = event.size().width() < NARROW_HEADING_PX
        self._head_row.setDirection(
            QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        )
        super().resizeEvent(event)

    def _disconnect(self) -> None:
        with contextlib.suppress(RuntimeError, TypeError):
            self.state.bridge.sig_progress.disconnect(self._progress)
