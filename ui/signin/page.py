"""Sign in, or create the first (admin) account on an empty database; unlock after idle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from programmer.store import AccountError, AuthError
from ui.app_state import AppState
from ui.timefmt import local_stamps


class SignInPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        # The form scrolls inside the page, not the window past the screen (scale 2).
        area = QScrollArea()
        area.setObjectName("signin_scroll")
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        form_page = QWidget()
        area.setWidget(form_page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(area)
        layout = QVBoxLayout(form_page)
        self.title = QLabel()
        self.title.setProperty("role", "title")
        self.title.setWordWrap(True)  # "Create the administrator account" fits 512 px
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setProperty("role", "muted")
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setAccessibleName("account name")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("password")
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName("password again")
        form.addRow("Account", self.name)
        form.addRow("Password", self.password)
        self.repeat_label = QLabel("Password again")
        form.addRow(self.repeat_label, self.repeat)
        self.button = QPushButton()
        self.button.setProperty("role", "primary")
        self.button.setDefault(True)
        self.error = QLabel()
        self.error.setObjectName("signin_error")
        self.error.setStyleSheet("color: #b00020; font-weight: 600;")
        self.error.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(form)
        layout.addWidget(self.button)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.button.clicked.connect(self.submit)
        self.password.returnPressed.connect(self.submit)
        self.repeat.returnPressed.connect(self.submit)
        self.refresh()

    def refresh(self) -> None:
        first = self.state.needs_first_admin()
        locked = self.state.locked and self.state.principal is not None
        self.repeat.setVisible(first)
        self.repeat_label.setVisible(first)
        if first:
            self.title.setText("Create the administrator account")
            self.hint.setText(
                "This database has no accounts yet. The first account is an administrator: it manages accounts and settings, and cannot program pumps."
            )
            self.button.setText("Create and sign in")
        elif locked:
            assert self.state.principal is not None
            self.title.setText(f"Locked: {self.state.principal.name}")
            self.hint.setText(
                "The app locked itself after 5 minutes without use. Enter the password to go on."
            )
            self.name.setText(self.state.principal.name)
            self.name.setEnabled(False)
            self.button.setText("Unlock")
        else:
            self.title.setText("Sign in")
            self.hint.setText(
                "Sign in with your own account: everything you do is recorded under it."
            )
            self.name.setEnabled(True)
            self.button.setText("Sign in")
        self.error.clear()
        # Locked: the name is known, the password is what is typed next.
        target = self.password if locked or self.name.text() else self.name
        target.setFocus(Qt.FocusReason.OtherFocusReason)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def submit(self) -> None:
        name, password = self.name.text().strip(), self.password.text()
        try:
            if self.state.needs_first_admin():
                if password != self.repeat.text():
                    self.error.setText("The two passwords differ.")
                    return
                self.state.create_first_admin(name, password)
            elif self.state.locked and self.state.principal is not None:
                self.state.unlock(password)
            else:
                self.state.sign_in(name, password)
        except (AuthError, AccountError, ValueError) as exc:
            said = local_stamps(str(exc))  # the core's words, times local
            self.error.setText(said[:1].upper() + said[1:])
            return
        finally:
            self.password.clear()
            self.repeat.clear()
        self.refresh()
