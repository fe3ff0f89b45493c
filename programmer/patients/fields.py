"""Validating what a person types about a patient, a pump or a trial, where it enters.

Each check returns the clean value or raises PatientError naming the field, the limit
and the unit. Sizes are bounded so a pasted novel cannot fill the database.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from fractions import Fraction

from programmer.drugs import INDICATIONS
from programmer.quantities import Dimension, QuantityError, parse_quantity

MAX_NAME = 200
MAX_NOTES = 4_000
MAX_TEXT = 500
_CLINIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,31}", re.ASCII)
_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
_TIP = re.compile(r"C[1-7]|T(1[0-2]|[1-9])|L[1-5]|S[1-5]|cisterna magna", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
EARLIEST_DATE = date(1900, 1, 1)
PUMP_KINDS = ("programmable", "constant-flow")
MAX_CATHETER_MM = 2_000  # 200 cm
MAX_NL_PER_CM = 10_000  # 0.01 mL/cm; real catheters hold ~0.0015-0.0026 mL/cm


class PatientError(ValueError):
    """Input about a patient that cannot be stored; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PumpLinkedElsewhere(PatientError):
    """The pump's serial already belongs to another patient: a hard stop, never a guess."""


def clinic_id(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not _CLINIC_ID.fullmatch(text):
        raise PatientError(
            "clinic_id",
            "must be 1 to 32 letters, digits or . _ / - (starting with a letter or digit), "
            f"got {value!r}",
        )
    return text


def text(value: object, field: str, limit: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise PatientError(field, f"must be text, got {type(value).__name__}")
    clean = value.strip()
    if required and not clean:
        raise PatientError(field, "is required")
    if len(clean) > limit:
        raise PatientError(field, f"is {len(clean)} characters; at most {limit}")
    if _CONTROL.search(clean):
        raise PatientError(field, "contains control characters")
    return clean


def day(value: object, field: str, *, today: date, earliest: date = EARLIEST_DATE) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        d = value
    else:
        raw = value if isinstance(value, str) else ""
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw, re.ASCII):
            raise PatientError(field, f"must be a date YYYY-MM-DD, got {value!r}")
        try:
            d = date.fromisoformat(raw)
        except ValueError:
            raise PatientError(field, f"{raw} is not a real date") from None
    if d < earliest or d > today:
        raise PatientError(field, f"{d.isoformat()} must be from {earliest} to today ({today})")
    return d


def indication(value: object) -> str | None:
    if value is None or value == "":
        return None
    if value not in INDICATIONS:
        raise PatientError("indication", f"must be one of {', '.join(INDICATIONS)}, got {value!r}")
    return str(value)


def serial(value: object) -> str:
    raw = value.strip() if isinstance(value, str) else ""
    if not _SERIAL.fullmatch(raw):
        raise PatientError("serial", f"must be 1 to 64 letters, digits or . _ - (got {value!r})")
    return raw


def pump_kind(value: object) -> str:
    if value not in PUMP_KINDS:
        raise PatientError("kind", f"must be one of {', '.join(PUMP_KINDS)}, got {value!r}")
    return str(value)


def catheter_tip(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _TIP.fullmatch(value.strip()):
        raise PatientError(
            "catheter_tip", f"must be a spinal level such as T10, C5, L1 (got {value!r})"
        )
    return value.strip()


def quantity(value: object, field: str, dim: Dimension, lo: Fraction, hi: Fraction,
             lo_text: str, hi_text: str) -> int | None:  # fmt: skip
    """A quantity string in whole wire units, within [lo, hi]; None for no value."""
    if value is None or value == "":
        return None
    try:
        q = parse_quantity(value, dim)
    except QuantityError as exc:
        raise PatientError(field, exc.reason) from None
    if not lo <= q.value <= hi:
        raise PatientError(field, f"{q.text} must be from {lo_text} to {hi_text}")
    return round(q.value)


def catheter_length_mm(value: object) -> int | None:
    return quantity(value, "catheter_length", Dimension.LENGTH, Fraction(1), Fraction(MAX_CATHETER_MM),
                    "1 mm", "200 cm")  # fmt: skip


def catheter_nl_per_cm(value: object) -> int | None:
    return quantity(value, "catheter_volume_per_cm", Dimension.VOLUME, Fraction(1),
                    Fraction(MAX_NL_PER_CM), "0.000001 mL", "0.01 mL")  # fmt: skip


def flow_nl_day(value: object) -> int | None:
    return quantity(value, "flow", Dimension.VOLUME_RATE, Fraction(100_000), Fraction(10_000_000),
                    "0.1 mL/day", "10 mL/day")  # fmt: skip


def capacity_nl(value: object) -> int | None:
    return quantity(value, "capacity", Dimension.VOLUME, Fraction(1_000_000),
                    Fraction(100_000_000), "1 mL", "100 mL")  # fmt: skip
