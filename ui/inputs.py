"""Inputs that change nothing by accident.

A mouse wheel passing over a closed drop-down changed the drug, or turned Mode to
"stopped" (-100 %), with one notch; arrow keys on a focused drop-down did the same
without the list ever being seen. One application-wide filter: the wheel over a closed
drop-down or a number box scrolls the page instead, and the arrow keys open the list.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QWidget,
)

_OPEN_KEYS = {
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_PageUp,
    Qt.Key.Key_PageDown,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
}


def _combo_of(obj: QObject) -> QComboBox | None:
    """The drop-down `obj` is, or whose text field it is."""
    if isinstance(obj, QComboBox):
        return obj
    parent = obj.parent() if isinstance(obj, QWidget) else None
    return parent if isinstance(parent, QComboBox) else None


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    w = widget.parentWidget()
    while w is not None:
        if isinstance(w, QAbstractScrollArea):
            return w
        w = w.parentWidget()
    return None


class InputGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            combo = _combo_of(watched)
            target: QWidget | None = combo
            if combo is not None and combo.view().isVisible():
                return False  # the open list scrolls as usual
            if target is None and isinstance(watched, QAbstractSpinBox):
                target = watched
            if target is None:
                parent = watched.parent() if isinstance(watched, QWidget) else None
                if isinstance(parent, QAbstractSpinBox):
                    target = parent
            if target is None:
                return False
            area = _scroll_area_of(target)
            if area is not None and area.verticalScrollBar().isVisible():
                QCoreApplication.sendEvent(area.verticalScrollBar(), event)
            return True  # the value is never changed by a wheel passing over
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            combo = _combo_of(watched)
            if (
                combo is not None
                and not combo.view().isVisible()
                and Qt.Key(event.key()) in _OPEN_KEYS
                and not event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                combo.showPopup()  # the choice is made in the list, where it is seen
                return True
        return False


_guard: InputGuard | None = None


def guard_inputs() -> None:
    """Install the guard on the application (once; screens call it when built)."""
    global _guard
    app = QApplication.instance()
    if app is None or _guard is not None:
        return
    _guard = InputGuard(app)
    app.installEventFilter(_guard)
