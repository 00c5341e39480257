"""Tokens and cost: the rules every reader applies to what a source says it used.

Tokens follow the convention documented on :class:`~tracegraph.model.Step`:
``input_tokens`` is the whole prompt, cache reads (``cached_input_tokens``) and
cache writes (``cache_write_tokens``) included; ``output_tokens`` includes
``reasoning_tokens``.  Sources that count those as disjoint parts (Langfuse's
usage types) are added back up with :func:`whole_tokens`.

A cost is money: an exact ``Decimal`` of the number the source wrote, never
negative (:func:`stated_cost`).  A stated zero on a model call that used tokens
is a source saying "no price matched", not "free": :func:`priced` reads it as
unpriced (``None``), so tracegraph prices the step itself or reports it unpriced.

Each function raises ``ValueError`` with a short reason; the reader wraps it
into an :class:`~tracegraph.errors.InputError` naming the field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .values import to_decimal

__all__ = ["TOKEN_FIELDS", "stated_cost", "priced", "whole_tokens"]

TOKEN_FIELDS: tuple[str, ...] = ("input_tokens", "output_tokens", "cached_input_tokens",
                                 "cache_write_tokens", "reasoning_tokens")
"""The :class:`~tracegraph.model.Step` fields that count tokens."""


def stated_cost(value: Any) -> Decimal | None:
    """A cost in USD as the source wrote it (``None`` when absent); no negatives."""
    cost = to_decimal(value)
    if cost is not None and cost < 0:
        raise ValueError(f"a cost cannot be negative, got {cost}")
    return cost


def priced(cost: Decimal | None, *, input_tokens: int | None,
           output_tokens: int | None) -> Decimal | None:
    """The cost, except that a stated zero on a call with tokens is unpriced, not free."""
    if cost == 0 and (input_tokens or output_tokens):
        return None
    return cost


def _total(*parts: int | None) -> int | None:
    stated = [part for part in parts if part is not None]
    return sum(stated) if stated else None


def whole_tokens(*, input_parts: int | None, output_parts: int | None,
                 cache_read: int | None, cache_write: int | None,
                 reasoning: int | None) -> dict[str, int | None]:
    """The token fields of a source that counts each kind of token apart.

    ``input_parts`` is every input token that is neither a cache read nor a cache
    write; ``output_parts`` every output token that is not reasoning.  Each whole
    is ``None`` only when none of its parts is stated.
    """
    return {"input_tokens": _total(input_parts, cache_read, cache_write),
            "output_tokens": _total(output_parts, reasoning),
            "cached_input_tokens": cache_read, "cache_write_tokens": cache_write,
            "reasoning_tokens": reasoning}
