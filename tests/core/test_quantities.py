from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programmer.formatting import decimal_text
from programmer.quantities import Dimension, QuantityError, parse_quantity

D = Dimension


@pytest.mark.parametrize(
    ("text", "dims", "value", "dim"),
    [
        ("10 mg/mL", (D.CONCENTRATION,), 10_000_000, D.CONCENTRATION),
        ("0.5 mcg/mL", (D.CONCENTRATION,), 500, D.CONCENTRATION),
        ("25 mg/mL", (), 25_000_000, D.CONCENTRATION),
        ("2 mL", (D.VOLUME,), 2_000_000, D.VOLUME),
        ("0.048 mL", (D.VOLUME,), 48_000, D.VOLUME),
        ("8 uL", (), 8_000, D.VOLUME),
        ("8 µL", (), 8_000, D.VOLUME),
        ("8 \u03bcL", (), 8_000, D.VOLUME),
        ("8 ul", (), 8_000, D.VOLUME),
        ("7 nL", (), 7, D.VOLUME),
        ("0.1 mg", (D.MASS,), 100_000, D.MASS),
        ("1 g", (), 10**9, D.MASS),
        ("60 mcg", (), 60_000, D.MASS),
        ("60 ug", (), 60_000, D.MASS),
        ("60 µg", (), 60_000, D.MASS),
        ("3 ng", (), 3, D.MASS),
        ("0.05 mg/h", (D.DOSE_RATE,), 1_200_000, D.DOSE_RATE),
        ("60 mcg/day", (), 60_000, D.DOSE_RATE),
        ("1 mcg/min", (), 1_440_000, D.DOSE_RATE),
        ("8 uL/h", (D.VOLUME_RATE,), 192_000, D.VOLUME_RATE),
        ("0.2 mL/day", (), 200_000, D.VOLUME_RATE),
        ("10 min", (D.DURATION,), 10, D.DURATION),
        ("2 h", (), 120, D.DURATION),
        ("1 day", (), 1440, D.DURATION),
        ("60 cm", (D.LENGTH,), 600, D.LENGTH),
        ("0 mL/day", (), 0, D.VOLUME_RATE),
    ],
)
def test_valid_quantities_are_exact_in_base_units(text, dims, value, dim):
    q = parse_quantity(text, *dims)
    assert q.value == value
    assert isinstance(q.value, Fraction)
    assert q.dimension is dim


def test_sub_unit_values_stay_exact_fractions():
    q = parse_quantity("0.1 mcg/h", D.DOSE_RATE)
    assert q.value == Fraction(2400)
    q = parse_quantity("1 uL/h", D.VOLUME_RATE)
    assert q.value == 24_000
    q = parse_quantity("0.0000001 mL", D.VOLUME)
    assert q.value == Fraction(1, 10)


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        (".5 mg", "digit before the point"),
        ("5. mg", "digit after the point"),
        ("1,5 mg", "point for decimals"),
        ("1,000 mg", "point for decimals"),
        ("1e3 mg", "exponent"),
        ("1E3 mg", "exponent"),
        ("\u0661 mg", "digits 0-9"),  # ARABIC-INDIC DIGIT ONE
        ("\uff15 mg", "digits 0-9"),  # FULLWIDTH DIGIT FIVE
        ("５ mg", "digits 0-9"),
        ("5", "unit is missing"),
        ("5mg", "one space"),
        ("5  mg", "exactly one space"),
        ("5\tmg", "ordinary space"),
        (" 5 mg", "remove the spaces"),
        ("5 mg ", "remove the spaces"),
        ("-5 mg", "negative"),
        ("+5 mg", "without a sign"),
        ("05 mg", "leading zero"),
        ("5 MG", "case-sensitive"),
        ("5 Mg", "case-sensitive"),
        ("5 ML", "case-sensitive"),
        ("5 L", "litres"),
        ("5 kg", "unknown unit"),
        ("5 mg/mL/h", "more than one"),
        ("5 mg/kg", "unknown unit"),
        ("5 mL/mg", "not a concentration"),
        ("5 hours", "use min, h or day"),
        ("5 days", "use min, h or day"),
        ("", "empty"),
        ("   ", "empty"),
        ("abc mg", "not a plain decimal"),
        ("1.2.3 mg", "not a plain decimal"),
        ("NaN mg", "not a plain decimal"),
        ("inf mg", "not a plain decimal"),
    ],
)
def test_malformed_quantities_are_refused_with_the_reason(text, reason_part):
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert reason_part in info.value.reason


@pytest.mark.parametrize("value", [5, 0.5, 1e3, True, None, ["5 mg"], {"v": "5 mg"}])
def test_non_strings_are_refused(value):
    with pytest.raises(QuantityError) as info:
        parse_quantity(value, D.MASS)
    if isinstance(value, int | float) and not isinstance(value, bool):
        assert "bare number" in info.value.reason


@pytest.mark.parametrize(
    ("text", "dims"),
    [
        ("10 mg", (D.CONCENTRATION,)),
        ("10 mg/mL", (D.MASS,)),
        ("8 uL/h", (D.DOSE_RATE,)),
        ("0.1 mg/h", (D.VOLUME_RATE,)),
        ("2 h", (D.VOLUME,)),
        ("2 mL", (D.DURATION,)),
    ],
)
def test_wrong_kind_of_unit_names_what_was_expected(text, dims):
    with pytest.raises(QuantityError) as info:
        parse_quantity(text, *dims)
    assert "expected" in info.value.reason
    assert dims[0].value in info.value.reason


def test_whole_refuses_fractions_of_a_wire_unit():
    assert parse_quantity("2 mL").whole("a volume") == 2_000_000
    with pytest.raises(QuantityError, match="whole number of nL"):
        parse_quantity("0.0000001 mL").whole("a volume")


UNITS = {
    D.MASS: ["g", "mg", "mcg", "ug", "µg", "ng"],
    D.VOLUME: ["mL", "ml", "uL", "µL", "nL"],
    D.CONCENTRATION: ["mg/mL", "mcg/mL", "ng/mL", "mg/uL"],
    D.DOSE_RATE: ["mg/h", "mg/day", "mcg/day", "mcg/h", "mcg/min"],
    D.VOLUME_RATE: ["mL/day", "uL/h", "nL/min"],
    D.DURATION: ["min", "h", "day"],
}


@given(
    st.sampled_from(sorted(UNITS, key=lambda d: d.value)).flatmap(
        lambda d: st.tuples(st.just(d), st.sampled_from(UNITS[d]))
    ),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=9),
)
def test_parse_of_format_round_trips(dim_unit, digits, places):
    dim, unit = dim_unit
    number = Fraction(digits, 10**places)
    text = f"{decimal_text(number)} {unit}"
    q = parse_quantity(text, dim)
    again = parse_quantity(f"{decimal_text(number)} {unit}", dim)
    assert q == again
    # the printed number is the exact value that was meant
    assert (
        parse_quantity(f"{decimal_text(number)} {unit}", dim).value
        == parse_quantity(f"1 {unit}", dim).value * number
    )
