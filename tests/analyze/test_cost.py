"""Pricing steps: exact, explicit where the source says, unpriced where nobody knows."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tracegraph.analyze.cost import CostSource, step_cost, trace_cost
from tracegraph.config import Config, ConfigError, load_config
from tracegraph.model import Override, Step, StepKind, Trace

NO_CONFIG = Config()
MARCH_2026 = 1_772_445_720_000_000_000
M = Decimal(1_000_000)


def _llm(**fields: object) -> Step:
    base: dict[str, object] = {"id": "l", "kind": StepKind.LLM, "model": "gpt-4o-mini",
                               "provider": "openai", "start_ns": MARCH_2026}
    base.update(fields)
    return Step(**base)  # type: ignore[arg-type]


def test_a_model_call_is_priced_by_token_kind_to_the_exact_decimal() -> None:
    # gpt-4o-mini: $0.15 per million input, $0.075 cached input, $0.60 output.
    cost = step_cost(_llm(input_tokens=1000, cached_input_tokens=200, output_tokens=100),
                     config=NO_CONFIG)
    assert cost.source == CostSource.MODEL_PRICE
    assert cost.usd == 800 * Decimal("0.15") / M + 200 * Decimal("0.075") / M \
        + 100 * Decimal("0.6") / M


def test_cached_input_is_charged_once_at_its_own_rate_never_as_output() -> None:
    full = step_cost(_llm(input_tokens=1000, output_tokens=100), config=NO_CONFIG).usd
    cached = step_cost(_llm(input_tokens=1000, cached_input_tokens=400, output_tokens=100),
                       config=NO_CONFIG).usd
    assert full is not None and cached is not None
    assert full - cached == 400 * (Decimal("0.15") - Decimal("0.075")) / M


def test_an_explicit_cost_in_the_input_wins() -> None:
    cost = step_cost(_llm(input_tokens=10**6, cost=Decimal("0.0123")), config=NO_CONFIG)
    assert (cost.usd, cost.source) == (Decimal("0.0123"), CostSource.EXPLICIT)


def test_an_unknown_model_is_unpriced_with_the_reason_never_free() -> None:
    cost = step_cost(_llm(model="acme-reasoner-9000", input_tokens=10), config=NO_CONFIG)
    assert cost.usd is None and cost.source == CostSource.UNPRICED
    assert "acme-reasoner-9000" in cost.detail


def test_a_model_call_without_token_counts_is_unpriced() -> None:
    cost = step_cost(_llm(), config=NO_CONFIG)
    assert cost.usd is None and "without token counts" in cost.detail


def test_provider_names_as_sources_write_them_are_understood() -> None:
    a = step_cost(_llm(provider="openai", input_tokens=100), config=NO_CONFIG).usd
    b = step_cost(_llm(provider=None, input_tokens=100), config=NO_CONFIG).usd
    assert a == b == 100 * Decimal("0.15") / M


def test_tool_calls_and_human_minutes_are_priced_from_the_config() -> None:
    config = Config(tool_prices={"ocr_invoice": Decimal("0.015")},
                    hourly_rates={"senior adjuster": Decimal("68"), "default": Decimal("45")})
    tool = Step(id="t", kind=StepKind.TOOL_CALL, tool_name="ocr_invoice")
    retry = Step(id="r", kind=StepKind.RETRY, tool_name="ocr_invoice", retry_of="t")
    other = Step(id="o", kind=StepKind.TOOL_CALL, tool_name="search")
    human = Step(id="h", kind=StepKind.HUMAN_OVERRIDE, override=Override(
        actor="j", actor_role="senior adjuster", minutes=Decimal(12)))
    clerk = Step(id="c", kind=StepKind.HUMAN_OVERRIDE, override=Override(
        actor="a", actor_role="clerk", minutes=Decimal("3.5")))
    assert step_cost(tool, config=config).usd == Decimal("0.015")
    assert step_cost(retry, config=config).usd == Decimal("0.015")
    assert step_cost(other, config=config).usd is None
    assert step_cost(human, config=config).usd == Decimal("13.6")
    assert step_cost(clerk, config=config).usd == Decimal("3.5") * 45 / 60
    assert step_cost(human, config=NO_CONFIG).usd is None


def test_grouping_steps_cost_nothing_of_their_own_so_parents_never_count_twice() -> None:
    steps = (Step(id="root", kind=StepKind.AGENT),
             _llm(id="a", parent_id="root", input_tokens=1000, output_tokens=10),
             _llm(id="b", parent_id="root", cost=Decimal("0.5")))
    total = trace_cost(Trace(id="t", source_format="native", steps=steps), config=NO_CONFIG)
    assert total.steps[0].usd == 0 and total.steps[0].source == CostSource.NONE
    assert total.total_usd == Decimal("0.5") + (1000 * Decimal("0.15") + 10 * Decimal("0.6")) / M
    assert total.complete


def test_a_trace_total_leaves_out_and_lists_what_is_unpriced() -> None:
    steps = (_llm(id="a", cost=Decimal("0.25")), _llm(id="b", model="mystery", input_tokens=5))
    total = trace_cost(Trace(id="t", source_format="native", steps=steps), config=NO_CONFIG)
    assert total.total_usd == Decimal("0.25")
    assert [s.step_id for s in total.unpriced] == ["b"] and not total.complete


@given(st.lists(st.decimals(min_value=0, max_value=100, places=9, allow_nan=False),
                min_size=1, max_size=30), st.randoms())
@settings(max_examples=50, deadline=None)
def test_totals_add_up_exactly_in_any_order(amounts: list[Decimal], rng: object) -> None:
    steps = [_llm(id=f"s{i}", cost=a) for i, a in enumerate(amounts)]
    total = trace_cost(Trace(id="t", source_format="native", steps=tuple(steps)),
                       config=NO_CONFIG).total_usd
    rng.shuffle(steps)  # type: ignore[attr-defined]
    again = trace_cost(Trace(id="t", source_format="native", steps=tuple(steps)),
                       config=NO_CONFIG).total_usd
    assert total == again == sum(amounts, Decimal(0))


def test_the_config_file_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "tracegraph.toml"
    path.write_text('[tools]\nocr_invoice = "0.015"\nsearch = 0.001\n\n'
                    '[hourly_rates]\n"senior adjuster" = 68\ndefault = "45.50"\n')
    config = load_config(path)
    assert config.tool_prices == {"ocr_invoice": Decimal("0.015"), "search": Decimal("0.001")}
    assert config.hourly_rate("senior adjuster") == 68
    assert config.hourly_rate("intern") == Decimal("45.50")


@pytest.mark.parametrize(("text", "words"), [
    ("[tools\n", "not valid TOML"),
    ('[tools]\nocr = "cheap"\n', "tools.ocr is not a number"),
    ("[tools]\nocr = -1\n", "tools.ocr must be a non-negative amount"),
    ("[hourly_rates]\nclerk = true\n", "hourly_rates.clerk must be an amount"),
])
def test_a_bad_config_names_the_file_and_the_key(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "tracegraph.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words) as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_no_config_file_is_an_empty_config_unless_one_was_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACEGRAPH_CONFIG", raising=False)
    assert load_config() == Config()
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "missing.toml")


@given(st.sampled_from([("openai", "gpt-4o-mini"), ("openai", "gpt-4o"),
                        ("anthropic", "claude-sonnet-4-20250514"),
                        ("anthropic", "claude-3-5-haiku-20241022"),
                        ("google", "gemini-2.5-pro"), ("google", "gemini-1.5-flash")]),
       st.integers(0, 400_000), st.integers(0, 100), st.integers(0, 20_000))
@settings(max_examples=60, deadline=None)
def test_our_fast_path_agrees_with_genai_prices_to_the_digit(
        model: tuple[str, str], input_tokens: int, cached_percent: int,
        output_tokens: int) -> None:
    from genai_prices import Usage, calc_price
    provider, name = model
    cached = input_tokens * cached_percent // 100
    step = _llm(provider=provider, model=name, input_tokens=input_tokens,
                cached_input_tokens=cached, output_tokens=output_tokens)
    ours = step_cost(step, config=NO_CONFIG).usd
    reference = calc_price(Usage(input_tokens=input_tokens, cache_read_tokens=cached,
                                 output_tokens=output_tokens), name, provider_id=provider,
                           genai_request_timestamp=datetime.fromtimestamp(
                               MARCH_2026 / 1e9, tz=timezone.utc)).total_price
    assert ours == reference


def test_cached_tokens_exceeding_the_input_are_unpriced_not_negative() -> None:
    cost = step_cost(_llm(input_tokens=100, cached_input_tokens=500), config=NO_CONFIG)
    assert cost.usd is None and "exceed input tokens" in cost.detail


def test_human_minutes_that_do_not_divide_evenly_are_rounded_once_to_a_nanodollar() -> None:
    config = Config(hourly_rates={"clerk": Decimal("38")})
    human = Step(id="h", kind=StepKind.HUMAN_OVERRIDE, override=Override(
        actor="a", actor_role="clerk", minutes=Decimal("3.5")))
    assert step_cost(human, config=config).usd == Decimal("2.216666667")
