"""A finding's field as a person reads it: rows numbered from 1, no brackets or codes."""

from __future__ import annotations

import re


def field_text(field: str) -> str:
    """A finding's field as the screen shows it: rows numbered from 1 ("step 2 dose")."""

    def one_based(m: re.Match[str]) -> str:
        return f" {int(m.group(1)) + 1}"

    text = re.sub(r"\[(\d+)\]", one_based, field)
    text = (
        text.replace("steps ", "step ")
        .replace("drugs ", "drug ")
        .replace(".", " ")
        .replace("_", " ")
    )
    return text
