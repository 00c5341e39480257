"""Reports across traces: ``report waste``, ``report economics``, and the failure
``clusters`` (with ``clusters show``)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from ..config import load_config
from ..services.analysis import waste_report
from ..store import open_store
from . import ConfigOption, DbOption, ExplainFormat, OutputOption, ReportFormat, SinceOption, \
    UntilOption, _escape, _fail, _guard, _percent, _print_json, _report_out, _usd, \
    _with_store, clusters_app, console, errors, report_app


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 option value; a naive time or a bare date is read as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{option} {value!r} is not an ISO 8601 date or time (e.g. 2026-11-01 or "
              "2026-11-01T09:30:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@report_app.command("waste")
def report_waste_command(
    db: Optional[str] = DbOption,
    workflow: Optional[str] = typer.Option(None, "--workflow", "-w", help="Only this workflow."),
    since: Optional[str] = SinceOption,
    until: Optional[str] = UntilOption,
    config: Optional[Path] = ConfigOption,
    format: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f"),
    output: Optional[Path] = OutputOption,
) -> None:
    """Where the money went that did not move the outcome: the wasted-cycle report.

    Spend and waste by reason, workflow, tool, model and document; retry tax,
    first-try success, context bloat, the cost distribution and its long tail.
    ``--format html`` is one self-contained file with charts that opens offline.

    Example: tracegraph report waste --workflow claims-triage --format html -o waste.html
    """
    start, end = _moment(since, "--since"), _moment(until, "--until")
    settings = _guard(lambda: load_config(config))
    report = _with_store(db, lambda store: waste_report(store, config=settings, workflow=workflow,
                                         since=start, until=end))
    _report_out(report, format.value, output, "waste", _print_waste_table)


def _print_waste_table(report: dict[str, Any]) -> None:
    scope = " of " + report["workflow"] if report["workflow"] else ""
    console.print(f"[bold]Waste over {report['traces']:,} traces{scope}[/bold] "
                  f"({report['steps']:,} steps): {_usd(report['wasted_usd'])} of "
                  f"{_usd(report['total_usd'])} ({_percent(report['wasted_share'])}) did not "
                  "move the outcome", highlight=False)
    console.print(f"success {_percent(report['success_rate'])}, first try "
                  f"{_percent(report['first_try_success_rate'])}; retry tax "
                  f"{_percent(report['retry_tax'])}; context bloat "
                  f"{report['context_bloat_tokens']:,} tokens "
                  f"({_usd(report['context_bloat_usd'])})", highlight=False)
    table = Table(title="wasted by reason", title_justify="left")
    table.add_column("reason")
    table.add_column("USD", justify="right")
    table.add_column("share of waste", justify="right")
    wasted = Decimal(report["wasted_usd"])
    for reason, amount in report["by_reason"].items():
        share = None if not wasted else str(Decimal(amount) / wasted)
        table.add_row(reason, _usd(amount), _percent(share))
    console.print(table)
    for title, key in (("wasted by tool", "by_tool"), ("wasted by model", "by_model")):
        if report[key]:
            console.print(f"{title}: " + ", ".join(
                f"{name} {_usd(amount)}" for name, amount in list(report[key].items())[:6]),
                highlight=False)
    if report["retried_tools"]:
        console.print("most-retried tools: " + ", ".join(
            f"{r['tool']} x{r['failed_attempts']}" for r in report["retried_tools"][:6]),
            highlight=False)
    unused = [d for d in report["documents"] if d["used"] < d["retrieved"]]
    if unused:
        console.print("documents retrieved most, used least: " + ", ".join(
            f"{d['document_id']} ({d['used']}/{d['retrieved']} used)" for d in unused[:6]),
            highlight=False)
    distribution = report["distribution"]
    if report["traces"]:
        console.print(f"cost per trace: p50 {_usd(distribution['p50'])}, p90 "
                      f"{_usd(distribution['p90'])}, p99 {_usd(distribution['p99'])}, max "
                      f"{_usd(distribution['max'])}; costliest 5% of traces = "
                      f"{_percent(distribution['tail_share'])} of spend", highlight=False)
    if report["costliest"]:
        console.print("costliest traces: " + ", ".join(
            f"{c['trace_id']} {_usd(c['cost_usd'], 2)}" for c in report["costliest"][:5]),
            highlight=False)
    if report["unpriced_steps"]:
        console.print(f"[yellow]{report['unpriced_steps']} steps unpriced[/yellow] (not "
                      "counted; price tools and roles in tracegraph.toml)")


@report_app.command("economics")
def report_economics_command(
    db: Optional[str] = DbOption,
    workflow: Optional[str] = typer.Option(None, "--workflow", "-w", help="Only this workflow."),
    by: Optional[list[str]] = typer.Option(None, "--by", help="A trace attribute to segment "
                                           "by; repeat for several (each alone, and their "
                                           "combinations). Default: the workflow's "
                                           "configured segments."),
    config: Optional[Path] = ConfigOption,
    format: ReportFormat = typer.Option(ReportFormat.table, "--format", "-f"),
    output: Optional[Path] = OutputOption,
) -> None:
    """What each successful outcome costs, by segment, against the human/BPO baseline.

    Cost per success (failures are paid for), first-try rate, retry tax, human
    minutes, the long tail, value per dollar, context growth, model mix, routing
    evidence, and an allocation summary in business language.

    Example: tracegraph report economics --workflow claims-triage --by claim.type --format html -o economics.html
    """
    from ..services.economics import economics_report
    settings = _guard(lambda: load_config(config))
    report = _with_store(db, lambda store: economics_report(
        store, config=settings, workflow=workflow, by=by or ()))
    _report_out(report, format.value, output, "economics", _print_economics_table)


def _print_economics_table(report: dict[str, Any]) -> None:
    if not report["workflows"]:
        console.print("no analysed traces" + (f" of {report['workflow']}"
                                              if report["workflow"] else ""))
        return
    if report["allocation"]:
        console.print("[bold]Allocation[/bold]")
        for line in report["allocation"]:
            console.print(f"  [cyan]{line['action']}[/cyan] {_escape(line['text'])}",
                          highlight=False)
    for flow in report["workflows"]:
        baseline = (f"{flow['baseline_label']} {_usd(flow['baseline_usd'], 2)} per "
                    f"{flow['unit']}" if flow["baseline_usd"] else "no baseline")
        table = Table(title=f"{flow['workflow'] or '(no workflow)'}: {baseline}",
                      title_justify="left")
        for column in ("segment", "traces", "success", "first try", "cost/success",
                       "95% interval", "retry tax", "p90", "verdict"):
            table.add_column(column, justify="left" if column in ("segment", "verdict")
                             else "right", overflow="fold")
        for seg in flow["segments"]:
            interval = seg["cost_per_success_interval"]
            table.add_row(
                _escape(seg["label"]) + (" [yellow](small)[/yellow]" if seg["small_sample"]
                                         else ""),
                f"{seg['traces']:,}", _percent(seg["success_rate"]),
                _percent(seg["first_try_rate"]),
                "-" if seg["cost_per_success_usd"] is None else
                _usd(seg["cost_per_success_usd"]),
                "-" if interval is None else f"{_usd(interval[0])}-{_usd(interval[1])}",
                _percent(seg["retry_tax_share"]), _usd(seg["p90_usd"]),
                _escape(seg["verdict"]))
        console.print(table)
        for warning in flow["warnings"]:
            console.print(f"[yellow]note:[/yellow] {_escape(warning)}", highlight=False)


class ClustersFormat(str, Enum):
    table = "table"
    json = "json"
    md = "md"
    html = "html"


@clusters_app.callback()
def clusters_command(
    ctx: typer.Context,
    db: Optional[str] = DbOption,
    workflow: Optional[str] = typer.Option(None, "--workflow", "-w", help="Only failures of "
                                           "this workflow."),
    since: Optional[str] = SinceOption,
    min_size: int = typer.Option(2, "--min-size", help="Clusters with fewer failures count "
                                 "as unclustered."),
    full: bool = typer.Option(False, "--full", help="Re-cluster everything (ids are kept "
                              "where membership mostly overlaps); default: assign new "
                              "failures to the existing clusters."),
    lexical: bool = typer.Option(False, "--lexical", help="Lexical features only, no "
                                 "sentence embeddings (faster, merges fewer paraphrases)."),
    config: Optional[Path] = ConfigOption,
    format: ClustersFormat = typer.Option(ClustersFormat.table, "--format", "-f"),
    output: Optional[Path] = OutputOption,
) -> None:
    """Which kinds of failure eat the budget: failures grouped by meaning, sorted by money.

    Each failed step and failed trace gets a masked signature (ids, numbers, paths,
    times and quoted values replaced); identical ones are counted once, embedded
    (cached) and clustered on lexical and semantic features together.

    Example: tracegraph clusters --workflow claims-triage --min-size 5
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..services.clusters import AUTO, cluster_failures, clusters_report
    start = _moment(since, "--since")
    settings = _guard(lambda: load_config(config))
    store = _guard(lambda: open_store(db))
    try:
        embedder = None if lexical else AUTO
        if full:
            _guard(lambda: cluster_failures(store, config=settings, embedder=embedder))
        report = _guard(lambda: clusters_report(store, config=settings, workflow=workflow,
                                                since=start, min_size=min_size,
                                                embedder=embedder, refresh=True))
    finally:
        store.close()
    _report_out(report, format.value, output, "clusters", _print_clusters)


def _print_clusters(report: dict[str, Any]) -> None:
    run = report["run"] or {}
    if run.get("fallback"):
        errors.print(f"[yellow]note:[/yellow] {_escape(run['fallback'])}", highlight=False)
    table = Table(title=f"{len(report['clusters'])} failure clusters"
                        f"{' of ' + report['workflow'] if report['workflow'] else ''}, "
                        f"by money ({run.get('method', '')})", title_justify="left")
    for column in ("cluster", "failures", "traces", "USD", "wasted", "label", "example"):
        table.add_column(column, justify="right" if column in ("failures", "traces", "USD",
                                                              "wasted") else "left",
                         overflow="fold")
    for item in report["clusters"]:
        table.add_row(item["id"], f"{item['failures']:,}", f"{item['traces']:,}",
                      _usd(item["cost_usd"], 2), _usd(item["wasted_usd"], 2),
                      _escape(item["label"]), _escape(item["example"][:120]))
    console.print(table)
    console.print(f"{len(report['unclustered'])} unclustered failures shown "
                  f"(clusters under {report['min_size']}); "
                  "tracegraph clusters show ID lists a cluster's members", highlight=False)


@clusters_app.command("show")
def clusters_show_command(
    cluster_id: str = typer.Argument(..., help="A cluster id from `tracegraph clusters`."),
    db: Optional[str] = DbOption,
    limit: int = typer.Option(200, "--limit", help="At most this many members, newest "
                              "first."),
    config: Optional[Path] = ConfigOption,
    format: ExplainFormat = typer.Option(ExplainFormat.table, "--format", "-f"),
) -> None:
    """One cluster: its label, example, money, and its members with their traces.

    Example: tracegraph clusters show c3396a95b
    """
    from ..services.clusters import cluster_detail
    settings = _guard(lambda: load_config(config))
    found = _with_store(db, lambda store: cluster_detail(store, cluster_id, config=settings,
                                          limit=limit))
    if format == ExplainFormat.json:
        _print_json(found)
        return
    console.print(f"[bold]{found['id']}[/bold] {_escape(found['label'])}: "
                  f"{found['failures']:,} failures in {found['traces']:,} traces, "
                  f"{_usd(found['cost_usd'], 2)} ({_usd(found['wasted_usd'], 2)} wasted), "
                  f"{found['first_seen'] or '-'} to {found['last_seen'] or '-'}",
                  highlight=False)
    console.print(f"example: {_escape(found['example'])}", highlight=False)
    if found["workflows"] or found["tools"]:
        console.print(f"workflows: {', '.join(found['workflows']) or '-'}; tools: "
                      f"{', '.join(found['tools']) or '-'}", highlight=False)
    table = Table(title_justify="left")
    for column in ("trace", "step", "USD", "seen", "signature"):
        table.add_column(column, overflow="fold")
    for member in found["members"]:
        table.add_row(member["trace_id"], member["step_id"] or "(trace)",
                      _usd(member["cost_usd"]), (member["seen"] or "-")[:16],
                      _escape(member["signature"][:140]))
    console.print(table)
    console.print("tracegraph show TRACE_ID opens a member's trace", highlight=False)
