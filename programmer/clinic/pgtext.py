"""Audit text on the clinic database: PostgreSQL text cannot hold NUL (U+0000).

An audit record whose text holds NUL is stored with `nul_escaped` set and every text
field escaped reversibly: a backslash becomes two, NUL becomes backslash-zero. Every
other record is stored exactly as written (most never need it, and they stay readable
in SQL). Whoever reads `itp.audit` decodes with `decode_row` before computing a MAC or
a chain value, so `itp audit verify --clinic` checks the text the programmer sealed.
Other control characters are ordinary text to PostgreSQL and are stored as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NUL = "\x00"


def needs_escape(row: Sequence[Any]) -> bool:
    return any(isinstance(v, str) and NUL in v for v in row)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(NUL, "\\0")


def _unescape(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "\\0":
            out.append("\\" if text[i + 1] == "\\" else NUL)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def encode_row(row: Sequence[Any]) -> tuple[tuple[Any, ...], bool]:
    """(the row as the clinic stores it, whether it was escaped)."""
    if not needs_escape(row):
        return tuple(row), False
    return tuple(_escape(v) if isinstance(v, str) else v for v in row), True


def decode_row(row: Sequence[Any], escaped: bool) -> tuple[Any, ...]:
    """The row as the programmer wrote it, from the clinic's copy."""
    if not escaped:
        return tuple(row)
    return tuple(_unescape(v) if isinstance(v, str) else v for v in row)
