"""How well failure clustering recovers causes on a held-out corpus of real-world wording.

``evaluation/failures/holdout.json`` lists causes (a failure family at one step:
a timeout at the OCR service and a timeout at the ledger are two causes), each
with 5-8 phrasings in the words real libraries and services use.  The corpus was
written without reading the clusterer or the synthetic failure generator, so
its figures say whether the method generalises beyond the phrasings it was
shaped on.  They are reported, never tuned to.

The script draws N failures (a cause, then one of its phrasings, uniformly),
fills the placeholders with random values, builds each signature the way
``tracegraph.analyze.failures`` does (``"{kind} {tool}: {error_type}: {mask(message)}"``),
dedupes identical signatures, clusters the unique ones with
``tracegraph.analyze.clustering`` and maps the clusters back to every drawn
failure.  It prints the adjusted Rand index against the causes, over all
failures, over the failures of the common-family causes only and over those of
the outside-family causes only, for each method, then per cause: how many
clusters it is split into and which causes it is merged with.

    python benchmarks/failure_clusters_holdout.py                    # DEFAULT and LEXICAL
    python benchmarks/failure_clusters_holdout.py -n 5000 --seed 3 --json
    python benchmarks/failure_clusters_holdout.py --method DEFAULT --method "tight=DEFAULT:threshold=0.7"
    python benchmarks/failure_clusters_holdout.py --method "noemb=DEFAULT:embedding=0"
    python benchmarks/failure_clusters_holdout.py --fn mypkg.mod:cluster_fn   # fn(signatures) -> labels

``--method`` takes a ``Method`` defined in ``tracegraph.analyze.clustering``
(``DEFAULT``, ``LEXICAL``) or ``label=BASE:field=value,...``, a copy of one with
some fields changed.  ``--fn`` scores any callable that takes the list of unique
signatures and returns one cluster label per signature.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import re
import string
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from tracegraph.analyze.failures import mask  # noqa: E402

CORPUS = ROOT / "evaluation" / "failures" / "holdout.json"
PLACEHOLDER = re.compile(r"\{(id|n|ms|s|path|url|file|time|uuid|ip|host|quoted|addr|cur|CUR)\}")
# Within one message these name one thing (the host of the URL is the host in the error).
SAME_IN_MESSAGE = {"id", "host", "ip", "uuid", "file", "addr", "cur", "CUR", "url", "path"}

HOSTS = ["api.acme-billing.com", "ocr.internal.acme.io", "ledger-svc.prod.svc.cluster.local",
         "hooks.partner-erp.net", "rates.fx-feed.io", "search.kb.acme.io", "vision.googleapis.com",
         "textract.eu-west-1.amazonaws.com", "crm.acme.dynamics.com", "db-primary.acme.internal",
         "webhook.site", "erp.customer-42.example.org"]
QUOTED = ["'N/A'", "'urgent'", "'2024-13-45'", "'TBD'", "'none'", "'abc'", "\"P1\"", "'-'",
          "'twelve'", "\"null\""]
CURRENCIES = ["xof", "vef", "zwl", "kpw", "irr", "syp", "btc", "eur2", "ssp", "mro", "usdt", "ltl"]
PATHS = ["/v1/invoices/{id}", "/api/v2/entries", "/api/v2/ledger/{id}/entries", "/v1/search",
         "/hooks/{id}", "/latest", "/v3/ocr:process", "/records/{id}", "/api/data/v9.2/contacts({uuid})",
         "/collections/kb/points/search", "/v2/checkout/orders"]
FILES = ["/tmp/ocr/{id}/page_{n}.png", "/var/lib/exports/report-{n}.csv", "/data/invoices/{id}.pdf",
         "/workspace/main.py", "/tmp/sandbox/{uuid}/cell_{n}.py", "./out/{id}.xlsx"]


def _ident(rng: random.Random) -> str:
    pick = rng.randrange(6)
    if pick == 0:
        return f"INV-{rng.randint(10000, 99999)}"
    if pick == 1:
        return "in_1" + "".join(rng.choices(string.ascii_letters + string.digits, k=14))
    if pick == 2:
        return f"CLM-{rng.randint(2019, 2025)}-{rng.randint(1, 99999):05d}"
    if pick == 3:
        return f"{''.join(rng.choices(string.ascii_uppercase, k=3))}-{rng.randint(100, 99999)}"
    if pick == 4:
        return f"TCK{rng.randint(100000, 999999)}"
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=10)) + str(rng.randint(0, 9))


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _time(rng: random.Random) -> str:
    return (f"{rng.randint(2023, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
            + rng.choice(["Z", ".123Z", "+00:00", ""]))


def _number(rng: random.Random) -> str:
    return str(rng.choice([rng.randint(1, 9), rng.randint(10, 999), rng.randint(1000, 250000)]))


def fill(template: str, rng: random.Random) -> str:
    """``template`` with each placeholder replaced by a random value of its kind."""
    fixed: dict[str, str] = {}

    def value(name: str) -> str:
        if name in SAME_IN_MESSAGE and name in fixed:
            return fixed[name]
        if name == "id":
            v = _ident(rng)
        elif name == "n":
            v = _number(rng)
        elif name == "ms":
            v = f"{rng.randint(20, 30000)}ms"
        elif name == "s":
            v = f"{rng.randint(1, 120)}s"
        elif name == "host":
            v = rng.choice(HOSTS)
        elif name == "ip":
            v = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        elif name == "uuid":
            v = _uuid(rng)
        elif name == "time":
            v = _time(rng)
        elif name == "quoted":
            v = rng.choice(QUOTED)
        elif name == "addr":
            v = "0x7f" + "".join(rng.choices("0123456789abcdef", k=10))
        elif name == "cur":
            v = rng.choice(CURRENCIES)
        elif name == "CUR":
            v = rng.choice(CURRENCIES).upper()
        elif name == "path":
            v = PLACEHOLDER.sub(lambda m: value(m.group(1)), rng.choice(PATHS))
        elif name == "url":
            v = f"https://{value('host')}{value('path')}"
        elif name == "file":
            v = PLACEHOLDER.sub(lambda m: value(m.group(1)), rng.choice(FILES))
        else:  # pragma: no cover - PLACEHOLDER lists the names above
            raise KeyError(name)
        if name in SAME_IN_MESSAGE:
            fixed[name] = v
        return v

    return PLACEHOLDER.sub(lambda m: value(m.group(1)), template)


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    causes = json.loads(path.read_text())["causes"]
    for c in causes:
        if c.get("group") not in ("common", "outside"):
            raise SystemExit(f"cause {c['cause']}: group must be 'common' or 'outside'")
    return causes


def draw(causes: list[dict[str, Any]], n: int, seed: int) -> tuple[list[str], list[int]]:
    """``n`` signatures and the index of the cause of each."""
    rng = random.Random(seed)
    signatures, labels = [], []
    for _ in range(n):
        k = rng.randrange(len(causes))
        cause = causes[k]
        p = rng.choice(cause["phrasings"])
        message = fill(p["message"], rng)
        signatures.append(f"{cause['kind']} {cause['tool']}: {p['error_type']}: {mask(message)}")
        labels.append(k)
    return signatures, labels


# --- what is scored --------------------------------------------------------

def _clustering():
    try:
        return importlib.import_module("tracegraph.analyze.clustering")
    except ImportError as e:
        raise SystemExit(f"tracegraph.analyze.clustering is not importable: {e}")


def _method(spec: str, clustering: Any) -> tuple[str, Any]:
    """``NAME`` or ``label=BASE:field=value,...`` -> (label, Method)."""
    head, _, changes = spec.partition(":")
    label, _, base_name = head.rpartition("=")
    label = label or spec
    base = getattr(clustering, base_name, None)
    if not isinstance(base, clustering.Method):
        raise SystemExit(f"{base_name!r} is not a Method in tracegraph.analyze.clustering")
    if not changes:
        return label, base
    fields = {}
    for item in changes.split(","):
        key, _, val = item.partition("=")
        fields[key.strip()] = float(val)
    try:
        import msgspec
        return label, msgspec.structs.replace(base, **fields)
    except (ImportError, TypeError):
        import dataclasses
        return label, dataclasses.replace(base, **fields)


def _uses_embeddings(method: Any) -> bool:
    return float(getattr(method, "embedding", 0.0) or 0.0) > 0.0


def method_clusterer(method: Any, clustering: Any,
                     embed: Callable[[list[str]], Any]) -> Callable[[list[str]], list[int]]:
    def run(texts: list[str]) -> list[int]:
        vectors = embed(texts) if _uses_embeddings(method) else None
        sim = clustering.similarity(texts, method=method, embeddings=vectors)
        return list(clustering.cluster(sim, threshold=method.threshold))
    return run


def function_clusterer(spec: str) -> Callable[[list[str]], list[int]]:
    module, _, attr = spec.partition(":")
    fn = getattr(importlib.import_module(module), attr)
    return lambda texts: list(fn(texts))


# --- scoring ---------------------------------------------------------------

def score(causes: list[dict[str, Any]], signatures: list[str], labels: list[int],
          clusterer: Callable[[list[str]], list[int]]) -> dict[str, Any]:
    unique = list(dict.fromkeys(signatures))
    started = time.perf_counter()
    unique_clusters = clusterer(unique)
    seconds = time.perf_counter() - started
    of = dict(zip(unique, unique_clusters))
    predicted = [of[s] for s in signatures]

    def ari(group: str | None) -> float:
        keep = [i for i, k in enumerate(labels) if group is None or causes[k]["group"] == group]
        return float(adjusted_rand_score([labels[i] for i in keep], [predicted[i] for i in keep]))

    members: dict[int, Counter[int]] = defaultdict(Counter)   # cluster -> causes in it
    for k, c in zip(labels, predicted):
        members[c][k] += 1
    per_cause = []
    for k, cause in enumerate(causes):
        spread = Counter(c for lab, c in zip(labels, predicted) if lab == k)
        total = sum(spread.values())
        merged = Counter()
        for c, m in spread.items():
            for other, count in members[c].items():
                if other != k:
                    merged[causes[other]["cause"]] += count
        main, main_n = spread.most_common(1)[0] if spread else (None, 0)
        per_cause.append({
            "cause": cause["cause"], "group": cause["group"], "tool": cause["tool"],
            "items": total,
            "signatures": len({s for s, lab in zip(signatures, labels) if lab == k}),
            "clusters": len(spread),
            "largest_cluster_share": round(main_n / total, 3) if total else 0.0,
            "merged_with": dict(merged.most_common(3)),
        })
    return {
        "ari": round(ari(None), 4),
        "ari_common": round(ari("common"), 4),
        "ari_outside": round(ari("outside"), 4),
        "clusters": len(set(unique_clusters)),
        "unique_signatures": len(unique),
        "cluster_seconds": round(seconds, 2),
        "per_cause": per_cause,
    }


def _by_head(texts: list[str], parts: int) -> list[int]:
    """One cluster per step (``parts=1``) or per step and error type (``parts=2``)."""
    ids: dict[str, int] = {}
    return [ids.setdefault(": ".join(t.split(": ")[:parts]), len(ids)) for t in texts]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="failures to draw (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--method", action="append", default=[],
                    help="NAME or label=BASE:field=value,... (repeatable; default DEFAULT and LEXICAL)")
    ap.add_argument("--fn", action="append", default=[],
                    help="module:callable taking the unique signatures, returning labels (repeatable)")
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    ap.add_argument("--quiet", action="store_true", help="no per-cause table")
    args = ap.parse_args(argv)

    causes = load(args.corpus)
    signatures, labels = draw(causes, args.n, args.seed)
    shared = defaultdict(set)
    for s, k in zip(signatures, labels):
        shared[s].add(k)
    ambiguous = sum(1 for ks in shared.values() if len(ks) > 1)

    clusterers: list[tuple[str, Callable[[list[str]], list[int]]]] = []
    specs = args.method or ([] if args.fn else ["DEFAULT", "LEXICAL"])
    if specs:
        clustering = _clustering()
        cache: dict[str, Any] = {}

        def embed(texts: list[str]) -> Any:
            if "model" not in cache:
                from tracegraph.analyze.embed import MiniLM
                cache["model"] = MiniLM()
            return cache["model"].embed(texts)

        for spec in specs:
            label, method = _method(spec, clustering)
            clusterers.append((label, method_clusterer(method, clustering, embed)))
    for spec in args.fn:
        clusterers.append((spec, function_clusterer(spec)))

    results = {label: score(causes, signatures, labels, run) for label, run in clusterers}
    # References, not methods: what masking leaves recoverable, and two trivial groupings.
    majority = {s: Counter(k for s2, k in zip(signatures, labels) if s2 == s).most_common(1)[0][0]
                for s in shared}
    references = {
        "ceiling: majority cause of each signature": lambda texts: [majority[t] for t in texts],
        "each signature alone": lambda texts: list(range(len(texts))),
        "same step": lambda texts: _by_head(texts, 1),
        "same step and error type": lambda texts: _by_head(texts, 2),
    }
    reference_results = {label: score(causes, signatures, labels, run)
                         for label, run in references.items()}
    report = {
        "corpus": str(args.corpus.relative_to(ROOT) if args.corpus.is_relative_to(ROOT) else args.corpus),
        "n": args.n, "seed": args.seed,
        "causes": len(causes),
        "common_causes": sum(c["group"] == "common" for c in causes),
        "outside_causes": sum(c["group"] == "outside" for c in causes),
        "phrasings": sum(len(c["phrasings"]) for c in causes),
        "unique_signatures": len(shared),
        "signatures_in_two_causes": ambiguous,
        "shared_signatures": {s: sorted(causes[k]["cause"] for k in ks)
                              for s, ks in shared.items() if len(ks) > 1},
        "methods": results,
        "references": {k: {f: v[f] for f in ("ari", "ari_common", "ari_outside", "clusters")}
                       for k, v in reference_results.items()},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0

    print(f"held-out failure corpus: {report['causes']} causes ({report['common_causes']} common, "
          f"{report['outside_causes']} outside), {report['phrasings']} phrasings; "
          f"{args.n} failures drawn (seed {args.seed}), {len(shared)} unique signatures"
          + (f", {ambiguous} shared by two causes" if ambiguous else ""))
    for s, names in report["shared_signatures"].items():
        print(f"  masked to one signature ({' / '.join(names)}): {s}")
    print()
    print(f"{'method':<24} {'ARI':>7} {'common':>7} {'outside':>8} {'clusters':>9} {'seconds':>8}")
    for label, r in results.items():
        print(f"{label:<24} {r['ari']:>7.3f} {r['ari_common']:>7.3f} {r['ari_outside']:>8.3f} "
              f"{r['clusters']:>9} {r['cluster_seconds']:>8.2f}")
    print("references:")
    for label, r in report["references"].items():
        print(f"  {label:<42} {r['ari']:>7.3f} {r['ari_common']:>7.3f} {r['ari_outside']:>8.3f} "
              f"{r['clusters']:>9}")
    if not args.quiet:
        for label, r in results.items():
            print()
            print(f"{label}: per cause (clusters it is split into, share of its largest, merged with)")
            for pc in r["per_cause"]:
                merged = ", ".join(f"{k} ({v})" for k, v in pc["merged_with"].items()) or "-"
                print(f"  {pc['cause']:<28} {pc['group']:<8} {pc['clusters']:>3} "
                      f"{pc['largest_cluster_share']:>6.2f}  {merged}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
