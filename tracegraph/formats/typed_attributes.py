"""A span attribute's value as the type its :class:`~tracegraph.model.Step` field holds.

Attributes arrive as whatever the exporter wrote: a token count as ``"120"``, a
cost as a float, a model name as a number.  The vocabulary mapping converts
each through here, and a value that cannot be read raises an
:class:`~tracegraph.errors.InputError` whose ``field`` is the attribute key
(``gen_ai.usage.input_tokens``), so the reader can say which attribute is wrong.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from ..errors import InputError
from .usage import stated_cost
from .values import to_int

__all__ = ["attribute_text", "attribute_count", "attribute_cost", "FIELD_CONVERTERS",
           "FIELD_TYPES"]


def attribute_text(key: str | None, value: Any) -> str | None:
    """A string field; ``None`` stays ``None``, structured values are rejected."""
    if key is None or value is None:
        return None
    if isinstance(value, (dict, list)):
        raise InputError(f"expected a string, got {type(value).__name__}", field=key)
    return str(value)


def attribute_count(key: str, value: Any) -> int | None:
    """A token count: a non-negative whole number."""
    try:
        return to_int(value)
    except ValueError as exc:
        raise InputError(str(exc), field=key) from None


def attribute_cost(key: str, value: Any) -> Decimal | None:
    """An explicit cost in USD; negative or non-numeric costs are rejected."""
    try:
        return stated_cost(value)
    except ValueError as exc:
        raise InputError(str(exc), field=key) from None


FIELD_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "model": attribute_text, "provider": attribute_text, "tool_name": attribute_text,
    "tool_call_id": attribute_text, "input_tokens": attribute_count,
    "output_tokens": attribute_count, "cached_input_tokens": attribute_count,
    "cache_write_tokens": attribute_count, "reasoning_tokens": attribute_count,
    "cost": attribute_cost,
}
"""Step field → the conversion of an attribute value to it."""

FIELD_TYPES: dict[str, type] = {
    "model": str, "provider": str, "tool_name": str, "tool_call_id": str,
    "input_tokens": int, "output_tokens": int, "cached_input_tokens": int,
    "cache_write_tokens": int, "reasoning_tokens": int, "cost": Decimal,
}
"""The type a field's value already has when no conversion is needed."""
