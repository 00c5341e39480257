"""The ``tracegraph`` command: a thin surface over the services.

Expected errors (:class:`TracegraphError`) become one red sentence and exit
code 2; rejected input records make ``import`` exit 1 after it has imported
everything else.  Machine formats (``--format json``) print only JSON on
stdout, so they can be piped.

This package holds the Typer ``app``, its sub-apps (``report``, ``clusters``),
and what every command shares: the consoles, the common options and formats,
error handling and output.  The commands live in modules by theme:
:mod:`.traces` (import, traces, show), :mod:`.analysis` (analyze, explain,
diff), :mod:`.graph` (sync, ask), :mod:`.serving` (serve, demo, token),
:mod:`.synthetic` (synth) and :mod:`.reports` (report waste / economics,
clusters); importing them at the end registers them, in the order ``--help``
lists them.
"""

from __future__ import annotations

import importlib
import sys
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Callable, NoReturn

import orjson
import typer
from rich.console import Console

from .. import __version__
from ..errors import TracegraphError
from ..store import open_store

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


class ReportFormat(str, Enum):
    table = "table"
    md = "md"
    json = "json"
    html = "html"


class ExplainFormat(str, Enum):
    table = "table"
    json = "json"


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


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


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
        module = importlib.import_module(f"..render.{renderer}", __package__)
        suffix = "markdown" if format == "md" else "html"
        _emit(getattr(module, f"{renderer}_{suffix}")(report), output)
    else:
        table(report)


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


@app.callback(invoke_without_command=True)
def main(version: bool = typer.Option(False, "--version", help="Print the version.")) -> None:
    """tracegraph: where AI spend went, step by step."""
    if version:
        console.print(f"tracegraph {__version__}")
        raise typer.Exit()


report_app = typer.Typer(help="Reports across traces.", no_args_is_help=True)
app.add_typer(report_app, name="report")

clusters_app = typer.Typer(help="Failure clusters: similar failures grouped by meaning, "
                           "with what each costs.", invoke_without_command=True)
app.add_typer(clusters_app, name="clusters")


# Registering the commands: the modules decorate with ``app`` and the sub-apps
# above, so they come last, in the order ``tracegraph --help`` lists them.
from . import traces, analysis, graph, serving, synthetic, reports  # noqa: E402,F401
