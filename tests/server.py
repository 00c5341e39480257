"""A real tracegraph server for tests: Uvicorn on 127.0.0.1, a free port, a thread.

The server runs the same ``create_app`` as ``tracegraph serve``, over a real
SQLite file; tests talk to it over HTTP with httpx.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import uvicorn

from tracegraph.config import Config, TokenConfig
from tracegraph.server import create_app
from tracegraph.store import SQLiteStore

TOKENS = {role: f"tg_test_{role}_secret" for role in ("reader", "auditor", "ingest", "admin")}


def config_with_tokens(base: Config | None = None) -> Config:
    base = base or Config()
    return Config(tool_prices=base.tool_prices, hourly_rates=base.hourly_rates,
                  workflows=base.workflows,
                  tokens={f"test-{role}": TokenConfig(
                      role=role, sha256=hashlib.sha256(secret.encode()).hexdigest())
                      for role, secret in TOKENS.items()})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(db: Path, config: Config, *, no_auth: bool = False) -> Iterator[str]:
    """Serve ``db`` until the block ends; yields the base URL."""
    port = free_port()
    store = SQLiteStore(db)
    server = uvicorn.Server(uvicorn.Config(create_app(store, config, no_auth=no_auth),
                                           host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def gql(base: str, query: str, variables: dict[str, object] | None = None, *,
        role: str | None = "reader") -> httpx.Response:
    headers = {} if role is None else {"Authorization": f"Bearer {TOKENS[role]}"}
    return httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}},
                      headers=headers, timeout=30)
