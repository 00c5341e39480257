"""The Bolt store's reads behind the reports, the failure clusters and ``ask``.

A mixin of :class:`tracegraph.store.neo4j.Neo4jStore`, apart so that each file
holds one idea: here every method groups or filters in a Cypher file and, where
money is summed, sums the collected decimal texts exactly in Python (Cypher has
no exact decimal).  It relies on the store's plumbing, declared below.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any, Iterator, Sequence

import orjson

from ..errors import StoreError
from ..model import Outcome
from .base import ClusterRow, OutcomeRow
from .bolt_rows import decimal_sum, statement
from .waste_fold import WasteFold

__all__ = ["BoltReports", "QUESTIONS"]

_IDS = 500
"""Ids per ``IN $ids`` lookup on Neo4j."""


class BoltReports:
    """Report aggregates, clusters, embeddings, annotations and the graph questions."""

    dialect: str | None

    # The store's plumbing (:class:`tracegraph.store.neo4j.Neo4jStore`).
    def _read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _read_ids(self, name: str, ids: Sequence[str], **params: Any
                  ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def _run_text(self, text: str, params: dict[str, Any], *, write: bool = True
                  ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _groups(self, rows: Sequence[Any]) -> Iterator[list[Any]]:
        raise NotImplementedError

    def _write(self, plan: list[tuple[str, dict[str, Any]]]) -> None:
        raise NotImplementedError

    def _plan_rows(self, plan: list[tuple[str, dict[str, Any]]], name: str,
                   rows: Sequence[Any], key: str = "rows", **names: str) -> None:
        raise NotImplementedError

    # -- report aggregates ---------------------------------------------------------

    def waste_totals(self, *, workflow: str | None = None, since_ns: int | None = None,
                     until_ns: int | None = None) -> dict[str, Any]:
        """The waste report's figures: grouped in Cypher, the money summed exactly here."""
        scope = {"workflow": workflow, "since": since_ns, "until": until_ns}
        fold = WasteFold()
        for r in self._read("waste_traces", **scope):
            fold.add_trace(r["id"], r["workflow"], r["outcome"], r["steps"], r["cost"],
                           r["wasted"], r["unpriced"], r["bloat_tokens"], r["bloat_usd"],
                           r["human_minutes"], r["failed"], r["retry"])
        for r in self._read("waste_steps", **scope):
            fold.add_wasted(r["tool"], r["model"], r["reason"], r["n"],
                            decimal_sum(r["costs"]))
        return fold.totals([(r["document"], r["retrieved"], int(r["used"]),
                             int(r["unused_tokens"]))
                            for r in self._read("document_use", **scope, min_retrieved=1,
                                                max_use_rate=None, limit=20)])

    def cost_breakdown(self, *, workflow: str | None) -> dict[str, dict[str, tuple[Decimal, int]]]:
        found: dict[str, dict[str, tuple[Decimal, int]]] = {}
        for r in self._read("cost_breakdown", workflow=workflow):
            found.setdefault(r["id"], {})[r["category"]] = (decimal_sum(r["costs"]), r["n"])
        return found

    def outcome_rows(self, *, workflow: str | None = None) -> Iterator[OutcomeRow]:
        for r in self._read("outcome_rows", workflow=workflow):
            yield OutcomeRow(trace_id=r["id"], workflow=r["workflow"],
                             outcome=Outcome(r["outcome"]),
                             attributes=orjson.loads(r["attributes"] or "{}"),
                             input_tokens=r["input_tokens"], cost=Decimal(r["cost"]),
                             retry_usd=Decimal(r["retry_usd"]),
                             human_usd=Decimal(r["human_usd"]),
                             human_minutes=Decimal(r["human_minutes"]),
                             failed_attempts=r["failed"], model_calls=r["model_calls"],
                             unpriced_steps=r["unpriced"])

    def model_calls(self, *, workflow: str | None = None) -> list[tuple[Any, ...]]:
        return [(r["workflow"], r["purpose"], r["model"], r["calls"], r["traces"],
                 r["successes"], decimal_sum(r["costs"]), len([c for c in r["costs"] if c is not None]))
                for r in self._read("model_calls", workflow=workflow)]

    def document_stats(self, *, min_retrieved: int = 1, max_use_rate: float = 1.0,
                       limit: int = 200) -> list[tuple[str, int, int, int]]:
        return [(r["document"], r["retrieved"], int(r["used"]), int(r["unused_tokens"]))
                for r in self._read("document_use", workflow=None, since=None, until=None,
                                    min_retrieved=min_retrieved,
                                    max_use_rate=max_use_rate if max_use_rate < 1
                                    else None, limit=limit)]

    # -- failure clusters --------------------------------------------------------

    def failure_signatures(self) -> list[tuple[str, str, int]]:
        return [(r["hash"], r["text"], r["n"]) for r in self._read("failure_signatures")]

    def signature_texts(self, hashes: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        size = 50 if self.dialect == "falkordb" else _IDS
        for start in range(0, len(hashes), size):
            found.update({r["hash"]: r["text"] for r in self._read(
                "signature_texts", hashes=list(hashes[start:start + size]))})
        return found

    def embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        size = 40 if self.dialect == "falkordb" else _IDS  # 40 hashes: a 2.7 KB request
        for start in range(0, len(hashes), size):
            found.update({r["hash"]: base64.b64decode(r["vector"]) for r in self._read(
                "embeddings", model=model, hashes=list(hashes[start:start + size]))})
        return found

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        plan: list[tuple[str, dict[str, Any]]] = []
        rows = [{"hash": h, "vector": base64.b64encode(v).decode()}
                for h, v in sorted(vectors.items())]
        text = statement("put_embeddings", self.dialect)
        for group in self._groups(rows):
            plan.append((text, {"rows": group, "model": model}))
        self._write(plan)

    def clusters(self) -> list[ClusterRow]:
        return [ClusterRow(id=r["id"], label=r["label"], medoid=r["medoid"],
                           members=tuple(r["members"])) for r in self._read("clusters")]

    def replace_clusters(self, clusters: Sequence[ClusterRow], method: str) -> None:
        plan: list[tuple[str, dict[str, Any]]] = [(statement("drop_clusters"), {})]
        self._write(plan + self._cluster_plan(clusters, method))

    def add_to_clusters(self, clusters: Sequence[ClusterRow], method: str) -> None:
        self._write(self._cluster_plan(clusters, method))

    def _cluster_plan(self, clusters: Sequence[ClusterRow], method: str
                      ) -> list[tuple[str, dict[str, Any]]]:
        plan: list[tuple[str, dict[str, Any]]] = []
        text = statement("write_clusters", self.dialect)
        for group in self._groups([{"id": c.id, "label": c.label, "medoid": c.medoid}
                                   for c in clusters]):
            plan.append((text, {"rows": group, "method": method}))
        self._plan_rows(plan, "write_cluster_members",
                        [{"cluster": c.id, "hash": m} for c in clusters for m in c.members])
        return plan

    def cluster_totals(self, *, workflow: str | None = None, since_ns: int | None = None
                       ) -> list[dict[str, Any]]:
        return [{"cluster_id": r["cluster_id"], "steps": int(r["steps"]), "traces": r["traces"],
                 "cost": decimal_sum(r["costs"]), "wasted": decimal_sum(r["wasted_costs"]),
                 "traces_cost": decimal_sum(r["trace_costs"]), "first_ns": r["first_ns"],
                 "last_ns": r["last_ns"],
                 "workflows": sorted(w for w in r["workflows"] if w),
                 "tools": sorted(t for t in r["tools"] if t),
                 "signatures": r["signatures"], "unpriced": int(r["unpriced"]),
                 "trace_failures": int(r["trace_failures"])}
                for r in self._read("cluster_totals", workflow=workflow, since=since_ns)]

    def cluster_members(self, cluster_id: str | None, *, workflow: str | None = None,
                        since_ns: int | None = None, limit: int | None = None
                        ) -> list[dict[str, Any]]:
        return [{"trace_id": r["trace_id"], "step_id": r["step_id"] or None,
                 "signature": r["signature"], "cost_usd": r["cost"],
                 "workflow": r["workflow"], "start_ns": r["start_ns"]}
                for r in self._read("cluster_members", cluster=cluster_id, workflow=workflow,
                                    since=since_ns,
                                    limit=2**31 - 1 if limit is None else int(limit))]

    # -- annotations -------------------------------------------------------------

    def add_annotation(self, trace_id: str, step_id: str, *, label: str, note: str | None,
                       author: str, created_ns: int) -> None:
        self._run_text(statement("add_annotation"), {
            "trace_id": trace_id, "step_id": step_id, "label": label, "note": note,
            "author": author, "created_ns": created_ns})

    def annotations(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str],
                                                                    list[dict[str, Any]]]:
        wanted = set(keys)
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in self._read_ids("annotations", sorted({t for t, _ in keys})):
            if (r["trace_id"], r["step_id"]) in wanted:
                found.setdefault((r["trace_id"], r["step_id"]), []).append(
                    {"label": r["label"], "note": r["note"], "author": r["author"],
                     "created_ns": r["created_ns"]})
        return found

    # -- questions only a graph answers well ----------------------------------------

    def ask(self, question: str, **params: Any) -> list[dict[str, Any]]:
        """Run one of the cross-trace questions of ``cypher/question_*.cypher``."""
        if question not in QUESTIONS:
            raise StoreError(f"no question {question!r}; known: {', '.join(QUESTIONS)}")
        return self._read(f"question_{question.replace('-', '_')}", **params)


QUESTIONS = ("unused-documents", "failures-before-escalation", "rules-before-override",
             "precedents")
"""The cross-trace questions the Bolt store answers in Cypher (``tracegraph ask``)."""
