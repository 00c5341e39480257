"""Reading one trace's economics: ``analyze`` (every step essential, wasted or structural),
``explain`` (why it cost what it did) and ``diff`` (two traces aligned step by step)."""

from __future__ import annotations

import sys
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import orjson
import typer
from rich.table import Table

from ..config import load_config
from ..services.analysis import analyze_and_store
from ..store import open_store
from . import ConfigOption, DbOption, ExplainFormat, _escape, _fail, _guard, _print_json, \
    _usd, _with_store, app, console


class AnalyzeFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


@app.command("analyze")
def analyze_command(
    trace_ids: list[str] = typer.Argument(None, help="Traces to analyze (their source ids)."),
    all_traces: bool = typer.Option(False, "--all", help="Analyze every stored trace."),
    db: Optional[str] = DbOption,
    config: Optional[Path] = ConfigOption,
    format: AnalyzeFormat = typer.Option(AnalyzeFormat.table, "--format", "-f"),
) -> None:
    """Mark every step essential, wasted (with its reason) or structural, priced, with evidence.

    Example: tracegraph analyze claim-2026-0002 --format json
    """
    if not trace_ids and not all_traces:
        _fail("name one or more trace ids, or --all")
    settings = _guard(lambda: load_config(config))
    store = _guard(lambda: open_store(db))
    try:
        ids = [row.trace_id for row in store.list_traces()] if all_traces else trace_ids
        documents = _guard(lambda: analyze_and_store(store, ids, config=settings))
    finally:
        store.close()
    if format == AnalyzeFormat.jsonl:
        for document in documents:
            sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
        return
    if format == AnalyzeFormat.json:
        _print_json(documents[0] if len(documents) == 1 and not all_traces else documents)
        return
    for document in documents:
        _print_analysis(document)


def _print_analysis(document: dict[str, Any]) -> None:
    table = Table(title=f"{document['trace_id']}  {document['workflow'] or '-'}  "
                        f"{document['outcome']}:  ${document['cost_usd']} spent, "
                        f"${document['wasted_usd']} wasted", title_justify="left")
    for column in ("step", "kind", "role", "reason", "cost", "evidence"):
        table.add_column(column, overflow="fold")
    colours = {"essential": "green", "wasted": "red", "structural": "dim"}
    for step in document["steps"]:
        cost = "unpriced" if step["cost_usd"] is None else f"${step['cost_usd']}"
        table.add_row(step["id"], step["kind"],
                      f"[{colours[step['role']]}]{step['role']}[/]", step["reason"] or "",
                      cost, _escape(step["evidence"]))
    console.print(table)
    unused = [d for d in document["documents"] if not d["used"]]
    if unused:
        console.print("unused documents: " + ", ".join(
            f"{d['id']} ({d['tokens']} tokens)" if d["tokens"] else d["id"] for d in unused))
    if document["unpriced_steps"]:
        console.print(f"[yellow]unpriced:[/yellow] {', '.join(document['unpriced_steps'])} "
                      "(see cost_detail in --format json)")


@app.command("explain")
def explain_command(
    trace_id: str = typer.Argument(..., help="The trace to explain (its source id)."),
    db: Optional[str] = DbOption,
    config: Optional[Path] = ConfigOption,
    format: ExplainFormat = typer.Option(ExplainFormat.table, "--format", "-f"),
) -> None:
    """Why this trace cost what it did against its workflow's median, and why it ended so.

    Drivers in dollars (retries, extra context, model choice, extra tool calls,
    human minutes), the decisive steps, rules and overrides, and the nearest
    trace of the same workflow with the other outcome.

    Example: tracegraph explain claim-2026-0002 --config tracegraph.toml
    """
    from ..services.explain import explain_trace
    settings = _guard(lambda: load_config(config))
    found = _with_store(db, lambda store: explain_trace(store, trace_id, config=settings))
    if format == ExplainFormat.json:
        _print_json(found)
        return
    cohort = found["cohort"]
    ratio = f" ({found['ratio_to_median']}x)" if found["ratio_to_median"] else ""
    console.print(f"[bold]{found['trace_id']}[/bold] ({found['workflow'] or 'no workflow'}, "
                  f"{found['outcome']}) cost {_usd(found['cost_usd'])}, "
                  f"{_usd(found['wasted_usd'])} wasted; the median of {cohort['traces']} "
                  f"traces is {_usd(cohort['median_cost_usd'])}{ratio}", highlight=False)
    table = Table(title=f"drivers of the {_usd(found['difference_usd'])} difference",
                  title_justify="left")
    table.add_column("driver")
    table.add_column("USD", justify="right")
    table.add_column("evidence", overflow="fold")
    for driver in found["drivers"]:
        table.add_row(driver["driver"], _usd(driver["usd"]), _escape(driver["evidence"]))
    console.print(table)
    console.print("[bold]decisive steps[/bold]")
    for step in found["decisive_steps"]:
        console.print(f"  {step['step_id']} ({step['kind']}): {_escape(step['why'])}",
                      highlight=False)
    for override in found["overrides"]:
        console.print(f"  override {override['step_id']} by {override['actor']}"
                      f"{' (' + override['role'] + ')' if override['role'] else ''}: "
                      f"{_escape(override['reason'] or 'no reason given')}"
                      f"{', ' + override['minutes'] + ' min' if override['minutes'] else ''}",
                      highlight=False)
    if found["rules"]:
        console.print("rules applied: " + ", ".join(found["rules"]), highlight=False)
    nearest = found["nearest_other_outcome"]
    if nearest:
        console.print(f"nearest trace with the other outcome ({nearest['outcome']}): "
                      f"{nearest['trace_id']} (similarity {nearest['similarity']}); "
                      f"tracegraph diff {found['trace_id']} {nearest['trace_id']}",
                      highlight=False)
    for warning in found["warnings"]:
        console.print(f"[yellow]note:[/yellow] {warning}", highlight=False)


@app.command("diff")
def diff_command(
    a: str = typer.Argument(..., help="The first trace."),
    b: str = typer.Argument(..., help="The second trace."),
    db: Optional[str] = DbOption,
    config: Optional[Path] = ConfigOption,
    format: ExplainFormat = typer.Option(ExplainFormat.table, "--format", "-f"),
) -> None:
    """Two paths aligned step by step: where they diverge, extra or missing steps, cost delta.

    Example: tracegraph diff claim-2026-0001 claim-2026-0002
    """
    from ..services.explain import diff_traces
    settings = _guard(lambda: load_config(config))
    found = _with_store(db, lambda store: diff_traces(store, a, b, config=settings))
    if format == ExplainFormat.json:
        _print_json(found)
        return
    left, right = found["a"], found["b"]
    console.print(f"A {left['trace_id']} ({left['outcome']}, {_usd(left['cost_usd'])}) vs "
                  f"B {right['trace_id']} ({right['outcome']}, {_usd(right['cost_usd'])}): "
                  f"B costs {_usd(found['cost_delta_usd'])} more; similarity "
                  f"{found['similarity']}", highlight=False)
    table = Table(title_justify="left")
    for column in ("", "A step", "A mark", "A cost", "what", "B step", "B mark", "B cost"):
        table.add_column(column, overflow="fold")
    symbols = {"same": " ", "changed": "~", "only_a": "-", "only_b": "+"}
    divergence = (found["divergence"] or {}).get("position")
    for index, row in enumerate(found["steps"]):
        sides = []
        for side in (row["a"], row["b"]):
            if side is None:
                sides.append(("", "", ""))
            else:
                mark = side["reason"] or side["role"]
                sides.append((side["id"], mark, _usd(side["cost_usd"])))
        marker = symbols[row["op"]] + ("  <- diverge" if index == divergence else "")
        table.add_row(marker, *sides[0], row["signature"], *sides[1])
    console.print(table)
    if found["delta_by_reason"]:
        console.print("cost delta B - A by reason: " + ", ".join(
            f"{k} {_usd(v)}" for k, v in found["delta_by_reason"].items() if Decimal(v)),
            highlight=False)
