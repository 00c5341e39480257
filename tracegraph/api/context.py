"""What every GraphQL resolver gets: the store, the prices, who is asking, the loaders.

Loaders batch what a page of results needs (every trace of a page in one
query, every step analysis in one more), so a query's cost does not grow
with the number of nested lists it asks for.  A deadline makes long queries
stop between resolvers with a ``TIMEOUT`` error rather than run on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from strawberry.dataloader import DataLoader

from ..config import Config
from ..errors import TracegraphError
from ..model import Trace
from ..services.analysis import analyze_and_store
from ..services.redaction import Redactor, redactor_for
from ..store import Store

__all__ = ["Context", "Role", "ApiError", "ROLES"]

ROLES = ("reader", "auditor", "ingest", "admin")
"""``reader`` queries; ``auditor`` queries and sees raw payloads; ``ingest`` sends
traces; ``admin`` does all, including the mutations that change a trace."""

Role = str


class ApiError(TracegraphError):
    """An error a client can act on, with a stable ``code`` in its extensions."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


StepMarks = dict[str, tuple[str, str | None, Decimal | None]]


@dataclass
class Context:
    store: Store
    config: Config
    role: Role
    principal: str
    deadline: float
    max_page: int = 100
    request: Any = None
    traces: DataLoader[str, Trace | None] = field(init=False)
    """Traces as the role may see them; ``raw_traces`` as stored (for the analyzer)."""
    raw_traces: DataLoader[str, Trace | None] = field(init=False)
    redactor: Redactor | None = field(init=False)
    marks: DataLoader[str, StepMarks] = field(init=False)
    annotations: DataLoader[tuple[str, str], list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        store = self.store

        redactor = redactor_for(self.role, self.config.redaction)

        async def load_raw_traces(ids: list[str]) -> list[Trace | None]:
            self.check_deadline()
            found = store.get_traces(ids)
            return [found.get(i) for i in ids]

        async def load_traces(ids: list[str]) -> list[Trace | None]:
            """The traces as this role may see them (readers: payloads redacted)."""
            found = await self.raw_traces.load_many(ids)
            if redactor is None:
                return list(found)
            return [None if t is None else redactor.redact_trace(t) for t in found]

        async def load_marks(ids: list[str]) -> list[StepMarks]:
            self.check_deadline()
            found = store.step_analyses(ids)
            missing = [i for i in ids if i not in found]
            if missing:  # imported since the server started: analyse them now
                present = store.find_trace_ids(missing)
                analyze_and_store(store, [i for i in missing if i in present],
                                  config=self.config)
                found.update(store.step_analyses(missing))
            return [found.get(i, {}) for i in ids]

        async def load_annotations(keys: list[tuple[str, str]]) -> list[list[dict[str, Any]]]:
            self.check_deadline()
            found = store.annotations(keys)
            return [found.get(k, []) for k in keys]

        self.raw_traces = DataLoader(load_fn=load_raw_traces)
        self.traces = DataLoader(load_fn=load_traces)
        self.redactor = redactor
        self.marks = DataLoader(load_fn=load_marks)
        self.annotations = DataLoader(load_fn=load_annotations)

    def check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise ApiError("the query ran past its time limit; ask for less (smaller "
                           "pages, fewer nested fields)", "TIMEOUT")

    def require(self, *roles: Role) -> None:
        if self.role not in roles and self.role != "admin":
            raise ApiError(f"the {self.role!r} role may not do this (needs "
                           f"{' or '.join(roles)})", "FORBIDDEN")
