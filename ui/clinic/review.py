"""Opening the review app on the clinic database (`itp gui --offline --clinic URL`)."""

from __future__ import annotations

import sys
from pathlib import Path

from programmer.clinic.connection import parse_url
from programmer.clinic.errors import ClinicError
from programmer.clinic.review import mirror
from programmer.store import StoreError


def open_clinic_review(url: str, programmer: str | None) -> Path | None:
    """The read-only review copy of the clinic's records, or None (the reason on stderr)."""
    try:
        copy = mirror(parse_url(url), programmer=programmer)
    except (ClinicError, StoreError) as exc:
        sys.stderr.write(f"itp: {exc}\n")
        return None
    if copy.label:
        sys.stderr.write(
            f"itp: reviewing the clinic; the audit screen shows {copy.label}'s trail\n"
        )
    return copy.db
