"""Sizes and colours in one place: readable at 1366×768 and on a large monitor."""

from __future__ import annotations

CRITICAL = "#b00020"
WARNING = "#9a6700"
INFO = "#0b5394"
OFFLINE = "#5f6368"
OK = "#1e7e34"

STYLE = """
QWidget { font-size: 11pt; }
QLabel[role="title"] { font-size: 16pt; font-weight: 600; }
QLabel[role="big"] { font-size: 22pt; font-weight: 700; }
QLabel[role="muted"] { color: #5f6368; }
QFrame[role="card"] { border: 1px solid #d0d7de; border-radius: 6px; background: #ffffff; }
QListWidget#nav { font-size: 12pt; border: none; background: #f3f4f6; }
QListWidget#nav::item { padding: 8px 12px; }
QListWidget#nav::item:selected { background: #0b5394; color: white; }
QPushButton { padding: 6px 14px; }
QPushButton[role="primary"] { background: #0b5394; color: white; font-weight: 600; border-radius: 4px; }
QPushButton[role="danger"] { background: #b00020; color: white; font-weight: 600; border-radius: 4px; }
QTableView, QTableWidget { gridline-color: #d0d7de; }
"""


def banner_css(colour: str) -> str:
    # 12 pt bold on colour: unmissable, and two of them still leave room for the screen at
    # scale 2 on 1024x768 (at 13 pt with more padding they took half of it).
    return f"background: {colour}; color: white; font-size: 12pt; font-weight: 700; padding: 5px 10px; border-radius: 4px;"
