"""Exact, unambiguous text for doses, volumes and rates.

A value with a finite decimal expansion is printed exactly (trailing zeros
dropped), so two different pump programs never print the same. A value with
no finite expansion (a per-hour figure of a per-day rate, say) is rounded to a
resolution finer than one step of what the pump can store, and marked "≈".
"""

from __future__ import annotations

from fractions import Fraction

from programmer.quantities import MASS_UNITS, NL_PER_ML

MAX_EXACT_PLACES = 12


def _finite_places(value: Fraction) -> int | None:
    """Decimal places of the exact expansion, or None if it does not terminate."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    return max(twos, fives)


def _fixed(value: Fraction, places: int) -> str:
    """`value` rounded half-even to `places` decimals, trailing zeros dropped."""
    scaled = round(value * 10**places)  # Fraction.__round__ is half-even and exact
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(places + 1, "0")
    if places == 0:
        return sign + digits
    whole, frac = digits[:-places], digits[-places:].rstrip("0")
    return sign + whole + ("." + frac if frac else "")


def decimal_text(value: Fraction | int, resolution: Fraction | None = None) -> str:
    """Exact decimal text when finite; else '≈' and enough places to tell neighbours apart."""
    value = Fraction(value)
    places = _finite_places(value)
    if places is not None and places <= MAX_EXACT_PLACES:
        return _fixed(value, places)
    step = resolution if resolution else Fraction(1, 10**6) * max(abs(value), Fraction(1))
    need = 0
    while Fraction(1, 10**need) > step / 4 and need < MAX_EXACT_PLACES:
        need += 1
    return "≈" + _fixed(value, need)


def mass_text(ng: Fraction | int, unit: str) -> str:
    """A mass in ng shown in `unit` (mg, mcg, ng, g)."""
    return f"{decimal_text(Fraction(ng) / MASS_UNITS[unit])} {unit}"


def dose_per_day_text(ng_per_day: Fraction | int, unit: str) -> str:
    return f"{decimal_text(Fraction(ng_per_day) / MASS_UNITS[unit])} {unit}/day"


def dose_per_hour_text(ng_per_day: Fraction | int, unit: str, resolution_ng_day: Fraction) -> str:
    per_hour = Fraction(ng_per_day) / 24 / MASS_UNITS[unit]
    return f"{decimal_text(per_hour, resolution_ng_day / 24 / MASS_UNITS[unit])} {unit}/h"


def volume_text(nl: Fraction | int) -> str:
    """Volumes in mL, as the clinic measures them with a syringe."""
    return f"{decimal_text(Fraction(nl) / NL_PER_ML)} mL"


def clinical_decimal(value: Fraction | int) -> str:
    """`value` as a clinician writes it: three significant figures, whole numbers from 100
    on ("41.7", "7.08", "2083"), with '≈' when that is not the exact value."""
    value = Fraction(value)
    places = 0
    if value != 0:
        while abs(value) * 10**places < 100 and places < MAX_EXACT_PLACES:
            places += 1
    text = _fixed(value, places)
    return text if Fraction(text) == value else "≈" + text


def volume_rate_text(nl_per_day: Fraction | int, *, exact: bool = False) -> str:
    """A rate in mL/day (exact for a whole nl/day) with µL/h beside it, as a clinician
    writes it ("1 mL/day (≈41.7 µL/h)"); `exact` gives every place ("≈41.66667")."""
    rate = Fraction(nl_per_day)
    per_day = decimal_text(rate / NL_PER_ML)
    hourly = rate / 24 / 1000
    per_hour = decimal_text(hourly, Fraction(1, 24_000)) if exact else clinical_decimal(hourly)
    return f"{per_day} mL/day ({per_hour} µL/h)"


def concentration_text(ng_per_ml: int, unit: str) -> str:
    return f"{decimal_text(Fraction(ng_per_ml, MASS_UNITS[unit]))} {unit}/mL"


def percent_text(value: Fraction) -> str:
    """A signed percentage: "+30 %", "≈+133.3 %" (one decimal when it is not exact)."""
    text = decimal_text(value, Fraction(1, 10))
    approx = text.startswith("≈")
    number = text.removeprefix("≈")
    if approx:
        number = _fixed(Fraction(value), 1)
    sign = "+" if value > 0 else ""
    return f"{'≈' if approx else ''}{sign}{number} %"


def minutes_text(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def clock_text(cycle_min: int, cycle_days: int) -> str:
    """Minute of the cycle as HH:MM, with the day when the cycle is longer than one."""
    day, minute = divmod(cycle_min, 1440)
    hhmm = f"{minute // 60:02d}:{minute % 60:02d}"
    return f"day {day + 1} {hhmm}" if cycle_days > 1 else hhmm
