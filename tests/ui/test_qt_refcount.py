"""Guard against a Qt binding that corrupts reference counts (PySide6 6.12.0 on CPython 3.11).

That release dropped one reference to None (or True/False) per call returning it; after
about 16,000 calls the interpreter aborted. A clinic app must not die from a label update.
"""

from __future__ import annotations

import sys
from typing import Any


def test_calls_returning_none_and_bool_keep_refcounts(qapp: Any) -> None:
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    counts = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for _ in range(20_000):
        label.setText("x")  # returns None
        label.isVisible()  # returns a bool
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for before, now in zip(counts, after, strict=True):
        assert abs(now - before) < 1_000, (counts, after)
