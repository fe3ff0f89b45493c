"""Retype-to-confirm and per-finding reasons: what a person must do to accept a finding.

A retype finding (`unit_suspect`, `over_starting_dose_limit`) is hard until its value
is typed again, parsed, and found equal to the prescription's; it is then soft and,
like every soft finding, needs an override with its own reason: at least 3 words and
10 characters, never the same text as another finding's reason. Overrides and
confirmations are taken per plan; nothing carries over to the next proposal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from programmer.findings import Finding, Severity, finding
from programmer.quantities import QuantityError, parse_quantity

MIN_REASON_WORDS = 3
MIN_REASON_CHARS = 10


def apply_confirmations(findings: list[Finding], confirmations: Mapping[str, str]) -> list[Finding]:
    """The findings with each correctly retyped value confirmed (hard -> soft)."""
    out: list[Finding] = []
    asked = {f.field for f in findings if f.retype}
    mismatched: set[str] = set()
    for f in findings:
        typed = confirmations.get(f.field)
        if not f.retype or typed is None:
            out.append(f)
            continue
        if f.value is not None and _same(typed, f.value):
            out.append(dataclasses.replace(f, severity=Severity.SOFT, confirmed=True))
            continue
        out.append(f)
        if f.field not in mismatched:
            mismatched.add(f.field)
            shown = typed if len(typed) <= 40 else typed[:40] + "..."
            out.append(finding("confirm_value_mismatch", f.field,
                               f"{shown!r} was typed again for {f.field}, but the prescription "
                               f"has {f.value!r}: correct whichever is wrong"))  # fmt: skip
    for field in sorted(set(confirmations) - asked):
        out.append(finding("confirm_value_unused", field,
                           f"a value was typed again for {field}, but no finding asks for it"))  # fmt: skip
    return out


def _same(typed: str, value: str) -> bool:
    try:
        a, b = parse_quantity(typed.strip()), parse_quantity(value)
    except QuantityError:
        return False
    return a.dimension is b.dimension and a.value == b.value


def valid_overrides(
    findings: list[Finding], overrides: Mapping[str, str]
) -> tuple[dict[str, str], list[Finding]]:
    """The overrides that count (a soft finding of that code stands, a good reason of its own)."""
    soft = {f.code for f in findings if f.severity is Severity.SOFT}
    kept: dict[str, str] = {}
    problems: list[Finding] = []
    by_reason: dict[str, str] = {}
    for code, reason in overrides.items():
        if code not in soft:
            continue  # nothing to override in this plan: never recorded, never carried
        text = " ".join(str(reason).split())
        words = len(text.split(" ")) if text else 0
        if words < MIN_REASON_WORDS or len(text) < MIN_REASON_CHARS:
            problems.append(finding("override_reason_too_short", f"overrides.{code}",
                                    f"the reason for overriding {code} ({text!r}) has {words} word(s); "
                                    f"write at least {MIN_REASON_WORDS} words ({MIN_REASON_CHARS} "
                                    "characters) saying why this finding is accepted"))  # fmt: skip
            continue
        key = text.casefold()
        if key in by_reason:
            problems.append(finding("override_reason_reused", f"overrides.{code}",
                                    f"{code} and {by_reason[key]} are overridden with the same reason; "
                                    "give each finding its own"))  # fmt: skip
            continue
        by_reason[key] = code
        kept[code] = text
    return kept, problems
