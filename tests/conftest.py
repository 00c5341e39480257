"""Shared test fixtures: a real SQLite store in a temp folder, the corpus paths."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

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
