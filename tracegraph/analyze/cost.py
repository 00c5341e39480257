"""What each step cost, exactly, and what could not be priced.

The rules, in order, for one step:

1. an explicit cost in the input wins (the source knew what it paid);
2. a model call is priced with ``genai-prices`` from its provider, model and
   token counts at the time it ran — input, cached input (cache reads, at
   their own rate, never as output and never twice: they are part of
   ``input_tokens`` by the Step convention), cache writes and output;
3. a tool call costs the per-call price configured for its tool;
4. a human override costs its minutes at the hourly rate of the actor's role;
5. grouping and bookkeeping steps (agent, chain, context, outcome, event) cost
   nothing of their own.

Anything else is **unpriced** — an unknown model, a model call without token
counts, a tool or a role without a configured price — and is listed with the
reason, never counted as $0.  A trace's total is the sum of its steps' own
costs, so a parent span never adds its children twice and never shows $0.00
when they cost something.  Amounts are ``Decimal``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Iterable

import msgspec
from genai_prices import Usage, calc_price

from ..config import Config
from ..model import Step, StepKind, Trace

__all__ = ["CostSource", "StepCost", "TraceCost", "step_cost", "trace_cost",
           "input_token_rate"]

_NO_COST_KINDS = frozenset({StepKind.AGENT, StepKind.CHAIN, StepKind.CONTEXT,
                            StepKind.OUTCOME, StepKind.EVENT})
_MINUTES_PER_HOUR = Decimal(60)
_NANO = Decimal("1e-9")

# Provider names as sources write them → genai-prices provider ids.
_PROVIDERS = {
    "openai": "openai", "azure": "azure", "azure.ai.openai": "azure",
    "anthropic": "anthropic", "aws.bedrock": "aws", "bedrock": "aws",
    "google": "google", "gcp.gemini": "google", "gcp.vertex_ai": "google",
    "google_vertexai": "google", "vertexai": "google", "gcp.vertex.agent": "google",
    "mistral": "mistral", "mistral_ai": "mistral", "groq": "groq", "deepseek": "deepseek",
    "cohere": "cohere", "x_ai": "x-ai", "xai": "x-ai", "perplexity": "perplexity",
}


class CostSource(StrEnum):
    """Where a step's cost came from, so an auditor can check it."""

    EXPLICIT = "explicit"
    MODEL_PRICE = "genai-prices"
    TOOL_PRICE = "tool price"
    HUMAN_RATE = "hourly rate"
    NONE = "no cost of its own"
    UNPRICED = "unpriced"


class StepCost(msgspec.Struct, frozen=True, kw_only=True):
    """A step's own cost; ``usd`` is ``None`` exactly when ``source`` is unpriced."""

    step_id: str
    usd: Decimal | None
    source: CostSource
    detail: str = ""
    """How it was priced, or why it could not be ("no price for model x in openai")."""


class TraceCost(msgspec.Struct, frozen=True, kw_only=True):
    trace_id: str
    total_usd: Decimal
    """The sum of the priced steps; see ``unpriced`` for what it leaves out."""
    steps: tuple[StepCost, ...]

    @property
    def unpriced(self) -> tuple[StepCost, ...]:
        return tuple(s for s in self.steps if s.usd is None)

    @property
    def complete(self) -> bool:
        """True when every step is priced, so ``total_usd`` is the whole cost."""
        return not self.unpriced


def _moment(step: Step) -> datetime | None:
    if step.start_ns is None:
        return None
    return datetime.fromtimestamp(step.start_ns / 1e9, tz=timezone.utc)


# Price fields that do not apply to the usage a step records (one-hour cache
# writes, searches) may be present without making the price non-linear for it.
_LINEAR_FIELDS = frozenset({"input_mtok", "cache_read_mtok", "cache_write_mtok",
                            "output_mtok", "cache_write_1h_mtok", "web_searches_kcount",
                            "storage_searches_kcount"})
_MTOK = Decimal(1_000_000)


class _Rates(msgspec.Struct, frozen=True):
    """One model's per-token prices on one day, as genai-prices states them."""

    label: str
    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    output: Decimal | None = None
    linear: bool = False
    """Prices that do not depend on volume: computed here, exactly, without a call."""
    tiers_from: int | None = None
    """Where volume tiers start (tokens); below it the base prices above apply."""


_rates_cache: dict[tuple[str | None, str, str], _Rates | None] = {}


def _rates(provider_id: str | None, model: str, moment: datetime | None) -> _Rates | None:
    """genai-prices' prices for a model on a day, looked up once (None: unknown).

    ``calc_price`` costs ~0.3 ms a call, too slow for a million steps; its
    prices per million tokens are read once per model and day and applied here
    when they are flat.  Tiered or otherwise non-linear prices keep going
    through ``calc_price`` (the test suite checks both agree).
    """
    key = (provider_id, model, moment.date().isoformat() if moment else "")
    if key in _rates_cache:
        return _rates_cache[key]
    try:
        probe = calc_price(Usage(input_tokens=1), model, provider_id=provider_id,
                           genai_request_timestamp=moment)
    except LookupError:
        _rates_cache[key] = None
        return None
    prices = vars(probe.model_price)
    values: dict[str, Decimal | None] = {}
    starts: list[int] = []
    linear = set(prices) <= _LINEAR_FIELDS
    for name in ("input", "cache_read", "cache_write", "output"):
        value = prices.get(f"{name}_mtok")
        if value is None or isinstance(value, Decimal):
            values[name] = value
        elif isinstance(getattr(value, "base", None), Decimal) and getattr(value, "tiers", None):
            values[name] = value.base  # tiered: the base price, below the first tier
            starts.extend(int(tier.start) for tier in value.tiers)
        else:
            values[name], linear = None, False
    rates = _Rates(label=f"{probe.provider.id}/{probe.model.id}", linear=linear,
                   tiers_from=min(starts) if starts else None, **values)
    _rates_cache[key] = rates
    return rates


def _model_cost(step: Step) -> StepCost:
    assert step.model is not None
    if step.input_tokens is None and step.output_tokens is None:
        return StepCost(step_id=step.id, usd=None, source=CostSource.UNPRICED,
                        detail=f"model call to {step.model} without token counts")
    moment = _moment(step)
    found = _step_rates(step)
    if found is not None:
        provider_id, rates = found
        cached = step.cached_input_tokens or 0
        written = step.cache_write_tokens or 0
        if cached + written > (step.input_tokens or 0):
            return StepCost(step_id=step.id, usd=None, source=CostSource.UNPRICED,
                            detail=f"cached ({cached}) and cache-write ({written}) tokens "
                                   f"exceed input tokens ({step.input_tokens or 0})")
        below_tiers = rates.tiers_from is None or (
            (step.input_tokens or 0) + (step.output_tokens or 0) < rates.tiers_from)
        if rates.linear and below_tiers and rates.input is not None:
            fresh = (step.input_tokens or 0) - cached - written
            usd = (fresh * rates.input
                   + cached * (rates.cache_read if rates.cache_read is not None
                               else rates.input)
                   + written * (rates.cache_write if rates.cache_write is not None
                                else rates.input)
                   + (step.output_tokens or 0) * (rates.output or Decimal(0))) / _MTOK
            return StepCost(step_id=step.id, usd=usd, source=CostSource.MODEL_PRICE,
                            detail=f"{rates.label} at ${rates.input}/${rates.output} "
                                   "per million input/output tokens")
        price = calc_price(Usage(input_tokens=step.input_tokens or 0,
                                 cache_read_tokens=cached, cache_write_tokens=written,
                                 output_tokens=step.output_tokens or 0),
                           step.model, provider_id=provider_id,
                           genai_request_timestamp=moment)
        return StepCost(step_id=step.id, usd=Decimal(price.total_price),
                        source=CostSource.MODEL_PRICE,
                        detail=f"{rates.label}: input ${price.input_price}, "
                               f"output ${price.output_price}")
    where = f" from {step.provider}" if step.provider else ""
    return StepCost(step_id=step.id, usd=None, source=CostSource.UNPRICED,
                    detail=f"no price known for model {step.model}{where}")


def _step_rates(step: Step) -> tuple[str | None, _Rates] | None:
    """The prices of a step's model: under its provider, else matched by model alone."""
    if step.model is None:
        return None
    provider = _PROVIDERS.get((step.provider or "").lower(), step.provider)
    for provider_id in ([provider, None] if provider else [None]):
        rates = _rates(provider_id, step.model, _moment(step))
        if rates is not None:
            return provider_id, rates
    return None


def input_token_rate(step: Step) -> Decimal | None:
    """USD per fresh input token of a model call (for pricing carried context), if flat."""
    found = _step_rates(step)
    if found is None or not found[1].linear or found[1].input is None \
            or found[1].tiers_from is not None:
        return None
    return found[1].input / _MTOK


def step_cost(step: Step, *, config: Config, workflow: str | None = None) -> StepCost:
    """The cost of one step by the rules of the module docstring."""
    if step.cost is not None:
        return StepCost(step_id=step.id, usd=step.cost, source=CostSource.EXPLICIT,
                        detail="stated by the source")
    if step.kind == StepKind.HUMAN_OVERRIDE:
        override = step.override
        if override is None or override.minutes is None:
            return StepCost(step_id=step.id, usd=None, source=CostSource.UNPRICED,
                            detail="human override without minutes")
        rate = config.hourly_rate(override.actor_role, workflow)
        if rate is None:
            return StepCost(step_id=step.id, usd=None, source=CostSource.UNPRICED,
                            detail=f"no hourly rate for role {override.actor_role!r} "
                                   "(set [hourly_rates] in tracegraph.toml)")
        # minutes x rate / 60 need not terminate (3.5 min at $38/h); a nano-dollar
        # is far below a cent, and rounding here once keeps every sum exact.
        usd = (override.minutes * rate / _MINUTES_PER_HOUR).quantize(_NANO, ROUND_HALF_EVEN)
        return StepCost(step_id=step.id, usd=usd, source=CostSource.HUMAN_RATE,
                        detail=f"{override.minutes} min at ${rate}/h")
    if step.model is not None and step.kind in (StepKind.LLM, StepKind.RETRY,
                                                StepKind.RETRIEVAL):
        return _model_cost(step)
    if step.tool_name is not None and step.kind in (StepKind.TOOL_CALL, StepKind.RETRY,
                                                    StepKind.RETRIEVAL):
        price = config.tool_prices.get(step.tool_name)
        if price is None:
            return StepCost(step_id=step.id, usd=None, source=CostSource.UNPRICED,
                            detail=f"no price configured for tool {step.tool_name!r} "
                                   "(set [tools] in tracegraph.toml)")
        return StepCost(step_id=step.id, usd=price, source=CostSource.TOOL_PRICE,
                        detail=f"${price} per call of {step.tool_name}")
    if step.kind == StepKind.LLM:
        return StepCost(step_id=step.id, usd=None, source=CostSource.UNPRICED,
                        detail="model call without a model name")
    return StepCost(step_id=step.id, usd=Decimal(0), source=CostSource.NONE)


def trace_cost(trace: Trace, *, config: Config, workflow: str | None = None) -> TraceCost:
    """Every step's own cost and their exact sum.

    ``workflow`` (default: the trace's own) selects per-workflow hourly rates;
    pass the derived one when the source did not name it on the trace.
    """
    costs = tuple(step_cost(step, config=config, workflow=workflow or trace.workflow)
                  for step in trace.steps)
    return TraceCost(trace_id=trace.id, total_usd=_sum(c.usd for c in costs), steps=costs)


def _sum(amounts: Iterable[Decimal | None]) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        if amount is not None:
            total += amount
    return total
