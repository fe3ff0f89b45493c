"""Small widgets the screens share."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui.style import banner_css

# A screen narrower than this (logical px: scale 2 on 1024x768 leaves a page about 330)
# puts what stands side by side one under the other.
NARROW = 640


# Forms: a field wider than the room beside its label goes on the line under it (scale 2).
WRAP = QFormLayout.RowWrapPolicy.WrapLongRows


def is_narrow(widget: QWidget) -> bool:
    """Its window is narrow. (Not the widget's own width: a page in a scroll area is never
    narrower than its minimum, so it would never see that the window has become narrow.)"""
    return widget.window().width() < NARROW


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize to `width` x `height`, but never beyond the screen it opens on (1024x768,
    or any screen at scale 2): layouts and scroll areas take up the rest."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        room = screen.availableGeometry()
        width = min(width, room.width() - 16)
        height = min(height, room.height() - 48)  # the title bar
    window.resize(max(width, 320), max(height, 240))


def chain_tabs(*widgets: QWidget) -> None:
    """Tab goes through `widgets` in this order (the order they are drawn in). Rows added
    after a form was built would otherwise come last, after its buttons."""
    for a, b in itertools.pairwise(widgets):
        QWidget.setTabOrder(a, b)


def last_focusable(container: QWidget) -> QWidget:
    """The last widget inside `container` in its window's focus chain (where the buttons
    that follow it go). Its children are not always next to it in the chain."""
    start = container.window()
    last, w = container, start.nextInFocusChain()
    while w is not None and w is not start:
        if container.isAncestorOf(w):
            last = w
        w = w.nextInFocusChain()
    return last


class FillsItsArea(QWidget):
    """The contents of a scroll area that fills the viewport when there is room and scrolls
    at its minimum size when there is not. (A wrapped label makes a layout height-for-width,
    and QScrollArea then sizes the contents to their preferred height: a page scrolled
    although it fits.)"""

    def hasHeightForWidth(self) -> bool:
        return False


def scrolling_body(dialog: QWidget) -> QVBoxLayout:
    """The layout to build `dialog` in, inside a scroll area that fills it: on a small screen
    (scale 2 on 1024x768) the dialog scrolls instead of growing past the screen. Whatever
    must stay in view is added to `dialog.layout()` after the scroll area."""
    outer = QVBoxLayout(dialog)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    inner = FillsItsArea()
    area.setWidget(inner)
    outer.addWidget(area, 1)
    body = QVBoxLayout(inner)
    body.setContentsMargins(0, 0, 0, 0)
    return body


class Banner(QLabel):
    """A line that cannot be missed: pump stopped, critical alarm, uncertain, demo key, offline."""

    def __init__(self, text: str, colour: str, name: str) -> None:
        super().__init__(text)
        self.setTextFormat(Qt.TextFormat.PlainText)  # pump text is never read as markup
        self.setStyleSheet(banner_css(colour))
        self.setWordWrap(True)
        self.setObjectName(name)
        self.setAccessibleName(f"banner: {text}")


class WrappedChoice(QWidget):
    """A radio button or check box whose text wraps (Qt's do not): its text in a wrapped
    label beside it, a click on the label choosing it. A long choice ("Priming bolus: the
    fluid path holds no drug (...)") made the refill step scroll sideways at scale 2."""

    def __init__(self, button: QAbstractButton) -> None:
        super().__init__()
        self.button = button
        text = button.text()
        button.setText("")
        if not button.accessibleName():
            button.setAccessibleName(text)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setBuddy(button)
        self.label.installEventFilter(self)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.label, 1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.label and event.type() == QEvent.Type.MouseButtonRelease:
            if self.button.isEnabled():
                self.button.click()
            return True
        return False


class CurrentSizedStack(QStackedWidget):
    """A stack as small as the page shown, not its largest page: a hidden page's minimum
    (the refill's confirm) pushed the window past the screen at scale 2 on 1024x768."""

    def __init__(self) -> None:
        super().__init__()
        self.currentChanged.connect(lambda _: self.updateGeometry())

    def minimumSizeHint(self) -> QSize:
        current = self.currentWidget()
        return current.minimumSizeHint() if current is not None else super().minimumSizeHint()

    def sizeHint(self) -> QSize:
        current = self.currentWidget()
        return current.sizeHint() if current is not None else super().sizeHint()


class BannerArea(QScrollArea):
    """The banners above every screen, stacked in an area that scrolls when they would take
    more than `share` of the window (four banners at scale 2 on 1024x768 left the screen 68
    px). The first banner is always shown whole, headline and remedy; the rest are one
    scroll away, never cut off at the window's edge."""

    def __init__(self, share: float = 0.3) -> None:
        super().__init__()
        self.share = share
        self.setObjectName("banners_area")  # not "banner_*": that is one banner
        self.setAccessibleName("banners")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.inner = QWidget()
        self.box = QVBoxLayout(self.inner)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.setWidget(self.inner)

    def banners(self) -> list[QWidget]:
        out: list[QWidget] = []
        for i in range(self.box.count()):
            item = self.box.itemAt(i)
            w = item.widget() if item is not None else None
            if w is not None:
                out.append(w)
        return out

    def set_banners(self, banners: list[QWidget]) -> None:
        while self.box.count():
            old = self.box.takeAt(0)
            w = old.widget() if old is not None else None
            if w is not None:
                w.deleteLater()
        for b in banners:
            self.box.addWidget(b)
        # Banners at the top, as tall as their text: a stale taller content (the banners
        # before) stretched one banner to 242 px, its text centred out of sight.
        self.box.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.box.activate()
        self.inner.adjustSize()
        self.verticalScrollBar().setValue(0)
        self.setVisible(bool(banners))
        self.fit()
        QTimer.singleShot(0, self, self.fit)  # again once laid out in the window

    def fit(self) -> None:
        """As tall as the banners that fit in `share` of the window, whole ones only (none
        cut in half at the edge), and never less than the first."""
        banners = self.banners()
        if not banners:
            return
        room = int(self.window().height() * self.share)
        width = max(self.width(), 100)
        heights = [self._banner_height(b, width) for b in banners]
        gap = self.box.spacing()
        if sum(heights) + gap * (len(heights) - 1) > room:  # it scrolls: less room beside the bar
            width -= self.verticalScrollBar().sizeHint().width()
            heights = [self._banner_height(b, width) for b in banners]
        shown = heights[0]
        for h in heights[1:]:
            if shown + gap + h > room:
                break
            shown += gap + h
        self.setMinimumHeight(heights[0])
        self.setMaximumHeight(shown)
        self.updateGeometry()

    @staticmethod
    def _banner_height(banner: QWidget, width: int) -> int:
        banner.ensurePolished()  # its style sheet's padding and bold font counted
        h = banner.heightForWidth(width)
        return int(h if h > 0 else banner.sizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.maximumHeight())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit()


class Card(QFrame):
    """A titled box of label: value rows, numbers right-aligned."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        layout = QVBoxLayout(self)
        self.box = layout
        heading = QLabel(title)
        heading.setProperty("role", "title")
        heading.setWordWrap(True)  # a long title wraps instead of widening the screen
        layout.addWidget(heading)
        self.grid = QGridLayout()
        layout.addLayout(self.grid)
        layout.addStretch(1)
        self._values: dict[str, QLabel] = {}

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self._values = {}
        for r, (label, value) in enumerate(rows):
            name = QLabel(label)
            name.setProperty("role", "muted")
            val = QLabel(value)
            val.setTextFormat(Qt.TextFormat.PlainText)  # pump text is never read as markup
            val.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            val.setWordWrap(True)  # long remedies wrap instead of widening the window
            val.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            val.setAccessibleName(label)
            name.setWordWrap(True)
            self.grid.addWidget(name, r, 0)
            self.grid.addWidget(val, r, 1)
            self._values[label] = val
        self.grid.setColumnStretch(1, 1)

    def value(self, label: str) -> str:
        return self._values[label].text()
