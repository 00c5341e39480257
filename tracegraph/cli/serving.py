"""Serving the UI, GraphQL and OTLP ingestion: ``serve``, the one-command ``demo``, and
``token`` to make the API tokens the server accepts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from .. import __version__
from ..config import load_config
from ..errors import StoreError
from ..services.analysis import analyze_stale, waste_report
from ..store import open_store
from . import ConfigOption, DbOption, _fail, _guard, _with_store, app, console, errors
from .reports import _print_waste_table


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

    from ..server import create_app
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

    from ..services.clusters import cluster_failures
    from ..services.importing import import_paths
    from ..services.synth import write_corpus
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
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

    from ..server import create_app
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
