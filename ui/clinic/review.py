"""Opening the review app on the clinic database (`itp gui --offline --clinic URL`)."""

from __future__ import annotations

import sys
from pathlib import Path

from programmer.clinic.connection import parse_url
from programmer.clinic.errors import ClinicError
from programmer.clinic.review import mirror
from programmer.store import StoreError
from programmer.store.audit_key import AuditKeyError


def open_clinic_review(url: str, programmer: str | None) -> tuple[Path, Path] | None:
    """(the read-only review copy of the clinic's records, a key file for opening it), or
    None with the reason on stderr. The key is the copy's own, made with it (its rows are
    sealed with it): the reviewer does not hold the programmers' keys (the audit screen's
    verify says so); every chain is checked with `itp audit verify --clinic URL`.
    Lazy: the window opens before the pump histories are copied; each pump's comes from
    the clinic when a screen first reads it (programmer/clinic/review.py)."""
    try:
        copy = mirror(parse_url(url), programmer=programmer, lazy=True)
    except (ClinicError, StoreError, AuditKeyError) as exc:
        sys.stderr.write(f"itp: {exc}\n")
        return None
    if copy.label:
        sys.stderr.write(
            f"itp: reviewing the clinic; the audit screen shows {copy.label}'s trail\n"
        )
    return copy.db, copy.key
