"""Failure clusters: which kinds of failure eat the budget.

``cluster_failures`` groups the distinct failure signatures the analysis
stored (identical ones were collapsed there) with the method of
:mod:`tracegraph.analyze.clustering`, embedding only signatures whose
embedding is not cached yet.  A full run re-clusters everything and keeps a
cluster's id when most of its failures were in one cluster before; an
incremental run assigns each new signature to the existing cluster it is
closest to on average (within the method's threshold), clusters what is left
among itself, and touches nothing else.

Without the ``embed`` extra the method is lexical only (``LEXICAL``), and the
result says so: it is a lesser method, not the same one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Sequence

from ..analyze.clustering import DEFAULT, LEXICAL, Method, cluster, label_terms, medoid, \
    similarity
from ..analyze.embed import INSTALL_HINT, Embedder, default_embedder
from ..config import Config
from ..errors import NotFound
from ..formats.values import iso, time_ns, usd_text
from ..store import ClusterRow, Store
from .analysis import analysis_version, analyze_stale

__all__ = ["cluster_failures", "clusters_report", "cluster_detail", "AUTO"]

AUTO: Any = object()
"""Use MiniLM when the ``embed`` extra is installed, else lexical features."""
_KEEP_ID = 0.5
"""A new cluster keeps an old id when more than this share of its failures were in it."""


def _method_name(method: Method, embedder: Embedder | None) -> str:
    features = [f"{name}={getattr(method, name):g}" for name in
                ("word", "char", "concept", "embedding", "place") if getattr(method, name)]
    model = embedder.name if embedder is not None and method.embedding else "lexical only"
    return f"{model}; {', '.join(features)}; average linkage at {method.threshold:g}"


def _embeddings(store: Store, embedder: Embedder, hashes: Sequence[str],
                texts: Sequence[str]) -> Any:
    import numpy as np
    cached = store.embeddings(embedder.name, hashes)
    missing = [i for i, h in enumerate(hashes) if h not in cached]
    if missing:
        vectors = embedder.embed([texts[i] for i in missing])
        fresh = {hashes[i]: vectors[k].astype(np.float32).tobytes()
                 for k, i in enumerate(missing)}
        store.put_embeddings(embedder.name, fresh)
        cached.update(fresh)
    return np.stack([np.frombuffer(cached[h], dtype=np.float32) for h in hashes]), len(missing)


def cluster_failures(store: Store, *, config: Config, embedder: Any = AUTO,
                     method: Method | None = None, incremental: bool = False
                     ) -> dict[str, Any]:
    """Cluster the stored failure signatures; returns what was done, with figures."""
    analyze_stale(store, config=config)
    chosen: Embedder | None = default_embedder() if embedder is AUTO else embedder
    method = method or (DEFAULT if chosen is not None else LEXICAL)
    signatures = store.failure_signatures()
    hashes = [h for h, _, _ in signatures]
    texts = [t for _, t, _ in signatures]
    counts = [n for _, _, n in signatures]
    embedded = 0
    vectors = None
    if chosen is not None and method.embedding and hashes:
        vectors, embedded = _embeddings(store, chosen, hashes, texts)
    name = _method_name(method, chosen)
    previous = store.clusters()
    if incremental and previous:
        made = _assign_new(store, previous, hashes, texts, counts, vectors, method, name)
    else:
        made = _recluster(store, previous, hashes, texts, counts, vectors, method, name)
    return {"method": name, "signatures": len(hashes), "failures": sum(counts),
            "embedded": embedded, "incremental": bool(incremental and previous),
            "fallback": None if chosen is not None else
            f"lexical features only: sentence embeddings need {INSTALL_HINT}", **made}


def _cluster_rows(groups: dict[int, list[int]], texts: Sequence[str]
                  ) -> list[tuple[str, list[int]]]:
    """(label, member indices) per group: the label is its most distinctive words."""
    if not groups:
        return []
    labels_text = label_terms([texts[i] for g in groups for i in groups[g]],
                              [g for g in groups for _ in groups[g]])
    return [(labels_text[g], members) for g, members in groups.items()]


def _recluster(store: Store, previous: list[ClusterRow], hashes: Sequence[str],
               texts: Sequence[str], counts: Sequence[int], vectors: Any, method: Method,
               name: str) -> dict[str, Any]:
    if not hashes:
        store.replace_clusters([], name)
        return {"clusters": 0, "kept_ids": 0}
    sim = similarity(texts, method=method, embeddings=vectors)
    labels = cluster(sim, threshold=method.threshold)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    old_of = {m: c.id for c in previous for m in c.members}
    rows: list[ClusterRow] = []
    taken: set[str] = set()
    kept = 0
    named = _cluster_rows(groups, texts)
    # Biggest first, so that when two new clusters come from one old one, the
    # larger keeps its id.
    for title, members in sorted(named, key=lambda lm: -sum(counts[i] for i in lm[1])):
        centre = medoid(members, sim, counts)
        weight = sum(counts[i] for i in members)
        overlap: dict[str, int] = {}
        for i in members:
            if hashes[i] in old_of:
                overlap[old_of[hashes[i]]] = overlap.get(old_of[hashes[i]], 0) + counts[i]
        best = max(overlap.items(), key=lambda kv: (kv[1], kv[0]), default=(None, 0))
        if best[0] is not None and best[1] > _KEEP_ID * weight and best[0] not in taken:
            cluster_id = best[0]
            kept += 1
        else:
            cluster_id = _new_id(hashes[centre], taken | {c.id for c in previous})
        taken.add(cluster_id)
        rows.append(ClusterRow(id=cluster_id, label=title, medoid=hashes[centre],
                               members=tuple(sorted(hashes[i] for i in members))))
    store.replace_clusters(rows, name)
    return {"clusters": len(rows), "kept_ids": kept}


def _new_id(medoid_hash: str, taken: set[str]) -> str:
    """``c`` and the representative signature's hash: the same data, the same id."""
    for length in range(8, 17):
        candidate = f"c{medoid_hash[:length]}"
        if candidate not in taken:
            return candidate
    return f"c{medoid_hash}-{len(taken)}"


def _assign_new(store: Store, previous: list[ClusterRow], hashes: Sequence[str],
                texts: Sequence[str], counts: Sequence[int], vectors: Any, method: Method,
                name: str) -> dict[str, Any]:
    import numpy as np
    position = {h: i for i, h in enumerate(hashes)}
    clustered = {m for c in previous for m in c.members}
    new = [i for i, h in enumerate(hashes) if h not in clustered]
    if not new:
        return {"clusters": len(previous), "assigned": 0, "new_clusters": 0}
    sim = similarity(texts, method=method, embeddings=vectors)
    by_cluster = [(c, [position[m] for m in c.members if m in position]) for c in previous]
    additions: dict[str, list[str]] = {}
    leftover: list[int] = []
    for i in new:
        best: tuple[float, ClusterRow | None] = (-1.0, None)
        for row, members in by_cluster:
            if members:
                mean = float(np.mean(sim[i, members]))
                if mean > best[0]:
                    best = (mean, row)
        if best[1] is not None and 1.0 - best[0] <= method.threshold:
            additions.setdefault(best[1].id, []).append(hashes[i])
        else:
            leftover.append(i)
    rows = [ClusterRow(id=c.id, label=c.label, medoid=c.medoid, members=tuple(additions[c.id]))
            for c in previous if c.id in additions]
    created = 0
    if leftover:
        sub = sim[np.ix_(leftover, leftover)]
        labels = cluster(sub, threshold=method.threshold)
        groups: dict[int, list[int]] = {}
        for k, label in enumerate(labels):
            groups.setdefault(label, []).append(leftover[k])
        taken = {c.id for c in previous}
        for label_text, members in _cluster_rows(groups, texts):
            centre = medoid(members, sim, counts)
            cluster_id = _new_id(hashes[centre], taken)
            taken.add(cluster_id)
            rows.append(ClusterRow(id=cluster_id, label=label_text, medoid=hashes[centre],
                                   members=tuple(sorted(hashes[i] for i in members))))
            created += 1
    store.add_to_clusters(rows, name)
    return {"clusters": len(previous) + created, "assigned": len(new) - len(leftover),
            "new_clusters": created}


def _example(row: ClusterRow, occurring: dict[str, int]) -> str:
    """The representative signature: the medoid while it still occurs, else the most
    frequent member that does (members added incrementally after a re-analysis)."""
    if row.medoid in occurring or not row.members:
        return row.medoid
    return max(row.members, key=lambda h: (occurring.get(h, 0), h))


def _clusters_still_fit(store: Store) -> bool:
    """Can new failures be added to the clusters there are, or must all be redone?

    Redone when there are none, or when most of their signatures no longer occur
    (a new analyzer version rewrote the signatures).
    """
    previous = store.clusters()
    if not previous:
        return False
    members = {m for c in previous for m in c.members}
    current = {h for h, _, _ in store.failure_signatures()}
    return len(members & current) * 2 >= len(members)


def clusters_report(store: Store, *, config: Config, workflow: str | None = None,
                    since: datetime | None = None, min_size: int = 2, members: int = 50,
                    embedder: Any = AUTO, refresh: bool = True) -> dict[str, Any]:
    """Clusters sorted by money, with members; small ones count as unclustered.

    ``min_size`` is in failures (steps and traces).  ``refresh`` brings the
    clustering up to date first (incrementally when clusters exist).
    """
    run = cluster_failures(store, config=config, embedder=embedder,
                           incremental=_clusters_still_fit(store)) if refresh else None
    since_ns = time_ns(since)
    rows = {c.id: c for c in store.clusters()}
    occurring = {h: n for h, _, n in store.failure_signatures()}
    texts = store.signature_texts([_example(c, occurring) for c in rows.values()])
    found = []
    unclustered_ids: list[str | None] = [None]
    for totals in store.cluster_totals(workflow=workflow, since_ns=since_ns):
        cluster_id = totals["cluster_id"]
        if cluster_id is None:
            continue
        failures = totals["steps"] + totals["trace_failures"]
        if failures < min_size:
            unclustered_ids.append(cluster_id)
            continue
        row = rows[cluster_id]
        found.append({
            "id": cluster_id, "label": row.label, "size": totals["steps"],
            "failures": failures, "traces": totals["traces"],
            "signatures": totals["signatures"],
            "cost_usd": usd_text(totals["cost"]), "wasted_usd": usd_text(totals["wasted"]),
            "failed_traces_usd": usd_text(totals["traces_cost"]),
            "unpriced_failures": totals["unpriced"],
            "example": texts.get(_example(row, occurring), ""),
            "first_seen": iso(totals["first_ns"]), "last_seen": iso(totals["last_ns"]),
            "workflows": totals["workflows"], "tools": totals["tools"],
            "members": [_member(m) for m in store.cluster_members(
                cluster_id, workflow=workflow, since_ns=since_ns, limit=members)]})
    found.sort(key=lambda c: (-Decimal(c["cost_usd"]), -c["failures"], c["id"]))
    # Clusters too small to show, by id: the same order whichever store answered.
    unclustered_ids = [None, *sorted(i for i in unclustered_ids[1:] if i)]
    unclustered = [m for cid in unclustered_ids for m in (_member(x) for x in
                   store.cluster_members(cid, workflow=workflow, since_ns=since_ns,
                                         limit=members))]
    return {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "analyzer_version": analysis_version(config), "workflow": workflow,
            "since": since.isoformat() if since else None, "min_size": min_size,
            "run": run, "clusters": found, "unclustered": unclustered}


def _member(row: dict[str, Any]) -> dict[str, Any]:
    return {"trace_id": row["trace_id"], "step_id": row["step_id"],
            "signature": row["signature"], "cost_usd": row["cost_usd"],
            "workflow": row["workflow"], "seen": iso(row["start_ns"])}


def cluster_detail(store: Store, cluster_id: str, *, config: Config,
                   limit: int | None = None) -> dict[str, Any]:
    """One cluster and every member failure, newest first."""
    rows = {c.id: c for c in store.clusters()}
    if cluster_id not in rows:
        raise NotFound(f"no failure cluster {cluster_id!r} in {store.url}; "
                       "`tracegraph clusters` lists them")
    report = clusters_report(store, config=config, min_size=0, members=0, refresh=False)
    summary: dict[str, Any] = next(c for c in report["clusters"] if c["id"] == cluster_id)
    texts = store.signature_texts(rows[cluster_id].members)
    summary["members"] = [_member(m) for m in store.cluster_members(cluster_id, limit=limit)]
    summary["distinct_signatures"] = [texts[h] for h in rows[cluster_id].members if h in texts]
    return summary
