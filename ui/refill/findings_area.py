"""The refill confirm's findings: exactly as tall as what they say (wrapped at the width
they have), nothing when there is nothing to say. The change table above takes the rest of
the room; when both do not fit, the confirm's body scrolls as one, never the findings alone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QWidget


class FindingsArea(QScrollArea):
    def __init__(self, contents: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("refill_findings_area")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(contents)
        self._contents = contents

    def needed_height(self) -> int:
        """The contents' height at this width (wrapped labels grow as the width shrinks)."""
        layout = self._contents.layout()
        width = max(self.viewport().width(), 1)
        if layout is not None and layout.hasHeightForWidth():
            return layout.totalHeightForWidth(width)
        return self._contents.sizeHint().height()

    def fit(self, has_something: bool) -> None:
        self.setVisible(has_something)
        if has_something:
            self.setFixedHeight(self.needed_height() + 2 * self.frameWidth())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width() and self.isVisible():
            self.fit(True)  # the wrap changed with the width


class LineWhenSaid(QLabel):
    """A wrapped line that takes no room until it has something to say (the send progress)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setVisible(False)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        super().clear()
        self.setVisible(False)
