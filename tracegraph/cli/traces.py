"""Getting traces in and looking at them: ``import``, ``traces`` and ``show`` (a trace as a
tree of its steps)."""

from __future__ import annotations

from pathlib import Path
from enum import Enum
from typing import Any, Callable, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, \
    TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from rich.tree import Tree

from ..errors import TracegraphError
from ..formats import FORMATS
from ..model import Outcome
from ..services.browsing import trace_document, trace_listing
from ..services.importing import ImportReport, StrictImportError, import_paths
from ..store import open_store, resolve_db
from . import DbOption, ListFormat, _escape, _fail, _guard, _print_json, _with_store, app, \
    console, errors


class ShowFormat(str, Enum):
    tree = "tree"
    json = "json"


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
