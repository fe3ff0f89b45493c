"""Text that came from a pump (serial, drug names, messages), made safe to show.

A pump string may hold terminal escape codes (ESC, CSI as U+009B), bidirectional
overrides that reorder what a reader sees, or be megabytes long. Every such
character is shown as a visible escape instead (`\\x1b`, `\\u202e`), never
interpreted; one place, used by the command line and exposed for the app.
"""

from __future__ import annotations

import unicodedata

# Categories a terminal or a text widget may act on instead of showing: controls,
# format characters (bidi overrides, zero-width joiners), line and paragraph separators,
# and surrogates and unassigned code points that cannot be shown reliably.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
DEFAULT_MAX_CHARS = 200


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def is_plain(text: str) -> bool:
    """True when every character shows as itself (no control, format or unassigned one)."""
    return all(unicodedata.category(ch) not in _HIDDEN for ch in text)


def display_text(value: object, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """One pump string for a person: hidden characters escaped, long text shortened.

    Not a string (a pump that sent the wrong type)? Its repr, made safe the same way.
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 4 * max_chars:
        text = text[: 4 * max_chars]  # bound the work before escaping
    out = "".join(_escape(ch) if unicodedata.category(ch) in _HIDDEN else ch for ch in text)
    if len(out) > max_chars:
        out = out[: max(max_chars - 1, 0)] + "…"
    return out


def terminal_text(text: str) -> str:
    """A whole block of output for a terminal: as `display_text`, but newlines and tabs
    are kept and nothing is shortened."""
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in _HIDDEN else _escape(ch)
        for ch in text
    )


def json_text(text: str) -> str:
    """JSON output for a terminal. `json.dumps` escapes C0 controls but, with
    `ensure_ascii=False`, writes C1 controls (U+009B is CSI) and bidi overrides raw; a
    `\\uXXXX` escape is the same JSON string, so decoding gives the same value."""
    return "".join(
        _json_escape(ch) if ord(ch) >= 0x7F and unicodedata.category(ch) in _HIDDEN else ch
        for ch in text
    )


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # outside the basic plane: a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
