"""The ``tracegraph`` command: a thin surface over the services.

Expected errors (:class:`TracegraphError`) become one red sentence and exit
code 2; rejected input records make ``import`` exit 1 after it has imported
everything else.  Machine formats (``--format json``) print only JSON on
stdout, so they can be piped.
"""

from __future__ import annotations

import importlib
import sys
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional

import msgspec
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, \
    TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from rich.tree import Tree

from . import __version__
from .errors import StoreError, TracegraphError
from .formats import FORMATS
from .model import Outcome
from .config import load_config
from .services.analysis import analyze_and_store, analyze_stale, waste_report
from .services.browsing import trace_document, trace_listing
from .services.importing import ImportReport, StrictImportError, import_paths
from .services.synth import write_corpus
from .store import open_store, resolve_db

app = typer.Typer(
    name="tracegraph",
    help="Agent traces as a decision graph: import them from any common format, browse them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output is read by people in logs and CI too: do not wrap it at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

DbOption = typer.Option(None, "--db", help="SQLite file, or a Bolt URL such as "
                        "bolt://USER@HOST:7687 or neo4j+s://HOST (password from "
                        "$TRACEGRAPH_DB_PASSWORD; default: $TRACEGRAPH_DB or ./tracegraph.db).",
                        show_default=False)
ConfigOption = typer.Option(None, "--config", help="Prices of tools and hourly rates "
                            "(default: $TRACEGRAPH_CONFIG or ./tracegraph.toml if any).")
SinceOption = typer.Option(None, "--since", help="Only traces that started at or after "
                           "this ISO 8601 time (a date is midnight UTC).")
UntilOption = typer.Option(None, "--until", help="Only traces that started before this "
                           "ISO 8601 time.")
OutputOption = typer.Option(None, "--output", "-o", help="Write the report to this file "
                            "instead of standard output.")




class ListFormat(str, Enum):
    table = "table"
    json = "json"


class ShowFormat(str, Enum):
    tree = "tree"
    json = "json"


class SynthFormat(str, Enum):
    native = "native"
    otlp = "otlp"


def _fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def _guard(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except TracegraphError as exc:
        _fail(str(exc))


def _with_store(db: str | None, action: Callable[[Any], Any]) -> Any:
    """Open the store, do ``action`` with it (its expected errors made one red line),
    and close it whatever happens."""
    store = _guard(lambda: open_store(db))
    try:
        return _guard(lambda: action(store))
    finally:
        store.close()


def _print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str))
    sys.stdout.buffer.write(b"\n")


@app.callback(invoke_without_command=True)
def main(version: bool = typer.Option(False, "--version", help="Print the version.")) -> None:
    """tracegraph: where AI spend went, step by step."""
    if version:
        console.print(f"tracegraph {__version__}")
        raise typer.Exit()


@app.command("import")
def import_command(
    paths: list[Path] = typer.Argument(..., help="Trace files, folders to search for "
                                                 "*.json / *.jsonl / *.ndjson, or - for "
                                                 "standard input."),
    db: Optional[str] = DbOption,
    format: Optional[str] = typer.Option(
        None, "--format", "-f", help=f"Force a format ({', '.join(FORMATS)}); "
                                     "default: detect per file."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first rejected record."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Import trace files into the store; re-importing the same file changes nothing.

    Example: tracegraph import fixtures/ --db tracegraph.db
    """
    if format is not None and format not in FORMATS:
        _fail(f"unknown format {format!r}; known formats: {', '.join(FORMATS)}")
    store = _guard(lambda: open_store(db))
    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=errors,
                        disable=quiet or not errors.is_terminal, transient=True)

    def on_file(path: Path, size: int) -> Callable[[int], None]:
        task = progress.add_task(path.name, total=size)
        return lambda done: progress.update(task, completed=done)

    try:
        with progress:
            report = import_paths(store, paths, format=format, strict=strict, on_file=on_file)
    except StrictImportError as exc:
        _fail(str(exc), code=1)
    except TracegraphError as exc:
        _fail(str(exc))
    finally:
        store.close()
    _print_import_report(report, resolve_db(db))
    if not report.ok:
        raise typer.Exit(1)


def _print_import_report(report: ImportReport, db: str) -> None:
    table = Table(title=f"Imported into {db}", title_justify="left")
    for column in ("file", "format", "traces", "steps", "unchanged", "rejected"):
        table.add_column(column, justify="right" if column not in ("file", "format") else "left")
    for f in report.files:
        table.add_row(f.path, f.format or "-", str(f.traces), str(f.steps), str(f.unchanged),
                      str(len(f.rejected) + (1 if f.failed else 0)))
    by_format: dict[str, list[int]] = {}
    for f in report.files:
        totals = by_format.setdefault(f.format or "unreadable", [0, 0, 0])
        totals[0] += f.traces
        totals[1] += f.steps
        totals[2] += len(f.rejected) + (1 if f.failed else 0)
    if len(report.files) > 1:
        table.add_section()
        for name, (traces, steps, rejected) in sorted(by_format.items()):
            table.add_row(f"[bold]all {name}[/bold]", name, str(traces), str(steps), "",
                          str(rejected))
        table.add_row("[bold]total[/bold]", "", str(report.traces), str(report.steps),
                      str(sum(f.unchanged for f in report.files)), str(report.rejected))
    console.print(table)
    problems = [f.failed for f in report.files if f.failed] + [
        str(e) for f in report.files for e in f.rejected]
    if problems:
        errors.print(f"[red]{len(problems)} rejected[/red] (nothing of a rejected trace was "
                     "written):", highlight=False)
        for line in problems[:50]:
            errors.print(f"  - {line}", highlight=False, markup=False)
        if len(problems) > 50:
            errors.print(f"  ... and {len(problems) - 50} more", highlight=False)


@app.command("traces")
def traces_command(
    db: Optional[str] = DbOption,
    workflow: Optional[str] = typer.Option(None, "--workflow", "-w", help="Only this workflow."),
    outcome: Optional[Outcome] = typer.Option(None, "--outcome", help="Only this outcome."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", help="At most this many."),
    format: ListFormat = typer.Option(ListFormat.table, "--format", "-f"),
) -> None:
    """List stored traces: workflow, outcome, steps, tokens.

    Example: tracegraph traces --workflow claims-triage --outcome failure --format json
    """
    items = _with_store(db, lambda store: trace_listing(store, workflow=workflow, outcome=outcome,
                                         limit=limit))
    if format == ListFormat.json:
        _print_json(items)
        return
    table = Table(title=f"{len(items)} traces", title_justify="left")
    table.add_column("trace", no_wrap=True)
    for column in ("workflow", "outcome", "steps", "errors", "tokens in/out", "start", "format"):
        table.add_column(column, justify="right" if column in ("steps", "errors") else "left")
    colours = {"success": "green", "failure": "red", "unknown": "yellow"}
    for item in items:
        outcome_text = f"[{colours[item['outcome']]}]{item['outcome']}[/]"
        table.add_row(item["trace_id"], item["workflow"] or "-", outcome_text,
                      str(item["steps"]), str(item["errors"]),
                      f"{item['input_tokens']:,} / {item['output_tokens']:,}",
                      (item["start"] or "-")[:16].replace("T", " "), item["source_format"])
    console.print(table)


@app.command("show")
def show_command(
    trace_id: str = typer.Argument(..., help="The trace's id as its source wrote it."),
    db: Optional[str] = DbOption,
    format: ShowFormat = typer.Option(ShowFormat.tree, "--format", "-f"),
) -> None:
    """Show one trace as a tree (kind, name, model, tokens, status, duration) or JSON.

    Example: tracegraph show claim-2026-0001
    """
    document = _with_store(db, lambda store: trace_document(store, trace_id))
    if format == ShowFormat.json:
        _print_json(document)
        return
    console.print(_render_tree(document))


_KIND_STYLE = {"llm": "cyan", "tool_call": "magenta", "retrieval": "blue", "retry": "yellow",
               "human_override": "bold yellow", "outcome": "bold green", "agent": "bold",
               "chain": "dim", "context": "white", "event": "dim"}


def _step_label(step: dict[str, Any]) -> str:
    parts = [f"[{_KIND_STYLE.get(step['kind'], 'white')}]{step['kind']}[/]",
             f"[bold]{_escape(step['name'])}[/bold]"]
    if step.get("model"):
        parts.append(f"model={_escape(step['model'])}")
    if step.get("input_tokens") is not None or step.get("output_tokens") is not None:
        cached = f" ({step['cached_input_tokens']:,} cached)" if step.get(
            "cached_input_tokens") else ""
        parts.append(f"tokens={step.get('input_tokens') or 0:,}→"
                     f"{step.get('output_tokens') or 0:,}{cached}")
    if step.get("documents"):
        parts.append(f"docs={len(step['documents'])}")
    if step.get("cost") is not None:
        parts.append(f"${step['cost']}")
    if step.get("duration_ms") is not None:
        parts.append(f"[dim]{_duration(step['duration_ms'])}[/dim]")
    if step["status"] == "error":
        first_line = (step.get("error") or "").strip().split("\n", 1)[0]  # not a traceback
        parts.append(f"[red]error[/red] {_escape(step.get('error_type') or '')} "
                     f"{_escape(first_line[:120])}".rstrip())
    if step.get("retry_of"):
        parts.append(f"[yellow]retry of {_escape(step['retry_of'])}[/yellow]")
    if step.get("override"):
        o = step["override"]
        parts.append(f"[yellow]by {_escape(o['actor'])}: {_escape(o.get('reason') or '')} "
                     f"({o.get('minutes') or '?'} min)[/yellow]")
    if step.get("outcome"):
        parts.append(f"outcome={step['outcome']} {_escape(step.get('unit') or '')}")
    parts.append(f"[dim]{_escape(step['id'])}[/dim]")
    return " ".join(parts)


def _duration(ms: float) -> str:
    """``850 ms``, ``12.4 s``, ``17 min 44 s``: the unit a person reads at a glance."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def _render_tree(document: dict[str, Any]) -> Tree:
    colour = {"success": "green", "failure": "red"}.get(document["outcome"], "yellow")
    head = (f"[bold]{_escape(document['trace_id'])}[/bold]  workflow="
            f"{_escape(document['workflow'] or '-')}  outcome=[{colour}]"
            f"{document['outcome']}[/{colour}]")
    if document.get("outcome_reason"):
        head += f" ({_escape(document['outcome_reason'][:100])})"
    if document["attributes"]:
        head += "  " + " ".join(f"{k}={v}" for k, v in list(document["attributes"].items())[:6])
    root = Tree(head)
    nodes: dict[str, Tree] = {}
    ids = {s["id"] for s in document["steps"]}
    pending = list(document["steps"])
    # Parents first: steps come in time order, but a parent may start later (clock skew).
    while pending:
        progressed = False
        rest = []
        for step in pending:
            parent = step["parent"]
            if parent is None or parent not in ids:
                nodes[step["id"]] = root.add(_step_label(step))
                progressed = True
            elif parent in nodes:
                nodes[step["id"]] = nodes[parent].add(_step_label(step))
                progressed = True
            else:
                rest.append(step)
        if not progressed:  # cannot happen for stored traces (cycles are rejected)
            for step in rest:
                nodes[step["id"]] = root.add(_step_label(step))
            break
        pending = rest
    if document.get("awaiting_parent"):
        root.add(f"[yellow]{len(document['awaiting_parent'])} steps await a parent span "
                 "not yet imported[/yellow]")
    return root


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


report_app = typer.Typer(help="Reports across traces.", no_args_is_help=True)
app.add_typer(report_app, name="report")


class ReportFormat(str, Enum):
    table = "table"
    md = "md"
    json = "json"
    html = "html"


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


def _emit(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output`` and say where."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}")
    errors.print(f"wrote {output}", highlight=False)


def _report_out(report: dict[str, Any], format: str, output: Path | None, renderer: str,
                table: Callable[[dict[str, Any]], None]) -> None:
    """A report as JSON, Markdown or HTML (``tracegraph.render.<renderer>``), or a table."""
    if format == "json":
        if output is None:
            _print_json(report)
        else:
            _emit(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode(), output)
    elif format in ("md", "html"):
        module = importlib.import_module(f".render.{renderer}", __package__)
        suffix = "markdown" if format == "md" else "html"
        _emit(getattr(module, f"{renderer}_{suffix}")(report), output)
    else:
        table(report)


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


def _usd(amount: str | Decimal | None, places: int = 4) -> str:
    """Dollars for people; a tiny non-zero amount keeps 2 significant digits, never $0.0000."""
    if amount is None:
        return "unpriced"
    value = Decimal(amount)
    if value and abs(value) < Decimal(10) ** -places:
        places = -value.adjusted() + 1
    return f"${value:,.{places}f}"


def _percent(share: str | None) -> str:
    return "-" if share is None else f"{Decimal(share) * 100:.1f}%"


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
    from .services.economics import economics_report
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


class ExplainFormat(str, Enum):
    table = "table"
    json = "json"


clusters_app = typer.Typer(help="Failure clusters: similar failures grouped by meaning, "
                           "with what each costs.", invoke_without_command=True)
app.add_typer(clusters_app, name="clusters")


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
    from .services.clusters import AUTO, cluster_failures, clusters_report
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
    from .services.clusters import cluster_detail
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
    from .services.explain import explain_trace
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
    from .services.explain import diff_traces
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


@app.command("sync")
def sync_command(
    source: str = typer.Option(..., "--from", help="The store to copy (file or Bolt URL)."),
    target: str = typer.Option(..., "--to", help="The store to copy into (created if a "
                               "new file)."),
    batch: int = typer.Option(200, "--batch", help="Traces per batch (one transaction "
                              "each on Neo4j)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    format: ListFormat = typer.Option(ListFormat.table, "--format", "-f"),
) -> None:
    """Copy every trace, analysis, annotation, failure cluster and cached embedding from
    one store into another: SQLite to Neo4j, back, or file to file.

    Resumable: run it again after an interruption and it writes only what is missing
    (an unchanged trace or an equal analysis is not written twice).

    Example: tracegraph sync --from tracegraph.db --to bolt://localhost:7687
    """
    from .services.sync import sync_stores
    if batch < 1:
        _fail("--batch must be at least 1")

    def copy(from_store: Any) -> Any:
        def into(to_store: Any) -> Any:
            if quiet:
                return sync_stores(from_store, to_store, batch=batch)
            bar = Progress(TextColumn("sync"), BarColumn(), MofNCompleteColumn(),
                           TimeRemainingColumn(), console=errors)
            with bar:
                task = bar.add_task("sync", total=None)
                return sync_stores(from_store, to_store, batch=batch,
                                   progress=lambda done, total: bar.update(
                                       task, completed=done, total=total))
        return _with_store(target, into)

    report = _with_store(source, copy)
    if format is ListFormat.json:
        _print_json(msgspec.to_builtins(report))
    else:
        table = Table(title=f"{source} → {target}", title_justify="left")
        table.add_column("what")
        table.add_column("copied", justify="right")
        table.add_column("already there", justify="right")
        table.add_row("traces", str(report.traces_written), str(report.traces_unchanged))
        table.add_row("analyses", str(report.analyses_written), str(report.analyses_unchanged))
        table.add_row("annotations", str(report.annotations_added), "")
        table.add_row("failure clusters", str(report.clusters), "")
        table.add_row("cached embeddings", str(report.embeddings), "")
        console.print(table)
        if report.analyses_stale:
            console.print(f"{report.analyses_stale} analyses were of an older content of "
                          "their trace and were not copied: run `tracegraph analyze --all "
                          f"--db {target}` to redo them.")
    for problem in report.rejected:
        errors.print(f"[red]rejected[/red] {problem}", highlight=False)
    if report.rejected:
        raise typer.Exit(1)


class Question(str, Enum):
    unused_documents = "unused-documents"
    failures_before_escalation = "failures-before-escalation"
    rules_before_override = "rules-before-override"
    precedents = "precedents"


@app.command("ask")
def ask_command(
    question: Question = typer.Argument(..., help="Which cross-trace question."),
    db: Optional[str] = DbOption,
    trace: Optional[str] = typer.Option(None, "--trace", help="precedents: only the chains "
                                        "from this trace."),
    min_retrieved: int = typer.Option(2, "--min-retrieved", help="unused-documents: retrieved "
                                      "in at least this many steps."),
    limit: int = typer.Option(20, "--limit", "-n", help="At most this many rows."),
    format: ListFormat = typer.Option(ListFormat.table, "--format", "-f"),
) -> None:
    """Questions across traces that a graph database answers (needs --db bolt://…).

    unused-documents: retrieved often, never used.  failures-before-escalation:
    tools whose failures came before a human override.  rules-before-override:
    rules people overrule.  precedents: chains of CITES to the earliest precedent.
    Each is one Cypher file in tracegraph/store/cypher/question_*.cypher.

    Example: tracegraph ask unused-documents --db bolt://localhost:7687
    """
    params: dict[str, Any] = {"limit": limit}
    if question is Question.unused_documents:
        params["min_retrieved"] = min_retrieved
    if question is Question.precedents:
        params["trace"] = trace

    def run(store: Any) -> list[dict[str, Any]]:
        if not hasattr(store, "ask"):
            raise StoreError(f"{store.url} is a SQLite file: `tracegraph ask` runs Cypher on a "
                             "graph database (--db bolt://HOST:7687); copy the data there with "
                             "`tracegraph sync`")
        return list(store.ask(question.value, **params))

    rows = _with_store(db, run)
    if format is ListFormat.json:
        _print_json(rows)
        return
    if not rows:
        console.print(f"No answer to {question.value}: nothing in the graph matches.")
        return
    table = Table(title=question.value.replace("-", " "), title_justify="left")
    for name in rows[0]:
        table.add_column(name.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(", ".join(map(str, v)) if isinstance(v, list)
                        else f"{v:.0%}" if name.endswith("_rate") else str(v)
                        for name, v in row.items()))
    console.print(table)


@app.command("serve")
def serve_command(
    db: Optional[str] = DbOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default "
                             "loopback only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    no_auth: bool = typer.Option(False, "--no-auth", help="Anonymous access as admin; only "
                                 "on a loopback address."),
    config: Optional[Path] = ConfigOption,
) -> None:
    """Serve the auditor's UI (/ui), GraphQL (/graphql), OTLP/HTTP ingestion (/v1/traces)
    and /healthz.

    Tokens come from the server.tokens tables of tracegraph.toml (`tracegraph token ROLE`).

    Example: tracegraph serve --port 8000 --config tracegraph.toml
    """
    import ipaddress
    import logging

    import uvicorn

    from .server import create_app
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if no_auth and not loopback:
        _fail(f"--no-auth is only allowed on a loopback address, not {host}")
    settings = _guard(lambda: load_config(config))
    if not no_auth and not settings.tokens:
        _fail("no API tokens in the configuration: run `tracegraph token reader` and add "
              "what it prints to tracegraph.toml, or use --no-auth on 127.0.0.1")
    store = _guard(lambda: open_store(db))
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    errors.print(f"tracegraph {__version__} serving {store.url} on http://{host}:{port} "
                 f"(UI /ui, GraphQL /graphql, OTLP /v1/traces)"
                 f"{' without auth' if no_auth else ''}",
                 highlight=False)
    uvicorn.run(create_app(store, settings, no_auth=no_auth), host=host, port=port,
                log_config=None, access_log=False, timeout_graceful_shutdown=10)


@app.command("demo")
def demo_command(
    db: Path = typer.Option(Path("tracegraph-demo.db"), "--db", help="The demo's own store "
                            "(created, or brought up to date)."),
    port: int = typer.Option(8321, "--port", help="TCP port on 127.0.0.1."),
    synthetic: int = typer.Option(600, "--synthetic", help="Synthetic traces added to the "
                                  "bundled ones, so workflows have economics and clusters."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the UI and GraphQL "
                               "after (default), or stop after the summary."),
) -> None:
    """Import the bundled traces, analyse them, print where the money went, and serve the
    auditor's UI and GraphQL on 127.0.0.1 (no token needed on loopback).

    Example: tracegraph demo
    """
    import tempfile

    from .services.clusters import cluster_failures
    from .services.importing import import_paths
    from .services.synth import write_corpus
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    settings = _guard(lambda: load_config(fixtures / "tracegraph.toml"
                                          if (fixtures / "tracegraph.toml").is_file() else None))

    def load(store: Any) -> dict[str, Any]:
        sources = [fixtures] if fixtures.is_dir() else []
        with tempfile.TemporaryDirectory(prefix="tracegraph-demo-") as folder:
            if synthetic:
                corpus = Path(folder) / "synthetic.jsonl"
                write_corpus(corpus, traces=synthetic)
                sources.append(corpus)
            if not sources:
                raise StoreError("no bundled fixtures next to this installation and "
                                 "--synthetic 0: nothing to show")
            imported = import_paths(store, sources)
        analyze_stale(store, config=settings)
        clusters = cluster_failures(store, config=settings)
        report = waste_report(store, config=settings)
        costliest = report["costliest"][0]["trace_id"] if report["costliest"] else None
        return {"imported": imported, "report": report, "clusters": clusters,
                "costliest": costliest}

    if serve:
        import socket
        with socket.socket() as probe:  # before a minute of loading, not after
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                _fail(f"port {port} on 127.0.0.1 is taken (another demo?): choose one with "
                      "--port")
    console.print(f"Loading the demo into {db} …")
    found = _with_store(str(db), load)
    _print_waste_table(found["report"])
    priced = fixtures / "tracegraph.toml"
    if priced.is_file():
        console.print(f"\nPrices of tools and people: {priced} — pass [bold]--config "
                      f"{priced}[/bold] to other commands on {db}, or they re-price it "
                      "without them.", highlight=False)
    if not serve:
        console.print(f"To browse it: tracegraph serve --db {db} --no-auth"
                      + (f" --config {priced}" if priced.is_file() else ""), highlight=False)
        return
    base = f"http://127.0.0.1:{port}"
    console.print(f"\n[bold]Traces[/bold]          {base}/ui/traces")
    if found["costliest"]:
        from urllib.parse import quote
        console.print(f"[bold]Costliest trail[/bold] {base}/ui/traces/"
                      f"{quote(found['costliest'], safe='')}")
    console.print(f"[bold]GraphQL[/bold]         {base}/graphql")
    import logging

    import uvicorn

    from .server import create_app
    store = _guard(lambda: open_store(str(db)))
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    console.print("Serving on 127.0.0.1 only, without tokens (loopback); Ctrl+C stops.")
    uvicorn.run(create_app(store, settings, no_auth=True), host="127.0.0.1", port=port,
                log_config=None, access_log=False, timeout_graceful_shutdown=5)


@app.command("token")
def token_command(
    role: str = typer.Argument(..., help="reader, auditor, ingest or admin."),
    name: Optional[str] = typer.Option(None, "--name", help="A name for the token "
                                       "(default: the role and a number)."),
) -> None:
    """Make an API token: the secret once on the terminal (stderr), and the table for
    tracegraph.toml on stdout, so `>> tracegraph.toml` appends just that.

    Only the SHA-256 of the token goes into the configuration.

    Example: tracegraph token ingest --name otel-collector
    """
    import hashlib
    import secrets
    if role not in ("reader", "auditor", "ingest", "admin"):
        _fail(f"role must be reader, auditor, ingest or admin, not {role!r}")
    secret = "tg_" + secrets.token_urlsafe(32)
    label = name or f"{role}-{secrets.token_hex(2)}"
    # The secret goes to the terminal (stderr), only the TOML to stdout: so that
    # `tracegraph token reader >> tracegraph.toml` appends a valid table and never
    # writes the secret into a file that gets committed.
    errors.print(f"token (shown once; give it to the client): {secret}", highlight=False)
    if sys.stdout.isatty():
        errors.print("add to tracegraph.toml (or run again with >> tracegraph.toml):",
                     highlight=False)
    sys.stdout.write(f'\n[server.tokens.{label}]\nrole = "{role}"\n'
                     f'sha256 = "{hashlib.sha256(secret.encode()).hexdigest()}"\n')


@app.command("synth")
def synth_command(
    output: Path = typer.Argument(..., help="File to write (JSONL)."),
    traces: int = typer.Option(1000, "--traces", "-n", help="How many traces."),
    format: SynthFormat = typer.Option(SynthFormat.native, "--format", "-f"),
    seed: int = typer.Option(7, "--seed", help="Same seed, same corpus."),
) -> None:
    """Write a synthetic corpus of realistic traces (for benchmarks and demos).

    Example: tracegraph synth corpus.jsonl --traces 100000 --format otlp
    """
    stats = _guard(lambda: write_corpus(output, traces=traces, format=format.value, seed=seed))
    console.print(f"wrote {stats.traces:,} traces, {stats.steps:,} steps, "
                  f"{stats.bytes / 1e6:,.1f} MB to {output}")


if __name__ == "__main__":  # pragma: no cover
    app()
