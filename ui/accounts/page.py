"""Accounts: list, add, disable and enable, for admins. Others see why they cannot.

The core enforces who may do what; this page only hides what an account cannot use and
shows the core's refusal word for word if it refuses anyway.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from programmer.store import AccountError, AuthError, NotAllowed, Role, StoreError, allowed
from programmer.store.accounts import AccountInfo
from programmer.store.roles import Action
from ui.app_state import AppState
from ui.error_words import error_text
from ui.style import CRITICAL, OK, banner_css
from ui.table_fit import fit_columns
from ui.timefmt import stamp_text
from ui.widgets import WRAP, is_narrow

REFUSALS = (NotAllowed, AccountError, AuthError, StoreError, ValueError)


class AccountsPage(QWidget):
    sig_changed = Signal()

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.accounts: list[AccountInfo] = []
        outer = QVBoxLayout(self)
        title = QLabel("Accounts")
        title.setProperty("role", "title")
        outer.addWidget(title)
        self.note = QLabel()
        self.note.setObjectName("readonly_note")
        self.note.setWordWrap(True)
        outer.addWidget(self.note)
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("accounts_table")
        self.table.setAccessibleName("accounts")
        self.table.setHorizontalHeaderLabels(["Name", "Role", "Status", "Created", "Created by"])  # fmt: skip
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        fit_columns(self.table)  # every column in view; a cut value whole on hover
        # Side by side when there is room; the forms under the table on a narrow screen.
        body = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.body = body
        body.addWidget(self.table, 3)
        side = QVBoxLayout()
        body.addLayout(side, 2)
        outer.addLayout(body, 1)
        row = QVBoxLayout()
        self.reason = QLineEdit()
        self.reason.setObjectName("reason_edit")
        self.reason.setPlaceholderText("reason (recorded in the audit trail)")
        self.reason.setAccessibleName("reason for disabling or enabling")
        self.disable_button = QPushButton("Disable")
        self.disable_button.setObjectName("disable_button")
        self.disable_button.setAccessibleName("disable the selected account")
        self.enable_button = QPushButton("Enable")
        self.enable_button.setObjectName("enable_button")
        self.enable_button.setAccessibleName("enable the selected account (also clears a lockout)")
        row.addWidget(self.reason)
        buttons = QHBoxLayout()
        buttons.addWidget(self.disable_button)
        buttons.addWidget(self.enable_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        self.manage_row = QGroupBox("Selected account")
        self.manage_row.setObjectName("manage_box")
        self.manage_row.setLayout(row)
        side.addWidget(self.manage_row)
        self.add_box = QGroupBox("Add an account")
        self.add_box.setObjectName("add_box")
        form = QFormLayout(self.add_box)
        form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        self.name = QLineEdit()
        self.name.setObjectName("name_edit")
        self.name.setAccessibleName("new account name")
        self.role = QComboBox()
        self.role.setObjectName("role_select")
        self.role.setAccessibleName("new account role")
        for r in (Role.NURSE, Role.PHYSICIAN, Role.ADMIN):
            self.role.addItem(str(r), str(r))
        self.password = QLineEdit()
        self.password.setObjectName("password_edit")
        self.password.setAccessibleName("new account password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password2 = QLineEdit()
        self.password2.setObjectName("password2_edit")
        self.password2.setAccessibleName("new account password again")
        self.password2.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_button = QPushButton("Add account")
        self.add_button.setObjectName("add_button")
        self.add_button.setProperty("role", "primary")
        form.addRow("Name", self.name)
        form.addRow("Role", self.role)
        self.password.setPlaceholderText("8 characters or more")
        form.addRow("Password", self.password)
        form.addRow("Password again", self.password2)
        form.addRow("", self.add_button)
        side.addWidget(self.add_box)
        side.addStretch(1)
        self.message = QLabel()
        self.message.setObjectName("accounts_message")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        outer.addWidget(self.message)
        self.add_button.clicked.connect(self.add_account)
        self.password2.returnPressed.connect(self.add_account)
        self.disable_button.clicked.connect(lambda: self.set_enabled(False))
        self.enable_button.clicked.connect(lambda: self.set_enabled(True))
        state.sig_user_changed.connect(self.refresh)
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def is_admin(self) -> bool:
        p = self.state.principal
        return p is not None and allowed(p.role, Action.MANAGE_ACCOUNTS)

    def refresh(self) -> None:
        p = self.state.principal
        admin = self.is_admin()
        offline = self.state.offline
        self.table.setVisible(admin)
        self.manage_row.setVisible(admin and not offline)
        self.add_box.setVisible(admin and not offline)
        if p is None:
            self.note.setText("Sign in to see accounts.")
        elif not admin:
            self.note.setText(
                f"You are signed in as {p.name} ({p.role}). Only an admin can see and change "
                "accounts: ask your administrator."
            )
        elif offline:
            self.note.setText(
                "OFFLINE REVIEW of a read-only copy: accounts are shown, not changed."
            )
        else:
            self.note.setText("Every change here is recorded in the audit trail.")
        self.accounts = []
        if admin and p is not None:
            try:
                self.accounts = self.state.accounts.list(actor=p)
            except REFUSALS as exc:
                self._say(error_text(exc), ok=False)
        self.table.setRowCount(len(self.accounts))
        for r, a in enumerate(self.accounts):
            status = "enabled" if a.enabled else "DISABLED"
            if a.locked_until:
                status += f", locked until {stamp_text(a.locked_until)}"
            created = stamp_text(a.created_at)
            for c, text in enumerate((a.name, str(a.role), status, created, a.created_by or "")):
                item = QTableWidgetItem(text)
                if c in (2, 3):  # the exact stamps as stored, one hover away
                    item.setToolTip(f"{a.created_at} (UTC)" if c == 3 else
                                    f"locked until {a.locked_until} (UTC)" if a.locked_until else "")  # fmt: skip
                self.table.setItem(r, c, item)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = is_narrow(self)
        self.body.setDirection(
            QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        )

    def _say(self, text: str, ok: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(banner_css(OK if ok else CRITICAL))
        self.message.setVisible(True)

    def selected_name(self) -> str | None:
        row = self.table.currentRow()
        return self.accounts[row].name if 0 <= row < len(self.accounts) else None

    def add_account(self) -> bool:
        name = self.name.text().strip()
        if self.password.text() != self.password2.text():
            self._say("The two passwords differ: nothing was added.", ok=False)
            return False
        p = self.state.principal
        try:
            if p is None:
                raise NotAllowed("nobody", Action.MANAGE_ACCOUNTS)
            self.state.accounts.add(
                name, Role(self.role.currentData()), self.password.text(), actor=p
            )
        except REFUSALS as exc:
            self._say(f"Not added: {exc}", ok=False)
            return False
        finally:
            self.password.clear()
            self.password2.clear()
        self.name.clear()
        self._say(f"Added {name} ({self.role.currentData()}).", ok=True)
        self.refresh()
        self.sig_changed.emit()
        return True

    def set_enabled(self, enabled: bool) -> bool:
        name = self.selected_name()
        p = self.state.principal
        if name is None or p is None:
            self._say("Select an account first.", ok=False)
            return False
        reason = self.reason.text().strip() or None
        try:
            if enabled:
                self.state.accounts.enable(name, actor=p, reason=reason)
            else:
                self.state.accounts.disable(name, actor=p, reason=reason)
        except REFUSALS as exc:
            self._say(f"Not changed: {exc}", ok=False)
            return False
        self._say(f"{name} is now {'enabled' if enabled else 'disabled'}.", ok=True)
        self.reason.clear()
        self.refresh()
        self.sig_changed.emit()
        return True
