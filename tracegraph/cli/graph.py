"""Commands for a graph database: ``sync`` copies one store into another (SQLite to Neo4j
and back), ``ask`` runs the cross-trace questions only a graph answers."""

from __future__ import annotations

from enum import Enum
from typing import Any, Optional

import msgspec
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
    TimeRemainingColumn
from rich.table import Table

from ..errors import StoreError
from . import DbOption, ListFormat, _fail, _print_json, _with_store, app, console, errors


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
    from ..services.sync import sync_stores
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
