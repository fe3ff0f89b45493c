"""Strict parsing of the quantity strings of a prescription file.

A quantity is "<number> <unit>" with exactly one ASCII space. The number is a
plain decimal with a digit before any point. Values are kept exact
(`Fraction`) in base units: ng, nl, ng/mL, ng/day, nl/day, minutes, mm.
Anything that could be a slip of the finger (".5", "5.", "1,5", "1e3", "05",
a unit in the wrong case) is refused with the reason, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction


class Dimension(Enum):
    MASS = "mass"
    VOLUME = "volume"
    CONCENTRATION = "concentration"
    DOSE_RATE = "dose rate"
    VOLUME_RATE = "volume rate"
    DURATION = "duration"
    LENGTH = "length"


# Base units: what one unit of the dimension means in the exact arithmetic.
BASE_UNIT = {
    Dimension.MASS: "ng",
    Dimension.VOLUME: "nL",
    Dimension.CONCENTRATION: "ng/mL",
    Dimension.DOSE_RATE: "ng/day",
    Dimension.VOLUME_RATE: "nL/day",
    Dimension.DURATION: "min",
    Dimension.LENGTH: "mm",
}

EXAMPLE = {
    Dimension.MASS: "0.1 mg",
    Dimension.VOLUME: "2 mL",
    Dimension.CONCENTRATION: "10 mg/mL",
    Dimension.DOSE_RATE: "0.5 mg/day",
    Dimension.VOLUME_RATE: "8 uL/h",
    Dimension.DURATION: "10 min",
    Dimension.LENGTH: "60 cm",
}

MICRO_SIGNS = ("\u00b5", "\u03bc")  # MICRO SIGN and GREEK SMALL LETTER MU look the same

MASS_UNITS: dict[str, int] = {"g": 10**9, "mg": 10**6, "mcg": 10**3, "ug": 10**3, "ng": 1}
VOLUME_UNITS: dict[str, int] = {
    "mL": 10**6,
    "ml": 10**6,
    "uL": 10**3,
    "ul": 10**3,
    "nL": 1,
    "nl": 1,
}
TIME_UNITS: dict[str, int] = {"min": 1, "h": 60, "day": 1440}
LENGTH_UNITS: dict[str, int] = {"cm": 10, "mm": 1}
for _mu in MICRO_SIGNS:
    MASS_UNITS[_mu + "g"] = 10**3
    VOLUME_UNITS[_mu + "L"] = 10**3

NL_PER_ML = 10**6
MIN_PER_DAY = 1440

# No dose, volume or time needs more digits than this; a longer number is a slip (or an
# attack) and must be refused before int() or Fraction() spend time on it.
MAX_NUMBER_DIGITS = 20

_NUMBER = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]+))?", re.ASCII)


class QuantityError(ValueError):
    """A quantity string that cannot be read; `reason` says why, for a person."""

    def __init__(self, text: object, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"{text!r}: {reason}")


@dataclass(frozen=True)
class Quantity:
    value: Fraction  # in BASE_UNIT[dimension]
    dimension: Dimension
    text: str

    def whole(self, what: str) -> int:
        """The value as a whole number of base units, or a QuantityError saying so."""
        if self.value.denominator != 1:
            raise QuantityError(
                self.text,
                f"{what} must be a whole number of {BASE_UNIT[self.dimension]}",
            )
        return int(self.value)


def parse_number(text: str) -> Fraction:
    """A plain decimal: digits, optionally a point and more digits. Nothing else."""
    if text == "":
        raise QuantityError(text, "the number is missing")
    digits = sum(1 for ch in text if ch.isdigit())
    if digits > MAX_NUMBER_DIGITS:
        raise QuantityError(
            text[:24] + "...",
            f"the number has {digits} digits; at most {MAX_NUMBER_DIGITS} digits are accepted",
        )
    for ch in text:
        if ch.isdigit() and not ("0" <= ch <= "9"):
            raise QuantityError(text, f"use the digits 0-9 only (found {ch!r})")
    if text[0] in "+-":
        reason = "must not be negative" if text[0] == "-" else "write the number without a sign"
        raise QuantityError(text, reason)
    if "," in text:
        raise QuantityError(
            text, "use a point for decimals and no thousands separator (1.5, not 1,5)"
        )
    if "e" in text.lower() and any(c.isdigit() for c in text):
        raise QuantityError(text, "write the number in full, without an exponent (1000, not 1e3)")
    if text.startswith("."):
        raise QuantityError(text, f"write a digit before the point (0{text}, not {text})")
    if text.endswith("."):
        raise QuantityError(
            text, f"write a digit after the point, or no point ({text[:-1]}, not {text})"
        )
    if len(text) > 1 and text[0] == "0" and text[1] != ".":
        raise QuantityError(
            text, "a leading zero is ambiguous: did you mean 0." + text.lstrip("0") + "?"
        )
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise QuantityError(text, "not a plain decimal number (like 12 or 0.5)")
    whole, frac = match.group(1), match.group(2) or ""
    return Fraction(int(whole + frac), 10 ** len(frac))


def _suggest(unit: str) -> str:
    known = [*MASS_UNITS, *VOLUME_UNITS, *TIME_UNITS, *LENGTH_UNITS]
    for k in known:
        if k.lower() == unit.lower():
            return f" (units are case-sensitive: did you mean {k!r}?)"
    if unit in ("L", "l"):
        return " (litres are not accepted: write mL)"
    if unit in ("d", "days", "hr", "hrs", "hour", "hours", "mins", "minute", "minutes", "s"):
        return " (use min, h or day)"
    return ""


def _classify(unit: str) -> tuple[Dimension, Fraction]:
    """The dimension of a unit and its factor to the base unit."""
    if unit.count("/") > 1:
        raise QuantityError(unit, f"unit {unit!r} has more than one '/'")
    if "/" in unit:
        num, den = unit.split("/")
        if num in MASS_UNITS and den in VOLUME_UNITS:
            # ng per mL
            return Dimension.CONCENTRATION, Fraction(MASS_UNITS[num] * NL_PER_ML, VOLUME_UNITS[den])
        if num in MASS_UNITS and den in TIME_UNITS:
            return Dimension.DOSE_RATE, Fraction(MASS_UNITS[num] * MIN_PER_DAY, TIME_UNITS[den])
        if num in VOLUME_UNITS and den in TIME_UNITS:
            return Dimension.VOLUME_RATE, Fraction(VOLUME_UNITS[num] * MIN_PER_DAY, TIME_UNITS[den])
        for part in (num, den):
            if part not in MASS_UNITS and part not in VOLUME_UNITS and part not in TIME_UNITS:
                raise QuantityError(unit, f"unknown unit {part!r}{_suggest(part)}")
        raise QuantityError(unit, f"{unit!r} is not a concentration, dose rate or volume rate unit")
    for table, dim in (
        (MASS_UNITS, Dimension.MASS),
        (VOLUME_UNITS, Dimension.VOLUME),
        (TIME_UNITS, Dimension.DURATION),
        (LENGTH_UNITS, Dimension.LENGTH),
    ):
        if unit in table:
            return dim, Fraction(table[unit])
    raise QuantityError(unit, f"unknown unit {unit!r}{_suggest(unit)}")


def parse_quantity(text: object, *expected: Dimension) -> Quantity:
    """Read "<number> <unit>"; if `expected` is given, the unit must be of one of them."""
    want = " or ".join(f"a {d.value} like '{EXAMPLE[d]}'" for d in expected) or "a quantity"
    if isinstance(text, bool) or not isinstance(text, str):
        if isinstance(text, int | float):
            raise QuantityError(
                text, f"a bare number is not accepted: write {want}, with its unit, as a string"
            )
        raise QuantityError(text, f"expected {want} (a string), got {type(text).__name__}")
    if text.strip() == "":
        raise QuantityError(text, f"is empty: write {want}")
    if text != text.strip():
        raise QuantityError(text, "remove the spaces before or after the quantity")
    if any(c.isspace() and c != " " for c in text):
        raise QuantityError(text, "use one ordinary space between the number and the unit")
    parts = text.split(" ")
    if len(parts) == 1:
        m = re.match(r"[0-9.,]+", text)
        if m and m.end() < len(text):
            raise QuantityError(
                text,
                f"put one space between the number and the unit ({m.group(0)} {text[m.end() :]})",
            )
        raise QuantityError(text, f"the unit is missing: write {want}")
    if len(parts) != 2 or "" in parts:
        raise QuantityError(text, "write exactly one space between the number and the unit")
    number, unit = parts
    value = parse_number(number)
    dimension, factor = _classify(unit)
    if expected and dimension not in expected:
        raise QuantityError(text, f"{text!r} is a {dimension.value}; expected {want}")
    return Quantity(value=value * factor, dimension=dimension, text=text)
