"""Numbers as a clinician writes them ("0.557 mg/day", "+26.5 %"); the exact value is kept
for the tooltip beside them. Only for reading: nothing typed or sent passes through here."""

from __future__ import annotations

import re
from fractions import Fraction

from programmer.quantities import MASS_UNITS, NL_PER_ML


def _digits(value: Fraction, places: int) -> str:
    scaled = round(abs(value) * 10**places)
    text = str(scaled).rjust(places + 1, "0")
    if places:
        whole, frac = text[:-places], text[-places:].rstrip("0")
        text = whole + ("." + frac if frac else "")
    return ("-" if value < 0 and scaled else "") + text


def significant(value: Fraction, figures: int = 3) -> str:
    """`value` to `figures` significant figures, never in exponent form ("0.557", "40")."""
    value = Fraction(value)
    if value == 0:
        return "0"
    places = 0
    while abs(value) * 10**places < 10 ** (figures - 1) and places < 12:
        places += 1
    return _digits(value, places)


def clinical_percent(ratio: Fraction) -> str:
    """A change (0.265) as "+26.5 %": one decimal at most, the sign always shown."""
    pct = Fraction(ratio) * 100
    text = _digits(pct, 1)
    return f"{'+' if pct > 0 and text != '0' else ''}{text} %".replace("-", "−")


def clinical_dose(ng_per_day: Fraction | int, unit: str) -> str:
    return f"{significant(Fraction(ng_per_day) / MASS_UNITS[unit])} {unit}/day"


def clinical_volume(nl: Fraction | int) -> str:
    return f"{significant(Fraction(nl, NL_PER_ML))} mL"


_DECIMAL = re.compile(r"(?<![\d.:])(?<!\d-)(\d+\.\d+)(?![\d.:]|-\d)")


def rounded_text(text: str) -> str:
    """Every decimal in `text` as a clinician writes it: three significant figures, whole
    numbers of 100 and more to the unit ("15.661209 mL" -> "15.7 mL", "2083.33333" ->
    "2083"). Times, dates and versions are left alone. Keep the exact text for the tooltip."""

    def one(m: re.Match[str]) -> str:
        value = Fraction(m.group(1))
        return _digits(value, 0) if value >= 100 else significant(value)

    return _DECIMAL.sub(one, text)
