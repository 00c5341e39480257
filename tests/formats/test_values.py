"""Exact amounts written as people write money."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, strategies as st

from tracegraph.formats.values import usd_text


def test_tiny_amounts_and_zeros_with_places_are_plain_digits() -> None:
    assert str(Decimal("0.00000028")) == "2.8E-7"  # what str alone would print
    assert usd_text(Decimal("0.00000028")) == "0.00000028"
    assert usd_text(Decimal("0E-9")) == "0"
    assert usd_text(Decimal("13.649800000")) == "13.649800000"  # its own text kept
    assert usd_text(Decimal("1E+3")) == "1000"


@given(st.decimals(allow_nan=False, allow_infinity=False, places=12,
                   min_value=Decimal("-1e9"), max_value=Decimal("1e9")))
def test_the_text_is_the_same_amount(amount: Decimal) -> None:
    text = usd_text(amount)
    assert "E" not in text and Decimal(text) == amount
