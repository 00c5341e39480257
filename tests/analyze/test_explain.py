"""explain and diff on hand-built traces whose drivers and alignment are known."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tracegraph.cli import app
from tracegraph.config import Config
from tracegraph.errors import InputError
from tracegraph.model import Outcome, Override, Status, Step, StepKind, Trace
from tracegraph.services.explain import diff_traces, explain_trace
from tracegraph.store import SQLiteStore

CONFIG = Config(tool_prices={"lookup": Decimal("0.01"), "history": Decimal("0.002")},
                hourly_rates={"adjuster": Decimal("60")})


def _claim(trace_id: str, *, outcome: Outcome = Outcome.SUCCESS, retries: int = 0,
           history_calls: int = 0, minutes: int = 0, cost: str = "0.01",
           kind: str = "auto", tokens: int = 1000) -> Trace:
    """plan (explicit cost) → [failed lookups] → lookup → [history...] → [override] → outcome."""
    steps = [Step(id="plan", kind=StepKind.LLM, model="gpt-4o-mini", input_tokens=tokens,
                  output_tokens=100, cost=Decimal(cost), output="look up C-1", start_ns=1)]
    previous = None
    for n in range(retries):
        steps.append(Step(id=f"fail{n}", kind=StepKind.TOOL_CALL, tool_name="lookup",
                          arguments={"claim": "C-1"}, status=Status.ERROR,
                          error_type="Timeout", retry_of=previous, start_ns=2 + n))
        previous = f"fail{n}"
    steps.append(Step(id="lookup", kind=StepKind.TOOL_CALL, tool_name="lookup",
                      arguments={"claim": "C-1"}, result={"limit": 9100},
                      retry_of=previous, start_ns=10, inputs=("plan",)))
    for n in range(history_calls):
        steps.append(Step(id=f"hist{n}", kind=StepKind.TOOL_CALL, tool_name="history",
                          arguments={"claim": "C-1", "page": n}, result={"n": n},
                          start_ns=20 + n))
    replaced = None
    if minutes:
        steps.append(Step(id="review", kind=StepKind.HUMAN_OVERRIDE, start_ns=40,
                          rules=("EXC-12",),
                          override=Override(actor="j.okafor", actor_role="adjuster",
                                            reason="cap at salvage value",
                                            minutes=Decimal(minutes), replaces="lookup")))
        replaced = "review"
    steps.append(Step(id="done", kind=StepKind.OUTCOME, outcome=outcome, start_ns=50,
                      inputs=tuple(x for x in ("lookup", replaced) if x)))
    return Trace(id=trace_id, source_format="native", workflow="claims", outcome=outcome,
                 attributes={"claim.type": kind}, steps=tuple(steps))


@pytest.fixture()
def cohort(store: SQLiteStore) -> SQLiteStore:
    store.write_traces([
        _claim("c1"), _claim("c2"), _claim("c3", cost="0.02"), _claim("c4"),
        _claim("big", retries=2, history_calls=3, minutes=6, cost="0.05", tokens=5000),
        _claim("f-near", outcome=Outcome.FAILURE, retries=2, history_calls=3),
        _claim("f-far", outcome=Outcome.FAILURE, kind="home"),
    ])
    return store


def test_drivers_add_up_exactly_to_the_difference_from_the_median(
        cohort: SQLiteStore) -> None:
    found = explain_trace(cohort, "big", config=CONFIG)
    drivers = {d["driver"]: Decimal(d["usd"]) for d in found["drivers"]}
    assert found["cohort"]["traces"] == 7
    assert sum(drivers.values()) == Decimal(found["difference_usd"])
    assert Decimal(found["cost_usd"]) - Decimal(found["cohort"]["median_cost_usd"]) == Decimal(
        found["difference_usd"])
    assert drivers["human minutes"] == Decimal("6.00")  # 6 min at $60/h; median has none
    assert drivers["retries"] == Decimal("0.02")  # two failed $0.01 lookups; median none
    assert drivers["extra tool calls"] == Decimal("0.006")  # 3 x $0.002 beyond the median
    assert found["drivers"][0]["driver"] == "human minutes"  # largest first


def test_decisive_steps_name_the_override_rule_and_outcome(cohort: SQLiteStore) -> None:
    found = explain_trace(cohort, "big", config=CONFIG)
    decisive = {d["step_id"]: d["why"] for d in found["decisive_steps"]}
    assert decisive["done"] == "produced the outcome"
    assert "j.okafor overrode lookup" in decisive["review"]
    assert found["rules"] == ["EXC-12"]
    assert found["overrides"][0]["minutes"] == "6"


def test_nearest_trace_with_the_other_outcome_is_the_most_alike_path(
        cohort: SQLiteStore) -> None:
    nearest = explain_trace(cohort, "big", config=CONFIG)["nearest_other_outcome"]
    assert nearest["trace_id"] == "f-near" and nearest["outcome"] == "failure"
    assert nearest["compared"] == 2
    back = explain_trace(cohort, "f-far", config=CONFIG)["nearest_other_outcome"]
    assert back["outcome"] == "success" and back["trace_id"] in {"c1", "c2", "c3", "c4"}


def test_a_failed_trace_names_its_last_failures(cohort: SQLiteStore) -> None:
    found = explain_trace(cohort, "f-near", config=CONFIG)
    decisive = [d["step_id"] for d in found["decisive_steps"]]
    assert "fail1" in decisive and decisive[-1] == "done"


def test_diff_aligns_the_paths_and_splits_the_delta_by_reason(cohort: SQLiteStore) -> None:
    found = diff_traces(cohort, "c1", "big", config=CONFIG)
    ops = [(s["op"], s["a"] and s["a"]["id"], s["b"] and s["b"]["id"]) for s in found["steps"]]
    assert ops[0] == ("same", "plan", "plan")
    assert ("same", "lookup", "lookup") in ops and ("same", "done", "done") in ops
    assert found["only_b"] == ["fail0", "fail1", "hist0", "hist1", "hist2", "review"]
    assert found["only_a"] == []
    assert found["divergence"]["b_step"] == "fail0" and found["divergence"]["a_step"] is None
    assert sum(Decimal(v) for v in found["delta_by_reason"].values()) == Decimal(
        found["cost_delta_usd"])
    assert Decimal(found["delta_by_reason"]["failed_attempt"]) == Decimal("0.02")


def test_diff_of_a_trace_with_itself_is_refused(cohort: SQLiteStore) -> None:
    with pytest.raises(InputError, match="two different traces"):
        diff_traces(cohort, "c1", "c1", config=CONFIG)


def test_explain_and_diff_on_the_command_line(cohort: SQLiteStore, tmp_path: Path) -> None:
    runner = CliRunner()
    config = tmp_path / "tracegraph.toml"
    config.write_text('[tools]\nlookup = "0.01"\nhistory = "0.002"\n\n'
                      '[hourly_rates]\nadjuster = "60"\n')
    result = runner.invoke(app, ["explain", "big", "--db", cohort.url, "--config",
                                 str(config)])
    assert result.exit_code == 0, result.output
    assert "human minutes" in result.stdout and "f-near" in result.stdout
    result = runner.invoke(app, ["diff", "c1", "big", "--db", cohort.url, "--config",
                                 str(config), "-f", "json"])
    assert orjson.loads(result.stdout)["only_b"][0] == "fail0"
    result = runner.invoke(app, ["explain", "nope", "--db", cohort.url])
    assert result.exit_code == 2 and "nope" in result.output
