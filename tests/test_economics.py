"""Workflow economics on hand-built traces whose every figure is computed by hand."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tracegraph.analyze.stats import ratio_interval, wilson_interval
from tracegraph.cli import app
from tracegraph.config import Config, WorkflowConfig
from tracegraph.model import Outcome, Override, Status, Step, StepKind, Trace
from tracegraph.services.economics import economics_report
from tracegraph.store import SQLiteStore

CLAIMS = WorkflowConfig(unit="claim processed", value_usd=Decimal("10"),
                        baseline_usd=Decimal("1.00"), baseline_label="BPO contract",
                        segments=("claim.type",))
CONFIG = Config(workflows={"claims": CLAIMS}, hourly_rates={"adjuster": Decimal("60")})


def _trace(trace_id: str, *, cost: str, outcome: Outcome = Outcome.SUCCESS,
           workflow: str = "claims", retry_cost: str | None = None, handling: str = "0",
           minutes: int = 0, model: str = "gpt-4o-mini", purpose: str = "decide",
           **attributes: Any) -> Trace:
    """One model call of explicit ``cost``; optionally a failed call (``retry_cost``)
    handled by a model turn (``handling``) and retried, and an override of ``minutes``."""
    steps = [Step(id="llm", kind=StepKind.LLM, name=purpose, model=model, cost=Decimal(cost),
                  start_ns=1, output="looked at C-100")]
    if retry_cost is not None:
        steps += [
            Step(id="fail", kind=StepKind.TOOL_CALL, tool_name="lookup", inputs=("llm",),
                 status=Status.ERROR, cost=Decimal(retry_cost), start_ns=2),
            Step(id="handle", kind=StepKind.LLM, name="handle", model=model, inputs=("fail",),
                 cost=Decimal(handling), start_ns=3),
            Step(id="again", kind=StepKind.RETRY, tool_name="lookup", retry_of="fail",
                 inputs=("handle",), cost=Decimal(0), result={"ok": 1}, start_ns=4)]
    if minutes:
        steps.append(Step(id="review", kind=StepKind.HUMAN_OVERRIDE, start_ns=5,
                          override=Override(actor="a", actor_role="adjuster",
                                            minutes=Decimal(minutes), replaces="llm")))
    steps.append(Step(id="done", kind=StepKind.OUTCOME, outcome=outcome, start_ns=9,
                      inputs=tuple(s.id for s in steps[-1:])))
    return Trace(id=trace_id, source_format="native", workflow=workflow, outcome=outcome,
                 attributes=attributes, steps=tuple(steps))


def _segment(report: dict[str, Any], workflow: str, **key: Any) -> dict[str, Any]:
    flow = next(w for w in report["workflows"] if w["workflow"] == workflow)
    return next(s for s in flow["segments"] if s["key"] == key)


@pytest.fixture()
def small(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "e.db")
    store.write_traces([
        _trace("a", cost="0.50", **{"claim.type": "auto"}),
        _trace("b", cost="0.30", **{"claim.type": "auto"}),
        _trace("c", cost="0.40", outcome=Outcome.FAILURE, **{"claim.type": "auto"}),
        _trace("d", cost="2.00", **{"claim.type": "home"}),
        _trace("x1", cost="0.10", outcome=Outcome.FAILURE, workflow="refunds"),
        _trace("x2", cost="0.20", outcome=Outcome.FAILURE, workflow="refunds"),
    ])
    return store


def test_cost_per_success_pays_for_the_failures(small: SQLiteStore) -> None:
    report = economics_report(small, config=CONFIG)
    overall = _segment(report, "claims")
    assert (overall["traces"], overall["successes"]) == (4, 3)
    assert overall["cost_usd"] == "3.20"
    assert overall["cost_per_success_usd"] == "1.066666667"  # 3.20 / 3, not 3.20 / 4
    assert overall["cost_per_trace_usd"] == "0.800000000"
    assert overall["margin_per_unit_usd"] == "-0.066666667"
    assert overall["break_even_success_rate"] == "0.800000"  # $0.80 a trace / $1.00
    assert overall["value_per_dollar"] == str((Decimal(30) / Decimal("3.20")).quantize(
        Decimal("0.01")))
    auto = _segment(report, "claims", **{"claim.type": "auto"})
    assert (auto["cost_per_success_usd"], auto["success_rate"]) == ("0.600000000", "0.666667")
    assert auto["small_sample"]


def test_a_one_trace_segment_has_no_interval_and_no_verdict(small: SQLiteStore) -> None:
    home = _segment(economics_report(small, config=CONFIG), "claims", **{"claim.type": "home"})
    assert home["traces"] == 1 and home["cost_per_success_interval"] is None
    assert home["cheaper_than_baseline"] is None
    assert home["verdict"] == "inconclusive: more expensive on one trace's evidence"


def test_zero_successes_and_a_missing_baseline(small: SQLiteStore) -> None:
    report = economics_report(small, config=CONFIG)
    refunds = next(w for w in report["workflows"] if w["workflow"] == "refunds")
    overall = refunds["segments"][0]
    assert overall["successes"] == 0 and overall["cost_per_success_usd"] is None
    assert overall["cheaper_than_baseline"] is None  # no baseline to compare with
    assert refunds["baseline_usd"] is None
    assert any("baseline_usd in [workflows.refunds]" in w for w in refunds["warnings"])
    zero = economics_report(small, config=Config(workflows={"refunds": CLAIMS}),
                            workflow="refunds")["workflows"][0]["segments"][0]
    assert zero["cheaper_than_baseline"] is False
    assert zero["verdict"].startswith("more expensive: no successful outcome")


def test_unpriced_steps_are_counted_and_warned_about(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "u.db")
    trace = Trace(id="u", source_format="native", workflow="claims", outcome=Outcome.SUCCESS,
                  steps=(Step(id="m", kind=StepKind.LLM, model="no-such-model-v9",
                              input_tokens=100, output_tokens=10),
                         Step(id="o", kind=StepKind.OUTCOME, inputs=("m",))))
    store.write_traces([trace])
    flow = economics_report(store, config=CONFIG)["workflows"][0]
    assert flow["segments"][0]["unpriced_steps"] == 1
    assert flow["segments"][0]["cost_usd"] == "0"
    assert any("not counted as $0" in w for w in flow["warnings"])


def test_retry_tax_counts_failed_attempts_and_the_turns_that_handled_them(
        tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db")
    store.write_traces([_trace("r", cost="0.20", retry_cost="0.10", handling="0.05")])
    overall = economics_report(store, config=CONFIG)["workflows"][0]["segments"][0]
    assert overall["retry_usd"] == "0.15"
    assert overall["retry_tax_share"] == "0.428571"  # 0.15 / 0.35
    assert overall["first_try_rate"] == "0.000000" and overall["success_rate"] == "1.000000"


def test_the_allocation_says_where_retries_destroy_the_economics(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    easy = [_trace(f"e{i}", cost="0.20", **{"claim.type": "auto", "claim.exception": False})
            for i in range(40)]
    hard = [_trace(f"h{i}", cost="0.30", retry_cost="1.00", handling="1.40",
                   outcome=Outcome.FAILURE if i % 4 == 0 else Outcome.SUCCESS,
                   **{"claim.type": "auto", "claim.exception": True}) for i in range(40)]
    store.write_traces(easy + hard)
    config = Config(workflows={"claims": WorkflowConfig(
        unit="claim processed", baseline_usd=Decimal("1.20"), baseline_label="BPO",
        segments=("claim.type", "claim.exception"))})
    report = economics_report(store, config=config)
    texts = {line["action"]: line["text"] for line in report["allocation"]
             if line["segment"] == {"claim.type": "auto", "claim.exception": True}}
    assert texts["keep_with_people"] == (
        "claim.type=auto: $0.20 per claim processed with the agent against $1.20 by BPO "
        "when claim.exception=false, but when claim.exception=true the retries push it to "
        "$3.60: keep those with people")  # 40 x $2.70 / 30 successes
    assert "cap" not in texts  # it goes to people: capping it is moot
    auto = [line["text"] for line in report["allocation"]
            if line["segment"] == {"claim.type": "auto"} and line["action"] == "cap"]
    assert auto == ["claim.type=auto: failed attempts are 83% of spend: cap the attempts "
                    "per call, or fix what fails first"]  # 40 x $2.40 of 40 x $0.20 + 40 x $2.70


def test_routing_evidence_names_the_cheaper_model_with_counts_and_saving(
        tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "m.db")
    dear = [_trace(f"d{i}", cost="0.02", model="gpt-4o") for i in range(40)]
    cheap = [_trace(f"c{i}", cost="0.001", model="gpt-4o-mini",
                    outcome=Outcome.FAILURE if i == 0 else Outcome.SUCCESS) for i in range(40)]
    store.write_traces(dear + cheap)
    flow = economics_report(store, config=CONFIG)["workflows"][0]
    route = flow["routing"][0]
    assert (route["purpose"], route["from"]["model"], route["to"]["model"]) == (
        "decide", "gpt-4o", "gpt-4o-mini")
    assert Decimal(route["saving_usd"]) == 40 * (Decimal("0.02") - Decimal("0.001"))
    assert route["to"]["success_rate"] == "0.975000"
    assert {m["model"]: m["calls"] for m in flow["model_mix"]} == {"gpt-4o": 40,
                                                                   "gpt-4o-mini": 40}


def test_a_dearer_model_that_succeeds_more_often_is_not_routed_away(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "n.db")
    dear = [_trace(f"d{i}", cost="0.02", model="gpt-4o") for i in range(40)]
    cheap = [_trace(f"c{i}", cost="0.001", model="gpt-4o-mini",
                    outcome=Outcome.FAILURE if i % 3 == 0 else Outcome.SUCCESS)
             for i in range(40)]
    store.write_traces(dear + cheap)
    assert economics_report(store, config=CONFIG)["workflows"][0]["routing"] == []


def test_ratio_interval_matches_the_delta_method_by_hand() -> None:
    costs = [Decimal(c) for c in ("1", "2", "3", "4")]
    wins = [True, True, False, True]
    n, c, y = 4, [1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 0.0, 1.0]
    mc, my = sum(c) / n, sum(y) / n
    r = mc / my
    vc = sum((x - mc) ** 2 for x in c) / 3
    vy = sum((v - my) ** 2 for v in y) / 3
    cv = sum((x - mc) * (v - my) for x, v in zip(c, y)) / 3
    half = 1.959964 * math.sqrt((vc - 2 * r * cv + r * r * vy) / (n * my * my))
    low, high = ratio_interval(costs, wins) or (Decimal(0), Decimal(0))
    assert abs(float(low) - (r - half)) < 1e-4 and abs(float(high) - (r + half)) < 1e-4
    assert ratio_interval(costs[:1], wins[:1]) is None
    assert ratio_interval(costs, [False] * 4) is None
    lo, hi = wilson_interval(0, 10) or (1.0, 1.0)
    assert lo == 0.0 and 0.27 < hi < 0.28


def test_the_cli_prints_the_contract(small: SQLiteStore) -> None:
    small.close()
    result = CliRunner().invoke(app, ["report", "economics", "--db", small.url, "-f", "json",
                                      "--by", "claim.type"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    flow = next(w for w in report["workflows"] if w["workflow"] == "claims")
    assert {"workflow", "unit", "baseline_usd", "segments"} <= set(flow)
    for segment in flow["segments"]:
        assert {"key", "traces", "successes", "success_rate", "first_try_rate", "cost_usd",
                "cost_per_success_usd", "retry_tax_share", "cheaper_than_baseline"} <= set(
            segment)
    table = CliRunner().invoke(app, ["report", "economics", "--db", small.url])
    assert table.exit_code == 0 and "claims" in table.stdout
