"""Failure clusters: grouped by template and by cause on labelled corpora, stable ids,
incremental assignment, the embedding cache, the lexical fallback and the CLI contract."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from tracegraph.analyze.clustering import DEFAULT, LEXICAL, Method, cluster, similarity
from tracegraph.analyze.embed import MiniLM
from tracegraph.cli import app
from tracegraph.config import Config
from tracegraph.model import Outcome, Status, Step, StepKind, Trace
from tracegraph.services.clusters import cluster_failures, clusters_report
from tracegraph.services.synth_failures import paraphrased_failures, templated_failures
from tracegraph.store import SQLiteStore


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM()


def _ari(items: list[tuple[str, int]], method: Method, embedder: MiniLM | None) -> float:
    texts = [t for t, _ in items]
    distinct = sorted(set(texts))
    vectors = embedder.embed(distinct) if embedder is not None and method.embedding else None
    labels = cluster(similarity(distinct, method=method, embeddings=vectors),
                     threshold=method.threshold)
    index = {t: i for i, t in enumerate(distinct)}
    return float(adjusted_rand_score([label for _, label in items],
                                     [labels[index[t]] for t in texts]))


def test_templated_failures_come_back_grouped_by_template(minilm: MiniLM) -> None:
    items = templated_failures(4000, seed=101)
    ari = _ari(items, DEFAULT, minilm)
    print(f"\ntemplated corpus (4,000 failures, 40 templates): ARI {ari:.3f}")
    assert ari >= 0.95


def test_paraphrased_failures_come_back_grouped_by_cause(minilm: MiniLM) -> None:
    items = paraphrased_failures(4000, seed=102)
    ari = _ari(items, DEFAULT, minilm)
    lexical = _ari(items, LEXICAL, None)
    print(f"\nparaphrased corpus (4,000 failures, 12 causes x 3 tools): ARI {ari:.3f} "
          f"(lexical only {lexical:.3f})")
    assert ari >= 0.7


def _failing(trace_id: str, error: str, *, tool: str = "lookup_policy",
             error_type: str = "TimeoutError", failed: bool = False) -> Trace:
    steps = (
        Step(id="call", kind=StepKind.TOOL_CALL, tool_name=tool, status=Status.ERROR,
             error_type=error_type, error=error, cost=Decimal("0.01"), start_ns=1),
        Step(id="again", kind=StepKind.RETRY, tool_name=tool, retry_of="call",
             result={"ok": 1}, start_ns=2, cost=Decimal("0.01")),
        Step(id="done", kind=StepKind.OUTCOME, inputs=("again",), start_ns=3,
             outcome=Outcome.FAILURE if failed else Outcome.SUCCESS),
    )
    return Trace(id=trace_id, source_format="native", workflow="claims", steps=steps,
                 outcome=Outcome.FAILURE if failed else Outcome.SUCCESS)


def _corpus() -> list[Trace]:
    traces = []
    for i in range(12):
        traces.append(_failing(f"t{i}", f"lookup_policy timed out after {30 + i}s for "
                                        f"policy P-{10000 + i}"))
        traces.append(_failing(f"n{i}", f"customer CUST-{20000 + i} not found in CRM",
                               tool="get_customer", error_type="KeyError"))
    traces.append(_failing("odd", "the ledger is closed for period 2026-03",
                           tool="post_to_ledger", error_type="LedgerError"))
    return traces


class CountingEmbedder:
    """The real MiniLM, counting what it is asked to embed."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, model: MiniLM) -> None:
        self.model = model
        self.calls: list[int] = []

    def embed(self, texts: Any) -> Any:
        self.calls.append(len(texts))
        return self.model.embed(texts)


def test_clusters_carry_counts_money_and_stable_ids(tmp_path: Path, minilm: MiniLM) -> None:
    store = SQLiteStore(tmp_path / "c.db")
    store.write_traces(_corpus())
    embedder = CountingEmbedder(minilm)
    first = cluster_failures(store, config=Config(), embedder=embedder)
    assert first["signatures"] == 3 and first["embedded"] == 3
    report = clusters_report(store, config=Config(), embedder=embedder, refresh=False)
    assert [c["failures"] for c in report["clusters"]] == [12, 12]
    top = report["clusters"][0]
    assert top["cost_usd"] == "0.12" and top["traces"] == 12 and top["size"] == 12
    assert top["example"].endswith("timed out after <n> for policy <id>") or \
        top["example"].endswith("not found in CRM")
    assert {m["step_id"] for m in top["members"]} == {"call"}
    assert [m["trace_id"] for m in report["unclustered"]] == ["odd"]  # one failure < min 2
    ids = [c["id"] for c in report["clusters"]]
    again = cluster_failures(store, config=Config(), embedder=embedder)
    assert again["embedded"] == 0  # cached by signature
    assert again["kept_ids"] == 3
    assert [c["id"] for c in clusters_report(store, config=Config(), embedder=embedder,
                                             refresh=False)["clusters"]] == ids


def test_new_failures_join_existing_clusters_incrementally(tmp_path: Path,
                                                           minilm: MiniLM) -> None:
    store = SQLiteStore(tmp_path / "i.db")
    store.write_traces(_corpus())
    embedder = CountingEmbedder(minilm)
    cluster_failures(store, config=Config(), embedder=embedder)
    before = {c.id: set(c.members) for c in store.clusters()}
    store.write_traces([_failing("late", "lookup_policy timed out after 99 seconds for "
                                         "policy P-77777 (read timeout)")])
    run = cluster_failures(store, config=Config(), embedder=embedder, incremental=True)
    assert run["incremental"] and run["assigned"] == 1 and run["new_clusters"] == 0
    assert embedder.calls[-1] == 1  # only the new signature was embedded
    after = {c.id: set(c.members) for c in store.clusters()}
    grown = [i for i in before if after[i] != before[i]]
    assert len(grown) == 1 and after[grown[0]] > before[grown[0]]


def test_without_embeddings_the_fallback_is_lexical_and_says_so(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "l.db")
    store.write_traces(_corpus())
    run = cluster_failures(store, config=Config(), embedder=None)
    assert run["fallback"] and "tracegraph[embed]" in run["fallback"]
    assert "lexical only" in run["method"]
    assert run["clusters"] == 3


def test_cli_lists_clusters_and_shows_one(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "cli.db")
    store.write_traces(_corpus() + [_failing("f1", "the ledger is closed for period "
                                                   "2026-04", tool="post_to_ledger",
                                             error_type="LedgerError", failed=True)])
    store.close()
    runner = CliRunner()
    db = str(tmp_path / "cli.db")
    result = runner.invoke(app, ["clusters", "--db", db, "--lexical", "-f", "json"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    for item in report["clusters"]:
        assert {"id", "label", "size", "traces", "cost_usd", "example", "members"} <= set(item)
    trace_level = [m for c in report["clusters"] + [{"members": report["unclustered"]}]
                   for m in c["members"] if m["step_id"] is None]
    assert [m["trace_id"] for m in trace_level] == ["f1"]
    cluster_id = report["clusters"][0]["id"]
    shown = runner.invoke(app, ["clusters", "show", cluster_id, "--db", db, "-f", "json"])
    assert shown.exit_code == 0, shown.output
    assert len(orjson.loads(shown.stdout)["members"]) == report["clusters"][0]["failures"]
    missing = runner.invoke(app, ["clusters", "show", "c-nope", "--db", db])
    assert missing.exit_code == 2 and "c-nope" in missing.output
