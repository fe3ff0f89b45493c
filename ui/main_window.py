"""The main window: who is signed in and which pump, always visible; banners; the screens."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ui.app_state import AppState
from ui.inputs import guard_inputs
from ui.pump_text import pump_text
from ui.signin.page import SignInPage
from ui.status_line import StatusLine
from ui.style import CRITICAL, STYLE
from ui.widgets import NARROW, Banner, BannerArea, CurrentSizedStack, fit_to_screen

# (title, "module:Class", needs a pump, available offline). Screens are imported and built
# the first time they are opened, so start-up does not pay for pyqtgraph and numpy.
PageSpec = tuple[str, str, bool, bool]

PAGES: list[PageSpec] = [
    ("Connect", "ui.connect.page:ConnectPage", False, False),
    ("Pump overview", "ui.overview.page:OverviewPage", True, False),
    ("Therapy editor", "ui.therapy.page:TherapyPage", True, False),
    # No pump needed: a constant-flow pump is refilled from here without connecting.
    ("Refill", "ui.refill.wizard:RefillPage", False, False),
    ("Patients", "ui.patients.page:PatientsPage", False, True),
    ("History", "ui.history.page:HistoryPage", False, True),
    ("Audit", "ui.audit.page:AuditPage", False, True),
    ("Accounts", "ui.accounts.page:AccountsPage", False, True),
    ("Emulator", "ui.emulator.page:EmulatorPage", True, False),
]


def default_pages() -> list[PageSpec]:
    return list(PAGES)


def build_page(target: str, state: AppState) -> QWidget:
    module, name = target.split(":")
    factory: Callable[[AppState], QWidget] = getattr(importlib.import_module(module), name)
    return factory(state)


class _ActivityFilter(QObject):
    """Any key or mouse input restarts the idle-lock countdown."""

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel):
            self.state.touch()
        return False


class MainWindow(QMainWindow):
    def __init__(self, state: AppState, pages: list[PageSpec] | None = None) -> None:
        super().__init__()
        self.state = state
        self.setWindowTitle("itp — intrathecal pump programmer")
        guard_inputs()  # no wheel or arrow key changes a drop-down unseen
        self.setStyleSheet(STYLE)
        fit_to_screen(self, 1280, 800)  # never larger than the screen it opens on
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(6, 6, 6, 6)  # every pixel counts at scale 2 on 1024x768
        outer.setSpacing(4)
        header = QHBoxLayout()
        self.user_label = QLabel()
        self.user_label.setObjectName("user_label")
        self.user_label.setAccessibleName("signed-in account")
        self.pump_label = QLabel()
        self.pump_label.setObjectName("pump_label")
        # Whatever the pump calls itself, the header never widens the window: cut, and
        # whole on hover.
        self.pump_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.busy_label = QLabel()
        self.busy_label.setProperty("role", "muted")
        for label in (self.user_label, self.pump_label, self.busy_label):
            label.setWordWrap(True)  # wraps on a narrow screen instead of widening the window
        self.lock_button = QPushButton("Lock")
        self.lock_button.clicked.connect(state.lock)
        self.signout_button = QPushButton("Sign out")
        self.signout_button.clicked.connect(state.sign_out)
        # On a narrow window (scale 2 on 1024x768: 512 px) the list of screens would take a
        # third of the width: it becomes this drop-down in the header instead.
        self.nav_menu = QComboBox()
        self.nav_menu.setObjectName("nav_menu")
        self.nav_menu.setAccessibleName("screens")
        self.nav_menu.setVisible(False)
        self.nav_menu.activated.connect(self._menu_chosen)
        header.addWidget(self.nav_menu)
        # Who and which pump; on a narrow window in a line of their own under the
        # drop-down of screens and the buttons (beside them, each wrapped to three lines).
        self.who = QWidget()
        who = QHBoxLayout(self.who)
        who.setContentsMargins(0, 0, 0, 0)
        who.setSpacing(12)
        who.addWidget(self.user_label, 1)  # both wrap only on a narrow screen
        who.addWidget(self.pump_label, 1)
        header.addWidget(self.who, 1)
        self.header = header
        header.addWidget(self.busy_label)
        header.addWidget(self.lock_button)
        header.addWidget(self.signout_button)
        outer.addLayout(header)
        self.who_row = QVBoxLayout()  # where `who` goes on a narrow window
        outer.addLayout(self.who_row)
        # Banners scroll in an area of at most 30 % of the window: at scale 2 on
        # 1024x768 four of them would otherwise push the window past the screen.
        self.banner_area = BannerArea(share=0.3)
        self.banner_box = self.banner_area.box
        outer.addWidget(self.banner_area)
        body = QHBoxLayout()
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setAccessibleName("screens")
        self.nav.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.stack = CurrentSizedStack()  # not as tall as its tallest screen
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(root)
        from ui.clinic.sync_status import install as install_clinic_sync

        self.clinic_sync = install_clinic_sync(self, state)  # None without a clinic
        self.signin = SignInPage(state)
        self.stack.addWidget(self.signin)
        self.specs = pages if pages is not None else default_pages()
        self._had_pump = False
        self._built: dict[str, QWidget] = {}
        self._areas: dict[str, QWidget] = {}
        for title, *_ in self.specs:
            self.nav.addItem(title)
        # As wide as its longest title (not a fixed 190 px): at scale 2 on 1024x768 the
        # window is 512 px wide, and every pixel the list does not need goes to the screen.
        self.nav.ensurePolished()
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.nav.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.nav.setFixedWidth(self.nav.sizeHintForColumn(0) + 2 * self.nav.frameWidth() + bar)
        self.nav.currentRowChanged.connect(self._show_row)
        self.nav.currentRowChanged.connect(lambda _: self._sync_menu())
        # Keyboard: Ctrl+1..8 opens a screen, Ctrl+L locks.
        for row, (title, *_) in enumerate(self.specs[:9]):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{row + 1}"), self)
            shortcut.activated.connect(lambda t=title: self._shortcut(t))
            self.nav.item(row).setToolTip(f"{title} (Ctrl+{row + 1})")
        QShortcut(QKeySequence("Ctrl+L"), self).activated.connect(state.lock)
        self._filter = _ActivityFilter(state)
        self.installEventFilter(self._filter)
        state.sig_user_changed.connect(self._refresh)
        state.sig_pump_changed.connect(self._refresh)
        state.sig_locked.connect(lambda _: self._refresh())
        state.bridge.sig_busy.connect(lambda name: self.busy_label.setText(f"working: {name}…"))
        state.bridge.sig_idle.connect(lambda: self.busy_label.clear())
        self.status_line = StatusLine()
        self.statusBar().addWidget(self.status_line, 1)
        state.sig_message.connect(self._message)
        self._refresh()

    @property
    def pages(self) -> dict[str, QWidget]:
        """Every screen, built now if it was not yet (tests and screenshots use this)."""
        return {title: self.page(title) for title, *_ in self.specs}

    def page(self, title: str) -> QWidget:
        if title not in self._built:
            target = next(t for name, t, *_ in self.specs if name == title)
            widget = build_page(target, self.state)
            self._built[title] = widget
            if getattr(widget, "scrolls_itself", False):
                # It scrolls its body and keeps its action bar (Send, the % change) in
                # view: an outer scroll area would scroll that bar away.
                self._areas[title] = widget
                self.stack.addWidget(widget)
                return widget
            # Each screen in a scroll area: on a small screen (1024x768, scale 2) what does
            # not fit scrolls instead of growing the window past the screen's edge.
            area = QScrollArea()
            area.setObjectName(f"scroll_{widget.objectName() or title}")
            area.setWidgetResizable(True)
            area.setFrameShape(QFrame.Shape.NoFrame)
            area.setWidget(widget)
            self._areas[title] = area
            self.stack.addWidget(area)
        return self._built[title]

    def current_page(self) -> QWidget | None:
        """The screen shown now (the sign-in page, or a screen inside its scroll area)."""
        current = self.stack.currentWidget()
        return current.widget() if isinstance(current, QScrollArea) else current

    def _shortcut(self, title: str) -> None:
        row = [t for t, *_ in self.specs].index(title)
        item = self.nav.item(row)
        if not item.isHidden() and item.flags() & Qt.ItemFlag.ItemIsEnabled:
            self.show_page(title)

    def show_page(self, title: str) -> None:
        titles = [t for t, *_ in self.specs]
        self.nav.setCurrentRow(titles.index(title))

    def _show_row(self, row: int) -> None:
        if row < 0 or self.state.principal is None or self.state.locked:
            return
        title = self.specs[row][0]
        self.page(title)
        self.stack.setCurrentWidget(self._areas[title])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.banner_area.fit()  # its share of the window's new height
        self._place_nav()

    def _place_nav(self) -> None:
        narrow = self.width() < NARROW
        signed_in = self.state.principal is not None and not self.state.locked
        self.nav.setVisible(not narrow)
        self.nav_menu.setVisible(narrow and signed_in)
        if narrow and self.who_row.indexOf(self.who) < 0:
            self.header.removeWidget(self.who)
            self.who_row.addWidget(self.who)
            self.header.insertStretch(1, 1)
        elif not narrow and self.header.indexOf(self.who) < 0:
            self.who_row.removeWidget(self.who)
            self.header.takeAt(1)  # the stretch
            self.header.insertWidget(1, self.who, 1)

    def _sync_menu(self) -> None:
        """The drop-down offers what the list offers (shown and enabled), the current one chosen."""
        menu = self.nav_menu
        menu.blockSignals(True)
        menu.clear()
        model = menu.model()
        for row in range(self.nav.count()):
            item = self.nav.item(row)
            if item.isHidden():
                continue
            menu.addItem(item.text(), row)
            if not item.flags() & Qt.ItemFlag.ItemIsEnabled and isinstance(
                model, QStandardItemModel
            ):
                entry = model.item(menu.count() - 1)
                if entry is not None:
                    entry.setEnabled(False)
        menu.setCurrentIndex(menu.findData(self.nav.currentRow()))
        menu.blockSignals(False)

    def _menu_chosen(self, index: int) -> None:
        row = self.nav_menu.itemData(index)
        if isinstance(row, int):
            self.nav.setCurrentRow(row)

    def _message(self, level: str, text: str) -> None:
        self.status_line.show_message(text, 15000)

    def _refresh(self) -> None:
        s = self.state
        signed_in = s.principal is not None and not s.locked
        if s.principal is not None:
            self.user_label.setText(
                f"Signed in: {s.principal.name} ({s.principal.role})"
                + ("  — LOCKED" if s.locked else "")
            )
        else:
            self.user_label.setText("Not signed in")
        i = s.interrogation
        self.pump_label.setText(
            f"Pump: {pump_text(i.model)} {pump_text(i.serial)}"
            if i
            else ("Offline review" if s.offline else "No pump")
        )
        self.pump_label.setToolTip(self.pump_label.text())
        self.lock_button.setVisible(signed_in)
        self.signout_button.setVisible(s.principal is not None)
        self.nav.setEnabled(signed_in)
        for row, (title, _, needs_pump, offline_ok) in enumerate(self.specs):
            item = self.nav.item(row)
            hidden = (s.offline and not offline_ok) or (title == "Emulator" and not s.on_emulator)
            item.setHidden(hidden)
            item.setFlags(
                item.flags() | Qt.ItemFlag.ItemIsEnabled
                if (not needs_pump or i is not None)
                else item.flags() & ~Qt.ItemFlag.ItemIsEnabled
            )
        # Critical first: when the banners scroll, the one in view is the one that matters.
        ordered = sorted(s.banners(), key=lambda b: b[1] != CRITICAL)
        self.banner_area.set_banners([Banner(t, colour, name) for t, colour, name in ordered])
        if i is not None and not self._had_pump and signed_in:
            self.show_page("Pump overview")  # just connected: show what the pump says
            from ui.patients.link import after_connect

            after_connect(self, s)  # whose pump: found by serial, or asked (never guessed)
        self._had_pump = i is not None
        if not signed_in:
            self.signin.refresh()
            self.stack.setCurrentWidget(self.signin)
        elif self.stack.currentWidget() is self.signin:
            first = (
                "Connect"
                if not s.offline
                else next((t for t, _, _, ok in self.specs if ok), "Connect")
            )
            self.show_page(first if i is None else "Pump overview")
            self._show_row(self.nav.currentRow())
        self._sync_menu()
        self._place_nav()

    def closeEvent(self, event: object) -> None:
        self.state.shutdown()
        super().closeEvent(event)  # type: ignore[arg-type]
