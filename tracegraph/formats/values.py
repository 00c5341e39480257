"""Conversions every reader needs: times to nanoseconds, numbers to exact money.

Sources disagree on encodings (ISO 8601 strings, epoch seconds, milliseconds,
OTLP's ``unixNano`` as a decimal string); a reader calls these so one rule holds
everywhere.  Each raises ``ValueError`` with a short reason that the reader
wraps into an :class:`~tracegraph.errors.InputError` naming the field.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

__all__ = ["usd_text", "time_ns", "to_decimal", "to_int", "maybe_json", "iso"]

_NS = 1_000_000_000
MAX_COUNT = 10**12
"""No single step has used a trillion tokens: a larger count is a broken record."""
MAX_TIME_NS = 2**63 - 1
"""Times are stored as signed 64-bit nanoseconds (until the year 2262)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def time_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch from a ``datetime``, an ISO 8601 string or a number.

    Numbers are read by magnitude: below 1e11 seconds, below 1e14 milliseconds,
    below 1e17 microseconds, else nanoseconds (OTLP).  Strings of digits are
    numbers.  A naive ISO time is taken as UTC, as every exporter we read
    writes UTC.
    """
    if type(value) is int and 100_000_000_000_000_000 <= value <= MAX_TIME_NS:
        return value  # already nanoseconds: the common case, kept fast
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a time, got {value!r}")
    if isinstance(value, (str, datetime)):
        if isinstance(value, datetime):
            moment = value
        else:
            text = value.strip()
            if text.isdigit():
                return time_ns(int(text))
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"expected an ISO 8601 time, got {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        delta = moment - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000
    if isinstance(value, (int, float)):
        magnitude = abs(value)
        if magnitude < 1e11:
            return int(Decimal(repr(value)) * _NS)
        if magnitude < 1e14:
            return int(Decimal(repr(value)) * 1_000_000)
        if magnitude < 1e17:
            return int(value) * 1000
        if value > MAX_TIME_NS or value < 0:
            raise ValueError(f"time {value} is out of range (after the year 2262)")
        return int(value)
    raise ValueError(f"expected a time, got {type(value).__name__}")


def iso(ns: int | None) -> str | None:
    """ISO 8601 UTC text of a nanosecond time, to the microsecond."""
    if ns is None:
        return None
    moment = _EPOCH + timedelta(microseconds=ns // 1000)
    return moment.isoformat().replace("+00:00", "Z")


def to_decimal(value: Any) -> Decimal | None:
    """An exact Decimal from a JSON number or numeric string.

    Floats go through ``repr`` so ``0.1`` becomes ``Decimal('0.1')``, the
    number the source wrote, not its binary approximation.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"expected a finite number, got {value!r}")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"expected a finite number, got {value!r}")
        return result
    raise ValueError(f"expected a number, got {type(value).__name__}")


def to_int(value: Any) -> int | None:
    """A non-negative count (tokens) from an int, integral float or digit string."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a count, got {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        result = int(value)
    else:
        raise ValueError(f"expected a whole number, got {value!r}")
    if result < 0:
        raise ValueError(f"expected a count, got negative {result}")
    if result > MAX_COUNT:
        raise ValueError(f"count {result} is absurd (more than {MAX_COUNT:,})")
    return result


def maybe_json(value: Any) -> Any:
    """A JSON-encoded string decoded (tool arguments, message lists); else the value.

    Sources write structured values both ways (``gen_ai.input.messages`` is a
    JSON string on OTLP, a list elsewhere); the model keeps the structure.
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return value
    return value


def usd_text(amount: Decimal) -> str:
    """An exact amount as plain digits: ``str`` of a Decimal writes ``2.8E-7`` for a
    tiny one and ``0E-9`` for a zero with places, which is exact but not how money is
    written.  Only those are rewritten; every other amount keeps its own text."""
    text = str(amount)
    if "E" not in text:
        return text
    return "0" if amount == 0 else format(amount, "f")
