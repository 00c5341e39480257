"""The few statistics the reports need, small enough to read and check by hand.

Money stays exact (Decimal) wherever it is a sum or a ratio of sums; only
confidence intervals, which are estimates by nature, go through floats and
come back rounded to a hundredth of a cent.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Sequence

__all__ = ["nearest_rank", "wilson_interval", "ratio_interval", "ratio_interval_of_sums",
           "fraction", "Z95"]

Z95 = 1.959964
"""The two-sided 95% normal quantile."""

_TENTH_CENT = Decimal("0.0001")
_SIX = Decimal("0.000001")


def nearest_rank(ordered: Sequence[Decimal], q: float) -> Decimal:
    """The ``q`` quantile by nearest rank: always a value that occurred, never a blend."""
    if not ordered:
        return Decimal(0)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def fraction(part: Decimal | int, whole: Decimal | int) -> str | None:
    """``part / whole`` as a 6-place decimal string; ``None`` when ``whole`` is 0."""
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(_SIX))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a success rate: sound near 0 and 1 and for small n."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio_interval(costs: Sequence[Decimal], successes: Sequence[bool],
                   z: float = Z95) -> tuple[Decimal, Decimal] | None:
    """95% interval of cost per success, Σcost / Σsuccess, by the delta method.

    See :func:`ratio_interval_of_sums`, which takes the sums instead (so that
    segments can be built up from smaller ones).
    """
    c = [float(x) for x in costs]
    return ratio_interval_of_sums(len(c), sum(c), sum(x * x for x in c), sum(successes),
                                  sum(x for x, s in zip(c, successes) if s), z)


def ratio_interval_of_sums(n: int, sum_c: float, sum_c2: float, wins: int, sum_cy: float,
                           z: float = Z95) -> tuple[Decimal, Decimal] | None:
    """The delta-method interval of Σc / Σy from the sums of c, c², y and c·y.

    The ratio estimator's variance is ``(s_c² - 2R s_cy + R² s_y²) / (n ȳ²)``
    with ``c`` the trace costs, ``y`` the success indicators (so y² = y) and
    ``R`` the ratio.  ``None`` with fewer than two traces or no success at
    all, where there is nothing to estimate.
    """
    if n < 2 or wins == 0:
        return None
    mean_c, mean_y = sum_c / n, wins / n
    ratio = mean_c / mean_y
    var_c = (sum_c2 - n * mean_c * mean_c) / (n - 1)
    var_y = (wins - n * mean_y * mean_y) / (n - 1)
    cov = (sum_cy - n * mean_c * mean_y) / (n - 1)
    variance = max(0.0, (var_c - 2 * ratio * cov + ratio * ratio * var_y) / (n * mean_y ** 2))
    half = z * math.sqrt(variance)
    low = Decimal(repr(max(0.0, ratio - half))).quantize(_TENTH_CENT)
    high = Decimal(repr(ratio + half)).quantize(_TENTH_CENT)
    return low, high
