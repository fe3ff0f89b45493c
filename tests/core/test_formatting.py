from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from programmer.formatting import (
    decimal_text,
    dose_per_day_text,
    dose_per_hour_text,
    volume_rate_text,
    volume_text,
)
from programmer.therapy import dose_ng


def test_exact_values_print_exactly_without_trailing_zeros():
    assert decimal_text(Fraction(187, 100)) == "1.87"
    assert decimal_text(Fraction(1200003, 10**6)) == "1.200003"
    assert decimal_text(5) == "5"
    assert decimal_text(Fraction(1, 10**9)) == "0.000000001"
    assert dose_per_day_text(1_870_000, "mg") == "1.87 mg/day"
    assert volume_text(296_000) == "0.296 mL"
    assert volume_rate_text(192_000) == "0.192 mL/day (8 µL/h)"


def test_the_hourly_rate_is_written_as_a_clinician_writes_it():
    """1 mL/day is 41.666... µL/h: written "≈41.7", the exact figure kept for a hover."""
    assert volume_rate_text(1_000_000) == "1 mL/day (≈41.7 µL/h)"
    assert volume_rate_text(170_000) == "0.17 mL/day (≈7.08 µL/h)"
    assert volume_rate_text(50_000_000) == "50 mL/day (≈2083 µL/h)"
    assert volume_rate_text(240_000) == "0.24 mL/day (10 µL/h)"
    assert volume_rate_text(1_000_000, exact=True) == "1 mL/day (≈41.66667 µL/h)"


def test_non_terminating_values_are_marked_approximate():
    text = decimal_text(Fraction(1, 3))
    assert text.startswith("≈0.333")
    assert dose_per_hour_text(1_000_000, "mg", Fraction(10)).startswith("≈0.041666")


@given(
    st.integers(min_value=48_000, max_value=24_000_000),
    st.integers(min_value=1, max_value=2_000_000),
    st.integers(min_value=1, max_value=100_000_000),
    st.sampled_from(["mg", "mcg"]),
)
def test_two_different_rates_never_print_the_same(rate, delta, conc, unit):
    other = rate + delta
    assert volume_rate_text(rate) != volume_rate_text(other)
    assert dose_per_day_text(dose_ng(rate, conc), unit) != dose_per_day_text(
        dose_ng(other, conc), unit
    )


@given(st.fractions(min_value=0, max_value=10**9, max_denominator=10**6))
def test_exact_text_reads_back_to_the_same_value(value):
    text = decimal_text(value)
    if not text.startswith("≈"):
        assert Fraction(text) == value
