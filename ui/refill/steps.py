"""What every refill wizard's steps are made of (programmable and constant-flow alike)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

DISABLED = "QPushButton:disabled { background: #c8ccd0; color: #5f6368; }"


def step_title(kind: str, here: int, steps: list[str]) -> str:
    return f"{kind} — step {here + 1} of {len(steps)}: {steps[here]}"


def check_label(name: str) -> QLabel:
    """Where a step says what the core found in its fields."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


def step_page(*parts: Any) -> QWidget:
    """One step: its widgets and layouts top to bottom, scrolled when the screen is small."""
    w = QWidget()
    layout = QVBoxLayout(w)
    for part in parts:
        if isinstance(part, QWidget):
            layout.addWidget(part)
        else:
            layout.addLayout(part)
    layout.addStretch(1)
    scroll = QScrollArea()  # every page fits 1024x768 and scale 2
    scroll.setWidgetResizable(True)
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the step's fields
    scroll.setWidget(w)
    return scroll
