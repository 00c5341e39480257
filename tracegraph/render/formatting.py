"""Numbers for people: dollars, shares and counts as a reader expects to see them.

The services hand money over as exact decimal strings so that no float ever
rounds a cent away; these functions keep that exactness (``Decimal`` all the
way) and only decide how many digits a person needs.  Every report and chart
formats through here so that ``$1,234.56`` reads the same everywhere.

>>> format_usd("1234.5678")
'$1,234.57'
>>> format_usd("0.000123456")
'$0.000123'
>>> format_share("0.25")
'25.0%'
>>> format_share(None)
'n/a'
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeAlias

__all__ = ["Amount", "NOT_AVAILABLE", "to_decimal", "format_usd", "format_number",
           "format_share", "format_count"]

Amount: TypeAlias = Decimal | str | int
"""A money value or share as the services produce it: a decimal string, or already a Decimal."""

NOT_AVAILABLE = "n/a"
"""Shown for a share that has no meaning (nothing was spent), never ``0%``."""

_SIGNIFICANT = 3
_CENT = Decimal("0.01")


def to_decimal(value: Amount) -> Decimal:
    """Parse a decimal string exactly; reject what is not a finite number.

    Parsing goes through ``Decimal``, never ``float``, so ``"0.1"`` stays 0.1.
    """
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a decimal amount: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return number


def format_number(value: Amount) -> str:
    """A plain number with thousands separators and just enough digits.

    At least two decimals above one, three significant digits below it, so
    a tiny non-zero value never reads as zero.
    """
    number = to_decimal(value)
    if number == 0:
        return "0.00"
    magnitude = abs(number)
    if magnitude >= 1:
        rounded = number.quantize(_CENT, rounding=ROUND_HALF_UP)
        return f"{rounded:,.2f}"
    # Three significant digits: the exponent of the leading digit decides the places.
    places = max(2, _SIGNIFICANT - 1 - magnitude.adjusted())
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if abs(rounded) >= 1:  # 0.9999 rounds up to 1: show it as a whole amount
        return f"{rounded:,.2f}"
    text = f"{rounded:.{places}f}"
    # Trailing zeros past the cents say nothing: 0.1000 -> 0.10, 0.000120 -> 0.00012.
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole}.{fraction}"


def format_usd(value: Amount | None) -> str:
    """Dollars for people: ``$1,234.56``, ``$0.000123``, ``-$2.50``; ``n/a`` for None."""
    if value is None:
        return NOT_AVAILABLE
    text = format_number(value)
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


def format_share(value: Amount | None) -> str:
    """A share in [0, 1] as a percentage; ``n/a`` when it is undefined (None).

    One decimal place, more only for a small non-zero share so that it does
    not read as ``0.0%``.
    """
    if value is None:
        return NOT_AVAILABLE
    percent = to_decimal(value) * 100
    if percent == 0:
        return "0%"
    if abs(percent) >= Decimal("0.1"):
        return f"{percent.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"
    places = 1 - percent.adjusted()  # two significant digits
    rounded = percent.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:.{places}f}".rstrip("0").rstrip(".") + "%"


def format_count(value: int) -> str:
    """A count of traces, steps or tokens with thousands separators."""
    return f"{value:,}"
