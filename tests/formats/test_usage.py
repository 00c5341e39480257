"""The money and token rules every reader shares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tracegraph.errors import InputError
from tracegraph.formats.usage import priced, stated_cost, whole_tokens
from tracegraph.formats.vocabulary import step_from_span
from tracegraph.model import Status, Step


def test_a_stated_cost_is_exact_and_never_negative() -> None:
    assert stated_cost(0.1) == Decimal("0.1")
    assert stated_cost("0.0000375") == Decimal("0.0000375")
    assert stated_cost(None) is None
    with pytest.raises(ValueError, match="negative"):
        stated_cost(-0.01)


def test_a_stated_zero_on_a_call_with_tokens_is_unpriced_not_free() -> None:
    assert priced(Decimal(0), input_tokens=120, output_tokens=None) is None
    assert priced(Decimal(0), input_tokens=None, output_tokens=None) == Decimal(0)
    assert priced(Decimal("0.002"), input_tokens=120, output_tokens=8) == Decimal("0.002")


def test_separately_counted_cache_tokens_are_folded_into_input() -> None:
    tokens = whole_tokens(input_parts=100, output_parts=20, cache_read=900, cache_write=50,
                          reasoning=None)
    assert tokens["input_tokens"] == 1050


def _span(attributes: dict[str, Any]) -> Step:
    return step_from_span(span_id="a", parent_id=None, name="chat", start_ns=None,
                          end_ns=None, status=Status.UNSET, status_message=None,
                          attributes=attributes)


def test_otlp_spans_follow_the_same_zero_cost_rule() -> None:
    step = _span({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 50,
                  "gen_ai.usage.cost": 0})
    assert step.cost is None


def test_an_absurd_token_count_on_a_span_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        _span({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10**15})
    assert caught.value.field == "gen_ai.usage.input_tokens"
