"""Shared test fixtures: a real SQLite store in a temp folder, the corpus paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tracegraph.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED_FORMATS = ROOT.parent / "shared" / "formats"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    db = SQLiteStore(tmp_path / "tracegraph.db")
    yield db
    db.close()


@pytest.fixture
def shared_formats() -> Path:
    if not SHARED_FORMATS.is_dir():
        pytest.skip("../shared/formats not present (a user's clone): real-world corpus tests "
                    "need it beside the project")
    return SHARED_FORMATS


@pytest.fixture(scope="session")
def bolt_store() -> Iterator[Any]:
    """One Bolt store on one real FalkorDB server for the whole session (started on
    127.0.0.1 by :func:`tests.falkordb.falkordb_server`, stopped after), on the
    server's default database, as ``--db URL`` opens it.  Tests that use it
    empty the graph first."""
    from tracegraph.store.neo4j import Neo4jStore

    from .falkordb import falkordb_server
    with falkordb_server() as url:
        store = Neo4jStore(url, user="falkordb")
        yield store
        store.close()
