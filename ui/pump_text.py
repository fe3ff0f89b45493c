"""A pump's string (model, serial, firmware, drug name, code) as the app shows it.

The core's display_text escapes what a text widget could act on (controls, bidi
overrides); the length is the protocol's 32 characters and a little room, so a long
value can never widen a screen past its edge.
"""

from __future__ import annotations

from programmer.session.display_text import display_text

PUMP_TEXT_CHARS = 40  # the protocol allows 1 to 32 characters; escapes take a few more


def pump_text(value: object) -> str:
    return display_text(value, PUMP_TEXT_CHARS)
